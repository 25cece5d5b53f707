"""Infer the roles of a table's columns (target, IDs, personal data, numeric, categorical).

Every rule can be overridden by the caller. Rules, in order:

1. target: an explicit name, else the first column whose name (lower case, letters and
   digits only) is in :data:`TARGET_NAMES`; other columns that look like churn outcomes
   (``Churn Reason``, ``Churn Score``...) are excluded because they leak the answer.
2. personal columns: names in :data:`PERSONAL_NAMES` (surname, e-mail, phone, address...).
3. ID columns: id-like names (:data:`ID_NAMES`, ``*_id``, ``CustomerId``, ``customerID``) or,
   with at least :data:`UNIQUE_ID_MIN_ROWS` rows, text that is unique per row or integers that
   are unique per row and sorted.
Types and IDs are judged on a fixed-seed sample of :data:`INFER_SAMPLE_ROWS` rows for big
tables; target values always on the whole column.

4. remaining columns: all blank or constant -> excluded (reason recorded); more than 95 %
   of non-blank cells numbers -> numeric, unless integers with at most
   :data:`MAX_CATEGORICAL_INT_LEVELS` distinct values (categorical); free text with more
   than 50 distinct values and more distinct values than half the rows -> excluded;
   otherwise categorical.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from churn_core.errors import MissingColumnsError, SchemaError
from churn_core.data.dates import date_reason, first_cell, looks_like_dates
from churn_core.data.schema import FeatureSchema
from churn_core.data.cells import (blank_mask, label_keys, label_text, map_unique, match_columns,
                                    normalize_categories, parse_numeric)

TARGET_NAMES = (
    "exited", "churn", "churned", "ischurn", "ischurned", "haschurned", "churnflag", "churnlabel",
    "churnvalue", "churnstatus", "churner", "attritionflag", "attrition", "attrited", "label", "target",
)
ID_NAMES = frozenset({
    "id", "rownumber", "rownum", "rowid", "index", "clientnum", "customerid", "custid", "clientid",
    "accountid", "accountnumber", "accountno", "userid", "memberid", "customernumber", "customerno",
    "subscriberid", "contractid", "uuid", "guid", "unnamed0",
})
PERSONAL_NAMES = frozenset({
    "surname", "lastname", "firstname", "fullname", "name", "givenname", "familyname", "forename",
    "middlename", "customername", "clientname", "email", "emailaddress", "mail", "phone",
    "phonenumber", "telephone", "tel", "mobile", "mobilenumber", "cellphone", "address",
    "streetaddress", "street", "addressline1", "addressline2", "postcode", "zipcode",
    "dateofbirth", "birthdate", "dob", "ssn", "nationalid", "iban", "ipaddress",
})
_ID_PATTERN = re.compile(r"(?:^|[_\s.\-])(?:id|ID|Id)$|[a-z0-9](?:Id|ID)$")
_LEAK_PATTERN = re.compile(r"churn|attrit")
#: Integer columns with at most this many distinct values are categorical.
MAX_CATEGORICAL_INT_LEVELS = 10
#: Share of non-blank cells that must parse as numbers for a text column to be numeric.
NUMERIC_SHARE = 0.95
#: Column types and IDs are inferred from at most this many rows (fixed-seed sample).
INFER_SAMPLE_ROWS = 100_000
#: Uniqueness only marks an ID column from this many rows on (small files are all unique).
UNIQUE_ID_MIN_ROWS = 30

_POSITIVE_WORDS = {"1", "yes", "y", "true", "t", "churn", "churned", "churner", "attrited",
                   "exited", "left", "lost", "cancelled", "canceled", "closed", "gone", "leaver"}
_NEGATIVE_WORDS = {"0", "no", "n", "false", "f", "stayed", "stay", "retained", "existing",
                   "active", "current", "remained", "loyal", "kept", "not", "non", "never"}


#: The suffix the readers give a repeated header (``Surname`` -> ``Surname.1``): a renamed
#: copy of a personal column is personal too.
_DUP_SUFFIX = re.compile(r"\.\d+$")


def _key(name) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def looks_like_id(name, series: pd.Series | None = None) -> bool:
    """Whether a column is a customer identifier, by name or by being unique per row.

    Parameters
    ----------
    name : str
        Column name (``RowNumber``, ``CustomerId``, ``customerID``, ``CLIENTNUM``, ``*_id``).
    series : Series, optional
        Its values; text unique per row, or sorted integers unique per row, count as IDs when
        there are at least :data:`UNIQUE_ID_MIN_ROWS` non-blank values.

    Returns
    -------
    bool
    """
    if _key(name) in ID_NAMES or _ID_PATTERN.search(str(name).strip()):
        return True
    if series is None:
        return False
    s = series.dropna()
    if len(s) < UNIQUE_ID_MIN_ROWS or len(s) < len(series) or s.nunique() < len(s):
        return False
    if pd.api.types.is_numeric_dtype(s):
        vals = s.astype("float64").to_numpy()
        return bool(np.all(vals == np.round(vals)) and (np.all(np.diff(vals) > 0) or np.all(np.diff(vals) < 0)))
    vals, blank, bad = parse_numeric(s.astype("str"))
    if bad.sum() > (1 - NUMERIC_SHARE) * len(s):
        return True  # unique text such as "7590-VHVEG"
    ok = vals[~np.isnan(vals)]
    return bool(len(ok) == len(s) and np.all(ok == np.round(ok))
                and (np.all(np.diff(ok) > 0) or np.all(np.diff(ok) < 0)))


def target_values(series: pd.Series) -> list[str]:
    """Distinct non-blank target labels as text, most frequent first.

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    list of str
        Canonical texts (``1.0`` -> ``"1"``, ``True`` -> ``"True"``, stripped); ties in
        frequency are ordered by text.
    """
    counts = map_unique(series, label_text).value_counts(dropna=True)
    return sorted(counts.index.tolist(), key=lambda v: (-int(counts[v]), v))


def _polarity(value: str) -> int:
    """+1 for a churned-looking label, -1 for a stayed-looking label, 0 when unsure."""
    words = re.findall(r"[a-z0-9]+", value.casefold())
    if not words:
        return 0
    if value.casefold().strip() in _POSITIVE_WORDS:
        return 1
    if value.casefold().strip() in _NEGATIVE_WORDS:
        return -1
    neg = any(w in _NEGATIVE_WORDS for w in words)
    pos = any(w in _POSITIVE_WORDS - {"1", "y", "t"} for w in words)
    if pos and not neg:
        return 1
    if neg:
        return -1
    return 0


#: Generic flags (not churn words): they name churn only next to their opposite (Yes/No, 1/0).
_FLAG_WORDS = frozenset({"1", "yes", "y", "true", "t"})


def _fold(values) -> list[str]:
    """Canonical label texts, blanks dropped, one per case-insensitive spelling (first kept)."""
    vals = [v for v in (label_text(v) for v in values) if v is not None]
    return list({v.casefold(): v for v in reversed(vals)}.values())[::-1]


def suggest_positive_label(values) -> str | None:
    """Suggest which target value means *churned*, or ``None`` when unsure.

    A value that names churn wins: a churn word (``churned``, ``churn``, ``left``,
    ``exited``, ``lost``, ``cancelled``, ``Attrited Customer``...) on its own, a generic flag
    (``1``, ``yes``, ``y``, ``true``) when a value naming staying (``0``, ``no``, ``false``,
    ``stayed``, ``active``, ``retained``...) is also there; both case-insensitive, also among
    three or more labels (``Yes``/``No``/``maybe`` -> ``Yes``). A value naming staying is
    never suggested, and neither is anything when no value, or several values, name churn:
    never alphabetical or frequency order, the analyst must then choose. Labels differing
    only in case are one label (validation compares labels case-insensitively).

    Parameters
    ----------
    values : iterable of str
        Distinct target labels (e.g. from :func:`target_values`).

    Returns
    -------
    str or None
        The positive label spelled as in ``values``.
    """
    vals = _fold(values)
    if not vals:
        return None
    pol = [_polarity(v) for v in vals]
    churn = [v for v, p in zip(vals, pol) if p == 1]
    if len(vals) == 1 or len(churn) != 1:
        return churn[0] if len(vals) == 1 and churn else None
    if churn[0].strip().casefold() in _FLAG_WORDS and -1 not in pol:
        return None  # "1" next to "2", "Yes" next to "maybe": no opposite, no meaning
    return churn[0]


def label_class(text: str | None, positive: str | None, negative: str | None = None) -> int:
    """What one target label counts as, the rule of training, evaluation and the app.

    Parameters
    ----------
    text : str or None
        A canonical label (:func:`churn_core.data.cells.label_text`); None for a blank cell.
    positive : str or None
        The value that means churned (case-insensitive; ``true``/``1`` are one value).
    negative : str, optional
        The value that means not churned. Without it (three or more labels) a value naming
        the opposite of ``positive`` counts as not churned (``No``/``0``/``stayed`` next to
        churned ``Yes``; ``Yes`` next to churned ``No``).

    Returns
    -------
    int
        1 churned, 0 not churned, -1 blank (or no churned value chosen), -2 neither
        churned nor not churned (such rows are rejected with that reason).
    """
    if text is None or positive is None:
        return -1
    key = text.casefold()
    if key in label_keys(positive):
        return 1
    if negative is not None:
        return 0 if key in label_keys(negative) else -2
    opposite = -_polarity(str(positive)) or -1
    return 0 if _polarity(text) == opposite else -2


def negative_label_for(values, positive: str | None) -> str | None:
    """The one value meaning *not churned* among a target's ``values``, or None.

    The other value of a two-label column; with more labels, the only other value that
    :func:`label_class` counts as not churned (``No`` among ``Yes``/``No``/``maybe``).
    """
    if positive is None:
        return None
    others = [v for v in _fold(values) if label_class(v, positive) != 1]
    if len(others) == 1:
        return others[0]
    stay = [v for v in others if label_class(v, positive) == 0]
    return stay[0] if len(stay) == 1 else None


#: labels below this share of the labelled rows are strays when two labels remain without them
STRAY_LABEL_SHARE = 0.01


def _without_stray_labels(series: pd.Series, values: list[str], columns) -> list[str]:
    """The target labels without strays: a repeated header (a label equal to a column name)
    and, when more than two labels remain, labels that together fill under
    :data:`STRAY_LABEL_SHARE` of the labelled rows while two labels fill the rest (a units
    row, a typo). Validation then rejects the stray rows naming their rows, as scoring does,
    instead of training refusing the whole file."""
    names = {str(c).strip().casefold() for c in columns}
    kept = [v for v in values if v.strip().casefold() not in names]
    folded = list({v.casefold(): v for v in reversed(kept)}.values())[::-1]
    if len(folded) > 2:
        counts = map_unique(series, label_text).value_counts(dropna=True)
        by_label: dict = {}
        for v, k in counts.items():
            by_label[str(v).casefold()] = by_label.get(str(v).casefold(), 0) + int(k)
        top = sorted(folded, key=lambda v: -by_label.get(v.casefold(), 0))
        rest = sum(by_label.get(v.casefold(), 0) for v in top[2:])
        if rest < STRAY_LABEL_SHARE * sum(by_label.values()):
            keep = {v.casefold() for v in top[:2]}
            kept = [v for v in kept if v.casefold() in keep]
    return kept
#: Label words that only a churn outcome uses (not generic flags such as 1/0, yes/no).
_CHURN_WORDS = frozenset({"churn", "churned", "churner", "attrited", "exited", "left", "lost",
                          "cancelled", "canceled", "closed", "gone", "leaver", "stayed",
                          "retained", "remained"})


def suggest_target(df: pd.DataFrame, exclude=()) -> str | None:
    """The column whose values look like a churn outcome, for a file without a churn name.

    A column qualifies when it holds exactly two labels (case ignored, summary rows left out)
    that :func:`suggest_positive_label` tells apart (one naming churn, the other staying)
    and at least one of them is a churn word
    (``Churned``/``Stayed``, ``cancelled``/``active``, ``Attrited``/``Existing``); generic
    flags (``1``/``0``, ``Yes``/``No``, ``True``/``False``) never qualify.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
    exclude : iterable of str
        Columns not to consider (e.g. given another role).

    Returns
    -------
    str or None
        The first qualifying column, in file order.
    """
    skip = set(exclude)
    rows = None
    for c in df.columns:
        if str(c).startswith("__") or c in skip:
            continue
        s = df[c]
        head = s.head(2000).dropna()
        if head.astype(str).str.strip().str.casefold().nunique() > 4:  # cheap: many values
            continue
        if rows is None:
            rows = _customer_rows(df)
        values = target_values(rows[c])
        if len({v.casefold() for v in values}) != 2 or suggest_positive_label(values) is None:
            continue
        if sorted(_polarity(v) for v in _fold(values)) != [-1, 1]:
            continue  # "left"/"right": one churn word is no churn outcome
        words = {w for v in values for w in re.findall(r"[a-z]+", v.casefold())}
        if words & _CHURN_WORDS:
            return c
    return None


def column_labels(df: pd.DataFrame, column) -> list[str]:
    """:func:`target_values` of ``df[column]`` over customer rows only (summary rows such as
    ``Total`` lines left out, see :mod:`churn_core.data.summary_rows`).

    Parameters
    ----------
    df : DataFrame
    column : str
        A column of ``df``.

    Returns
    -------
    list of str
    """
    return target_values(_customer_rows(df)[column])


def label_groups(df: pd.DataFrame, column) -> list[tuple[str, list[str], int]]:
    """The labels of ``df[column]`` as the rules match them: spellings that differ only in
    case (and surrounding spaces) are one label.

    Returns
    -------
    list of (str, list of str, int)
        ``(label, spellings, rows)`` per label, most rows first; spellings as written,
        most frequent first (summary rows left out, see :func:`column_labels`).
    """
    counts = map_unique(_customer_rows(df)[column], label_text).value_counts(dropna=True)
    groups: dict = {}
    for v, k in sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0])):
        g = groups.setdefault(str(v).casefold(), [str(v), [], 0])
        g[1].append(str(v))
        g[2] += int(k)
    return sorted((tuple(g) for g in groups.values()), key=lambda g: (-g[2], g[0]))


def other_labels_warning(df: pd.DataFrame, target: str | None, positive_label: str | None,
                         negative_label: str | None = None) -> str | None:
    """The warning for a target column with more than two labels, or None.

    Each label counts as :func:`label_class` says (the rule of training, evaluation and
    the app): churned, not churned, or neither (those rows are rejected with a reason). A
    file whose target mixes e.g. ``Yes``/``Y``/``churned``/``1`` with ``No``/``0`` would
    otherwise lose its ``Y``, ``churned`` and ``1`` rows without the analyst knowing why.
    Labels that differ only in case (``TRUE``/``True``) are one label: no warning.

    Parameters
    ----------
    df : DataFrame
    target : str or None
        The target column (matched as :func:`churn_core.data.cells.match_columns`: case and
        surrounding whitespace ignored).
    positive_label : str or None
        The value that means churned (compared case-insensitively).
    negative_label : str, optional
        The value that means not churned, when known (:func:`negative_label_for`).

    Returns
    -------
    str or None
        ``"column 'Churn' has 3 labels: churned = 'Yes'; not churned = 'No'; rejected as
        neither = 'maybe' (72 rows)"`` (every spelling of each, up to 10 per kind); None
        without a target or churned value, or with at most two labels.
    """
    col = match_columns(df.columns, [target]).get(target) if target else None
    if col is None or positive_label is None:
        return None
    groups = label_groups(df, col)
    if len(groups) <= 2:
        return None
    if negative_label is None:  # as infer_schema sets it
        negative_label = negative_label_for([g[0] for g in groups], positive_label)
    kinds: dict = {1: [], 0: [], -2: []}
    rows: dict = {1: 0, 0: 0, -2: 0}
    for label, spellings, n in groups:
        cls = label_class(label, positive_label, negative_label)
        kinds[cls].extend(spellings)
        rows[cls] += n

    def named(cls: int) -> str:
        vals = kinds[cls]
        if not vals:
            return "none"
        more = f", ... {len(vals) - 10} more" if len(vals) > 10 else ""
        return f"{', '.join(map(repr, vals[:10]))}{more} ({rows[cls]} rows)"

    text = (f"column {target!r} has {len(groups)} labels: churned = {named(1)}; "
            f"not churned = {named(0)}")
    if kinds[-2]:
        text += f"; rejected as neither churned nor not churned = {named(-2)}"
    return text


def _customer_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its summary rows (``Total``/``Average`` lines: their sums are no labels)."""
    from churn_core.data.summary_rows import summary_row_mask

    cells = [c for c in df.columns if not str(c).startswith("__")]
    mask = summary_row_mask(df, cells, blank_mask, parse_numeric)
    return df.loc[~mask] if mask.any() else df


