"""The vectorised transform of a fitted :class:`~churn_core.model.preprocess.Preprocessor`.

What :mod:`churn_core.model.preprocess` fits (medians, scales, fences, PLE edges, categories),
this module applies to rows, block by block:

* **category codes**: each categorical cell's position in the training categories (``-1``
  for missing or unseen), computed once per column (:func:`category_codes`) and shared by the
  one-hot encoding, the unseen-value and blank counts and the drift counts of a chunk;
* **numeric blocks** (:func:`numeric_encoder`): each raw value repeated under its encoded
  columns, then one subtraction, division and clip for all of them;
* **row blocks** (:class:`RowEncoder`): the encoded rows of ``rows`` consecutive customers,
  written into a caller's array. ``Preprocessor.transform`` fills one big matrix with them;
  ``Preprocessor.transform_batches`` reuses one small array and hands each block to the
  network, so a 100,000-row chunk never holds its 35 MB encoded matrix (whose fresh pages
  the kernel had to zero, chunk after chunk).

Every block holds exactly the float32 numbers of the column-by-column definition
(``tests/test_preprocess.py``), whatever the block size.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core.data.cells import BOOL_TWINS, category_key, is_arrow_text

#: Standardised numeric values are clipped to this many standard deviations (float32-safe).
Z_CLIP = 1e6
#: Rows encoded per step: the float64 scratch block of ``rows x encoded numeric columns``
#: stays in the CPU cache; also the rows of a batch of ``Preprocessor.transform_batches``.
ROW_BLOCK = 4096


def lookup_category(index: dict[str, int], key: str) -> int:
    """Position of a category in the training list, as the preprocessing matches it.

    Parameters
    ----------
    index : dict of str to int
        Normalised training category (:func:`churn_core.data.cells.category_key`) -> position.
    key : str
        The normalised cell value.

    Returns
    -------
    int
        The position; ``true``/``false`` and ``1``/``0`` stand in for each other when only the
        other spelling was seen in training; ``-1`` when the value is unseen.
    """
    pos = index.get(key)
    if pos is None:
        alias = BOOL_TWINS.get(key)
        pos = index.get(alias, -1) if alias is not None else -1
    return pos


def as_float(series: pd.Series) -> np.ndarray:
    """Numeric column as float64 with NaN for blanks/unparseable cells."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def exact_positions(series: pd.Series, labels: list[str]):
    """Exact match of Arrow text cells against the training ``labels`` (fast path).

    ``pyarrow.compute.index_in`` against the few training spellings costs a third of a
    factorisation.

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray of int32, or None
        Position of each cell in ``labels`` (null for missing cells); ``None`` (use the
        normalising path) unless the column is Arrow-backed text and every non-missing cell
        is exactly one of ``labels``.
    """
    if not labels or not is_arrow_text(series):
        return None
    arr = pa.array(series.array)
    pos = pc.index_in(arr, value_set=pa.array(labels, type=arr.type))
    return pos if pos.null_count == arr.null_count else None  # else some cell is not exact


class CategoryCodes(NamedTuple):
    """The training-category position of every cell of one categorical column."""

    codes: np.ndarray  #: int64, ``-1`` for a missing or unseen value
    exact: bool  #: every non-missing cell is exactly one of the training spellings
    missing: int  #: missing cells (``None`` / NaN)


def category_codes(series: pd.Series, index: dict[str, int], labels: list[str] | None = None) -> CategoryCodes:
    """Position of each cell's category in ``index`` (``-1`` for missing or unseen).

    When ``labels`` (the training spellings, in ``index`` order) are given and every cell is
    one of them exactly, the codes come from :func:`exact_positions`. Otherwise the column is
    factorised first so normalisation runs once per distinct value.

    Returns
    -------
    CategoryCodes
    """
    if labels is not None and len(labels) == len(index):
        pos = exact_positions(series, labels)
        if pos is not None:
            codes = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            return CategoryCodes(codes, True, int(pos.null_count))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = np.fromiter(
        (lookup_category(index, category_key(u)) for u in uniques), dtype=np.int64, count=len(uniques)
    )
    lookup = np.append(lookup, -1)  # code -1 (missing) -> last entry -> -1
    return CategoryCodes(lookup[codes], False, int(np.count_nonzero(codes < 0)))


