"""SHAP values in the customer's own columns, and plain-words reason codes.

What is explained
-----------------
The whole pipeline ``raw customer columns -> Preprocessor -> Keras MLP``: every contribution
belongs to one raw feature column (``Geography``, never ``Geography=Germany``). The output
space is the **probability of the raw MLP output** (before any calibration); the base value
is the mean model output over the background rows. Additivity holds on every explained row:
``base_value + values.sum(axis=1) == output``.

Method
------
Interventional (baseline) Shapley values (Lundberg & Lee, 2017; Janzing et al., 2020) with a
background sample ``B`` of raw rows. For ``M`` raw columns and a coalition ``S`` of columns
taken from the customer ``x``, ``v(S) = mean_{b in B} f(x_S, b_notS)`` and

    phi_j = sum_{S not containing j} |S|! (M - |S| - 1)! / M! * (v(S + j) - v(S)).

* ``method="exact"`` evaluates all ``2**M`` coalitions (one customer, ``M <= 16``).
* ``method="fast"`` estimates the same values by antithetic permutation sampling
  (Strumbelj & Kononenko, 2014; antithetic pairs as in Mitchell et al., 2022). Interventional
  SHAP is the mean over background rows ``b`` of the Shapley values of the game
  ``S -> f(x_S, b_notS)``; each background row gets its own random column orders (and their
  reverses), and each order walks from ``b`` to ``x`` one column at a time. Each walk
  telescopes (its steps sum to ``f(x) - f(b)``), so additivity is exact for the estimate too.
  The default is 4 orders per background row, or 2 for models whose effective cost per
  hybrid row exceeds :data:`LARGE_MODEL_PARAMS` (e.g. a 16-member ensemble). Speed and
  agreement with the exact method on the bank file: ``benchmarks/bench_explain.py``.

shap's DeepExplainer/GradientExplainer were not used: they explain encoded columns, DeepLIFT
is an approximation (correlation ~0.97 with exact values here, see REFERENCE.md), and they
broke with Keras 3 / TF >= 2.16 (shap/shap#3672). shap's Exact and Kernel explainers give the
same values as ``method="exact"`` (to 1e-8 and 1e-4 on the bank model) but are 5-250x slower
per customer.

Speed comes from the first Dense layer being linear: the first-layer pre-activation of a
hybrid row is ``b1 + sum_j W1[block_j]^T z[block_j]``, a sum of per-column vectors that are
computed once per customer and once for the background. A coalition then costs one small
matrix product, and the remaining layers run as large batched numpy matrix products (the
weights are read from the Keras ``Dense``/``Dropout``/``BatchNormalization`` layers;
Dropout is the identity at inference). A packed ensemble served as a plain Dense chain
(``churn_core.model.network.dense_chain``: member ``k`` owns the ``k``-th diagonal block of every
kernel after the first, exact zeros elsewhere) is detected when the explainer is built, by
the same function as the compact scoring path (``churn_core.model.network.member_blocks``); its
block-diagonal layers then run per member on member-major arrays of shape
``(members, rows, width)`` (one small matrix product per member, the first-layer
pre-activations built directly in that layout), ~16x fewer multiply-adds than the dense
block-diagonal product for 16 members. A model with any other layer (e.g. a packed
ensemble with ``EinsumDense`` members) falls back to the bundle's own ``predict_encoded``
(compiled forward pass) on hybrid encoded rows: same values, about 1.5x slower for the same
model. Both paths are checked against each other and against the textbook formula evaluated
coalition by coalition in ``tests/test_explain.py``.

The raw columns are mixed at the encoded level, which equals mixing raw values because every
preprocessing block depends on its own raw column only (imputation, scaling and one-hot are
per column; see ``churn_core/preprocess.py``).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.errors import MissingColumnsError
from churn_core.explain.explanation import ExplainError, Explanation
from churn_core.explain.forward import (_Network, coalition_masks, effective_parameters,
                                        shapley_coefficients)
from churn_core.model.numpy_net import single_thread_blas

#: Largest number of raw columns for the exact method (2**16 coalitions per customer).
EXACT_MAX_COLUMNS = 16
#: Default number of sampled column orders per customer and background row in the fast
#: method (half of them are the reverses of the other half).
DEFAULT_PERMUTATIONS = 4
#: Models whose effective cost per hybrid row (:attr:`RawColumnExplainer.effective_params`:
#: ``M x h1`` for the first layer, which the fast method computes per column, plus the non-zero
#: weights and biases of the later layers; zeros off a packed ensemble's diagonal blocks are
#: not counted) exceeds this get 2 orders per background row by default instead of 4.
#: Measured on the bank file (shared 2-core machine, 2 worker threads): the previous default 16-member
#: 32-16 TabM-mini ensemble (14.4k; Keras counts 165k with the zeros) takes 1.4-2.4 ms per
#: customer with 2 orders and 2.8-5.5 ms with 4 (depending on the machine's load: 4 orders
#: miss the 30 s goal for 10,000 customers); a single 64-32 MLP (~2.7k) ~1.4 ms with 4.
LARGE_MODEL_PARAMS = 10_000
#: ``method="auto"`` uses the exact method for at most this many rows (``M <= 16``).
AUTO_EXACT_ROWS = 4
#: ...and for so few rows with ``M > 16`` columns, this many orders per background row.
AUTO_FEW_ROWS_PERMUTATIONS = 32
#: Hybrid rows per numpy batch (bounds memory: about rows x first-layer width x 4 bytes).
_ROW_BUDGET = 25_000
#: First-layer values (hybrid rows x first-layer width) per chunk of customers in the fast
#: method, about 10 MB of float32 per worker thread. One customer per chunk (the earlier
#: 200,000) left the two worker threads fighting over the interpreter lock between many small
#: NumPy calls; larger chunks fall out of the cache. Measured on the bank model (8 members, 256
#: first-layer units; 2,000 customers, median of 5, shared 2-core machine): reasons estimate
#: (50 x 2, 9 customers per chunk) 0.55 s wall / 1.06 CPU-s, against 1.24 s / 1.87 with one
#: customer per chunk and 0.91 s / 1.75 with 12; precise estimate (100 x 4, 2 per chunk) 1.88
#: s against 2.30 s with one.
_FAST_CHUNK_ELEMENTS = 2_400_000


_single_thread_blas = single_thread_blas  # one BLAS thread (see churn_core.model.numpy_net)



# ---------------------------------------------------------------------------- explainer
def _report(progress, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)


def _throttled(progress, total: int, min_interval: float = 0.25, clock=time.perf_counter):
    """``progress`` called at most once per hundredth of ``total`` and once per
    ``min_interval`` seconds (and always at the end): a page's progress bar is a message to
    the browser per call, which redraws the page on the same 2 cores. One call per chunk of
    10,000 customers made the page's SHAP run take 2-3x the in-process time."""
    if progress is None:
        return None
    step = max(1, total // 100)
    last = [0, clock()]

    def report(done: int, total_: int, message: str) -> None:
        now = clock()
        if done >= total_ or (done - last[0] >= step and now - last[1] >= min_interval):
            last[0], last[1] = done, now
            progress(done, total_, message)
    return report


class RawColumnExplainer:
    """Interventional SHAP over the raw feature columns of a model bundle.

    Parameters
    ----------
    bundle : ModelBundle
        Anything with ``.model`` (Keras, one sigmoid output), ``.preprocessor``
        (``transform`` and ``blocks``) and ``.schema`` (``numeric``, ``categorical``).
    background_df : DataFrame
        Valid rows (typically the training rows) to draw the background from; must hold every
        raw feature column.
    background_size : int, default config.SHAP_BACKGROUND_SIZE (100)
        Background rows drawn at random without replacement (all rows if fewer).
    seed : int, default config.SEED
        Seed of the background draw and of the permutation sampling.
    path : {"auto", "weights", "forward"}, default "auto"
        ``"weights"``: numpy from the Keras weights (first-layer trick); ``"forward"``: the
        model's compiled forward pass; ``"auto"``: weights when the model is a plain
        Dense/Dropout/BatchNormalization chain and they reproduce the model's output.

    Raises
    ------
    MissingColumnsError
        If ``background_df`` lacks a raw feature column.
    ExplainError
        If the background is empty.
    """

    def __init__(self, bundle, background_df: pd.DataFrame,
                 background_size: int = config.SHAP_BACKGROUND_SIZE, seed: int = config.SEED,
                 path: str = "auto"):
        self.bundle = bundle
        self.preprocessor = bundle.preprocessor
        self.schema = bundle.schema
        self.blocks = [tuple(b) for b in self.preprocessor.blocks]
        self.columns = [b[0] for b in self.blocks]
        self.numeric = [c for c in self.columns if c in set(self.schema.numeric)]
        self.seed = int(seed)
        missing = [c for c in self.columns if c not in background_df.columns]
        if missing:
            raise MissingColumnsError(missing, "the background data")
        if len(background_df) == 0:
            raise ExplainError("the background data has no rows")
        n_bg = min(int(background_size), len(background_df))
        self.background = background_df[self.columns].sample(n=n_bg, random_state=self.seed)
        self.background_size = n_bg
        self._Xb = np.asarray(self.preprocessor.transform(self.background), dtype=np.float64)
        self.n_encoded = self._Xb.shape[1]
        self.net = _Network(bundle, self.n_encoded, path=path)
        if self.net.path == "weights" and path == "auto":
            # the weights must reproduce the model; otherwise use its own forward pass
            check = self._Xb[: min(64, n_bg)]
            ours = self.net.predict_encoded(check)
            if hasattr(bundle, "predict_encoded"):
                theirs = np.asarray(bundle.predict_encoded(check.astype(np.float32)), np.float64)
            else:
                theirs = np.asarray(bundle.model(check.astype(np.float32), training=False),
                                    dtype=np.float64).reshape(-1)
            if not np.allclose(ours, theirs, atol=1e-5, rtol=0):
                self.net = _Network(bundle, self.n_encoded, path="forward")
        self.path = self.net.path
        if self.net.path == "weights":
            stages = self.net.stages
            n_params = self.n_columns * int(stages[0][1].shape[1]) + int(np.count_nonzero(stages[0][2]))
            n_params += effective_parameters(stages[1:])
        else:
            try:
                n_params = int(bundle.model.count_params())
            except Exception:  # noqa: BLE001 - not a Keras model
                n_params = 0
        #: effective parameters per hybrid row of the fast method (weights path: ``M x h1``
        #: for the first layer plus the non-zero weights and biases of the others; forward
        #: path: the model's parameter count)
        self.effective_params = n_params
        #: orders per customer and background row used by the fast method by default
        self.default_permutations = 2 if n_params > LARGE_MODEL_PARAMS else DEFAULT_PERMUTATIONS
        self._fb = self.net.predict_encoded(self._Xb)
        self.base_value = float(self._fb.mean())
        # binary 0/1 numeric columns read as "col = value" in reason codes
        self.binary = [c for c in self.numeric
                       if set(pd.to_numeric(self.background[c], errors="coerce").dropna().unique()) <= {0.0, 1.0}]
        self._bg_contrib: dict[str, np.ndarray] = {}
        #: worker threads of the fast method (numpy releases the GIL in matrix products)
        self.n_threads = max(1, min(2, os.cpu_count() or 1))
        #: precision of the exact method's network evaluations: float32 like the Keras model
        #: itself (coalition means and Shapley sums are float64; measured difference from
        #: float64 evaluations ~1e-8, 3x faster)
        self.exact_dtype = np.float32

    # ------------------------------------------------------------------ helpers
    @property
    def n_columns(self) -> int:
        """Number of raw feature columns ``M``."""
        return len(self.columns)

    def _encode(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise MissingColumnsError(missing, "the data to explain")
        return np.asarray(self.preprocessor.transform(df[self.columns]), dtype=np.float64)

    def _contrib(self, X: np.ndarray, dtype) -> np.ndarray:
        """Per-column first-layer contributions ``X[:, block] @ W1[block]``: (n, M, h1)."""
        w, _ = self.net.first_layer(dtype)
        X = X.astype(dtype, copy=False)
        out = np.empty((len(X), self.n_columns, w.shape[1]), dtype=dtype)
        for j, (_, s, e) in enumerate(self.blocks):
            out[:, j, :] = X[:, s:e] @ w[s:e]
        return out

    def _background_parts(self, dtype):
        key = np.dtype(dtype).str
        if key not in self._bg_contrib:
            a_b = self._contrib(self._Xb, dtype)  # (nb, M, h1)
            _, b1 = self.net.first_layer(dtype)
            base = a_b.sum(axis=1) + b1  # (nb, h1)
            self._bg_contrib[key] = (np.ascontiguousarray(a_b.transpose(1, 0, 2)), base)
        return self._bg_contrib[key]

    def _background_members(self, dtype):
        """Member-major background parts of a packed ensemble: per-column contributions
        (k, nb, M, w) and base pre-activations (k, nb, w), ``w = h1 // members``."""
        key = "members" + np.dtype(dtype).str
        if key not in self._bg_contrib:
            a_b, base = self._background_parts(dtype)  # (M, nb, h1), (nb, h1)
            m, nb, h1 = a_b.shape
            k = self.net.members
            a_mm = np.ascontiguousarray(a_b.reshape(m, nb, k, h1 // k).transpose(2, 1, 0, 3))
            base_mm = np.ascontiguousarray(base.reshape(nb, k, h1 // k).transpose(1, 0, 2))
            self._bg_contrib[key] = (a_mm, base_mm)
        return self._bg_contrib[key]

    def coalition_values(self, X: np.ndarray, masks: np.ndarray, dtype=np.float64) -> np.ndarray:
        """``v(S) = mean_b f(x_S, b_notS)`` for each customer and coalition.

        Parameters
        ----------
        X : ndarray of shape (n_customers, n_encoded)
            Encoded customers.
        masks : ndarray of shape (n_customers, n_coalitions, M) or (n_coalitions, M)
            1 where the column is taken from the customer, 0 from the background row.
        dtype : numpy dtype
            Compute precision (float64 for exact values, float32 for speed).

        Returns
        -------
        ndarray of shape (n_customers, n_coalitions), float64
        """
        X = np.atleast_2d(X)
        n, m = len(X), self.n_columns
        if masks.ndim == 2:
            masks = np.broadcast_to(masks, (n, *masks.shape))
        k = masks.shape[1]
        nb = self.background_size
        out = np.empty((n, k), dtype=np.float64)
        if self.net.path == "weights":
            a_b, base = self._background_parts(dtype)  # (M, nb, h1), (nb, h1)
            h1 = base.shape[1]
            a_x = self._contrib(X, dtype)  # (n, M, h1)
            step = max(1, _ROW_BUDGET // nb)
            if self.net.use_blocks:
                kk_m = self.net.members
                w = h1 // kk_m
                a_mm, base_mm = self._background_members(dtype)  # (k, nb, M, w), (k, nb, w)
                a_b_km = np.ascontiguousarray(a_mm.transpose(0, 2, 1, 3))  # (k, M, nb, w)
                # members x rows x width per batch: fewer rows keep it in cache (~30 % faster)
                step = max(1, _ROW_BUDGET // (8 * nb))
                for i in range(n):
                    xi = a_x[i].reshape(m, kk_m, w).transpose(1, 0, 2)[:, :, None, :]
                    d = (xi - a_b_km).reshape(kk_m, m, nb * w)  # (k, M, nb*w)
                    for s in range(0, k, step):
                        mk = masks[i, s:s + step].astype(dtype)  # (kk, M)
                        z = np.matmul(mk, d).reshape(kk_m, -1, nb, w)  # (k, kk, nb, w)
                        z += base_mm[:, None]
                        f = self.net.from_member_preactivation(z.reshape(kk_m, -1, w))
                        out[i, s:s + step] = f.reshape(-1, nb).mean(axis=1, dtype=np.float64)
                return out
            for i in range(n):
                d = (a_x[i][:, None, :] - a_b).reshape(m, nb * h1)  # (M, nb*h1)
                for s in range(0, k, step):
                    z = masks[i, s:s + step].astype(dtype) @ d  # (kk, nb*h1)
                    z = z.reshape(-1, nb, h1)
                    z += base
                    f = self.net.from_preactivation(z.reshape(-1, h1))
                    out[i, s:s + step] = f.reshape(-1, nb).mean(axis=1, dtype=np.float64)
            return out
        # forward path: hybrid encoded rows through the model's own forward pass
        col_of = np.empty(self.n_encoded, dtype=np.int64)
        for j, (_, s, e) in enumerate(self.blocks):
            col_of[s:e] = j
        step = max(1, _ROW_BUDGET // nb)
        fn = self.net.forward_fn()
        for i in range(n):
            for s in range(0, k, step):
                enc = masks[i, s:s + step][:, col_of].astype(bool)  # (kk, d)
                rows = np.where(enc[:, None, :], X[i][None, None, :], self._Xb[None, :, :])
                f = fn(rows.reshape(-1, self.n_encoded).astype(np.float32))
                out[i, s:s + step] = f.reshape(-1, nb).mean(axis=1)
        return out

    # ------------------------------------------------------------------ the two methods
    def _exact(self, X: np.ndarray, progress=None) -> np.ndarray:
        m = self.n_columns
        if m > EXACT_MAX_COLUMNS:
            raise ExplainError(
                f"exact SHAP needs 2**{m} coalitions per customer ({m} raw columns); the limit is "
                f"{EXACT_MAX_COLUMNS} columns. Use method='fast'.")
        masks = coalition_masks(m)
        coef = shapley_coefficients(m)
        # v(empty) and v(full) are known: the background mean and the customer's own output
        out = np.empty((len(X), m))
        with _single_thread_blas():
            for i in range(len(X)):
                v = self.coalition_values(X[i:i + 1], masks, dtype=self.exact_dtype)[0]
                out[i] = v @ coef
                _report(progress, i + 1, len(X), "exact SHAP")
        return out

    def _ranks(self, n: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
        """Antithetic random column orders, given as each column's position in the order.

        Returns
        -------
        ndarray of shape (n, background_size, n_perm, M), int64
            ``rank[..., j]`` is the position of column ``j``; orders ``n_perm/2 ..`` are the
            reverses of orders ``0 .. n_perm/2 - 1``.
        """
        m, nb = self.n_columns, self.background_size
        half = n_perm // 2
        first = np.argsort(rng.random((n, nb, half, m)), axis=3)
        return np.concatenate([first, (m - 1) - first], axis=2)

    def _walk_outputs(self, x: np.ndarray, rank: np.ndarray) -> np.ndarray:
        """Model outputs along each order's walk from a background row to the customer.

        Parameters
        ----------
        x : ndarray of shape (c, n_encoded)
        rank : ndarray of shape (c, nb, P, M)
            Position of each column in each order.

        Returns
        -------
        ndarray of shape (c, nb, P, M - 1)
            Output after the first ``t = 1 .. M-1`` columns of the order were set to the
            customer's values (the rest from that background row).
        """
        c, nb, p, m = rank.shape
        t = np.arange(1, m)
        take = rank[:, :, :, None, :] < t[None, None, None, :, None]  # (c, nb, P, M-1, M)
        if self.net.path == "weights":
            a_b, base = self._background_parts(np.float32)  # (M, nb, h1), (nb, h1)
            h1 = base.shape[1]
            a_x = self._contrib(x, np.float32)  # (c, M, h1)
            if self.net.use_blocks:  # member-major: (k, c, nb, rows, w), no dense transposes
                k = self.net.members
                w = h1 // k
                a_mm, base_mm = self._background_members(np.float32)  # (k, nb, M, w), (k, nb, w)
                xk = a_x.reshape(c, m, k, w).transpose(2, 0, 1, 3)[:, :, None]  # (k, c, 1, M, w)
                # the base pre-activation enters the product as one more, always-taken
                # "column" (saves a pass over the large pre-activation array: ~8 % faster)
                d = np.empty((k, c, nb, m + 1, w), dtype=np.float32)
                np.subtract(xk, a_mm[:, None], out=d[:, :, :, :m])
                d[:, :, :, m] = base_mm[:, None]
                t1 = np.ones((c, nb, p * (m - 1), m + 1), dtype=np.float32)
                t1[..., :m] = take.reshape(c, nb, p * (m - 1), m)
                z = np.matmul(t1, d)  # (k, c, nb, rows, w)
                f = self.net.from_member_preactivation(z.reshape(k, -1, w))
                return f.reshape(c, nb, p, m - 1)
            d = a_x[:, None, :, :] - a_b.transpose(1, 0, 2)[None]  # (c, nb, M, h1)
            # first-layer pre-activation of every hybrid row: one batched matrix product
            z = np.matmul(take.reshape(c, nb, p * (m - 1), m).astype(np.float32), d)
            z += base[None, :, None, :]
            return self.net.from_preactivation(z.reshape(-1, h1)).reshape(c, nb, p, m - 1)
        col_of = np.empty(self.n_encoded, dtype=np.int64)
        for j, (_, s, e) in enumerate(self.blocks):
            col_of[s:e] = j
        take = take[..., col_of]  # (c, nb, P, M-1, d)
        rows = np.where(take, x[:, None, None, None, :], self._Xb[None, :, None, None, :])
        f = self.net.forward_fn()(rows.reshape(-1, self.n_encoded).astype(np.float32))
        return f.reshape(c, nb, p, m - 1)

    def _fast(self, X: np.ndarray, n_permutations: int, progress=None) -> np.ndarray:
        m, n, nb = self.n_columns, len(X), self.background_size
        out = np.empty((n, m))
        if m == 1:
            out[:, 0] = self.net.predict_encoded(X) - self.base_value
            return out
        f_x = self.net.predict_encoded(X, dtype=np.float32)
        f_b = self._fb
        # chunks of customers small enough for the hybrid rows to stay in cache
        per_customer = nb * n_permutations * m * max(self._width(), 16)
        chunk = max(1, min(256, _FAST_CHUNK_ELEMENTS // per_customer))
        starts = list(range(0, n, chunk))

        def run(k: int) -> None:
            s = starts[k]
            xs = X[s:s + chunk]
            c = len(xs)
            # one seeded stream per chunk: the same values whatever the thread count
            rank = self._ranks(c, n_permutations, np.random.default_rng([self.seed, k]))
            f = self._walk_outputs(xs, rank)
            walk = np.concatenate([
                np.broadcast_to(f_b[None, :, None, None], (c, nb, n_permutations, 1)),
                f,
                np.broadcast_to(f_x[s:s + c, None, None, None], (c, nb, n_permutations, 1)),
            ], axis=3)
            step = np.diff(walk, axis=3)  # step t: marginal contribution of the column at position t
            phi = np.take_along_axis(step, rank, axis=3)  # back to column order
            out[s:s + c] = phi.mean(axis=(1, 2))

        workers = self.n_threads if self.net.path == "weights" else 1
        if self.net.path == "weights":
            self._background_parts(np.float32)  # cached once, before the worker threads
            if self.net.use_blocks:
                self._background_members(np.float32)
        done = 0
        progress = _throttled(progress, n)
        with _single_thread_blas():
            if workers <= 1 or len(starts) == 1:
                for k in range(len(starts)):
                    run(k)
                    done = min(starts[k] + chunk, n)
                    _report(progress, done, n, "SHAP (permutation sampling)")
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = {pool.submit(run, k): k for k in range(len(starts))}
                    for fut in as_completed(futures):
                        fut.result()
                        k = futures[fut]
                        done += min(starts[k] + chunk, n) - starts[k]
                        _report(progress, done, n, "SHAP (permutation sampling)")
        return out

    def _width(self) -> int:
        return int(self.net.stages[0][1].shape[1]) if self.net.path == "weights" else self.n_encoded

    # ------------------------------------------------------------------ public
    def explain(self, df: pd.DataFrame, method: str = "auto",
                n_permutations: int | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> Explanation:
        """SHAP values of the raw feature columns for the rows of ``df``.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= M)
            Valid rows (as from ``validate``); must hold every raw feature column.
        method : {"auto", "exact", "fast"}, default "auto"
            ``"exact"``: all ``2**M`` coalitions (``M <= 16``), cost ``2**M x background``
            model rows per customer (for the one-customer view). ``"fast"``: antithetic
            permutation sampling with ``n_permutations`` column orders per customer and
            background row, cost ``n_permutations x (M - 1) x background`` model rows per
            customer (for all customers' reason codes). ``"auto"``: exact for up to
            :data:`AUTO_EXACT_ROWS` rows when ``M <= 16``; otherwise fast (with at least
            :data:`AUTO_FEW_ROWS_PERMUTATIONS` orders when there are that few rows).
        n_permutations : int, optional
            Column orders per customer and background row for the fast method (rounded up to
            an even number: orders come in antithetic pairs). Default
            :attr:`default_permutations`: 4 (:data:`DEFAULT_PERMUTATIONS`), or 2 when
            :attr:`effective_params` exceeds :data:`LARGE_MODEL_PARAMS`.
        progress : callable, optional
            Called as ``progress(done, total, message)`` as customers are finished.

        Returns
        -------
        Explanation
            ``base_value + values.sum(axis=1) == output`` within 1e-5 on every row.

        Raises
        ------
        MissingColumnsError
            If ``df`` lacks a raw feature column.
        ExplainError
            For an unknown method, no rows, or ``method="exact"`` with more than 16 columns.
        """
        if method not in ("auto", "exact", "fast"):
            raise ExplainError(f"unknown SHAP method {method!r}; choose 'auto', 'exact' or 'fast'")
        if len(df) == 0:
            raise ExplainError("no rows to explain")
        X = self._encode(df)
        if method == "auto":
            few = len(df) <= AUTO_EXACT_ROWS
            method = "exact" if (self.n_columns <= EXACT_MAX_COLUMNS and few) else "fast"
            if method == "fast" and few:  # one customer, too many columns for exact
                n_permutations = max(int(n_permutations or 0), AUTO_FEW_ROWS_PERMUTATIONS)
        if method == "exact":
            values = self._exact(X, progress)
            output = self.net.predict_encoded(X)
            n_perm = None
        else:
            if n_permutations is None:
                n_permutations = self.default_permutations
            n_perm = max(2, int(n_permutations) + int(n_permutations) % 2)
            values = self._fast(X, n_perm, progress)
            output = self.net.predict_encoded(X)
        return Explanation(values=values, base_value=self.base_value, output=output,
                           columns=list(self.columns), data=df[self.columns].copy(),
                           numeric=list(self.numeric), method=method,
                           background_size=self.background_size, n_permutations=n_perm,
                           binary=list(self.binary))


def explain_sample(explainer: RawColumnExplainer, df: pd.DataFrame,
                   max_rows: int = config.SHAP_MAX_ROWS, seed: int = config.SEED,
                   method: str = "fast", n_permutations: int | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> Explanation:
    """Explain every row of ``df``, or a stated random sample when it has more than ``max_rows``.

    Parameters
    ----------
    explainer : RawColumnExplainer
    df : DataFrame
        Valid rows to explain.
    max_rows : int, default config.SHAP_MAX_ROWS (10,000)
    seed : int
        Seed of the random sample (rows drawn without replacement, kept in file order).
    method, n_permutations, progress
        As :meth:`RawColumnExplainer.explain`.

    Returns
    -------
    Explanation
        ``sample_note`` says how many rows were sampled out of how many.
    """
    note = None
    if len(df) > max_rows:
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(len(df), size=max_rows, replace=False))
        note = f"explained a random sample of {max_rows:,} of {len(df):,} rows (seed {seed})"
        df = df.iloc[take]
    expl = explainer.explain(df, method=method, n_permutations=n_permutations, progress=progress)
    expl.sample_note = note
    return expl