def _resolve(df_columns, names, what: str, source: str | None) -> list[str]:
    if names is None:
        return None
    names = [names] if isinstance(names, str) else list(names)
    found = match_columns(df_columns, names)
    missing = [n for n in names if n not in found]
    if missing:
        raise MissingColumnsError(missing, source, found=list(df_columns))
    return [found[n] for n in names]


def _infer_type(series: pd.Series, decimal: str | None) -> tuple[str, str | None]:
    """Return (role, reason) with role in numeric / categorical / excluded."""
    n = len(series)
    if pd.api.types.is_bool_dtype(series):
        nonblank = series.dropna()
        if nonblank.empty:
            return "excluded", "every cell is blank"
        return ("excluded", f"constant: every value is {nonblank.iloc[0]!r}") if nonblank.nunique() == 1 \
            else ("categorical", None)
    blank = blank_mask(series)
    if blank.all():
        return "excluded", "every cell is blank"
    vals, _, bad = parse_numeric(series, decimal)
    nonblank = int((~blank).sum())
    ok = vals[~np.isnan(vals)]
    if len(ok) > NUMERIC_SHARE * nonblank:
        distinct = np.unique(ok)
        if len(distinct) == 1:
            return "excluded", f"constant: every value is {label_text(distinct[0])!r}"
        if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_CATEGORICAL_INT_LEVELS:
            return "categorical", None
        return "numeric", None
    cats = normalize_categories(series).dropna()
    k = cats.nunique()
    if k == 1:
        return "excluded", f"constant: every value is {cats.iloc[0]!r}"
    if k > 50 and k > 0.5 * len(cats):
        return "excluded", f"free text: {k} distinct values in {len(cats)} rows"
    return "categorical", None


