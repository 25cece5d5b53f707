"""What-if for one customer: edit feature values, re-score, and search the actionable change
that lowers the churn probability most.

Scoring path
------------
Every probability here comes from :meth:`ModelBundle.predict_proba` on validated rows (the
rows :func:`churn_core.data.validate.validate` returns), exactly as
:func:`churn_core.campaign.scoring.score_frame` scores a file: an edited customer's
probability is the probability scoring the edited row would give (up to float32 rounding
between batch shapes, ~1e-7). Editing values to what they already are changes nothing (the
original probability is returned as is).

Values allowed
--------------
From the bundle's preprocessor (fitted on the training rows): categories are the training
categories (matched case- and whitespace-insensitively, as scoring matches them); numbers lie
within the training range (the outer piecewise-linear bin edges = training minimum and
maximum; without them the range of a reference sample, e.g. the SHAP background, within the
gross-outlier fences). Candidate numbers are the training quantiles (the bin edges, or nine
quantiles of the reference sample) and, for whole-number columns, one more and one fewer.

Which columns are searched
--------------------------
Only *actionable* columns (:func:`actionable_columns`): never a protected or sensitive
attribute (:func:`is_protected`, matched by name: gender, sex, age, date of birth,
nationality, geography / country / region, ethnicity, race, religion, marital status,
dependents, senior citizen, disability), and not columns nobody can change (tenure, salary,
income, credit score). The single changes of one customer and all pairs of them in two
different columns are scored in ONE call of the model.

What a suggestion means
-----------------------
It is what the model predicts for the edited customer, not a causal effect: the model learnt
associations in past data, and an intervention (giving a customer a second product) need not
move churn as the association does. Campaign results measure effects.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError
from churn_core.model.preprocess import _lookup_category, _norm_key

#: Protected or sensitive attributes, matched against a column's words (``SeniorCitizen`` ->
#: "senior citizen", ``Customer_Age`` -> "customer age"); never searched for a change.
PROTECTED_TERMS = (
    "gender", "sex", "age", "date of birth", "birth date", "birthdate", "dob", "year of birth",
    "nationality", "citizenship", "geography", "country", "region", "ethnicity", "ethnic",
    "race", "religion", "marital status", "marital", "dependents", "senior citizen",
    "disability", "disabled",
)
#: Legitimate columns no team can change for a customer (history and circumstances).
NOT_ACTIONABLE_TERMS = ("tenure", "salary", "income", "credit score")
#: Quantiles searched for a numeric column without piecewise-linear bin edges.
N_QUANTILES = 9
#: At most this many pairs of single changes are scored for one customer.
MAX_PAIRS = 5000
#: The wording shown with every suggestion.
NOT_CAUSAL = ("These are the model's predictions for the edited customer, not causal effects: "
              "the model learnt associations in past data. A campaign measures what a change "
              "really does.")


class WhatIfError(ChurnError):
    """An edit cannot be applied (unknown column, unknown category, number out of range)."""


# ---------------------------------------------------------------------------- columns
def _words(column) -> list[str]:
    """Lower-case words of a column name (camelCase, digits and separators split)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    return re.sub(r"[^0-9A-Za-z]+", " ", s).casefold().split()


def _has_term(column, terms: Sequence[str]) -> bool:
    """Whether a term's words occur in a row in ``column``'s words (a plural ``s`` allowed),
    or the term written as one word is one of them (``seniorcitizen``)."""
    words = _words(column)
    for term in terms:
        tw = term.split()
        n = len(tw)
        for i in range(len(words) - n + 1):
            part = words[i:i + n]
            if part[:-1] == tw[:-1] and part[-1] in (tw[-1], tw[-1] + "s"):
                return True
        if n > 1 and "".join(tw) in words:
            return True
    return False


def is_protected(column) -> bool:
    """Whether ``column`` is a protected or sensitive attribute (matched by name).

    The one rule the what-if search uses; point it at the shared list of
    ``churn_core/explain/reasons.py`` when that exists.

    Parameters
    ----------
    column : str

    Returns
    -------
    bool
        True for names such as ``Gender``, ``Age``, ``Customer_Age``, ``Geography``,
        ``SeniorCitizen``, ``Dependents``, ``Marital_Status``, ``DateOfBirth``; False for
        ``Usage`` or ``Balance`` (whole words only).
    """
    return _has_term(column, PROTECTED_TERMS)


