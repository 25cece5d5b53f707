"""The first Dense layer fed with the raw values instead of the encoded row.

The encoded row of a fitted :class:`~churn_core.model.preprocess.Preprocessor` is mostly
structure: per numeric column ``[z, (missing flag), ple_1..ple_T]`` where, for a value ``x``
with ``e_{b-1} < x <= e_b`` (bin ``b`` of the edges ``e_0 < ... < e_T``), ``ple_t`` is 1 for
``t < b``, ``f = (x - e_{b-1}) / (e_b - e_{b-1})`` for ``t = b`` and 0 above; per
categorical column one 1 (or none for a missing or unseen value). So the first layer's
pre-activation ``X @ W + bias`` of a row is a sum of a few weighted rows of tables computed
once from ``W`` (float64, then float32):

* each **numeric column with PLE edges**: the segment ``s`` of ``x`` (``s = 0`` for
  ``x <= e_0``, ``b`` inside bin ``b``, ``T + 1`` above ``e_T``) picks two rows, ``P[s]``
  with weight 1 and ``Q[s]`` with weight ``g``. Inside the edges, ``z = (e_{b-1} - mean) /
  std + f * (e_b - e_{b-1}) / std`` (in exact arithmetic), so ``P[b] = sum_{t<b} W_t +
  (e_{b-1} - mean) / std * W_z``, ``Q[b] = W_b + (e_b - e_{b-1}) / std * W_z`` and ``g = f``;
  outside them the PLE components are constant (all 0 or all 1: ``P[0] = 0``, ``P[T+1] =
  sum_t W_t``), ``Q = W_z`` and ``g = z``;
* a **numeric column without edges** (standard encoding, few distinct values): ``W_z`` with
  weight ``z``; a **missing flag**: its row with weight 0 or 1;
* the rows of weight 1, each categorical column's one-hot row (none when missing or unseen)
  and each ``P[s]``, are summed in advance for every combination of consecutive columns
  whose combinations number at most :data:`MAX_GROUP_ROWS` (one table per group; the first
  also holds the bias).

``x``, ``z`` and ``f`` are computed as :func:`churn_core.model.encoding.numeric_encoder`
computes them (median imputation, the fitted fences, the same float64 operations and clips),
so the weights are the encoded row's own float32 numbers. The weighted sum of a customer's
table rows is a sparse product (``scipy.sparse``, CSR times the dense table, each row's terms
added in a fixed order) instead of the dense ``(rows, 87) @ (87, 256)`` one, and no encoded
matrix is built. Anything else (no NumPy network, an encoding that does not feed it, tables
over :data:`MAX_TABLE_BYTES`) is scored by the dense path, as ``DenseNetwork.predict`` is.
The result differs from the dense product by float32 rounding only (other sums in another
order; the tables are summed in float64): probabilities within 2e-6 of the dense path in the
tests (``tests/test_numpy_net.py``), 1.8e-7 at most and the same labels on the 1M-row
benchmark file. Each row is computed alone, so its first-layer numbers do not depend on the
batch it is in (the later layers' BLAS products still do, as on the dense path).

The default model sums 9 rows per customer (the 5 categorical columns in a table of 540 rows,
the 5 ``P`` in tables of 361, 156 and 19 rows, 5 ``Q`` rows) from a 1.1 MB table. Measured 2026-12-06 on 1M rows of
the benchmark bundle, one thread, warm: the first layer 0.37 CPU-s (0.08 of it the table rows
and weights) against 0.15 for the encoding plus about 0.5 for the dense product; the forward
pass with its encoding 0.68-0.72 instead of 1.06-1.19 CPU-s; whole ``score`` processes 0.2-0.5
CPU-s less (``benchmarks/RESULTS.md``). Tried: 11 rows per customer (numeric ``P`` tables
apart) 0.43 CPU-s; the same sums with NumPy gathers 1.3 CPU-s (a pass over the output per
term); SciPy's private ``csr_matvecs`` into a reused array 0.02-0.06 CPU-s less, not worth a
private API.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from churn_core.model.encoding import Z_CLIP, numeric_plan, numeric_values

#: Most rows of one grouped table: the product of its columns' categories + 1 and segments.
MAX_GROUP_ROWS = 1024
#: Largest table built (float32 bytes); a wider model is scored by the dense path.
MAX_TABLE_BYTES = 16 * 2 ** 20

_BUILD_LOCK = threading.Lock()


class FusedFirstLayer:
    """The first layer's pre-activation of raw rows, from precomputed weight tables.

    Parameters
    ----------
    pre : Preprocessor
        Fitted; ``pre.n_features_out`` must equal ``kernel.shape[0]``.
    kernel : ndarray of shape (n_encoded, units)
        The first Dense kernel (float32), encoded columns in ``pre.blocks`` order.
    bias : ndarray of shape (units,)

    Raises
    ------
    ValueError
        When the kernel does not have ``pre.n_features_out`` rows.

    Attributes
    ----------
    table : ndarray of shape (n_table_rows, units), float32
        The stacked tables: the grouped rows of weight 1 (categorical columns and numeric
        ``P``; bias included), else the bias row; per numeric column ``Q`` (or ``W_z``);
        the missing flags' rows.
    width : int
        Table rows summed per customer (the sparse row's entries).
    """

    def __init__(self, pre, kernel: np.ndarray, bias: np.ndarray):
        w = np.asarray(kernel, np.float64)
        if w.ndim != 2 or w.shape[0] != pre.n_features_out:
            raise ValueError(f"the kernel has shape {w.shape}, the encoding {pre.n_features_out} columns")
        self._pre = pre
        self._plan = numeric_plan(pre)
        zero = np.zeros((1, w.shape[1]))
        # rows summed with weight 1, one per digit: a category's code + 1 (0: missing or
        # unseen), a numeric column's segment (P)
        sources = [(("cat", col), np.vstack([zero, w[a:b]])) for col, a, b in pre.blocks[len(pre.numeric):]]
        weighted = []  # (column index, edges or None, Q rows)
        self._bins = {}  # numeric column index -> (lower edge, width) per segment
        for j, (col, start, stop) in enumerate(pre.blocks[: len(pre.numeric)]):
            mean, std = pre.means[col], pre.scales[col]
            w_z = w[start]
            if col not in pre.edges:
                weighted.append((j, None, w_z[None, :]))
                continue
            e = np.asarray(pre.edges[col], np.float64)
            w_ple = w[start + 1 + (col in pre.missing_indicator):stop]
            lo, width = e[:-1], e[1:] - e[:-1]
            below = np.vstack([zero, np.cumsum(w_ple, axis=0)])  # below[b]: the rows t < b + 1
            sources.append((("seg", j), np.vstack([zero, below[:-1] + ((lo - mean) / std)[:, None] * w_z,
                                                   below[-1:]])))
            weighted.append((j, e, np.vstack([w_z, w_ple + (width / std)[:, None] * w_z, w_z])))
            # lower edge and width of the bin of each segment (0 and T + 1: the outer bins)
            self._bins[j] = (np.concatenate([lo[:1], lo, lo[-1:]]), np.concatenate([width[:1], width, width[-1:]]))
        parts: list[np.ndarray] = []
        self._groups = []  # (table offset, [(digit key, stride)])
        for group in _grouped([len(rows) for _, rows in sources]):
            combos = int(np.prod([len(sources[i][1]) for i in group]))
            table, strides, stride = np.zeros((combos, w.shape[1])), [], 1
            for i in group:
                key, rows = sources[i]
                table += rows[(np.arange(combos) // stride) % len(rows)]
                strides.append((key, stride))
                stride *= len(rows)
            self._groups.append((sum(map(len, parts)), strides))
            parts.append(table)
        self._bias_row = None if parts else 0  # the bias: in the first table, else its own row
        if parts:
            parts[0] += np.asarray(bias, np.float64)
        else:
            parts.append(np.asarray(bias, np.float64)[None, :])
        self._numeric = []  # (column index, edges or None, Q offset)
        for j, e, q in weighted:
            self._numeric.append((j, e, sum(map(len, parts))))
            parts.append(q)
        self._flags = []  # (column index, table row)
        for j, col in enumerate(pre.numeric):
            if col in pre.missing_indicator:
                self._flags.append((j, sum(map(len, parts))))
                parts.append(w[pre.blocks[j][1] + 1][None, :])
        self.table = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
        self.width = len(self._groups) + len(self._numeric) + len(self._flags) + (self._bias_row is not None)

    def entries(self, df: pd.DataFrame, codes: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Table rows and weights of every row of ``df``.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= n_features)
            Holds every raw feature column.
        codes : dict, optional
            ``pre.category_codes(df)``, when the caller has them.

        Returns
        -------
        index : ndarray of shape (n_samples, width), int32
            Table rows, per customer in a fixed order (categorical tables, numeric columns,
            missing flags, bias).
        weight : ndarray of shape (n_samples, width), float32
            Their weights: 1, a PLE fraction ``f`` in [0, 1], a standardised value ``z``
            (within +-``Z_CLIP``) or a 0/1 missing flag.
        """
        pre, plan, n = self._pre, self._plan, len(df)
        if codes is None:
            codes = pre.category_codes(df)
        index = np.empty((n, self.width), np.int32)
        weight = np.ones((n, self.width), np.float32)
        digits = {("cat", col): c.codes + 1 for col, c in codes.items()}
        flags, k = {}, len(self._groups)
        for j, e, q_at in self._numeric:
            x, flags[j] = numeric_values(pre, plan, df, j)  # as numeric_encoder
            mean, std = pre.means[pre.numeric[j]], pre.scales[pre.numeric[j]]
            if e is None:
                index[:, k], weight[:, k] = q_at, np.clip((x - mean) / std, -Z_CLIP, Z_CLIP)
                k += 1
                continue
            seg = digits[("seg", j)] = _segments(e, x)  # e[seg-1] < x <= e[seg]
            lo, width = self._bins[j]
            f = np.subtract(x, lo.take(seg))
            f /= width.take(seg)  # the float64 operations of numeric_encoder for bin seg
            np.clip(f, 0.0, 1.0, out=f)
            outside = (seg == 0) | (seg == len(e))
            if outside.any():  # constant PLE: the weight of Q = W_z is z
                f[outside] = np.clip((x[outside] - mean) / std, -Z_CLIP, Z_CLIP)
            index[:, k] = seg
            index[:, k] += q_at
            weight[:, k] = f
            k += 1
        for g, (offset, strides) in enumerate(self._groups):
            combo = np.full(n, offset, np.int32)
            for key, stride in strides:
                combo += np.multiply(digits[key], stride, dtype=np.int32)  # seg: int8
            index[:, g] = combo
        for j, row in self._flags:
            index[:, k], weight[:, k] = row, flags[j]
            k += 1
        if self._bias_row is not None:
            index[:, k] = self._bias_row
        return index, weight

    def batches(self, df: pd.DataFrame, rows: int, codes: dict | None = None):
        """The first layer's pre-activation (bias included), batch by batch.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= n_features)
        rows : int
            Rows per batch (> 0).
        codes : dict, optional
            ``pre.category_codes(df)``.

        Returns
        -------
        iterator of (slice, ndarray of shape (batch rows, units), float32)
            Equal to ``transform(df)[rows] @ kernel + bias`` up to float32 rounding.
        """
        from scipy.sparse import csr_matrix  # SciPy off the app's first page (ARCHITECTURE.md)

        index, weight = self.entries(df, codes)
        n, width = len(df), self.width
        indptr = np.arange(0, min(rows, n) * width + 1, width, dtype=np.int32)
        shape = self.table.shape[0]
        for r0 in range(0, n, rows):
            k = min(rows, n - r0)
            a = csr_matrix((weight[r0:r0 + k].reshape(-1), index[r0:r0 + k].reshape(-1), indptr[:k + 1]),
                           shape=(k, shape))
            yield slice(r0, r0 + k), a @ self.table


def _segments(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``searchsorted(edges, x, side="left")``: the edges below each value, counted by one
    comparison per edge (5-8x faster than the binary search of unsorted values for the
    default 9-17 edges)."""
    if len(edges) > 100:
        return np.searchsorted(edges, x, side="left")
    seg = np.zeros(len(x), np.int8)
    above = np.empty(len(x), bool)
    for edge in edges:
        np.greater(x, edge, out=above)
        np.add(seg, above, out=seg, casting="unsafe")
    return seg


def fused_first_layer(net, pre) -> FusedFirstLayer | None:
    """The fused first layer of ``net`` fed by ``pre``, built once and kept on ``net``.

    Parameters
    ----------
    net : DenseNetwork
    pre : Preprocessor

    Returns
    -------
    FusedFirstLayer or None
        ``None`` (use the dense path) when SciPy is absent, the encoding does not match the
        network's inputs, or the tables would exceed :data:`MAX_TABLE_BYTES`. Rebuilt when
        the preprocessor's fitted numbers change.
    """
    if pre.n_features_out != net.n_inputs:
        return None
    plan = numeric_plan(pre)
    key = (id(pre), tuple(pre.blocks), tuple(pre.missing_indicator), plan.offset.tobytes(),
           plan.divisor.tobytes(), plan.fill.tobytes(), plan.low.tobytes(), plan.high.tobytes(),
           tuple((c, tuple(e)) for c, e in pre.edges.items()), bool(pre.bounds))
    cached = net.__dict__.get("_fused")
    if cached is not None and cached[0] == key:
        return cached[1]
    with _BUILD_LOCK:
        cached = net.__dict__.get("_fused")
        if cached is not None and cached[0] == key:
            return cached[1]
        layer = None
        try:
            import scipy.sparse  # noqa: F401 - only to know it is there
        except ImportError:  # pragma: no cover - SciPy ships with scikit-learn
            pass
        else:
            w, b, _ = net.layers[0]
            rows = _table_rows(pre)
            if rows * w.shape[1] * 4 <= MAX_TABLE_BYTES:
                layer = FusedFirstLayer(pre, w, b)
        net.__dict__["_fused"] = (key, layer)
        return layer


def _grouped(sizes: list[int]) -> list[list[int]]:
    """Consecutive sources (digits each) in groups of at most :data:`MAX_GROUP_ROWS`
    combinations (a source with more digits stays alone)."""
    groups, group, combos = [], [], 1
    for i, size in enumerate(sizes):
        if group and combos * size > MAX_GROUP_ROWS:
            groups.append(group)
            group, combos = [], 1
        group.append(i)
        combos *= size
    return groups + ([group] if group else [])


def _table_rows(pre) -> int:
    """Rows :class:`FusedFirstLayer` would stack (without building it)."""
    sizes = [b - a + 1 for _, a, b in pre.blocks[len(pre.numeric):]]
    sizes += [len(pre.edges[c]) + 1 for c in pre.numeric if c in pre.edges]
    n = sum(int(np.prod([sizes[i] for i in g])) for g in _grouped(sizes)) or 1
    return n + sum(len(pre.edges[c]) + 1 if c in pre.edges else 1 for c in pre.numeric) + len(pre.missing_indicator)
