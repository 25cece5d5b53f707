"""Typing and row accounting: turn a table as read into typed valid rows and rejected rows.

Columns are matched to the schema by name (case and surrounding whitespace ignored), never by
position. Every input row ends up either in ``valid`` or in ``rejected`` (with the original
cells, its ``source_line`` and a ``reason`` naming the column, line and bad value), so
``len(valid) + len(rejected) == len(df)`` always holds.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core import config
from churn_core.errors import MissingColumnsError, SchemaError, TrainingDataError
from churn_core.io.reader import LINE_INDEX, PARSE_ERROR_COLUMN
from churn_core.data.schema import FeatureSchema

#: Cell texts treated as missing (pandas' usual missing-value markers plus a few CRM ones).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "-", "?", "#n/a", "<na>", "nat"})
_SPACES = re.compile(r"[\s\u00a0\u202f']")
#: Thousands separators other than ``.``/``,`` (``1 234``, ``1'234``), valid only between a
#: digit and a group of exactly three digits: ``4 2`` or a line break inside a cell is no number.
_GROUP_SEP = re.compile(r"[ \u00a0\u202f']")
_GOOD_GROUP_SEP = re.compile(r"(?<=\d)[ \u00a0\u202f'](?=\d{3}(?!\d))")
_CURRENCY = re.compile(r"^[€$£¥]|[€$£¥]$|^(eur|usd|gbp)\s*|\s*(eur|usd|gbp)$", re.I)
_PERIOD_STYLE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?$")
_COMMA_STYLE = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d*)(,\d+)?$")
_INT_FLOAT_TEXT = re.compile(r"^([+-]?\d+)\.0+$")


def normalize_name(name) -> str:
    """Case- and whitespace-insensitive key of a column name (``" Credit  Score "`` -> ``"credit score"``)."""
    return " ".join(str(name).split()).casefold()


def label_text(value) -> str | None:
    """Canonical text of a target label: ``1.0`` -> ``"1"``, ``True`` -> ``"True"``, blanks -> ``None``.

    Parameters
    ----------
    value : object
        A target cell.

    Returns
    -------
    str or None
        Stripped text, integral numbers without decimals; ``None`` for missing/blank cells.
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    if text.casefold() in MISSING_TOKENS:
        return None
    m = _INT_FLOAT_TEXT.match(text)
    return m.group(1).lstrip("+") if m else text


def _missing_token_set() -> pa.Array:
    variants = set()
    for t in MISSING_TOKENS:
        variants |= {t, t.upper(), t.title(), t.capitalize()}
    return pa.array(sorted(variants), type=pa.large_string())


_MISSING_ARROW = _missing_token_set()


def _arrow_text(s: pd.Series) -> pa.Array:
    """The column as an Arrow large_string array (zero-copy for pandas ``str`` columns)."""
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype("str")
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def _blank_mask_arrow(trimmed: pa.Array) -> np.ndarray:
    blank = pc.or_(pc.is_null(trimmed), pc.fill_null(pc.is_in(trimmed, value_set=_MISSING_ARROW), True))
    return blank.to_numpy(zero_copy_only=False).astype(bool)


def _blank_mask(s: pd.Series) -> np.ndarray:
    """True where a cell is missing, whitespace or a missing marker like ``NA``."""
    if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
        return s.isna().to_numpy()
    return _blank_mask_arrow(pc.utf8_trim_whitespace(_arrow_text(s)))


def _label_keys(label: str) -> set:
    """Spellings matching a target label: itself (case-insensitive), and ``true``/``1`` or
    ``false``/``0`` for each other (a Parquet boolean target against a 0/1-trained model)."""
    key = str(label).casefold()
    twins = {"true": "1", "1": "true", "false": "0", "0": "false"}
    return {key, twins[key]} if key in twins else {key}