class NumericPlan(NamedTuple):
    """Constants of the numeric blocks, derived from a preprocessor's fitted attributes.

    Encoded column ``k`` (the numeric blocks are the first ``len(offset)`` columns) holds the
    imputed, fence-clipped value ``x`` of its raw column as ``(x - offset[k]) / divisor[k]``,
    clipped to ``[0, 1]`` (PLE components), except the ``z_pos`` columns (clipped to
    +-``Z_CLIP`` instead) and the ``flag_pos`` columns (replaced by the missing flags of raw
    columns ``flag_src``).
    """

    widths: np.ndarray  #: encoded columns per raw numeric column
    offset: np.ndarray  #: mean (standardised column), lower bin edge (PLE) or 0 (flag)
    divisor: np.ndarray  #: standard deviation, bin width or 1
    z_pos: np.ndarray  #: standardised column of each raw column
    flag_pos: np.ndarray  #: missing-indicator columns
    flag_src: np.ndarray  #: their raw columns
    fill: np.ndarray  #: median per raw column (imputation)
    low: np.ndarray  #: lower fence per raw column (``-inf`` without fences)
    high: np.ndarray  #: upper fence per raw column (``inf`` without fences)


def numeric_plan(pre) -> NumericPlan:
    """Constants of the numeric blocks of a preprocessor, computed from its fitted attributes
    on each call (tens of microseconds, so they never go stale)."""
    widths, offset, divisor, z_pos, flag_pos, flag_src = [], [], [], [], [], []
    for j, (col, start, stop) in enumerate(pre.blocks[: len(pre.numeric)]):
        widths.append(stop - start)
        z_pos.append(start)
        offset.append(pre.means[col])
        divisor.append(pre.scales[col])
        if col in pre.missing_indicator:  # (x - 0) / 1, replaced by the flag after the clip
            flag_pos.append(start + 1)
            flag_src.append(j)
            offset.append(0.0)
            divisor.append(1.0)
        e = pre.edges.get(col, [])
        offset += e[:-1]
        divisor += [hi - lo for lo, hi in zip(e[:-1], e[1:])]
    fences = [pre.bounds.get(c, (-np.inf, np.inf)) for c in pre.numeric]
    return NumericPlan(
        widths=np.array(widths, dtype=np.intp), offset=np.array(offset, dtype=np.float64),
        divisor=np.array(divisor, dtype=np.float64), z_pos=np.array(z_pos, dtype=np.intp),
        flag_pos=np.array(flag_pos, dtype=np.intp), flag_src=np.array(flag_src, dtype=np.intp),
        fill=np.array([pre.medians[c] for c in pre.numeric], dtype=np.float64),
        low=np.array([f[0] for f in fences], dtype=np.float64),
        high=np.array([f[1] for f in fences], dtype=np.float64),
    )


