"""The served network as NumPy arithmetic, for SHAP coalition values: the bundle's Dense
chain read once (:class:`_Network`), forward passes from first-layer pre-activations, and the
combinatorics of exact Shapley values (coalition masks, Shapley weights, grouping encoded
columns back to raw columns)."""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from churn_core.explain.explanation import ExplainError
from churn_core.model.network import compiled_predict
from churn_core.model.numpy_net import DenseNetwork

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


def _light_network(bundle) -> DenseNetwork | None:
    """The bundle's NumPy network (``ModelBundle.light_network``), or one read from the
    weights of ``bundle.model`` for other objects; ``None`` outside the plain Dense chain."""
    fn = getattr(bundle, "light_network", None)
    return fn() if callable(fn) else DenseNetwork.from_keras(getattr(bundle, "model", None))


class _Network:
    """Forward pass of the model split after the first Dense layer's pre-activation.

    Two paths: ``"weights"`` (numpy from the Keras weights, first-layer trick) and
    ``"forward"`` (the model's own compiled forward pass on hybrid encoded rows).
    """

    def __init__(self, bundle, n_inputs: int, path: str = "auto"):
        self.bundle = bundle
        self.n_inputs = n_inputs
        self.stages = self._parts = None
        if path in ("auto", "weights"):
            # the bundle's NumPy network (read from model.keras without TensorFlow); Keras
            # layers only for a model outside the plain Dense chain (e.g. BatchNormalization)
            net = _light_network(bundle)
            if net is not None:
                self.stages = [("dense", w.astype(np.float64), b.astype(np.float64), a)
                               for w, b, a in net.layers]
                # a packed ensemble served as a block-diagonal Dense chain, as scoring detects
                # it (stages ``1 .. block_stop-1`` are its diagonal blocks)
                self._parts = net.parts
            else:
                self.stages = _dense_chain(bundle.model)
        if path == "weights" and self.stages is None:
            raise ExplainError("the model is not a plain Dense/Dropout chain; use path='forward'")
        self.path = "weights" if self.stages is not None else "forward"
        self._fn = None
        self._cast = {}
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

                fn = compiled_predict(self.bundle.model)
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
