"""The saved Dense chain without TensorFlow: read ``model.keras`` as data, score with NumPy.

A ``.keras`` file is a zip archive holding ``config.json`` (the architecture as JSON),
``metadata.json`` and ``model.weights.h5`` (the weights, HDF5); see the Keras 3 saving
format, ``keras.src.saving.saving_lib``. :func:`read_keras_file` opens the archive with
:mod:`zipfile`, parses the JSON and reads the weight arrays with :mod:`h5py`: nothing in the
file is imported, deserialised as an object or run. It accepts exactly the architecture the
product saves (``churn_core.model.network``: ``dense_chain`` and the single MLP): an
``InputLayer`` followed by a straight chain of Keras ``Dense`` layers (float32, activation
``relu``/``sigmoid``/``linear``/``tanh``) and, optionally, ``Dropout`` layers (the identity at
inference). Anything else raises :class:`UnsupportedModel`, and
:func:`churn_core.model.bundle.load_bundle` then loads the file with Keras in safe mode.

:class:`DenseNetwork` is the forward pass in float32 NumPy. A packed ensemble saved as a
block-diagonal chain (member ``k`` owns the ``k``-th diagonal block of every kernel after the
first; :func:`member_parts` detects it exactly) runs member by member on arrays of shape
(members, rows, width): ~2.5x fewer multiply-adds than the dense block-diagonal product for
the default 8 members. Measured on 1M rows of the default model (one BLAS thread): 0.66
CPU-s, against 1.43 for the dense NumPy chain and 1.53 for TensorFlow's compact pass
(``benchmarks/bench_score.py``). BLAS runs on one thread: a multi-threaded BLAS on these
small products took 5-10x the CPU on the shared 2-core machine.

Since issue 18 (2026-12-06) the bias and ``relu`` run on cache-sized operands
(:meth:`DenseNetwork._row_operands`), each thread keeps its layer outputs from batch to batch,
and scoring hands the network the encoded rows batch by batch as they are made
(:meth:`DenseNetwork.predict_batches`): 100k rows of the default model in 64 instead of 75
CPU-ms on one thread, 81 instead of 93 with two scoring threads (same machine, alternating).
The numbers are bit for bit those of the plain ``h @ W + b`` chain on the same batches: the
same BLAS calls on the same :data:`BATCH_ROWS`-row batches, and the same float32 additions
and maxima (OpenBLAS' results depend on a batch's rows, so the batches stay as they were).
Scoring feeds the first layer raw values (``predict_batches(first_layer=True)``, issue 18,
:mod:`churn_core.model.fused`): forward pass and encoding of 1M rows 0.68-0.72 instead of
1.06-1.19 CPU-s, probabilities within float32 rounding (1.8e-7) of this chain's.
"""
from __future__ import annotations

import io
import json
import math
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

#: Activations the NumPy forward pass computes (names as Keras saves them).
ACTIVATIONS = ("relu", "sigmoid", "linear", "tanh")
#: Layer classes of the plain chain (``module`` must be ``keras.layers``).
CHAIN_LAYERS = ("InputLayer", "Dense", "Dropout")
#: Largest ``config.json`` / ``model.weights.h5`` read from the archive (a zip bomb stops here).
MAX_CONFIG_BYTES = 16 * 2 ** 20
MAX_WEIGHTS_BYTES = 512 * 2 ** 20
#: Rows per forward-pass batch: (members, rows, width) float32 intermediates stay in cache-sized
#: blocks (4k rows x 256 units = 4 MB). With scoring's two worker threads sharing the cache,
#: 4k rows used less CPU than 16k (``score_file`` on 1M rows: median 3.12 vs 3.69 CPU-s, four
#: alternating runs) and no more alone (0.087 vs 0.092 CPU-s per 100k rows).
BATCH_ROWS = 4_096
#: Values per row of the layer outputs' view in :meth:`DenseNetwork._layer_end` (bias added,
#: relu applied): long contiguous SIMD loops on operands that stay in the CPU cache.
_ROW_GROUP_VALUES = 2_048
_ZEROS = np.zeros(_ROW_GROUP_VALUES, np.float32)