def actionable_columns(columns: Sequence[str]) -> list[str]:
    """The columns a change may be suggested for: not protected, not history/circumstance.

    Parameters
    ----------
    columns : sequence of str

    Returns
    -------
    list of str
        In the order of ``columns``.
    """
    return [c for c in columns if not is_protected(c) and not _has_term(c, NOT_ACTIONABLE_TERMS)]


# ---------------------------------------------------------------------------- the space
@dataclass(frozen=True)
class ColumnSpace:
    """The values one feature column may take in a what-if.

    Attributes
    ----------
    column : str
    kind : {"numeric", "category"}
    values : tuple
        Candidate values: training categories (most frequent first), or numbers at training
        quantiles (ascending, within ``[low, high]``).
    low, high : float or None
        Training range of a numeric column.
    integer : bool
        A numeric column holding whole numbers only (steps of one are candidates too).
    """

    column: str
    kind: str
    values: tuple
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def format(self, value) -> str:
        """A value as text: whole numbers without decimals, others with up to 2."""
        if self.kind == "category":
            return str(value)
        v = float(value)
        if not np.isfinite(v):
            return "blank"
        if self.integer or v.is_integer():
            return str(int(round(v)))
        return f"{v:.2f}".rstrip("0").rstrip(".")


def _finite(series: pd.Series | None) -> np.ndarray:
    if series is None:
        return np.zeros(0)
    x = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return x[np.isfinite(x)]


def feature_space(bundle, reference: pd.DataFrame | None = None) -> dict[str, ColumnSpace]:
    """The allowed and candidate values of every feature of ``bundle``.

    Parameters
    ----------
    bundle : ModelBundle
    reference : DataFrame, optional
        Validated rows seen by the model, ideally its training split (the SHAP background):
        tells whole-number columns apart and gives the range and quantiles of numeric
        columns without piecewise-linear bin edges.

    Returns
    -------
    dict of str to ColumnSpace
        One entry per feature, in model order.

    Notes
    -----
    Range of a numeric column: the preprocessor's outer bin edges (training minimum and
    maximum); else the reference minimum and maximum within the gross-outlier fences; else
    the mean plus or minus 3 standard deviations. Candidates: the bin edges (training
    quantiles at 0, 1/8, ..., 1), else :data:`N_QUANTILES` reference quantiles.
    """
    pre = bundle.preprocessor
    out: dict[str, ColumnSpace] = {}
    for col in pre.numeric:
        ref = _finite(reference[col]) if reference is not None and col in reference else _finite(None)
        fence = pre.bounds.get(col, (-np.inf, np.inf))
        if len(ref):
            ref = ref[(ref >= fence[0]) & (ref <= fence[1])]
        edges = pre.edges.get(col)
        if edges:
            low, high, q = float(edges[0]), float(edges[-1]), np.asarray(edges, float)
        elif len(ref):
            low, high = float(ref.min()), float(ref.max())
            q = np.quantile(ref, np.linspace(0, 1, N_QUANTILES))
        else:
            mean, sd = pre.means[col], pre.scales[col]
            low, high = max(mean - 3 * sd, fence[0]), min(mean + 3 * sd, fence[1])
            q = np.linspace(low, high, N_QUANTILES)
        integer = bool(len(ref)) and bool(np.all(ref == np.round(ref)))
        if integer:
            q = np.round(q)
        q = np.unique(np.clip(q, low, high))
        out[col] = ColumnSpace(col, "numeric", tuple(float(v) for v in q), low, high, integer)
    for col in pre.categorical:
        out[col] = ColumnSpace(col, "category", tuple(pre.categories[col]))
    return out


def _category_index(spec: ColumnSpace) -> dict[str, int]:
    return {_norm_key(v): i for i, v in enumerate(spec.values)}