def map_unique(series: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value (``pandas.factorize``) and return ``str`` cells.

    Parameters
    ----------
    series : Series of shape (n_samples,)
    func : callable
        Maps one value to text or ``None`` (missing).

    Returns
    -------
    Series of shape (n_samples,), ``str`` dtype, same index
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = [func(u) for u in uniques] + [None]
    if isinstance(series.dtype, pd.StringDtype) and all(
            m is not None and m == u for m, u in zip(mapped[:-1], uniques)):
        # every distinct text maps to itself: the cells are already the answer (no take)
        return pd.Series(series.array, index=series.index).astype("str")
    arr = pd.array(mapped, dtype="str")
    codes = np.where(codes < 0, len(mapped) - 1, codes)
    return pd.Series(arr.take(codes), index=series.index)


def _plain_float(text: str) -> float:
    if "_" in text:
        return np.nan
    try:
        v = float(text)
    except (ValueError, OverflowError):
        return np.nan
    return v if np.isfinite(v) else np.nan


def _styled_float(text: str, decimal: str) -> float:
    """Parse one number text with thousands separators in the given style; NaN if not a number.

    Also accepts accounting negatives ``(1,234.50)`` (-1234.5) and percentages ``12,5%``
    (0.125), as spreadsheets export them.
    """
    t = re.sub(r"\s+%$", "%", _CURRENCY.sub("", text).strip())  # "12,5 %"
    if re.search(r"[^\S ]", t.replace("\u00a0", "").replace("\u202f", "")) or \
            len(_GROUP_SEP.findall(t)) != len(_GOOD_GROUP_SEP.findall(t)):
        return np.nan  # a tab or line break inside the cell, or spaces that are no thousands groups
    t = _GROUP_SEP.sub("", t)
    sign, scale = 1.0, 1.0
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        sign, t = -1.0, _CURRENCY.sub("", t[1:-1])
    if len(t) > 1 and t[-1] == "%":
        scale, t = 0.01, t[:-1]
    if not any(ch.isdigit() for ch in t):
        return np.nan
    if decimal == ",":
        if not _COMMA_STYLE.match(t):
            return np.nan
        t = t.replace(".", "").replace(",", ".")
    else:
        if not _PERIOD_STYLE.match(t):
            return np.nan
        t = t.replace(",", "")
    return sign * scale * _plain_float(t)


_COMMA_SURE = re.compile(r"\.\d{3},\d*$|,\d{1,2}$|,\d{4,}$")
_PERIOD_SURE = re.compile(r",\d{3}\.\d*$|,\d{3},\d{3}")
#: Plainly parsed cells whose period can only be a decimal mark (``118236.59``, ``0.5``).
_PERIOD_DECIMAL_SURE = re.compile(r"^[+-]?\d*\.(\d{1,2}|\d{4,})$")


def _column_decimal(bad_texts, hint: str | None) -> str:
    """Decide a column's decimal mark from the distinct cells the plain parser refused.

    ``1.234,56``/``12,5`` are sure decimal commas, ``1,234.5``/``1,234,567`` sure thousands
    commas; the majority wins and a tie (e.g. only ``1,234``) follows ``hint``.
    """
    n_comma = n_period = 0
    for t in bad_texts:
        t = _SPACES.sub("", t).strip("()%")
        n_comma += bool(_COMMA_SURE.search(t))
        n_period += bool(_PERIOD_SURE.search(t))
    if n_comma > n_period:
        return ","
    if n_period > n_comma:
        return "."
    return hint or "."


def parse_numeric(series: pd.Series, decimal: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column of numbers written as text.

    Accepts plain numbers (``1234.5``, ``1e3``), quoted thousands (``"125,510.82"``), decimal
    comma with thousands dots (``1.234,56``), spaces/apostrophes as thousands separators and a
    leading or trailing currency sign. The decimal mark is decided per column from the cells
    that need it (``1.234,56`` is sure, ``1,234`` is ambiguous and follows ``decimal``).

    Parameters
    ----------
    series : Series of shape (n_samples,)
        Text cells (or an already numeric column, returned as float).
    decimal : {".", ","} or None
        Tie-breaker for ambiguous cells such as ``1,234`` (from :class:`ReadReport.decimal`).

    Returns
    -------
    values : ndarray of shape (n_samples,), float64
        Parsed numbers; NaN where blank or unparseable.
    blank : ndarray of shape (n_samples,), bool
        Cells that are missing/whitespace/missing markers (kept as NaN, imputed later).
    bad : ndarray of shape (n_samples,), bool
        Non-blank cells that are not a finite number.
    """
    n = len(series)
    if pd.api.types.is_bool_dtype(series):
        vals = series.astype("float64").to_numpy()
        return vals, np.isnan(vals), np.zeros(n, bool)
    if pd.api.types.is_numeric_dtype(series):
        vals = series.astype("float64").to_numpy()
        blank = np.isnan(vals)
        return np.where(np.isinf(vals), np.nan, vals), blank, np.isinf(vals)
    s = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    text = _arrow_text(s)
    try:  # fastest path: every non-missing cell is a plain finite number (no trim needed)
        vals = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        blank = pc.is_null(text).to_numpy(zero_copy_only=False).astype(bool)
        if np.isfinite(vals[~blank]).all():
            return vals.astype("float64"), blank, np.zeros(n, bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    blank = _blank_mask_arrow(trimmed)
    try:  # fast path: Arrow cast of trimmed strings, blanks as nulls
        arr = pc.if_else(pa.array(blank), pa.scalar(None, pa.large_string()), trimmed)
        vals = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(vals) & ~blank
        if not bad.any():
            return vals.astype("float64"), blank, bad
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    # slow path, once per distinct text: plain float, then thousands/decimal-comma styles
    texts = pd.Series(trimmed.to_pandas(), index=None).where(~blank)
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    uniques = [str(u) for u in uniques]
    vals_u = np.array([_plain_float(u) for u in uniques] + [np.nan], dtype="float64")
    bad_u = np.isnan(vals_u[:-1])
    if bad_u.any():
        bad_texts = [u for u, b in zip(uniques, bad_u) if b]
        dec = _column_decimal(bad_texts, decimal)
        if dec == ",":
            # a few decimal-comma cells must not flip a column of plain "118236.59" numbers:
            # distinct cells that are surely period-decimal outvote the sure comma ones
            n_period = sum(bool(_PERIOD_DECIMAL_SURE.search(u)) for u, b in zip(uniques, bad_u) if not b)
            n_comma = sum(bool(_COMMA_SURE.search(_SPACES.sub("", t))) for t in bad_texts)
            if n_period > n_comma:
                dec = "."
        plain = vals_u.copy()
        for j, u in enumerate(uniques):
            if dec == "," or bad_u[j]:
                v = _styled_float(u, dec)
                vals_u[j] = plain[j] if np.isnan(v) else v  # "12.5" in a comma column stays 12.5
    codes = np.where(codes < 0, len(vals_u) - 1, codes)
    vals = vals_u[codes]
    bad = np.isnan(vals) & ~blank
    return vals, blank, bad


def normalize_categories(series: pd.Series) -> pd.Series:
    """Strip category text; blanks and missing markers -> NaN; ``"1.0"`` -> ``"1"``.

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    Series of shape (n_samples,), ``str`` dtype
        Case is kept (matching against training categories is the preprocessor's job).
    """
    return map_unique(series, label_text)


@dataclass
class ValidationReport:
    """Counts that explain what validation did to a file.

    Attributes
    ----------
    source : str
    rows_in, rows_valid, rows_rejected : int
        ``rows_in == rows_valid + rows_rejected``.
    blanks : dict of str to int
        Blank cells per feature column (kept as missing and imputed for numeric/categorical).
    rejected_reasons : dict of str to int
        Rejected rows per kind of reason (e.g. ``"Age: not a number"``).
    duplicate_ids : dict of str to int
        Rows whose ID value appears more than once, per ID column (a warning).
    renamed_columns : dict of str to str
        File column -> schema column, for headers that differed in case or whitespace.
    extra_columns : list of str
        File columns that are not in the schema (passed through).
    warnings : list of str
    """

    source: str = "data"
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    blanks: dict = field(default_factory=dict)
    rejected_reasons: dict = field(default_factory=dict)
    duplicate_ids: dict = field(default_factory=dict)
    renamed_columns: dict = field(default_factory=dict)
    extra_columns: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class ValidationResult:
    """Output of :func:`validate`.

    Attributes
    ----------
    valid : DataFrame of shape (n_valid, n_columns)
        Passthrough columns (IDs, personal), features (numeric as float64, categorical as
        stripped ``str``), the target as text when present, extra columns, and ``source_line``.
    rejected : DataFrame of shape (n_rejected, n_columns_in + 2)
        Original cells + ``source_line`` + ``reason``.
    y : ndarray of shape (n_valid,), int8, or None
        1 = churned (positive label), 0 = not; ``None`` when the target was not required.
    report : ValidationReport
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    y: np.ndarray | None
    report: ValidationReport


def match_columns(columns, wanted) -> dict:
    """Map each wanted column name to the file's column with the same normalised name.

    Returns
    -------
    dict of str to str
        ``{wanted_name: file_column}`` for the names found.
    """
    lookup: dict = {}
    for c in columns:
        lookup.setdefault(normalize_name(c), c)
    return {w: lookup[normalize_name(w)] for w in wanted if normalize_name(w) in lookup}


def _source_lines(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == LINE_INDEX:
        return np.asarray(df.index, dtype=np.int64)
    return np.arange(2, len(df) + 2, dtype=np.int64)


def validate(df: pd.DataFrame, schema: FeatureSchema, require_target: bool,
             source_name: str | None = None, decimal: str | None = None,
             count_duplicate_ids: bool = True) -> ValidationResult:
    """Type the schema's columns and split rows into valid and rejected.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        A table from :func:`churn_core.io.reader.read_table` (text cells; its ``source_line``
        index gives line numbers, otherwise row ``i`` is line ``i + 2``).
    schema : FeatureSchema
    require_target : bool
        Training/evaluation: the target column must exist, blank or unknown labels are
        rejected and ``y`` is returned. Scoring: pass ``False``.
    source_name : str, optional
        File name for messages (defaults to ``df.attrs["source_name"]``).
    decimal : {".", ","}, optional
        Tie-breaker for ambiguous numbers such as ``1,234``; default ``df.attrs["decimal"]``
        set by :func:`churn_core.io.reader.read_table` (``ReadReport.decimal``).
    count_duplicate_ids : bool, default True
        Count valid rows sharing an ID value (``report.duplicate_ids``). A caller that
        validates a file chunk by chunk passes ``False`` and counts over the whole file.

    Returns
    -------
    ValidationResult

    Raises
    ------
    MissingColumnsError
        One error listing every required column (features, and the target when required)
        that the file lacks.
    SchemaError
        ``require_target`` with no target or positive label in the schema.

    Notes
    -----
    Numeric cells that are blank become NaN (counted in ``report.blanks``); non-blank cells
    that are not numbers reject the row with a reason naming column, line and value; so does
    a row whose every cell is blank (``,,,,`` lines that spreadsheets export). A
    target cell is 1 when it equals the positive label (case-insensitive, ``1.0`` == ``1``),
    0 when it equals the negative label (or any other value when no negative label is
    known), and rejected when blank or, with a known negative label, anything else.
    """
    source = source_name or df.attrs.get("source_name") or "data"
    word = df.attrs.get("line_word", "line")
    decimal = decimal or df.attrs.get("decimal")
    report = ValidationReport(source=source, rows_in=len(df))
    if require_target and (schema.target is None or schema.positive_label is None):
        hint = ""
        if schema.target is not None:
            tcol = match_columns(df.columns, [schema.target]).get(schema.target)
            if tcol is not None:
                vals = sorted({t for t in map(label_text, df[tcol].unique()) if t is not None})
                hint = ("; the file has no data rows" if not len(df) else
                        f"; column {schema.target!r} is blank in all {len(df)} rows" if not vals else
                        f"; column {schema.target!r} holds {', '.join(map(repr, vals[:10]))} in {len(df)} "
                        f"row(s): say which value means churned (--positive-label), and the file needs "
                        f"both churners and non-churners")
        raise SchemaError(
            f"{source}: training needs a target column and its positive (churned) label; "
            f"target={schema.target!r}, positive label={schema.positive_label!r}{hint}"
        )
    required = list(schema.features) + ([schema.target] if require_target else [])
    optional = list(schema.passthrough) + ([] if require_target or schema.target is None else [schema.target])
    found = match_columns(df.columns, required + optional)
    missing = [c for c in required if c not in found]
    if missing:
        raise MissingColumnsError(missing, source, found=list(df.columns))
    report.renamed_columns = {found[c]: c for c in found if found[c] != c}
    used = set(found.values()) | {PARSE_ERROR_COLUMN}
    extras = [c for c in df.columns if c not in used and c != LINE_INDEX]
    report.extra_columns = [str(c) for c in extras]
    lines = _source_lines(df)
    n = len(df)
    reasons: dict = defaultdict(list)
    kinds: Counter = Counter()
    problem = np.zeros(n, bool)

    summary = np.zeros(n, bool)  # summary rows get that one reason, not "not a number" etc.

    def flag(mask: np.ndarray, kind: str, make) -> None:
        mask = mask & ~summary
        for i in np.flatnonzero(mask):
            reasons[i].append(make(i))
        problem[mask] = True
        if mask.any():
            kinds[kind] += int(mask.sum())

    if PARSE_ERROR_COLUMN in df.columns:
        perr = df[PARSE_ERROR_COLUMN].notna().to_numpy()
        errs = df[PARSE_ERROR_COLUMN].to_numpy()
        flag(perr, "wrong number of fields", lambda i: str(errs[i]))
    raw_cols = [c for c in df.columns if c != PARSE_ERROR_COLUMN]
    cells = [c for c in raw_cols if c != LINE_INDEX]
    if n and cells:  # a row of empty fields (",,,," exported from a spreadsheet) is no customer
        empty = np.logical_and.reduce([df[c].isna().to_numpy() for c in cells])
        flag(empty, "empty row", lambda i: f"{word} {lines[i]}: the row is empty (every cell is blank)")
        from churn_core.data.summary_rows import REASON, summary_row_mask

        srows = summary_row_mask(df, cells, _blank_mask,
                                 lambda s: parse_numeric(s, decimal)) & ~problem
        flag(srows, "summary row", lambda i: f"{word} {lines[i]}: {REASON}")
        summary |= srows

    out: dict = {}
    for col in schema.passthrough:
        if col in found:
            out[col] = df[found[col]].array
    for col in schema.numeric:
        raw = df[found[col]]
        vals, blank, bad = parse_numeric(raw, decimal)
        report.blanks[col] = int(blank.sum())
        if bad.any():
            flag(bad, f"{col}: not a number",
                 lambda i, col=col, raw=raw: f"column {col!r}, {word} {lines[i]}: {str(raw.iloc[i])!r} is not a number")
        out[col] = vals
    for col in schema.categorical:
        cats = normalize_categories(df[found[col]])
        report.blanks[col] = int(cats.isna().sum())
        out[col] = cats.array
    y = None
    if schema.target is not None and schema.target in found:
        raw_t = df[found[schema.target]]
        if require_target:
            codes, uniques = pd.factorize(raw_t, use_na_sentinel=True)
            texts_u = [label_text(u) for u in uniques] + [None]
            codes = np.where(codes < 0, len(texts_u) - 1, codes)
            pos = _label_keys(schema.positive_label)
            neg = _label_keys(schema.negative_label) if schema.negative_label is not None else None
            # class of each distinct value: 1 churned, 0 not, -1 blank, -2 unknown label
            cls_u = np.array([-1 if t is None else 1 if t.casefold() in pos else
                              0 if (neg is None or t.casefold() in neg) else -2 for t in texts_u])
            cls = cls_u[codes]
            tcol = schema.target
            flag(cls == -1, f"{tcol}: blank target",
                 lambda i: f"column {tcol!r}, {word} {lines[i]}: the target is blank (a customer with no "
                           f"known outcome is not counted as a churner)")
            flag(cls == -2, f"{tcol}: unknown label",
                 lambda i: f"column {tcol!r}, {word} {lines[i]}: {texts_u[codes[i]]!r} is neither the positive "
                           f"label {schema.positive_label!r} nor the negative label {schema.negative_label!r}")
            y = (cls == 1).astype(np.int8)
        out[schema.target] = raw_t.array
    for col in extras:
        if col not in out:
            out[col] = df[col].array
    out[LINE_INDEX] = lines
    full = pd.DataFrame(out)

    keep = ~problem
    if problem.any():
        valid = full.loc[keep].reset_index(drop=True)
        rejected = df.loc[problem, raw_cols].reset_index(drop=True)
    else:
        valid = full
        rejected = df[raw_cols].iloc[:0].reset_index(drop=True)
    rejected[LINE_INDEX] = lines[problem]
    rejected["reason"] = ["; ".join(reasons[i]) for i in np.flatnonzero(problem)]
    if y is not None:
        y = y[keep]
    report.rows_valid, report.rows_rejected = len(valid), len(rejected)
    report.rejected_reasons = dict(kinds)
    for col in schema.id_columns if count_duplicate_ids else ():
        if col in valid.columns:
            ndup = count_duplicated(valid[col])
            if ndup:
                report.duplicate_ids[col] = ndup
                report.warnings.append(f"{ndup} rows share an ID value in column {col!r} (duplicate customers?)")
    if report.rows_rejected:
        report.warnings.append(f"{report.rows_rejected} of {n} rows rejected; download them with their reasons")
    return ValidationResult(valid=valid, rejected=rejected, y=y, report=report)


def count_duplicated(series: pd.Series) -> int:
    """Number of non-missing cells whose value appears more than once (``keep=False``).

    Text IDs written as plain integers (the usual case) are compared as int64, which hashes
    about 10x faster than strings; the integer path is taken only when every cell converts
    back to exactly the same text (so ``"007"`` and ``"7"`` stay different IDs).

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    int
        Equal to ``int(series.dropna().duplicated(keep=False).sum())``.
    """
    s = series.dropna()
    if len(s) and (isinstance(s.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(s.dtype)):
        try:
            text = _arrow_text(s)
            ints = pc.cast(text, pa.int64())
            if pc.all(pc.equal(pc.cast(ints, pa.large_string()), text)).as_py():
                return int(pd.Series(ints.to_numpy(zero_copy_only=False)).duplicated(keep=False).sum())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    return int(s.duplicated(keep=False).sum())


def check_trainable(valid: pd.DataFrame, y, schema: FeatureSchema) -> None:
    """Refuse training data that cannot give a meaningful model.

    Parameters
    ----------
    valid : DataFrame
        ``ValidationResult.valid``.
    y : array-like of shape (n_valid,)
        0/1 labels.
    schema : FeatureSchema

    Raises
    ------
    TrainingDataError
        Listing every problem found: only one class; fewer rows than
        ``config.MIN_TRAIN_ROWS``; fewer than ``config.MIN_ROWS_PER_CLASS`` rows of a class;
        a feature that is all missing or constant; an ID-like column used as a feature.
    """
    from churn_core.data.infer import looks_like_id  # local import: infer imports this module

    problems: list[str] = []
    y = np.asarray(y if y is not None else [], dtype=float)
    n = len(y)
    n_pos = int((y == 1).sum())
    n_neg = n - n_pos
    if n < config.MIN_TRAIN_ROWS:
        problems.append(f"only {n} valid rows; training needs at least {config.MIN_TRAIN_ROWS}")
    if n and (n_pos == 0 or n_neg == 0):
        only = "churners" if n_neg == 0 else "non-churners"
        problems.append(f"the target {schema.target!r} has one class only (all {n} rows are {only}); "
                        f"check the positive label {schema.positive_label!r}")
    else:
        for label, count in (("churners", n_pos), ("non-churners", n_neg)):
            if count < config.MIN_ROWS_PER_CLASS:
                problems.append(f"only {count} {label}; training needs at least "
                                f"{config.MIN_ROWS_PER_CLASS} of each class")
    if not schema.features:
        problems.append("no feature columns are selected")
    for col in schema.features:
        if col not in valid.columns or not len(valid):  # no rows: nothing to say per column
            continue
        s = valid[col]
        if s.isna().all():
            problems.append(f"feature {col!r} is blank in every row; exclude it")
        elif s.nunique(dropna=True) <= 1 and not s.isna().any():
            problems.append(f"feature {col!r} has the same value ({s.dropna().iloc[0]!r}) in every row; exclude it")
        elif looks_like_id(col, s):
            problems.append(f"feature {col!r} looks like a customer ID (unique per row or an ID name); "
                            f"use it as an ID column, not a feature")
    if problems:
        raise TrainingDataError("Cannot train on this data: " + "; ".join(problems) + ".")
