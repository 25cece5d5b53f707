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

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.errors import ChurnError, MissingColumnsError
from churn_core.model.network import member_blocks

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
#: Columns a bank usually cannot act on; excluded from reason codes when "actionable only"
#: is chosen (matched case-insensitively). Analysis views keep every column.
NON_ACTIONABLE_COLUMNS = (
    "Age", "Gender", "Geography", "SeniorCitizen", "Partner", "Dependents",
    "Customer_Age", "Marital_Status", "Education_Level",
)
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
#: Hybrid rows per numpy batch (bounds memory: about rows x first-layer width x 4 bytes).
_ROW_BUDGET = 25_000


def _single_thread_blas():
    """Context with one BLAS thread: our matrix products are small and cache-sized, and
    parallelism comes from our own worker threads (a multi-threaded BLAS on a shared 2-core
    machine was measured 3-6x slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0, out=z),
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
    "tanh": np.tanh,
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "softplus": lambda z: np.logaddexp(0, z),
    "silu": lambda z: z * (0.5 * (1.0 + np.tanh(0.5 * z))),
    "swish": lambda z: z * (0.5 * (1.0 + np.tanh(0.5 * z))),
}


class ExplainError(ChurnError):
    """An explanation cannot be computed as asked (too many columns for exact, no rows...)."""


# ---------------------------------------------------------------------------- the result
@dataclass
class Explanation:
    """SHAP values of some customers, one column per raw feature.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_columns), float64
        SHAP value of each raw column, in probability (raw MLP output, before calibration).
    base_value : float
        Mean model output over the background rows, a probability in [0, 1].
    output : ndarray of shape (n_samples,)
        The model output explained: ``base_value + values.sum(axis=1)``, probabilities.
    columns : list of str
        Raw feature columns, in model order.
    data : DataFrame of shape (n_samples, n_columns)
        The customers' raw values (index = the explained rows' index).
    numeric : list of str
        Which of ``columns`` are numeric (others are categorical).
    method : {"exact", "fast"}
        ``"exact"``: all coalitions; ``"fast"``: antithetic permutation sampling.
    background_size : int
        Number of background rows.
    n_permutations : int or None
        Column orders sampled per customer and background row (fast method only).
    output_space : str
        Always ``"probability"``.
    sample_note : str or None
        Set when only a random sample of a larger file was explained.
    """

    values: np.ndarray
    base_value: float
    output: np.ndarray
    columns: list[str]
    data: pd.DataFrame
    numeric: list[str]
    method: str
    background_size: int
    n_permutations: int | None = None
    output_space: str = "probability"
    sample_note: str | None = None
    binary: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def index(self) -> pd.Index:
        """Index of the explained rows (same as ``data.index``)."""
        return self.data.index

    @property
    def method_description(self) -> str:
        """One sentence for the UI: method, background size and output space."""
        if self.method == "exact":
            how = "exact interventional SHAP (all coalitions)"
        else:
            how = ("interventional SHAP by antithetic permutation sampling "
                   f"({self.n_permutations} column orders per customer and background row)")
        text = (f"{how}, {self.background_size} background rows; values are in probability of the "
                f"raw model output (before calibration); base value {self.base_value:.3f}")
        if self.sample_note:
            text += f"; {self.sample_note}"
        return text

    def to_frame(self) -> pd.DataFrame:
        """SHAP values as a DataFrame (rows = customers, columns = raw columns)."""
        return pd.DataFrame(self.values, index=self.data.index, columns=self.columns)

    def to_shap(self):
        """The same values as a ``shap.Explanation``, for ``shap.plots.*`` and other tools.

        Returns
        -------
        shap.Explanation
            ``values`` of shape (n_samples, n_columns), ``base_values`` of shape
            (n_samples,) (the base value repeated), ``data`` (the raw values: floats for
            numeric columns, text for categorical ones, object array), ``feature_names``
            (raw column names); ``output_names`` is ``"churn probability (raw model
            output)"``. ``values.sum(axis=1) + base_values`` equals :attr:`output`.

        Notes
        -----
        shap documents ``shap.Explanation`` at https://shap.readthedocs.io (API reference,
        "shap.Explanation").
        """
        import shap

        data = self.data[self.columns].astype(object).to_numpy()
        num = set(self.numeric)
        for j, c in enumerate(self.columns):
            if c in num:
                data[:, j] = pd.to_numeric(self.data[c], errors="coerce").to_numpy(float)
        return shap.Explanation(values=np.asarray(self.values, dtype=np.float64),
                                base_values=np.full(len(self), float(self.base_value)),
                                data=data, feature_names=list(self.columns),
                                output_names="churn probability (raw model output)")

    def row(self, position: int) -> "Explanation":
        """The explanation of one customer (by position), as an :class:`Explanation`."""
        sl = slice(position, position + 1)
        return Explanation(self.values[sl], self.base_value, self.output[sl], self.columns,
                           self.data.iloc[sl], self.numeric, self.method, self.background_size,
                           self.n_permutations, self.output_space, self.sample_note, self.binary)


# ---------------------------------------------------------------------------- the network
def _activation_name(fn) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return str(name).lower()


def _dense_chain(model) -> list[tuple] | None:
    """Read a plain feed-forward chain from a Keras model, or ``None`` when not plain.

    Returns
    -------
    list of tuple or None
        Stages ``("dense", W, b, activation)`` (first one first); ``BatchNormalization`` is
        folded into an ``("affine", scale, shift, activation="linear")`` stage; ``Dropout``
        and ``InputLayer`` are skipped (identity at inference). ``None`` for any other
        layer, a non-sequential graph or an unknown activation.
    """
    stages: list[tuple] = []
    try:
        layers = list(model.layers)
    except AttributeError:
        return None
    prev = None
    for layer in layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        # a plain chain: each layer's only input is the previous layer's output
        try:
            inbound = layer._inbound_nodes
            if len(inbound) != 1:
                return None
            parents = [t._keras_history.operation for t in inbound[0].input_tensors]
            if len(parents) != 1 or (prev is not None and parents[0] is not prev):
                return None
        except Exception:  # noqa: BLE001 - Sequential models or other Keras internals
            pass
        prev = layer
        if kind == "Dropout":
            continue
        if kind == "Dense":
            act = _activation_name(layer.activation)
            if act not in _ACTIVATIONS:
                return None
            w = np.asarray(layer.kernel.numpy(), dtype=np.float64)
            b = (np.asarray(layer.bias.numpy(), dtype=np.float64) if layer.use_bias
                 else np.zeros(w.shape[1]))
            stages.append(("dense", w, b, act))
        elif kind == "BatchNormalization":
            mean = np.asarray(layer.moving_mean.numpy(), np.float64)
            var = np.asarray(layer.moving_variance.numpy(), np.float64)
            gamma = np.asarray(layer.gamma.numpy(), np.float64) if layer.scale else np.ones_like(mean)
            beta = np.asarray(layer.beta.numpy(), np.float64) if layer.center else np.zeros_like(mean)
            scale = gamma / np.sqrt(var + layer.epsilon)
            stages.append(("affine", scale, beta - mean * scale, "linear"))
        elif kind == "Activation":
            act = _activation_name(layer.activation)
            if act not in _ACTIVATIONS:
                return None
            stages.append(("affine", None, None, act))
        else:
            return None
    if not stages or stages[0][0] != "dense" or stages[-1][0] != "dense" or stages[-1][1].shape[1] != 1:
        return None
    return stages


def effective_parameters(stages: list[tuple]) -> int:
    """Number of non-zero weights and biases of a Dense chain (zeros outside the diagonal
    blocks of a packed ensemble's kernels are not parameters).

    Parameters
    ----------
    stages : list of tuple
        As returned by :func:`_dense_chain`.

    Returns
    -------
    int
    """
    return int(sum(np.count_nonzero(st[1]) + np.count_nonzero(st[2])
                   for st in stages if st[0] == "dense"))


class _Network:
    """Forward pass of the model split after the first Dense layer's pre-activation.

    Two paths: ``"weights"`` (numpy from the Keras weights, first-layer trick) and
    ``"forward"`` (the model's own compiled forward pass on hybrid encoded rows).
    """

    def __init__(self, bundle, n_inputs: int, path: str = "auto"):
        self.bundle = bundle
        self.model = bundle.model
        self.n_inputs = n_inputs
        self.stages = _dense_chain(self.model) if path in ("auto", "weights") else None
        if path == "weights" and self.stages is None:
            raise ExplainError("the model is not a plain Dense/Dropout chain; use path='forward'")
        self.path = "weights" if self.stages is not None else "forward"
        self._fn = None
        self._cast = {}
        # a packed ensemble served as a block-diagonal Dense chain, as scoring detects it
        # (an Input + Dense-only chain: stages ``1 .. block_stop-1`` are its diagonal blocks)
        self._parts = member_blocks(self.model) if self.stages is not None else None
        #: members of the packed ensemble (1 when none); stages ``1 .. block_stop-1`` are
        #: then computed per member
        self.members = self._parts["members"] if self._parts else 1
        self.block_stop = 1 + len(self._parts["blocks"]) if self._parts else 1
        self.use_blocks = self.members > 1

    def forward_fn(self):
        """The bundle's own raw-probability function of encoded rows (``predict_encoded``),
        so that explanations always add up to what scoring reports; a compiled forward pass
        of the model when the bundle has none."""
        if self._fn is None:
            fn = getattr(self.bundle, "predict_encoded", None)
            if fn is None:
                from churn_core.model.network import compiled_predict

                fn = compiled_predict(self.model)
            self._fn = fn
        return self._fn

    def first_layer(self, dtype):
        """``(W1, b1)`` of the first Dense layer in ``dtype``."""
        key = ("first", np.dtype(dtype).str)
        if key not in self._cast:
            _, w, b, _ = self.stages[0]
            self._cast[key] = (w.astype(dtype), b.astype(dtype))
        return self._cast[key]

    def _rest(self, dtype):
        key = ("rest", np.dtype(dtype).str)
        if key not in self._cast:
            out = []
            for kind, a, b, act in self.stages:
                out.append((kind, None if a is None else a.astype(dtype),
                            None if b is None else b.astype(dtype), act))
            self._cast[key] = out
        return self._cast[key]

    def _blocks(self, dtype):
        """The block-diagonal stages in member-major form (from :func:`member_blocks`):
        kernels (k, a, b) and biases (k, 1, b)."""
        key = ("blocks", np.dtype(dtype).str)
        if key not in self._cast:
            self._cast[key] = [("dense", w.astype(dtype), b[:, None, :].astype(dtype), act)
                               for w, b, act in self._parts["blocks"]]
        return self._cast[key]

    def from_preactivation(self, z: np.ndarray) -> np.ndarray:
        """Model output from first-layer pre-activations ``z`` of shape (n, h1) -> (n,).

        ``z`` is overwritten. With a packed ensemble (:attr:`use_blocks`), the block-diagonal
        layers run per member on the view ``(members, n, width)`` (one small matrix product
        per member) instead of one mostly-zero dense product.
        """
        if self.use_blocks:
            n = z.shape[0]
            # member k owns units k*width:(k+1)*width: a strided member-major view, no copy
            return self.from_member_preactivation(z.reshape(n, self.members, -1).transpose(1, 0, 2))
        stages = self._rest(z.dtype)
        h = _ACTIVATIONS[stages[0][3]](z)
        return self._tail(h, 1)

    def from_member_preactivation(self, zk: np.ndarray) -> np.ndarray:
        """Model output from member-major first-layer pre-activations of a packed ensemble.

        Parameters
        ----------
        zk : ndarray of shape (members, n, h1 // members)
            ``zk[k]`` holds units ``k*w:(k+1)*w`` of the first layer (member ``k``'s units).
            Overwritten.

        Returns
        -------
        ndarray of shape (n,)
        """
        stages = self._rest(zk.dtype)
        hk = _ACTIVATIONS[stages[0][3]](zk)
        for _, a, b, act in self._blocks(zk.dtype):
            hk = np.matmul(hk, a)  # one (n, a) @ (a, b) product per member
            hk += b
            hk = _ACTIVATIONS[act](hk)
        n = hk.shape[1]
        return self._tail(hk.transpose(1, 0, 2).reshape(n, -1), self.block_stop)

    def _tail(self, h: np.ndarray, start: int) -> np.ndarray:
        stages = self._rest(h.dtype)
        for kind, a, b, act in stages[start:]:
            if kind == "dense":
                h = h @ a
                h += b
            elif a is not None:
                h = h * a + b
            h = _ACTIVATIONS[act](h)
        return h.reshape(-1)

    def predict_encoded(self, X: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Model output for encoded rows ``X`` of shape (n, n_inputs) -> (n,), float64."""
        if self.path == "weights":
            w, b = self.first_layer(dtype)
            z = np.asarray(X, dtype) @ w
            z += b
            return self.from_preactivation(z).astype(np.float64)
        return self.forward_fn()(np.asarray(X, np.float32))


# ---------------------------------------------------------------------------- Shapley algebra
def coalition_masks(m: int) -> np.ndarray:
    """All ``2**m`` coalitions of ``m`` columns as a 0/1 matrix.

    Returns
    -------
    ndarray of shape (2**m, m), uint8
        Row ``k`` holds the bits of ``k`` (column ``j`` present when bit ``j`` is set).
    """
    k = np.arange(2 ** m, dtype=np.int64)[:, None]
    return ((k >> np.arange(m)) & 1).astype(np.uint8)


def shapley_coefficients(m: int) -> np.ndarray:
    """Matrix ``C`` with ``phi = v @ C`` for coalition values ``v`` ordered as :func:`coalition_masks`.

    ``C[S, j] = w(|S| - 1)`` when ``j`` is in ``S``, else ``-w(|S|)``, with the Shapley
    weight ``w(s) = s! (m - s - 1)! / m!`` (Shapley, 1953).

    Returns
    -------
    ndarray of shape (2**m, m), float64
    """
    masks = coalition_masks(m).astype(bool)
    size = masks.sum(axis=1)
    w = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
                  for s in range(m)] + [0.0])
    return np.where(masks, w[np.maximum(size - 1, 0)][:, None], -w[size][:, None])


def group_encoded_values(values: np.ndarray, blocks: Sequence[tuple[str, int, int]]) -> np.ndarray:
    """Sum signed SHAP values of encoded columns into their raw column.

    Signed values are summed (never absolute values), so a one-hot block's contributions
    that cancel out stay cancelled; additivity is preserved.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_encoded)
    blocks : list of (raw_col, start, stop)

    Returns
    -------
    ndarray of shape (n_samples, len(blocks))
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    return np.column_stack([values[:, s:e].sum(axis=1) for _, s, e in blocks])


# ---------------------------------------------------------------------------- explainer
def _report(progress, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)


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
        chunk = max(1, min(256, _ROW_BUDGET * 8 // per_customer))
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
        with _single_thread_blas():
            if workers <= 1 or len(starts) == 1:
                for k in range(len(starts)):
                    run(k)
                    done = min(starts[k] + chunk, n)
                    _report(progress, done, n, "SHAP (permutation sampling)")
            else:
                from concurrent.futures import ThreadPoolExecutor, as_completed

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


# ---------------------------------------------------------------------------- summaries
def global_importance(explanation: Explanation) -> pd.Series:
    """Mean absolute SHAP value per raw column, largest first.

    Returns
    -------
    Series indexed by column name, float64 (probability units)
    """
    imp = np.abs(explanation.values).mean(axis=0)
    return pd.Series(imp, index=explanation.columns, name="mean_abs_shap").sort_values(ascending=False)


def _format_value(col: str, values: pd.Series, numeric: bool, binary: bool) -> pd.Series:
    """Plain-words ``"Age 57"`` / ``"Geography = Germany"`` / ``"Balance missing"`` per row."""
    if numeric:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

        def one(v):
            if not np.isfinite(v):
                return f"{col} missing"
            text = f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"
            return f"{col} = {text}" if binary else f"{col} {text}"

        return pd.Series([one(v) for v in x], index=values.index)
    s = values.astype("string").str.strip()
    return pd.Series(np.where(s.isna() | (s == ""), f"{col} missing", f"{col} = " + s.fillna("")),
                     index=values.index)


def reason_codes(explanation: Explanation, top: int = 3, exclude: Sequence[str] = (),
                 min_value: float = 0.0) -> pd.DataFrame:
    """The columns pushing each customer's risk up, in plain words.

    Only positive contributions count as reasons, largest first; a customer with fewer than
    ``top`` positive contributions gets empty strings for the rest.

    Parameters
    ----------
    explanation : Explanation
    top : int, default 3
        Number of reason columns (``reason_1`` .. ``reason_<top>``).
    exclude : sequence of str, default ()
        Columns never given as reasons, e.g. :data:`NON_ACTIONABLE_COLUMNS` for "columns the
        bank can act on" (matched case-insensitively).
    min_value : float, default 0.0
        A contribution must exceed this (probability units) to be a reason.

    Returns
    -------
    DataFrame of shape (n_samples, top)
        Columns ``reason_1`` .. ``reason_<top>``, index = the explained rows' index; texts like
        ``"Age 57 raises risk"`` or ``"IsActiveMember = 0 raises risk"``.
    """
    cols = explanation.columns
    excl = {str(c).casefold() for c in exclude}
    vals = np.array(explanation.values, dtype=np.float64, copy=True)
    for j, c in enumerate(cols):
        if c.casefold() in excl:
            vals[:, j] = -np.inf
    vals[~(vals > min_value)] = -np.inf
    k = min(top, len(cols))
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    words = np.column_stack([
        _format_value(c, explanation.data[c], c in set(explanation.numeric),
                      c in set(explanation.binary)).to_numpy(dtype=object) + " raises risk"
        for c in cols
    ]) if len(cols) else np.empty((len(explanation), 0), dtype=object)
    rows = np.arange(len(explanation))[:, None]
    picked = words[rows, order]
    ok = np.isfinite(vals[rows, order])
    picked = np.where(ok, picked, "")
    out = pd.DataFrame(index=explanation.index)
    for i in range(top):
        out[f"reason_{i + 1}"] = picked[:, i] if i < k else ""
    return out


def non_actionable_present(columns: Sequence[str],
                           candidates: Sequence[str] = NON_ACTIONABLE_COLUMNS) -> list[str]:
    """Which of ``columns`` are in the non-actionable list (case-insensitive).

    Parameters
    ----------
    columns : sequence of str
    candidates : sequence of str, default NON_ACTIONABLE_COLUMNS

    Returns
    -------
    list of str
        In the order of ``columns``; pass as ``exclude`` to :func:`reason_codes`.
    """
    cand = {c.casefold() for c in candidates}
    return [c for c in columns if c.casefold() in cand]
