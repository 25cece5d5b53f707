"""Summary rows are not customers: ``Total``, ``Subtotal``, ``Grand total``, ``Sum``, ``Average``.

Spreadsheet exports often end (or break up) a customer list with a line such as
``Total,,,,1234567.89,,...`` or ``Average,650.5,38.9,...``. Read as data, that line would be
scored (its blanks imputed) or, worse, trained on. :func:`summary_row_mask` finds such rows so
that :func:`churn_core.data.validate.validate` rejects them with :data:`REASON`, in training
and in scoring alike.

A row is a summary row when

1. one of its cells is a summary word (:data:`SUMMARY_CELL`: ``Total``, ``Totals``,
   ``Subtotal``, ``Sub-total``, ``Grand total``, ``Sum``, ``Average``, ``Avg``, ``Mean``; case
   and a trailing colon ignored; the whole cell, so ``Totally`` or ``Summers`` are not), and
2. the rest of the row is mostly blank (at least half of its other cells), or most of its
   numbers are aggregates of the other rows' column: within rounding of the column's sum or
   mean, or above every other row's value (a sum of positive amounts; this also holds when a
   file is validated chunk by chunk).

A real customer whose surname is ``Sum`` has ordinary values, so condition 2 keeps them.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core.io.writer import arrow_string_buffers

#: The reason given for every rejected summary row.
REASON = "looks like a summary row, not a customer"
#: A whole cell that labels a summary line (matched case-insensitively).
SUMMARY_CELL = r"^\s*(grand[\s_-]*totals?|sub[\s_-]*totals?|totals?|sum|average|avg|mean)\s*:?\s*$"
_SUMMARY_RE = re.compile(SUMMARY_CELL, re.I)


def _start_table() -> np.ndarray:
    """``table[b0, b1]``: True when a cell starting with bytes b0, b1 may be a summary word
    (``to``, ``su``, ``gr``, ``av``, ``me`` in any case, or a leading space, tab or NBSP)."""
    table = np.zeros((256, 256), dtype=bool)
    for a, b in ("to", "su", "gr", "av", "me"):
        for x in (ord(a), ord(a.upper())):
            for y in (ord(b), ord(b.upper())):
                table[x, y] = True
    table[[0x20, 0x09, 0xC2], :] = True  # leading blank (0xC2: first byte of a UTF-8 NBSP)
    return table


_STARTS = _start_table()
#: ``_FIRST[b0]``: True when some summary word may start with byte ``b0``.
_FIRST = _STARTS.any(axis=1)


def _candidates(chunk: pa.Array) -> np.ndarray:
    """Positions in one Arrow string chunk that may hold a summary word: a lookup of the
    first byte of each cell, then of the first two bytes of the few cells left (numbers, IDs
    and most words fail it), read straight from the Arrow buffers (no per-cell Python)."""
    n = len(chunk)
    buffers = arrow_string_buffers(chunk) if n else None
    if buffers is None:
        return np.zeros(0, dtype=np.int64)
    offsets, data = buffers
    start = offsets[:-1]
    # mode="clip": an empty cell at the very end may start at len(data); length >= 3 masks it
    pos = np.flatnonzero(_FIRST[data.take(start, mode="clip")])
    if not len(pos):
        return pos
    start = start[pos]
    keep = (offsets[pos + 1] - start >= 3)
    keep &= _STARTS[data.take(start, mode="clip"), data.take(start + 1, mode="clip")]
    return pos[keep]


def _word_rows(df: pd.DataFrame, cells: list) -> np.ndarray:
    """Rows holding a summary word in some text cell.

    Arrow-backed text columns are filtered on the first two bytes of every cell (a few
    milliseconds per million cells) and only the survivors are matched with
    :data:`SUMMARY_CELL`; other columns are matched whole (Arrow regex).
    """
    hit = np.zeros(len(df), dtype=bool)
    for col in cells:
        s = df[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        arrow = getattr(s.array, "_pa_array", None)  # pandas' ArrowStringArray (no copy)
        if isinstance(arrow, pa.ChunkedArray) and (pa.types.is_string(arrow.type)
                                                   or pa.types.is_large_string(arrow.type)):
            base = 0
            for chunk in arrow.chunks:
                for i in _candidates(chunk):
                    v = chunk[int(i)].as_py()
                    if v is not None and _SUMMARY_RE.match(v):
                        hit[base + i] = True
                base += len(chunk)
            continue
        arr = pa.array(s.astype("str").array if s.dtype == object else s.array, from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            continue
        m = pc.match_substring_regex(arr, SUMMARY_CELL, ignore_case=True)
        hit |= pc.fill_null(m, False).to_numpy(zero_copy_only=False).astype(bool)
    return hit


def _close(v: float, ref: float) -> bool:
    return bool(np.isfinite(ref) and abs(v - ref) <= max(0.01, 1e-3 * abs(ref)))


def summary_row_mask(df: pd.DataFrame, cells: list, blank: Callable[[pd.Series], np.ndarray],
                     parse: Callable[[pd.Series], tuple]) -> np.ndarray:
    """Which rows of a table are summary rows (see the module docstring for the rule).

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        The table as read (text cells).
    cells : list
        The data columns to look at (not the line number or parse-error columns).
    blank : callable
        ``blank(series) -> ndarray of bool``: which cells are blank (validation's rule).
    parse : callable
        ``parse(series) -> (values, blank, bad)``: validation's number parser
        (:func:`churn_core.data.validate.parse_numeric`).

    Returns
    -------
    ndarray of bool, shape (n_rows,)
        True for summary rows.
    """
    n = len(df)
    out = np.zeros(n, dtype=bool)
    if not n or not cells:
        return out
    cand = np.flatnonzero(_word_rows(df, cells))
    if not len(cand):
        return out
    others = np.ones(n, dtype=bool)
    others[cand] = False
    blanks = {c: blank(df[c]) for c in cells}
    numbers = {}
    for c in cells:  # columns that hold numbers in (almost) every other row
        vals, b, bad = parse(df[c])
        rest = others & ~b
        if rest.any() and bad[rest].mean() <= 0.05:
            numbers[c] = vals
    for i in cand:
        label_cols = [c for c in cells if isinstance(df[c].iat[i], str)
                      and _SUMMARY_RE.match(df[c].iat[i])]
        rest_cols = [c for c in cells if c not in label_cols]
        if not rest_cols:
            out[i] = True
            continue
        n_blank = sum(bool(blanks[c][i]) for c in rest_cols)
        if n_blank * 2 >= len(rest_cols):
            out[i] = True
            continue
        agg = total = 0
        for c in rest_cols:
            if c not in numbers or blanks[c][i] or not np.isfinite(numbers[c][i]):
                continue
            x = numbers[c][others]
            x = x[np.isfinite(x)]
            if not len(x):
                continue
            v = float(numbers[c][i])
            total += 1
            if _close(v, float(x.sum())) or _close(v, float(x.mean())) or \
                    (len(x) > 1 and v > float(x.max())):
                agg += 1
        out[i] = total > 0 and agg * 2 >= total
    return out