class UnsupportedModel(Exception):
    """The file is a valid archive but not the plain Dense chain (``str(exc)`` says why)."""


_BLAS_LOCK = threading.Lock()
_BLAS_STATE = {"users": 0, "limits": None}


@contextmanager
def single_thread_blas():
    """Context limiting BLAS to one thread (``threadpoolctl``; a no-op when it is absent).

    Our matrix products are small; on the shared 2-core machine a multi-threaded BLAS was
    measured 3-10x slower in CPU time for them (5-10x for 1M rows of the forward pass).
    Parallelism, where wanted, comes from our own worker threads (NumPy releases the
    interpreter lock inside matrix products). The limit is process-wide, so it is counted:
    set when the first thread enters and restored when the last one leaves (scoring's worker
    threads overlap).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with _BLAS_LOCK:
        if _BLAS_STATE["users"] == 0:
            _BLAS_STATE["limits"] = threadpool_limits(limits=1, user_api="blas")
        _BLAS_STATE["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["users"] -= 1
            if _BLAS_STATE["users"] == 0:
                _BLAS_STATE["limits"].restore_original_limits()
                _BLAS_STATE["limits"] = None


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(z / 2)) == 1 / (1 + exp(-z)) without overflow warnings
    z *= 0.5
    np.tanh(z, out=z)
    z += 1.0
    z *= 0.5
    return z


def _apply(act: str, z: np.ndarray) -> np.ndarray:
    """Activation ``act`` applied in place to ``z`` (returned)."""
    if act == "relu":
        return np.maximum(z, 0, out=z)
    if act == "sigmoid":
        return _sigmoid(z)
    if act == "tanh":
        return np.tanh(z, out=z)
    return z


def _activate(h: np.ndarray, act: str) -> np.ndarray:
    """``act`` in place on a C-contiguous ``h`` (returned); ``relu`` against a row of
    :data:`_ROW_GROUP_VALUES` zeros (a scalar 0 took 5x as long, see ``_row_operands``)."""
    if act != "relu":
        return _apply(act, h)
    n = math.gcd(h.size, _ROW_GROUP_VALUES)
    view = h.reshape(-1, n)
    np.maximum(view, _ZEROS[:n], out=view)
    return h


def member_parts(layers: list[tuple[np.ndarray, np.ndarray, str]]) -> dict | None:
    """Detect a packed ensemble saved as a block-diagonal Dense chain and unpack it.

    The chain (``churn_core.model.network.dense_chain``) is ``Dense_0 -> Dense_1 ... -> Dense_L
    -> Dense(1)`` where the last kernel has shape (members, 1) and every kernel between the
    first and the last is exactly block-diagonal with ``members`` equal blocks (off-block
    entries exactly zero). Member ``k`` of layer ``i`` owns units ``k*h_i:(k+1)*h_i`` and the
    same bias slice.

    Parameters
    ----------
    layers : list of (W, b, activation)
        W ndarray of shape (n_in, n_out), b of shape (n_out,), first layer first.

    Returns
    -------
    dict or None
        ``None`` when the chain is not such an ensemble (e.g. a single MLP, one member, fewer
        than three layers). Otherwise ``members`` (int ``m``); ``first``: ``(W, b, act)``
        unchanged, W of shape (n_inputs, m * h_0); ``blocks``: list of ``(W, b, act)`` with W
        of shape (m, h_in, h_out) (member ``k``'s diagonal block) and b of shape (m, h_out);
        ``head``: ``(W, b, act)``, W of shape (m, 1), b of shape (1,). Arrays float32.
    """
    if len(layers) < 3:
        return None
    cast = [(np.asarray(w, np.float32), np.asarray(b, np.float32), a) for w, b, a in layers]
    w_head, b_head, a_head = cast[-1]
    m = w_head.shape[0]
    if m < 2 or w_head.shape[1] != 1:
        return None
    w0, b0, a0 = cast[0]
    if w0.shape[1] % m:
        return None
    blocks = []
    for w, b, act in cast[1:-1]:
        rows, cols = w.shape
        if rows % m or cols % m:
            return None
        h_in, h_out = rows // m, cols // m
        grid = w.reshape(m, h_in, m, h_out)  # grid[j, :, k, :] = block (row member j, column member k)
        diag = grid[np.arange(m), :, np.arange(m), :]  # (m, h_in, h_out)
        off = grid.copy()
        off[np.arange(m), :, np.arange(m), :] = 0.0
        if np.any(off != 0.0):
            return None
        blocks.append((np.ascontiguousarray(diag), b.reshape(m, h_out), act))
    return {"members": m, "first": (w0, b0, a0), "blocks": blocks, "head": (w_head, b_head, a_head)}


class DenseNetwork:
    """Forward pass of a chain of Dense layers in float32 NumPy.

    Parameters
    ----------
    layers : list of (W, b, activation)
        W ndarray of shape (n_in, n_out), b of shape (n_out,), activation one of
        :data:`ACTIVATIONS`; each layer's ``n_in`` is the previous layer's ``n_out``; the last
        layer has one unit (the churn probability).

    Raises
    ------
    UnsupportedModel
        For an unknown activation, shapes that do not chain, or a last layer wider than 1.

    Attributes
    ----------
    n_inputs : int
        Encoded input columns.
    parts : dict or None
        The per-member blocks (:func:`member_parts`) of a packed ensemble, else ``None``.
    members : int
        Ensemble members (1 for a single MLP).
    """

    def __init__(self, layers):
        self.layers = [(np.asarray(w, np.float32), np.asarray(b, np.float32).reshape(-1), str(a))
                       for w, b, a in layers]
        if not self.layers:
            raise UnsupportedModel("the network has no Dense layer")
        width = self.layers[0][0].shape[0]
        for i, (w, b, act) in enumerate(self.layers):
            if act not in ACTIVATIONS:
                raise UnsupportedModel(f"Dense layer {i} has activation {act!r} "
                                       f"(the NumPy path computes {', '.join(ACTIVATIONS)})")
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise UnsupportedModel(f"Dense layer {i}: kernel {w.shape} and bias {b.shape} do "
                                       f"not follow a layer of {width} units")
            width = w.shape[1]
        if width != 1:
            raise UnsupportedModel(f"the last layer has {width} units (expected 1, the churn probability)")
        self.n_inputs = int(self.layers[0][0].shape[0])
        self.parts = member_parts(self.layers)
        self.members = self.parts["members"] if self.parts else 1
        if self.parts:
            m = self.members
            w0, b0, a0 = self.parts["first"]
            h0 = w0.shape[1] // m
            # member-major first layer: (m, n_inputs, h0) so X @ w0m lands in (m, rows, h0)
            self._first = (np.ascontiguousarray(w0.reshape(self.n_inputs, m, h0).transpose(1, 0, 2)),
                           b0.reshape(m, 1, h0), a0)
            self._blocks = [(w, b[:, None, :], a) for w, b, a in self.parts["blocks"]]

    @classmethod
    def from_keras(cls, model) -> "DenseNetwork | None":
        """The network of an in-memory Keras model, or ``None`` when it is not a plain chain.

        Accepted: ``InputLayer`` then ``Dense``/``Dropout`` layers, each fed by the previous
        one only, activations in :data:`ACTIVATIONS`.

        Parameters
        ----------
        model : keras.Model

        Returns
        -------
        DenseNetwork or None
        """
        try:
            layers = list(model.layers)
            if len(model.inputs) != 1 or len(model.outputs) != 1:
                return None
            prev = model.inputs[0]
            out = []
            for layer in layers:
                kind = type(layer).__name__
                if kind == "InputLayer":
                    continue
                if kind not in CHAIN_LAYERS or len(layer._inbound_nodes) != 1 or layer.input is not prev:
                    return None
                prev = layer.output
                if kind == "Dense":
                    act = getattr(layer.activation, "__name__", "")
                    w = np.asarray(layer.kernel.numpy(), np.float32)
                    b = (np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias
                         else np.zeros(w.shape[1], np.float32))
                    out.append((w, b, act))
            if model.outputs[0] is not prev:
                return None
            return cls(out)
        except (UnsupportedModel, AttributeError, TypeError, ValueError):
            return None

    def count_params(self) -> int:
        """Weights and biases of the chain as saved (zeros off the diagonal blocks included)."""
        return int(sum(w.size + b.size for w, b, _ in self.layers))

    def _row_operands(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per layer of the forward pass: its bias repeated ``r`` times, zeros of that length
        (for ``relu``) and ``r``, a power of two with ``r * width`` about 2,048 values.

        :meth:`_layer_end` views a layer's output as rows of ``r * width`` values and adds
        (and compares with) these rows: NumPy then runs contiguous SIMD loops 2,048 values
        long on operands that stay in the CPU cache. A bias row broadcast over the batch (32
        values long) or a scalar 0 in ``np.maximum`` took 2.5x and 5x as long; operands of
        the batch's full shape (10 MB) had to stream from memory. Same numbers: the same
        float32 additions and maxima. Built on first use, shared by threads (read-only).
        """
        ops = self.__dict__.get("_operands")
        if ops is None:
            layers = [(b, act) for _, b, act in ([self._first, *self._blocks] if self.parts else self.layers)]
            ops = []
            for b, act in layers:
                width = b.shape[-1]
                r = 1
                while 2 * r * width <= _ROW_GROUP_VALUES and 2 * r <= BATCH_ROWS:
                    r *= 2
                tiled = np.tile(b.reshape(-1, 1, width) if self.parts else b.reshape(-1), r)
                ops.append((tiled, np.zeros(r * width, np.float32), r))
            self.__dict__["_operands"] = ops
        return ops

    def _layer_end(self, h: np.ndarray, act: str, ops, rows: int) -> np.ndarray:
        """``act(h + b)`` in place on a layer's C-contiguous output ``h`` (rows on its last
        axis but one), in rows of ``g * width`` values with ``g`` the largest power of two
        dividing both ``rows`` and the operands' ``r``."""
        tiled, zeros, r = ops
        g = math.gcd(rows, r)
        n = g * h.shape[-1]
        view = h.reshape(*h.shape[:-2], rows // g, n)
        view += tiled[..., :n]
        if act == "relu":
            np.maximum(view, zeros[:n], out=view)
            return h
        return _apply(act, h)

    def _product(self, a: np.ndarray, w: np.ndarray, layer: int, scratch: list | None) -> np.ndarray:
        """``a @ w`` (layer ``layer``), written into ``scratch``'s array for that layer when
        the batch is a full :data:`BATCH_ROWS` one: the next batch reuses it instead of
        faulting in fresh pages (the same BLAS call, so the same numbers)."""
        if scratch is None or a.shape[-2] != BATCH_ROWS:  # rows are the last axis but one
            return np.matmul(a, w)
        while len(scratch) <= layer:
            scratch.append(None)
        shape = np.broadcast_shapes(a.shape[:-2], w.shape[:-2]) + (BATCH_ROWS, w.shape[-1])
        if scratch[layer] is None or scratch[layer].shape != shape:
            scratch[layer] = np.empty(shape, np.float32)
        return np.matmul(a, w, out=scratch[layer])

    def _thread_scratch(self) -> list:
        """This thread's layer outputs of full batches (:meth:`_product`), kept from call to
        call: scoring a file chunk by chunk reuses the same pages (about 6 MB per thread for
        the default model); each thread has its own, so threads never share one."""
        local = self.__dict__.get("_scratch")
        if local is None:
            local = self.__dict__.setdefault("_scratch", threading.local())
        if not hasattr(local, "arrays"):
            local.arrays = []
        return local.arrays

    def _forward(self, X: np.ndarray, scratch: list | None = None, first: bool = False) -> np.ndarray:
        """Output of encoded rows ``X``; with ``first``, ``X`` is the first layer's
        pre-activation, bias included (``churn_core.model.fused``), of shape (rows, units)."""
        rows, ops = len(X), self._row_operands()
        if self.parts is None:
            h = X
            for i, ((w, _, act), op) in enumerate(zip(self.layers, ops)):
                h = (_activate(h, act) if first and i == 0
                     else self._layer_end(self._product(h, w, i, scratch), act, op, rows))
            return h.reshape(-1)
        w0, _, a0 = self._first
        if first:  # (rows, m * h0) -> the view (m, rows, h0): BLAS reads each member's columns
            h = _activate(X, a0).reshape(rows, self.members, -1).transpose(1, 0, 2)
        else:
            h = self._product(X, w0, 0, scratch)  # (rows, d) @ (m, d, h0) -> (m, rows, h0)
            h = self._layer_end(h, a0, ops[0], rows)
        for i, ((w, _, act), op) in enumerate(zip(self._blocks, ops[1:]), start=1):
            h = self._product(h, w, i, scratch)  # one (rows, h_in) @ (h_in, h_out) product per member
            h = self._layer_end(h, act, op, rows)
        wh, bh, ah = self.parts["head"]
        p = wh[:, 0] @ h.reshape(self.members, -1)  # the last block has one unit per member
        p += bh[0]
        return _apply(ah, p)

    def predict(self, X: np.ndarray, batch_size: int = BATCH_ROWS) -> np.ndarray:
        """Model output (the churn probability before calibration) of encoded rows.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_inputs)
            Encoded rows (``Preprocessor.transform``); computed in float32 like Keras.
        batch_size : int, default :data:`BATCH_ROWS`
            Rows per batch (bounds memory).

        Returns
        -------
        ndarray of shape (n_samples,), float64 probabilities in [0, 1]

        Raises
        ------
        ValueError
            When ``X`` is not 2-D with ``n_inputs`` columns.
        """
        X = self._checked(X)
        return self.predict_batches(((slice(i, i + batch_size), X[i:i + batch_size])
                                     for i in range(0, len(X), batch_size)), len(X))

    def _checked(self, X: np.ndarray, width: int | None = None) -> np.ndarray:
        X, width = np.asarray(X, dtype=np.float32), width or self.n_inputs
        if X.ndim != 2 or X.shape[1] != width:
            raise ValueError(f"expected an array of shape (n, {width}), got {X.shape}")
        return X

    def predict_batches(self, batches, n_rows: int, first_layer: bool = False) -> np.ndarray:
        """Model output of encoded rows handed over batch by batch.

        Parameters
        ----------
        batches : iterable of (slice, ndarray)
            The rows of each batch and their encoding, of shape (rows, n_inputs), e.g.
            ``Preprocessor.transform_batches(df, BATCH_ROWS)`` (encoded while the network
            runs, so the whole encoded matrix never exists). Each array is used before the
            next batch is asked for. The same batches as :meth:`predict` give the same numbers.
        n_rows : int
            Rows in all (the length of the result).
        first_layer : bool, default False
            The arrays are the first layer's pre-activation, bias included, of shape (rows,
            units of the first layer) (``churn_core.model.fused``), not encoded rows.

        Returns
        -------
        ndarray of shape (n_rows,), float64 probabilities in [0, 1]

        Raises
        ------
        ValueError
            When a batch is not 2-D with ``n_inputs`` columns (``first_layer``: units).
        """
        out = np.empty(n_rows, dtype=np.float64)
        scratch = self._thread_scratch()
        width = self.layers[0][0].shape[1] if first_layer else self.n_inputs
        with single_thread_blas():
            for rows, X in batches:
                out[rows] = self._forward(self._checked(X, width), scratch, first_layer)
        return out


# ---------------------------------------------------------------------------- the .keras file
def _layer_list(cfg: dict) -> list[dict]:
    kind = cfg.get("class_name")
    if kind not in ("Functional", "Sequential"):
        raise UnsupportedModel(f"the model is a {kind!r}, not a Functional or Sequential chain")
    layers = (cfg.get("config") or {}).get("layers")
    if not isinstance(layers, list) or not layers:
        raise UnsupportedModel("config.json lists no layers")
    return layers


def _check_layer(layer: dict) -> str:
    kind = layer.get("class_name")
    if kind not in CHAIN_LAYERS or layer.get("module") != "keras.layers" or layer.get("registered_name"):
        raise UnsupportedModel(f"layer {layer.get('name', layer.get('config', {}).get('name'))!r} is "
                               f"a {layer.get('module')}.{kind} (the NumPy path runs InputLayer, "
                               f"Dense and Dropout only)")
    conf = layer.get("config") or {}
    if kind == "Dense":
        dtype = conf.get("dtype")
        dtype = (dtype.get("config") or {}).get("name") if isinstance(dtype, dict) else dtype
        if dtype not in (None, "float32"):
            raise UnsupportedModel(f"Dense layer {conf.get('name')!r} computes in {dtype}, not float32")
        if conf.get("quantization_config") or conf.get("lora_rank"):
            raise UnsupportedModel(f"Dense layer {conf.get('name')!r} is quantised or has LoRA weights")
        if not isinstance(conf.get("activation"), str) or conf["activation"] not in ACTIVATIONS:
            raise UnsupportedModel(f"Dense layer {conf.get('name')!r} has activation "
                                   f"{conf.get('activation')!r}")
    return kind


def _check_chain(cfg: dict, layers: list[dict]) -> None:
    """Functional models: every layer called once, on the previous layer's output."""
    if cfg.get("class_name") != "Functional":
        return
    names = [layer.get("name") or (layer.get("config") or {}).get("name") for layer in layers]
    for prev, name, layer in zip(names, names[1:], layers[1:]):
        nodes = layer.get("inbound_nodes")
        try:
            (node,) = nodes
            (arg,) = node["args"]
            source = arg["config"]["keras_history"][0]
        except (TypeError, ValueError, KeyError, IndexError):
            raise UnsupportedModel(f"layer {name!r} is not called once on one input") from None
        if source != prev or set(node.get("kwargs") or {}) - {"training"}:  # Dropout: training=False
            raise UnsupportedModel(f"layer {name!r} is fed by {source!r}, not by the layer before it")
    conf = cfg.get("config") or {}

    def ends(key):
        val = conf.get(key)
        val = val[0] if isinstance(val, list) and len(val) == 1 and isinstance(val[0], list) else val
        return val[0] if isinstance(val, list) and val else None

    if ends("input_layers") != names[0] or ends("output_layers") != names[-1]:
        raise UnsupportedModel("the model's input and output are not the two ends of its layer chain")


def _dataset(group, key: str, where: str):
    import h5py

    link = group.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise UnsupportedModel(f"{where}/{key} is a link to another place or file")
    ds = group[key]
    if not isinstance(ds, h5py.Dataset) or ds.is_virtual or ds.external:
        raise UnsupportedModel(f"{where}/{key} is not an array stored in the file")
    return np.asarray(ds[()], dtype=np.float32)


def _read_weights(data: bytes, dense_names: list[str], use_bias: dict) -> dict:
    """``{layer name: (kernel, bias)}`` from ``model.weights.h5`` bytes (groups found by the
    ``name`` attribute Keras writes on each ``layers/<path>/vars`` group)."""
    import h5py

    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        top = f.get("layers")
        if top is None:
            raise UnsupportedModel("model.weights.h5 has no 'layers' group")
        for key in top:
            if not isinstance(top.get(key, getlink=True), h5py.HardLink):
                raise UnsupportedModel(f"layers/{key} in model.weights.h5 is a link")
            grp = top[key]
            vars_ = grp.get("vars") if isinstance(grp, h5py.Group) else None
            if vars_ is None:
                continue
            name = vars_.attrs.get("name")
            name = name.decode() if isinstance(name, bytes) else name
            if name not in dense_names:
                if len(vars_):
                    raise UnsupportedModel(f"layers/{key} ({name!r}) holds weights of no Dense layer")
                continue
            want = 2 if use_bias[name] else 1
            if sorted(vars_) != [str(i) for i in range(want)]:
                raise UnsupportedModel(f"Dense layer {name!r} holds {len(vars_)} weight arrays (expected {want})")
            kernel = _dataset(vars_, "0", f"layers/{key}/vars")
            bias = _dataset(vars_, "1", f"layers/{key}/vars") if want == 2 else np.zeros(kernel.shape[-1], np.float32)
            out[name] = (kernel, bias)
    missing = [n for n in dense_names if n not in out]
    if missing:
        raise UnsupportedModel(f"model.weights.h5 has no weights for {', '.join(map(repr, missing))}")
    return out


def read_keras_file(source) -> DenseNetwork:
    """Read the plain Dense chain in a ``.keras`` archive as data, without Keras.

    Parameters
    ----------
    source : path-like or bytes
        The ``.keras`` file (a zip archive) or its bytes.

    Returns
    -------
    DenseNetwork

    Raises
    ------
    UnsupportedModel
        When the archive is readable but holds another architecture (a layer other than
        ``InputLayer``/``Dense``/``Dropout``, a branch, an activation outside
        :data:`ACTIVATIONS`, non-float32 weights, HDF5 links or external storage). The
        caller may then load it with Keras in safe mode.
    ValueError
        When the file is not a zip archive, lacks ``config.json`` or ``model.weights.h5``,
        holds a member larger than :data:`MAX_WEIGHTS_BYTES`, or is otherwise damaged.
    """
    raw = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            for member, limit in (("config.json", MAX_CONFIG_BYTES), ("model.weights.h5", MAX_WEIGHTS_BYTES)):
                if member not in infos:
                    raise ValueError(f"the archive has no {member}")
                if infos[member].file_size > limit:
                    raise ValueError(f"{member} is {infos[member].file_size:,} bytes (limit {limit:,})")
            cfg = json.loads(zf.read("config.json").decode("utf-8"))
            weights = zf.read("model.weights.h5")
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a .keras archive ({exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"config.json is not JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise ValueError("config.json is not a JSON object")
    layers = _layer_list(cfg)
    kinds = [_check_layer(layer) for layer in layers]
    if cfg.get("class_name") == "Functional" and kinds[0] != "InputLayer":
        raise UnsupportedModel("the first layer is not the model's input")
    if "InputLayer" in kinds[1:]:
        raise UnsupportedModel("the model has more than one input")
    _check_chain(cfg, layers)
    dense = [layer["config"] for layer in layers if layer["class_name"] == "Dense"]
    names = [d.get("name") for d in dense]
    if len(set(names)) != len(names):
        raise UnsupportedModel("two Dense layers share a name")
    try:
        arrays = _read_weights(weights, names, {d["name"]: bool(d.get("use_bias", True)) for d in dense})
    except OSError as exc:  # h5py: not an HDF5 file, truncated...
        raise ValueError(f"model.weights.h5 is unreadable ({exc})") from None
    net = DenseNetwork([(*arrays[d["name"]], d["activation"]) for d in dense])
    for d, (w, _, _) in zip(dense, net.layers):
        if w.shape[1] != d.get("units"):
            raise UnsupportedModel(f"Dense layer {d['name']!r} declares {d.get('units')} units but "
                                   f"its kernel has {w.shape[1]}")
    return net