def _full_size(pre, plan: NumericPlan, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``plan.offset`` and ``plan.divisor`` repeated on ``rows`` rows: full-size operands make
    contiguous loops, much faster than broadcasting one row. Kept on the preprocessor (2.4 MB
    each for the default model; rebuilt when the plan changes) instead of being built, and
    their fresh pages faulted in, for every chunk."""
    key = (rows, plan.offset.tobytes(), plan.divisor.tobytes())
    cached = pre.__dict__.get("_full_size")
    if cached is None or cached[0] != key:
        cached = (key, np.tile(plan.offset, (rows, 1)), np.tile(plan.divisor, (rows, 1)))
        pre.__dict__["_full_size"] = cached
    return cached[1], cached[2]


def numeric_values(pre, plan: NumericPlan, df: pd.DataFrame, j: int) -> tuple[np.ndarray, np.ndarray]:
    """The values of numeric column ``j`` as the encoding uses them.

    Parameters
    ----------
    pre : Preprocessor
        Fitted.
    plan : NumericPlan
        :func:`numeric_plan` of ``pre``.
    df : DataFrame of shape (n_samples, >= n_features)
    j : int
        Position of the column in ``pre.numeric``.

    Returns
    -------
    x : ndarray of shape (n_samples,), float64
        Blank or unparseable cells imputed with the training median, then clipped to the
        fences fitted on training data (when the preprocessor has fences).
    missing : ndarray of shape (n_samples,), bool
        The cells that were imputed (the missing indicator).
    """
    x = as_float(df[pre.numeric[j]])
    missing = ~np.isfinite(x)
    if missing.any():
        x = np.where(missing, plan.fill[j], x)
    if pre.bounds:  # gross outliers to the fences fitted on training data
        x = np.clip(x, plan.low[j], plan.high[j])
    return x, missing


def numeric_encoder(pre, df: pd.DataFrame, block_rows: int = ROW_BLOCK):
    """Encoder of the numeric blocks (the first output columns) of the rows of ``df``.

    Returns
    -------
    callable or None
        ``encode(rows)`` gives the encoded numeric columns of the rows in slice ``rows``
        (at most ``block_rows`` of them) as float64; ``None`` without numeric columns or
        rows.

    Notes
    -----
    Each raw value is repeated under its encoded columns, so one subtraction, one division
    and one clip serve all of them. These are the float64 operations of encoding column by
    column, with the same scalar clip bounds (``np.clip`` with scalar bounds keeps a
    ``-0.0``), hence bit-for-bit the same float32 result.
    """
    if not pre.numeric or not len(df):
        return None
    plan = numeric_plan(pre)
    cols, flags = [], []
    for j in range(len(pre.numeric)):
        x, missing = numeric_values(pre, plan, df, j)
        cols.append(x)
        flags.append(missing)
    flags = [flags[j] for j in plan.flag_src]
    size = min(len(df), block_rows)
    offset, divisor = _full_size(pre, plan, size)
    raw = np.empty((size, len(cols)), np.float64)  # the raw values of one block, row-major
    flag = np.empty((size, len(flags)), np.float64)

    def encode(rows: slice) -> np.ndarray:
        part = [c[rows] for c in cols]
        n = len(part[0])
        values = np.stack(part, axis=1, out=raw[:n])
        block = np.repeat(values, plan.widths, axis=1)
        np.subtract(block, offset[:n], out=block)
        np.divide(block, divisor[:n], out=block)
        # clip absurd values (e.g. 1e39) so the float32 cast never makes inf or NaN
        z = np.clip(block[:, plan.z_pos], -Z_CLIP, Z_CLIP)
        np.clip(block, 0.0, 1.0, out=block)  # PLE components; z and flags are put back next
        block[:, plan.z_pos] = z
        if flags:
            block[:, plan.flag_pos] = np.stack([f[rows] for f in flags], axis=1, out=flag[:n])
        return block

    return encode


class RowEncoder:
    """Writes the encoded rows of one frame, block by block, into arrays the caller owns.

    Parameters
    ----------
    pre : Preprocessor
        Fitted.
    df : DataFrame
        Holds every raw feature column.
    codes : dict of str to CategoryCodes, optional
        ``Preprocessor.category_codes(df)`` when the caller has them (computed here otherwise).
    block_rows : int, default :data:`ROW_BLOCK`
        Most rows of one :meth:`fill`.
    """

    def __init__(self, pre, df: pd.DataFrame, codes: dict | None = None, block_rows: int = ROW_BLOCK):
        self.width = pre.n_features_out
        self.numeric_width = pre.blocks[len(pre.numeric) - 1][2] if pre.numeric else 0
        self._numeric = numeric_encoder(pre, df, block_rows)
        if codes is None:
            codes = pre.category_codes(df)
        self._cats = [(start, codes[col].codes, codes[col].missing == 0 and not (codes[col].codes < 0).any())
                      for col, start, _ in pre.blocks[len(pre.numeric):]]
        self._row_start = np.arange(min(block_rows, len(df))) * self.width  # first cell of each row

    def fill(self, rows: slice, out: np.ndarray) -> np.ndarray:
        """Write the encoded rows ``rows`` into ``out`` (C-contiguous float32 of shape
        ``(rows, width)`` whose one-hot columns are zero) and return it."""
        if self._numeric is not None:
            out[:, : self.numeric_width] = self._numeric(rows)
        flat = out.reshape(-1)  # a view: ``out`` is C-contiguous
        first = self._row_start[: len(out)]
        for start, codes, all_known in self._cats:
            part = codes[rows]
            cells = first + part
            if not all_known:
                cells = cells[part >= 0]  # missing and unseen values set no cell
            flat[cells + start] = 1.0
        return out