def parse_value(space: Mapping[str, ColumnSpace], column: str, value):
    """An edit's value as the model reads it, checked against the allowed values.

    Parameters
    ----------
    space : dict of str to ColumnSpace
        From :func:`feature_space`.
    column : str
        A feature column (case and surrounding spaces ignored).
    value : str, float or int
        A number (numeric text as validation reads it: ``1,234.5`` or ``1.234,5``) or a
        category (case and spaces ignored; ``True`` matches a trained ``1``).

    Returns
    -------
    tuple of (str, float or str)
        The column's model name and the value (float, or the category's training spelling).

    Raises
    ------
    WhatIfError
        Unknown column; a number that is blank, not a number or outside the training range;
        a category not seen in training. The message names the column and what is allowed.
    """
    from churn_core.data.validate import parse_numeric

    names = {str(c).strip().casefold(): c for c in space}
    col = names.get(str(column).strip().casefold())
    if col is None:
        raise WhatIfError(f"{column!r} is not a feature of the model; features: {', '.join(space)}")
    spec = space[col]
    if spec.kind == "category":
        pos = _lookup_category(_category_index(spec), _norm_key(value))
        if pos < 0:
            raise WhatIfError(f"column {col!r}: {value!r} was not seen in training; known values: "
                              f"{', '.join(map(str, spec.values))}")
        return col, spec.values[pos]
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
    else:
        vals, _, _ = parse_numeric(pd.Series([str(value)], dtype="str"))
        v = float(vals[0])
    if not np.isfinite(v):
        raise WhatIfError(f"column {col!r}: {value!r} is not a number")
    if not spec.low <= v <= spec.high:
        raise WhatIfError(f"column {col!r}: {spec.format(v)} is outside the training range "
                          f"{spec.format(spec.low)} to {spec.format(spec.high)}")
    return col, v


def _same(spec: ColumnSpace, a, b) -> bool:
    """Whether two values of a column encode the same way."""
    if spec.kind == "category":
        if pd.isna(a) or pd.isna(b):
            return bool(pd.isna(a) and pd.isna(b))
        index = _category_index(spec)
        ka, kb = _norm_key(a), _norm_key(b)
        pa, pb = _lookup_category(index, ka), _lookup_category(index, kb)
        return pa == pb if pa >= 0 or pb >= 0 else ka == kb
    fa, fb = float(a), float(b)
    return (np.isnan(fa) and np.isnan(fb)) or fa == fb


