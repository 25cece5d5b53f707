"""Training the packed MLP ensemble (TabM-mini or independent members) in one compiled graph per epoch.

Why not ``keras.Model.fit``: on a 10,000-customer file an epoch is 7 optimizer steps of 1,024
rows, and Keras' per-epoch machinery (data adapter, callbacks, logs) plus layer tracing cost
more than the arithmetic (measured: 130 ms/epoch and 1.2 s of tracing vs 50 ms and 0.4 s
here; ``benchmarks/bench_train.py``). Here the parameters are ``keras.Variable`` objects, the
optimiser is ``keras.optimizers.Adam`` and one ``tf.function`` runs a whole epoch (every
mini-batch step, then the validation forward pass).

Model (Gorishniy et al., 2024, "TabM: Advancing Tabular Deep Learning with
Parameter-Efficient Ensembling", the "mini" variant): member ``k`` multiplies the encoded
inputs by its own vector ``r_k`` (initialised with random signs), all members share the
hidden layers and each has its own output unit; ``ensemble="independent"`` gives every member
its own weights (a deep ensemble, Lakshminarayanan et al., 2017). Each member is trained with
its own binary cross-entropy; the served probability is the members' mean, and the kept epoch
is the one with the best validation ROC-AUC (or log loss) of that mean (best-epoch selection
as in RealMLP, Holzmüller et al., 2024).

The result is returned as plain arrays (:class:`PackedWeights`) that
``churn_core.model.network.dense_chain`` turns into the served Keras model.

LAZY IMPORTS: ``keras`` / ``tensorflow`` are imported inside the functions that use them, on purpose (the one
exception to "imports at the top"): importing TensorFlow costs 4.6-5.3 CPU-s and about
560 MB in a fresh process (measured, /work/shared/REFERENCE.md), and the app's first page,
the workbench facade and ``import churn_core.workbench`` must not pay it before a model is
actually loaded, trained or run. ``tests/test_imports.py`` checks that importing
``churn_core.workbench`` does not import TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class PackedWeights:
    """A trained packed ensemble as arrays, in the served Dense chain's layout.

    Attributes
    ----------
    first_kernel : ndarray of shape (n_inputs, members * hidden[0])
        Member ``k`` owns columns ``k*hidden[0]:(k+1)*hidden[0]`` (TabM-mini: ``diag(r_k) @ W0``).
    first_bias : ndarray of shape (members * hidden[0],)
    blocks : list of (kernel, bias, activation)
        Later layers, member by member: kernel of shape (members, h_in, h_out), bias of shape
        (members, h_out); the last block is the members' output unit (h_out = 1, sigmoid).
    members : int
    """

    first_kernel: np.ndarray
    first_bias: np.ndarray
    blocks: list
    members: int


def init_params(n_inputs: int, cfg) -> dict[str, np.ndarray]:
    """Initial parameters (Glorot-uniform kernels, zero biases, random-sign ``r``), seeded.

    Parameters
    ----------
    n_inputs : int
    cfg : churn_core.model.network.TrainConfig
        ``hidden``, ``members``, ``ensemble`` and ``seed``.

    Returns
    -------
    dict of str to float32 ndarray
        ``W0``: (n_inputs, hidden[0]) for TabM-mini, (members, n_inputs, hidden[0]) otherwise;
        ``r`` (members, n_inputs) for TabM-mini only; ``W{i}``/``b{i}`` for later layers
        (shared, or with a leading members axis); ``Wo`` (members, hidden[-1]) and ``bo``
        (members,).
    """
    rng = np.random.default_rng(cfg.seed)
    m, shared = cfg.members, cfg.ensemble == "tabm-mini" and cfg.members > 1
    widths = (n_inputs, *cfg.hidden)

    def glorot(fan_in, fan_out, lead=()):
        lim = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot & Bengio (2010), Keras' default
        return rng.uniform(-lim, lim, size=(*lead, fan_in, fan_out)).astype(np.float32)

    p: dict[str, np.ndarray] = {}
    if shared:
        p["r"] = rng.choice([-1.0, 1.0], size=(m, n_inputs)).astype(np.float32)
    for i in range(len(cfg.hidden)):
        lead = () if shared else (m,)
        p[f"W{i}"] = glorot(widths[i], widths[i + 1], lead)
        p[f"b{i}"] = np.zeros((*lead, widths[i + 1]), np.float32)
    p["Wo"] = glorot(widths[-1], 1, (m,))[..., 0]
    p["bo"] = np.zeros(m, np.float32)
    return p


def packed_weights(params: dict[str, np.ndarray], cfg) -> PackedWeights:
    """Rewrite parameters from :func:`init_params` / :func:`fit_ensemble` in the served layout.

    TabM-mini's adapter is folded into the first kernel: ``(x * r_k) @ W0 = x @ (diag(r_k) @
    W0)``; shared later layers are repeated per member.

    Parameters
    ----------
    params : dict of str to ndarray
    cfg : churn_core.model.network.TrainConfig

    Returns
    -------
    PackedWeights
    """
    m, n_layers = cfg.members, len(cfg.hidden)
    w0 = np.asarray(params["W0"], np.float32)
    if "r" in params:  # (d, h0) shared, r (m, d) -> (d, m, h0)
        first = params["r"].T[:, :, None] * w0[:, None, :]
        b0 = np.tile(params["b0"], m)
    else:  # (m, d, h0) -> (d, m, h0)
        first = np.transpose(w0, (1, 0, 2))
        b0 = np.asarray(params["b0"]).reshape(-1)
    d = first.shape[0]
    blocks = []
    for i in range(1, n_layers):
        w, b = np.asarray(params[f"W{i}"], np.float32), np.asarray(params[f"b{i}"], np.float32)
        if w.ndim == 2:
            w, b = np.repeat(w[None], m, axis=0), np.repeat(b[None], m, axis=0)
        blocks.append((w, b, "relu"))
    blocks.append((np.asarray(params["Wo"], np.float32)[:, :, None],
                   np.asarray(params["bo"], np.float32)[:, None], "sigmoid"))
    return PackedWeights(np.ascontiguousarray(first.reshape(d, -1)), b0.astype(np.float32), blocks, m)


def _logits_fn(variables: dict, cfg, n_inputs: int):
    """Graph-mode forward pass ``(x, training, step) -> member logits (n, members)``.

    ``step`` (int32 scalar, distinct per mini-batch) seeds the stateless dropout masks together
    with ``cfg.seed``: layer ``i`` of step ``s`` uses the seed ``(16 * s + i, cfg.seed)``.
    """
    import tensorflow as tf

    m, hidden = cfg.members, cfg.hidden
    shared = "r" in variables

    def logits(x, training, step):
        if shared:  # fold r into the first kernel: one (n, d) @ (d, m*h0) product
            w0 = tf.reshape(tf.transpose(variables["r"])[:, :, None] * variables["W0"][:, None, :],
                            [n_inputs, m * hidden[0]])
        else:
            w0 = tf.reshape(tf.transpose(variables["W0"], [1, 0, 2]), [n_inputs, m * hidden[0]])
        h = tf.reshape(tf.matmul(x, w0), [-1, m, hidden[0]]) + variables["b0"]
        for i in range(len(hidden)):
            if i:
                w = variables[f"W{i}"]
                h = (tf.einsum("nkh,hj->nkj", h, w) if shared else tf.einsum("nkh,khj->nkj", h, w))
                h = h + variables[f"b{i}"]
            h = tf.nn.relu(h)
            if training and cfg.dropout > 0:
                h = tf.nn.experimental.stateless_dropout(h, cfg.dropout, seed=tf.stack([16 * step + i, cfg.seed]))
        return tf.reduce_sum(h * variables["Wo"], axis=-1) + variables["bo"]

    return logits


def fit_ensemble(Xtr, ytr, Xva, yva, cfg, sample_weight=None,
                 progress: Callable | None = None) -> tuple[PackedWeights, dict]:
    """Train the packed ensemble; keep the epoch with the best validation score.

    Every member has its own binary cross-entropy (from logits); the loss is their mean over
    members and rows (rows weighted by ``sample_weight`` when given) plus ``cfg.l2`` times the
    sum of squared hidden kernels. Adam (``keras.optimizers.Adam``) at ``cfg.learning_rate``,
    mini-batches of ``cfg.batch_size`` rows reshuffled every epoch, dropout ``cfg.dropout``
    after each hidden layer. After every epoch the served probability (members' mean) is
    scored on the validation rows (scikit-learn ``roc_auc_score`` and ``log_loss``); the best
    epoch's weights are kept and training stops after ``cfg.patience`` epochs without
    improvement or at ``cfg.max_epochs``. Deterministic for a given ``cfg.seed``.

    Parameters
    ----------
    Xtr : ndarray of shape (n_train, n_inputs)
    ytr : ndarray of shape (n_train,) in {0, 1}
    Xva : ndarray of shape (n_val, n_inputs)
    yva : ndarray of shape (n_val,) in {0, 1}
    cfg : churn_core.model.network.TrainConfig
        ``monitor`` is ``"val_auc"`` (highest wins) or ``"val_loss"`` (lowest wins).
    sample_weight : ndarray of shape (n_train,), optional
        Per-row loss weights (e.g. balanced class weights).
    progress : callable, optional
        ``progress(epoch, max_epochs, logs)`` after every epoch, ``epoch`` counted from 1.

    Returns
    -------
    weights : PackedWeights
        The kept epoch's parameters in the served layout.
    history : dict of str to list of float
        Per epoch: ``loss`` (mean training loss), ``val_loss`` and ``val_auc``.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    Xtr = np.asarray(Xtr, np.float32)
    n, d = Xtr.shape
    m, bs = cfg.members, int(min(cfg.batch_size, n))
    yva = np.asarray(yva, np.float32)
    variables = {k: keras.Variable(v, name=k) for k, v in init_params(d, cfg).items()}
    names = list(variables)
    trainable = [variables[k] for k in names]
    optimizer = keras.optimizers.Adam(learning_rate=cfg.learning_rate)
    optimizer.build(trainable)
    logits = _logits_fn(variables, cfg, d)
    X = tf.constant(Xtr)
    Y = tf.constant(np.repeat(np.asarray(ytr, np.float32)[:, None], m, axis=1))
    W = tf.constant(np.ones(n, np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32))
    XV = tf.constant(np.asarray(Xva, np.float32))
    n_batches = -(-n // bs)
    kernels = [variables[k] for k in names if k.startswith("W") and k != "Wo"]

    @tf.function(reduce_retracing=True)
    def epoch(perm, epoch_no):
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            with tf.GradientTape() as tape:
                z = logits(xb, True, epoch_no * n_batches + i)
                bce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=yb, logits=z), axis=1)
                loss = tf.reduce_sum(bce * wb) / tf.reduce_sum(wb)
                if cfg.l2 > 0:
                    loss = loss + cfg.l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])
            optimizer.apply_gradients(zip(tape.gradient(loss, trainable), trainable))
            total += loss
        p_val = tf.reduce_mean(tf.sigmoid(logits(XV, False, 0)), axis=1)
        return total / tf.cast(n_batches, tf.float32), p_val

    from sklearn.metrics import log_loss, roc_auc_score  # training only (kept off scoring)

    rng = np.random.default_rng(cfg.seed)
    both = 0 < yva.sum() < len(yva)
    history: dict[str, list[float]] = {"loss": [], "val_loss": [], "val_auc": []}
    best, best_params, wait = None, None, 0
    for e in range(cfg.max_epochs):
        loss, p = epoch(tf.constant(rng.permutation(n).astype(np.int32)), tf.constant(e, tf.int32))
        p = np.clip(p.numpy().astype(np.float64), 1e-7, 1 - 1e-7)
        logs = {"loss": float(loss), "val_loss": float(log_loss(yva, p, labels=[0, 1])),
                "val_auc": float(roc_auc_score(yva, p)) if both else 0.5}
        for k, v in logs.items():
            history[k].append(v)
        score = logs["val_loss"] if cfg.monitor == "val_loss" else logs["val_auc"]
        if best is None or (score < best if cfg.monitor == "val_loss" else score > best):
            best, best_params, wait = score, {k: variables[k].numpy() for k in names}, 0
        else:
            wait += 1
        if progress is not None:
            progress(e + 1, cfg.max_epochs, dict(logs))
        if wait >= cfg.patience:
            break
    return packed_weights(best_params, cfg), history
