"""Duplicate customer IDs across the chunks of a file scored in pieces: comparable keys of
an ID column per chunk (:func:`id_keys`) and the count of rows sharing an ID over all chunks
(:func:`count_shared_ids`), without keeping the IDs' text of the whole file in memory."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core.io.writer import arrow_string_buffers


def id_keys(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Comparable keys of an ID column's non-missing cells, for counting duplicates across chunks.

    Cells written as canonical integers of at most 18 digits (``"123"``, ``"-5"``; not
    ``"007"``, ``"+5"``, ``"-0"``) become int64 (a pyarrow cast, fast); other cells are hashed
    as text (``pandas.util.hash_array``). Two cells get equal keys exactly when their texts
    are equal (up to 64-bit hash collisions for non-integer IDs).

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    ints : ndarray of int64
        The integer cells, in row order.
    hashes : ndarray of uint64
        The hashes of the other cells, in row order.

    Notes
    -----
    Usual case, every cell a canonical integer: the pattern ``0|-?[1-9][0-9]{0,17}`` is
    checked for all cells at once on the Arrow buffers with NumPy, then the column is cast
    whole (about 1.6 ms per 100,000 cells instead of 5 ms); any other column takes the
    per-cell regex path. Both give the same arrays.
    """

    def all_canonical_ints(chunk) -> bool:
        """Every cell of a null-free, non-empty string / large_string chunk is a canonical
        integer of at most 18 digits (the regex below, checked on the bytes)."""
        buffers = arrow_string_buffers(chunk)
        if buffers is None:
            return False  # every cell empty
        offsets, data = buffers
        data = data[offsets[0]:offsets[-1]]  # this chunk's bytes
        lens = np.diff(offsets)
        if lens.min() < 1:
            return False  # an empty cell
        starts = offsets[:-1] - offsets[0]
        neg = data[starts] == ord("-")
        if np.count_nonzero(data < ord("0")) + np.count_nonzero(data > ord("9")) != np.count_nonzero(neg):
            return False  # a byte other than a digit or a leading minus
        digits = lens - neg
        if digits.min() < 1 or digits.max() > 18:
            return False  # "-", or more than 18 digits
        lead = data[starts + neg]  # first digit
        return not ((lead == ord("0")) & ((digits > 1) | neg)).any()  # "007", "-0"

    s = series.dropna()
    text = pa.array(s.astype("str").array) if len(s) else pa.array([], pa.string())
    is_text = pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
    if is_text and len(text) and not text.null_count \
            and all(all_canonical_ints(c) for c in getattr(text, "chunks", (text,)) if len(c)):
        ints = pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(ints, np.int64), np.zeros(0, np.uint64)
    is_int = pc.fill_null(pc.match_substring_regex(text, r"^(0|-?[1-9][0-9]{0,17})$"), False)
    ints = pc.cast(pc.filter(text, is_int), pa.int64()).to_numpy(zero_copy_only=False)
    rest = pc.filter(text, pc.invert(is_int)).to_numpy(zero_copy_only=False)
    hashes = pd.util.hash_array(rest.astype(object)) if len(rest) else np.zeros(0, np.uint64)
    return np.asarray(ints, np.int64), np.asarray(hashes, np.uint64)


def count_shared_ids(keys: list[tuple[np.ndarray, np.ndarray]]) -> int:
    """Rows whose ID key appears more than once over all chunks (``keep=False`` counting).

    Parameters
    ----------
    keys : list of (ints, hashes)
        :func:`id_keys` of every chunk.

    Returns
    -------
    int

    Notes
    -----
    Keys in increasing order (``RowNumber``) have no repeat; keys spanning a range of at most
    twice their number (customer numbers) are counted with :func:`numpy.bincount`; other keys
    (text hashes, sparse numbers) are sorted in place and runs of equal keys marked. Over
    1,000,000 keys that takes about 1, 6 and 50 ms.
    """
    total = 0
    for part in (0, 1):
        arr = np.concatenate([k[part] for k in keys]) if keys else np.zeros(0)
        n = len(arr)
        if n < 2:
            continue
        head = arr[:64]
        if (head[1:] > head[:-1]).all() and (arr[1:] > arr[:-1]).all():
            continue  # strictly increasing: every key once
        lo, hi = arr.min(), arr.max()
        if int(hi) - int(lo) < 2 * n:  # dense: one counter per possible key (<= 16 bytes a key)
            arr -= lo  # in place (a concatenated copy), now in [0, 2n)
            counts = np.bincount(arr.astype(np.intp, copy=False))
            total += int(counts[counts > 1].sum())
            continue
        arr.sort()  # sort in place and mark runs of equal keys (less memory than np.unique)
        eq = arr[1:] == arr[:-1]
        in_run = np.zeros(n, dtype=bool)
        in_run[1:] |= eq
        in_run[:-1] |= eq
        total += int(np.count_nonzero(in_run))
    return total