def _set_columns(rows: pd.DataFrame, assign: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """In place: ``rows[col].iloc[pos] = values`` for each ``col -> (pos, values)``, keeping
    each column's dtype (float for numeric, text for categories)."""
    for col, (pos, values) in assign.items():
        dtype = rows[col].dtype
        arr = rows[col].to_numpy(dtype=object, copy=True)
        arr[pos] = values
        rows[col] = pd.array(arr, dtype=dtype) if not pd.api.types.is_float_dtype(dtype) \
            else arr.astype(float)


def apply_changes(row: pd.DataFrame, changes: Mapping[str, object]) -> pd.DataFrame:
    """A copy of validated rows with some feature values replaced (already parsed values).

    Parameters
    ----------
    row : DataFrame of shape (n_samples, >= n_features)
        Validated rows (``ValidationResult.valid``).
    changes : dict of str to float or str
        Column -> new value (from :func:`parse_value`), the same for every row.

    Returns
    -------
    DataFrame
        Same index and columns as ``row``.
    """
    out = row.copy()
    n = len(out)
    _set_columns(out, {c: (np.arange(n), [v] * n) for c, v in changes.items()})
    return out


# ---------------------------------------------------------------------------- one edit
@dataclass
class WhatIfResult:
    """One customer before and after an edit.

    Attributes
    ----------
    probability_before, probability_after : float
        Churn probabilities in [0, 1] (calibrated, as in the scored table).
    changes : dict of str to object
        The edits that change a value (edits to the current value are left out).
    row_before, row_after : DataFrame of shape (1, n_columns)
        The validated row and the edited row.
    """

    probability_before: float
    probability_after: float
    changes: dict
    row_before: pd.DataFrame
    row_after: pd.DataFrame


def what_if(bundle, row: pd.DataFrame, changes: Mapping[str, object],
            space: Mapping[str, ColumnSpace] | None = None) -> WhatIfResult:
    """Score one customer before and after editing some of their feature values.

    Parameters
    ----------
    bundle : ModelBundle
    row : DataFrame of shape (1, >= n_features)
        The customer's validated row.
    changes : dict of str to object
        Column -> new value (text or number; parsed and checked by :func:`parse_value`).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``row`` as reference.

    Returns
    -------
    WhatIfResult
        ``probability_after`` is ``bundle.predict_proba`` of the edited row: what
        :func:`churn_core.campaign.scoring.score_frame` gives that row. With no change of
        any value it equals ``probability_before``.

    Raises
    ------
    WhatIfError
        See :func:`parse_value`; also when ``row`` is not one row.
    """
    if len(row) != 1:
        raise WhatIfError(f"what-if edits one customer; got {len(row)} rows")
    space = space if space is not None else feature_space(bundle, row)
    parsed = dict(parse_value(space, c, v) for c, v in changes.items())
    effective = {c: v for c, v in parsed.items() if not _same(space[c], row[c].iloc[0], v)}
    edited = apply_changes(row, effective)
    before = float(bundle.predict_proba(row)[0])
    after = float(bundle.predict_proba(edited)[0]) if effective else before
    return WhatIfResult(before, after, effective, row, edited)


# ---------------------------------------------------------------------------- candidates
@dataclass
class _Candidate:
    """One single change for a block of customers: ``column`` set to ``values[i]`` for
    customer ``i``, a real change (different, within range) where ``ok[i]``."""

    column: str
    values: np.ndarray
    ok: np.ndarray
    step: int = 0  # +1 / -1 for "one more / one fewer", 0 for a fixed value


def _candidates(space: Mapping[str, ColumnSpace], columns: Sequence[str],
                rows: pd.DataFrame) -> list[_Candidate]:
    """Every single change of ``columns`` for every customer of ``rows``."""
    n = len(rows)
    out: list[_Candidate] = []
    for col in columns:
        spec = space[col]
        if spec.kind == "category":
            index = _category_index(spec)
            codes, uniques = pd.factorize(rows[col], use_na_sentinel=True)
            pos_u = np.array([_lookup_category(index, _norm_key(u)) for u in uniques] + [-1])
            current = pos_u[np.where(codes < 0, len(uniques), codes)]
            for k, label in enumerate(spec.values):
                out.append(_Candidate(col, np.full(n, label, dtype=object), current != k))
            continue
        x = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        grid = np.asarray(spec.values, float)
        for v in grid:
            out.append(_Candidate(col, np.full(n, v), ~np.isclose(x, v, rtol=1e-12, atol=0)))
        if spec.integer:
            for step in (1, -1):
                v = x + step
                with np.errstate(invalid="ignore"):
                    ok = np.isfinite(v) & (v >= spec.low) & (v <= spec.high) & ~np.isin(v, grid)
                out.append(_Candidate(col, v, ok, step))
    return out


def _score_edits(bundle, rows: pd.DataFrame, cands: list[_Candidate],
                 edits: Sequence[Sequence[int]]) -> np.ndarray:
    """Probabilities of ``rows`` unchanged (row 0 of the result) and under each edit.

    One call of ``bundle.predict_proba`` on ``(len(edits) + 1) * len(rows)`` rows: block
    ``b`` holds every customer with edit ``b - 1`` applied (an edit = candidate indices).

    Returns
    -------
    ndarray of shape (len(edits) + 1, len(rows))
    """
    n = len(rows)
    feats = rows[list(bundle.features)].reset_index(drop=True)
    big = feats.iloc[np.tile(np.arange(n), len(edits) + 1)].reset_index(drop=True)
    by_col: dict[str, list] = defaultdict(list)
    for b, edit in enumerate(edits, start=1):
        for k in edit:
            by_col[cands[k].column].append((b, k))
    assign = {}
    for col, items in by_col.items():
        pos = np.concatenate([np.arange(b * n, (b + 1) * n) for b, _ in items])
        vals = np.concatenate([cands[k].values.astype(object) for _, k in items])
        assign[col] = (pos, vals)
    _set_columns(big, assign)
    return np.asarray(bundle.predict_proba(big), dtype=float).reshape(len(edits) + 1, n)


def _searched(space, columns) -> list[str]:
    cols = actionable_columns(list(space)) if columns is None else list(columns)
    unknown = [c for c in cols if c not in space]
    if unknown:
        raise WhatIfError(f"not features of the model: {', '.join(map(str, unknown))}")
    return cols


@dataclass
class Suggestions:
    """The changes that lower one customer's churn probability most (model predictions).

    Attributes
    ----------
    probability_before : float
        The customer's churn probability, in [0, 1].
    singles : DataFrame
        The best single changes, lowest probability first: ``column``, ``current``,
        ``value`` (float or category), ``change`` (text, e.g. ``"IsActiveMember: 0 -> 1"``),
        ``probability_after`` and ``difference`` (after - before, negative). Only changes
        that lower the probability.
    best_pair : dict or None
        ``{"columns": [a, b], "values": [va, vb], "change": text, "probability_after": p,
        "difference": d}`` for the pair of changes in two columns with the lowest
        probability, when it is lower than before.
    searched : list of str
        The columns searched.
    n_scored : int
        Edited rows scored (singles + pairs).
    note : str
        :data:`NOT_CAUSAL`.
    """

    probability_before: float
    singles: pd.DataFrame
    best_pair: dict | None
    searched: list
    n_scored: int
    note: str = field(default=NOT_CAUSAL)


def _change_text(spec: ColumnSpace, current, value) -> str:
    return f"{spec.column}: {spec.format(current)} → {spec.format(value)}"


def suggest_changes(bundle, row: pd.DataFrame, space: Mapping[str, ColumnSpace] | None = None,
                    columns: Sequence[str] | None = None, top: int = 5,
                    pairs: bool = True) -> Suggestions:
    """Search the single changes (and pairs) of actionable columns for one customer.

    Parameters
    ----------
    bundle : ModelBundle
    row : DataFrame of shape (1, >= n_features)
        The customer's validated row (e.g. already edited with :func:`apply_changes`).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``row`` as reference.
    columns : sequence of str, optional
        Columns to search; default :func:`actionable_columns` of the features (protected
        attributes are never searched by default).
    top : int, default 5
        Single changes returned.
    pairs : bool, default True
        Also score every pair of single changes in two different columns (at most
        :data:`MAX_PAIRS`, the first ones in column order).

    Returns
    -------
    Suggestions

    Raises
    ------
    WhatIfError
        When ``row`` is not one row or ``columns`` names a non-feature.

    Notes
    -----
    All candidates (the unchanged row, the singles and the pairs) are scored in one call of
    ``bundle.predict_proba``.
    """
    if len(row) != 1:
        raise WhatIfError(f"suggestions are for one customer; got {len(row)} rows")
    space = space if space is not None else feature_space(bundle, row)
    cols = _searched(space, columns)
    cands = [c for c in _candidates(space, cols, row) if c.ok[0]]
    singles = [(k,) for k in range(len(cands))]
    duo = [(i, j) for i, j in combinations(range(len(cands)), 2)
           if cands[i].column != cands[j].column][:MAX_PAIRS] if pairs else []
    p = _score_edits(bundle, row, cands, singles + duo)[:, 0]
    before = float(p[0])
    recs = []
    for k, c in enumerate(cands):
        spec = space[c.column]
        cur = row[c.column].iloc[0]
        recs.append({"column": c.column, "current": cur, "value": c.values[0],
                     "change": _change_text(spec, cur, c.values[0]),
                     "probability_after": float(p[1 + k]),
                     "difference": float(p[1 + k]) - before})
    table = pd.DataFrame(recs, columns=["column", "current", "value", "change",
                                        "probability_after", "difference"])
    table = table[table["difference"] < 0].sort_values("probability_after", kind="stable")
    best = None
    if duo:
        pp = p[1 + len(singles):]
        i = int(np.argmin(pp))
        if pp[i] < before:
            a, b = (cands[k] for k in duo[i])
            best = {"columns": [a.column, b.column], "values": [a.values[0], b.values[0]],
                    "change": "; ".join(_change_text(space[c.column], row[c.column].iloc[0],
                                                     c.values[0]) for c in (a, b)),
                    "probability_after": float(pp[i]), "difference": float(pp[i]) - before}
    return Suggestions(before, table.head(top).reset_index(drop=True), best, cols,
                       len(singles) + len(duo))


def best_single_changes(bundle, valid_rows: pd.DataFrame,
                        space: Mapping[str, ColumnSpace] | None = None,
                        columns: Sequence[str] | None = None,
                        progress: Callable[[int, int, str], None] | None = None,
                        chunk: int = 1000) -> pd.DataFrame:
    """The single actionable change that lowers each customer's churn probability most.

    Parameters
    ----------
    bundle : ModelBundle
    valid_rows : DataFrame of shape (n_samples, >= n_features)
        Validated rows (e.g. the listed customers).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``valid_rows`` as reference.
    columns : sequence of str, optional
        Default :func:`actionable_columns` of the features.
    progress : callable, optional
        ``progress(done, total, message)`` after each block of customers.
    chunk : int, default 1000
        Customers per call of the model (each call scores ``chunk x (candidates + 1)`` rows).

    Returns
    -------
    DataFrame of shape (n_samples, 5)
        Index of ``valid_rows``; ``column``, ``value``, ``change`` (text; empty, with
        ``column`` None, when no change lowers the probability), ``probability_before``,
        ``probability_after`` (equal to before when there is no such change).
    """
    space = space if space is not None else feature_space(bundle, valid_rows)
    cols = _searched(space, columns)
    n = len(valid_rows)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    text = np.full(n, "", dtype=object)
    p_before = np.full(n, np.nan)
    p_after = np.full(n, np.nan)
    for start in range(0, n, max(1, int(chunk))):
        rows = valid_rows.iloc[start:start + chunk]
        cands = _candidates(space, cols, rows)
        p = _score_edits(bundle, rows, cands, [(k,) for k in range(len(cands))])
        before, after = p[0], p[1:]
        if cands:
            ok = np.vstack([c.ok for c in cands])
            after = np.where(ok, after, np.inf)
            best = np.argmin(after, axis=0)
            p_best = after[best, np.arange(len(rows))]
        else:
            best, p_best = np.zeros(len(rows), int), np.full(len(rows), np.inf)
        better = p_best < before
        sl = slice(start, start + len(rows))
        p_before[sl] = before
        p_after[sl] = np.where(better, p_best, before)
        for i in np.flatnonzero(better):
            c = cands[best[i]]
            column[start + i], value[start + i] = c.column, c.values[i]
            text[start + i] = _change_text(space[c.column], rows[c.column].iloc[i], c.values[i])
        if progress is not None:
            progress(min(start + len(rows), n), n, "searching changes")
    return pd.DataFrame({"column": column, "value": value, "change": text,
                         "probability_before": p_before, "probability_after": p_after},
                        index=valid_rows.index)


def suggest_for_frame(bundle, valid_rows: pd.DataFrame,
                      space: Mapping[str, ColumnSpace] | None = None,
                      columns: Sequence[str] | None = None,
                      progress: Callable[[int, int, str], None] | None = None,
                      chunk: int = 1000) -> pd.Series:
    """The ``suggested_change`` column of a customer list: best single actionable change and
    the churn probability after it.

    Parameters
    ----------
    bundle, valid_rows, space, columns, progress, chunk
        As in :func:`best_single_changes`.

    Returns
    -------
    Series of str of shape (n_samples,), named ``suggested_change``
        E.g. ``"IsActiveMember: 0 → 1 (churn probability 0.412)"``; empty where no single
        change lowers the probability. Index of ``valid_rows``.
    """
    best = best_single_changes(bundle, valid_rows, space, columns, progress, chunk)
    has = best["change"] != ""
    text = best["change"].where(~has, best["change"] + best["probability_after"].map(
        lambda p: f" (churn probability {p:.3f})"))
    return text.astype(object).rename("suggested_change")
