"""Cell text rules, in one place: what a blank cell is, how numbers are written, which
spellings of a label or a flag mean the same, and how column names match.

Used by inference (:mod:`churn_core.data.infer`), validation (:mod:`churn_core.data.validate`),
preprocessing/scoring (:mod:`churn_core.model.preprocess`) and the workbench's data-quality
report. Two notions of "blank" exist on purpose and are both defined here:

* :func:`blank_mask` -- a *missing value*: null, whitespace or a missing marker such as
  ``NA``/``n/a``/``-`` (:data:`MISSING_TOKENS`); validation and inference use it.
* :func:`count_empty` -- an *empty cell*: null or whitespace only; the preprocessor counts
  these for its "filled in" note (markers there were already typed by validation).

Pure functions of pandas/pyarrow values; imports nothing else from ``churn_core``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
#: Boolean spellings that mean the same flag: a Parquet/Excel ``True`` matches a trained ``1``.
BOOL_TWINS = {"true": "1", "false": "0", "1": "true", "0": "false"}


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


def arrow_text(s: pd.Series) -> pa.Array:
    """The column as an Arrow large_string array (zero-copy for pandas ``str`` columns)."""
    if not isinstance(s.dtype, pd.StringDtype):
        s = s.astype("str")
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def blank_mask_arrow(trimmed: pa.Array) -> np.ndarray:
    """:func:`blank_mask` of an already trimmed Arrow text array."""
    lower = pc.utf8_lower(trimmed)  # case-insensitive, as label_text's casefold: "NaN" is "nan"
    blank = pc.or_(pc.is_null(trimmed), pc.fill_null(pc.is_in(lower, value_set=_MISSING_ARROW), True))
    return blank.to_numpy(zero_copy_only=False).astype(bool)


def blank_mask(s: pd.Series) -> np.ndarray:
    """True where a cell is missing, whitespace or a missing marker like ``NA``."""
    if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
        return s.isna().to_numpy()
    return blank_mask_arrow(pc.utf8_trim_whitespace(arrow_text(s)))


def label_keys(label: str) -> set:
    """Spellings matching a target label: itself (case-insensitive), and ``true``/``1`` or
    ``false``/``0`` for each other (a Parquet boolean target against a 0/1-trained model)."""
    key = str(label).casefold()
    return {key, BOOL_TWINS[key]} if key in BOOL_TWINS else {key}


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
    if is_arrow_text(series):  # pyarrow.compute: the distinct texts first (cheaper than codes)
        cells = pa.array(series.array)
        distinct = pc.unique(cells)
        mapped = [None if u is None else func(u) for u in distinct.to_pylist()]
        if all(m == u for m, u in zip(mapped, distinct.to_pylist()) if u is not None):
            # every distinct text maps to itself: the cells are already the answer (no take)
            return pd.Series(series.array, index=series.index).astype("str")
        codes = pc.index_in(cells, value_set=distinct)  # a null cell finds the null value
        return pd.Series(pd.array(mapped, dtype="str").take(codes.to_numpy(zero_copy_only=False)),
                         index=series.index)
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
    text = arrow_text(s)
    try:  # fastest path: every non-missing cell is a plain finite number (no trim needed)
        vals = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        blank = pc.is_null(text).to_numpy(zero_copy_only=False).astype(bool)
        if np.isfinite(vals[~blank]).all():
            return vals.astype("float64"), blank, np.zeros(n, bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    blank = blank_mask_arrow(trimmed)
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



def category_text(value) -> str:
    """Category label as text; integral floats (``1.0``) read as integers (``"1"``), stripped."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value).strip()


def category_key(value) -> str:
    """Case- and whitespace-insensitive matching key of one category label."""
    return " ".join(category_text(value).split()).casefold()


def is_arrow_text(series: pd.Series) -> bool:
    """Whether ``series`` holds pyarrow-backed text (so pyarrow compute kernels apply)."""
    dtype = series.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def count_empty(series: pd.Series) -> int:
    """Number of null or whitespace-only cells of a text column (missing markers not counted).

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    int
    """
    if is_arrow_text(series):
        arr = pa.array(series.array)
        spaces = pc.sum(pc.utf8_is_space(arr)).as_py() or 0  # non-empty, all whitespace
        empty = pc.sum(pc.equal(pc.binary_length(arr), 0)).as_py() or 0  # 0 bytes = 0 characters
        return int(arr.null_count + spaces + empty)
    return int((series.isna() | (series.astype(str).str.strip() == "")).sum())