def infer_schema(df: pd.DataFrame, target=None, positive_label=None, id_columns=None,
                 personal_columns=None, numeric=None, categorical=None, excluded=None,
                 decimal: str | None = None) -> FeatureSchema:
    """Infer a :class:`FeatureSchema` from a table; every argument overrides inference.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        Table from :func:`churn_core.io.reader.read_table`.
    target : str, optional
        Target column (matched case- and whitespace-insensitively). Default: the first
        column named like :data:`TARGET_NAMES`; ``None`` found means a file to score.
    positive_label : str, optional
        Target value meaning churned; default :func:`suggest_positive_label`, which may
        return ``None`` (the user must then state it).
    id_columns, personal_columns : list of str, optional
        Exactly these columns get that role (no inference for the role).
    numeric, categorical, excluded : list of str, optional
        Force these columns into that role; other columns are still inferred. When both
        ``numeric`` and ``categorical`` are given, they are the complete feature list and
        every other column is excluded.
    decimal : {".", ","}, optional
        Decimal-mark hint for ambiguous numbers; default ``df.attrs["decimal"]`` set by
        :func:`churn_core.io.reader.read_table` (``ReadReport.decimal``).

    Returns
    -------
    FeatureSchema
        ``reasons`` maps each excluded column to why.

    Raises
    ------
    MissingColumnsError
        A named column is not in the table (all such names listed).
    SchemaError
        A column given two roles, or a positive label that is not a value of the target.
    """
    source = df.attrs.get("source_name")
    decimal = decimal or df.attrs.get("decimal")
    columns = [c for c in df.columns if not str(c).startswith("__")]
    full = df
    if len(df) > INFER_SAMPLE_ROWS:  # types and IDs from a fixed-seed sample, in file order
        df = df.sample(INFER_SAMPLE_ROWS, random_state=0).sort_index()
    target_col = None
    if target is not None:
        target_col = _resolve(columns, [target], "target", source)[0]
    else:
        # a column the caller gave another role is no target candidate
        named = {_key(c) for arg in (id_columns, personal_columns, numeric, categorical, excluded)
                 for c in ([arg] if isinstance(arg, str) else (arg or []))}
        keys = {_key(c): c for c in reversed(columns) if _key(c) not in named}
        for name in TARGET_NAMES:
            if name in keys:
                target_col = keys[name]
                break
        if target_col is None:  # no churn name: a column whose values read like churn
            target_col = suggest_target(df, exclude=[c for c in columns if _key(c) in named])
    given = {
        "id_columns": _resolve(columns, id_columns, "ID", source),
        "personal_columns": _resolve(columns, personal_columns, "personal", source),
        "numeric": _resolve(columns, numeric, "numeric", source),
        "categorical": _resolve(columns, categorical, "categorical", source),
        "excluded": _resolve(columns, excluded, "excluded", source),
    }
    seen: dict = {}
    for role, cols in given.items():
        for c in cols or []:
            if c == target_col:
                raise SchemaError(f"column {c!r} is the target and cannot also be {role}")
            if c in seen and seen[c] != role:
                raise SchemaError(f"column {c!r} is given two roles: {seen[c]} and {role}")
            seen[c] = role
    roles: dict = {c: r for c, r in seen.items()}
    reasons: dict = {c: "excluded by the user" for c in given["excluded"] or []}
    both_features = given["numeric"] is not None and given["categorical"] is not None
    for c in columns:
        if c == target_col or c in roles:
            continue
        personal = _key(_DUP_SUFFIX.sub("", str(c))) in PERSONAL_NAMES
        if given["personal_columns"] is None and personal:
            roles[c] = "personal_columns"
        elif given["id_columns"] is None and looks_like_id(c):  # by name
            roles[c] = "id_columns"
        elif looks_like_dates(df[c]):  # before unique values read as IDs: one date per customer
            roles[c] = "excluded"
            reasons[c] = date_reason(c, first_cell(df[c]))
        elif given["id_columns"] is None and looks_like_id(c, df[c]):
            roles[c] = "id_columns"
        elif target_col is not None and _LEAK_PATTERN.search(_key(c)):
            roles[c] = "excluded"
            reasons[c] = f"looks derived from the churn outcome like {target_col!r} (would leak the answer)"
        elif both_features:
            roles[c] = "excluded"
            reasons[c] = "not selected as a feature"
        else:
            role, why = _infer_type(df[c], decimal)
            roles[c] = role
            if why:
                reasons[c] = why
    for c in [c for c in columns if roles.get(c) == "excluded" and c not in reasons
              or reasons.get(c) == "excluded by the user"]:  # the note survives Apply
        if looks_like_dates(df[c]):
            reasons[c] = date_reason(c, first_cell(df[c]))
    pos = neg = None
    if target_col is not None:
        values = column_labels(full, target_col)
        if positive_label is not None:
            want = label_text(positive_label)
            match = [v for v in values if want is not None and v.casefold() == want.casefold()]
            if len(values) >= 2 and not match:  # one value only: check_trainable says 'one class'
                shown = ", ".join(values[:10])
                raise SchemaError(f"the positive label {positive_label!r} is not a value of column "
                                  f"{target_col!r} (values: {shown})")
            pos = match[0] if match else want
        else:
            values = _without_stray_labels(full[target_col], values, full.columns)
            pos = suggest_positive_label(values)
        neg = negative_label_for(values, pos)
    schema = FeatureSchema(
        target=target_col,
        positive_label=pos,
        negative_label=neg,
        numeric=[c for c in columns if roles.get(c) == "numeric"],
        categorical=[c for c in columns if roles.get(c) == "categorical"],
        id_columns=[c for c in columns if roles.get(c) == "id_columns"],
        personal_columns=[c for c in columns if roles.get(c) == "personal_columns"],
        excluded=[c for c in columns if roles.get(c) == "excluded"],
    )
    if hasattr(schema, "reasons"):
        schema.reasons = {c: reasons[c] for c in schema.excluded if c in reasons}
    try:
        schema.check()
    except ValueError as exc:
        raise SchemaError(str(exc)) from None
    return schema
