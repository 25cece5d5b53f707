"""The Keras multilayer perceptron: configuration, construction, fitting and fast prediction.

Architecture: ``Input -> [Dense(ReLU, L2) -> Dropout] * len(hidden) -> Dense(1, sigmoid)``,
binary cross-entropy, Adam; by default a packed ensemble of such MLPs (TabM-mini, trained by
``churn_core/ensemble_fit.py``) served as one chain of plain Dense layers. Epoch selection
watches the validation split carved from the training data, never the test split. Class imbalance: class weights (``"balanced"``, scikit-learn's
``compute_class_weight``), SMOTE (imbalanced-learn, training rows only) or nothing.

The model holds no Lambda layers so it loads with ``keras.saving.load_model(...,
safe_mode=True)``.

LAZY IMPORTS: ``keras`` / ``tensorflow`` (and ``imblearn`` for SMOTE)`` are imported inside the functions that use them, on purpose (the one
exception to "imports at the top"): importing TensorFlow costs 4.6-5.3 CPU-s and about
560 MB in a fresh process (measured, /work/shared/REFERENCE.md), and the app's first page,
the workbench facade and ``import churn_core.workbench`` must not pay it before a model is
actually loaded, trained or run. ``tests/test_imports.py`` checks that importing
``churn_core.workbench`` does not import TensorFlow.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from churn_core.columns import PROBA
from churn_core.model.ensemble_fit import fit_ensemble, init_params, packed_weights

IMBALANCE_MODES = ("class_weight", "smote", "none")
ENSEMBLES = ("tabm-mini", "independent")
#: ``TrainConfig.recipe`` values (see :mod:`churn_core.model.recipe`).
RECIPES = ("adaptive", "quick")
#: Validation quantities early stopping can watch: Keras' loss, or the ROC-AUC of the
#: (ensemble-mean) churn probability computed with scikit-learn after every epoch.
MONITORS = ("val_loss", "val_auc")
#: Rows per forward pass in :func:`compiled_predict` (bounded memory on huge inputs).
PREDICT_BATCH = 65_536


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (saved in the model card).

    The defaults are the recipe measured by ``benchmarks/quality.py`` (README, "Model
    quality"): the adaptive recipe (:mod:`churn_core.model.recipe`) whose base is a TabM-mini
    ensemble of 8 small MLPs on piecewise-linear encoded numerics, Adam 2e-2 at batch 1024
    without dropout, best epoch chosen on validation ROC-AUC, plus regularised / finer / wider
    variants chosen on the validation split (the experiments behind each choice:
    ``benchmarks/experiments/README.md``). The reference
    tutorial's recipe is ``hidden=(64, 32), members=1, learning_rate=0.01, batch_size=32,
    patience=5, monitor="val_loss", numeric_encoding="standard", imbalance="none",
    dropout=0, l2=0``.

    Parameters
    ----------
    hidden : tuple of int, default (32, 16)
        Width of each hidden ReLU layer (of each member).
    dropout : float in [0, 1), default 0.0
        Dropout rate after each hidden layer (0.1 cost a third of the training time for no
        measured gain with the ensemble).
    l2 : float >= 0, default 0.0
        L2 penalty on hidden-layer kernels.
    learning_rate : float, default 2e-2
        Adam step size (large batches need a larger step).
    batch_size : int, default 1024
        Large batches make an epoch cheap (few optimizer steps; per-step overhead dominates
        on small tables).
    max_epochs : int, default 60
        Upper bound on epochs (keeps training time bounded; the best epoch is kept).
    patience : int, default 8
        Epochs without validation improvement before early stopping (with
        ``monitor="val_loss"`` and one member, the learning rate is also halved after
        ``max(1, patience // 2)`` such epochs).
    imbalance : {"class_weight", "smote", "none"}, default "none"
        Ranking metrics do not need reweighting, and unweighted probabilities are closer to
        calibrated; the decision threshold is chosen on the validation split anyway.
    val_size, test_size : float in (0, 1), default 0.15 and 0.2
        Fractions of all valid rows held out (stratified) for validation and test.
    seed : int, default 42
    monitor : {"val_auc", "val_loss"} or a Keras log key, default "val_auc"
        What selects the kept epoch: the validation ROC-AUC (or log loss) of the served
        probability, computed after every epoch (best-epoch selection as in RealMLP,
        Holzmüller et al., 2024). With one member and another key, Keras' early stopping
        on that log key.
    numeric_encoding : {"ple", "standard"}, default "ple"
        Passed to :class:`churn_core.model.preprocess.Preprocessor`: piecewise-linear encoding on
        quantile bins (Gorishniy et al., 2022) beside the standardised value, or only the
        standardised value.
    members : int >= 1, default 8
        Number of MLPs packed into one Keras network whose churn probabilities are averaged.
        Each member has its own loss. The served model is a plain ``Dense`` chain (see
        :func:`dense_chain`). ``1`` gives the single MLP.
    ensemble : {"tabm-mini", "independent"}, default "tabm-mini"
        How members differ when ``members > 1``. ``"tabm-mini"`` (Gorishniy et al., 2024,
        "TabM: Advancing Tabular Deep Learning with Parameter-Efficient Ensembling"): every
        member multiplies the encoded inputs by its own vector ``r_k`` (initialised with
        random signs), then all members share the hidden layers and each has its own output
        unit. ``"independent"``: members share nothing (a deep ensemble, Lakshminarayanan et
        al., 2017).
    missing_indicator : bool, default False
        Add 0/1 missing indicators for numeric columns with blanks in training.
    extra : dict
        Room for later recipe options (kept in the card).
    recipe : {"adaptive", "quick"}, default "adaptive"
        ``"adaptive"``: :mod:`churn_core.model.recipe` fits a few fixed candidate
        configurations (this one first) and keeps the best on the validation split, within
        ``time_budget``; ``"quick"``: this configuration only (one fit).
    time_budget : float > 0, default 60
        Seconds the adaptive recipe may spend on its candidates (the first always runs).
    """

    hidden: tuple[int, ...] = (32, 16)
    dropout: float = 0.0
    l2: float = 0.0
    learning_rate: float = 2e-2
    batch_size: int = 1024
    max_epochs: int = 60
    patience: int = 8
    imbalance: str = "none"
    val_size: float = 0.15
    test_size: float = 0.2
    seed: int = 42
    monitor: str = "val_auc"
    numeric_encoding: str = "ple"
    missing_indicator: bool = False
    members: int = 8
    ensemble: str = "tabm-mini"
    extra: dict = field(default_factory=dict)
    recipe: str = "adaptive"
    time_budget: float = 60.0

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        self.time_budget = float(self.time_budget)
        if not self.time_budget > 0:  # also refuses nan
            raise ValueError(f"time_budget must be a positive number of seconds, got {self.time_budget}")
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.imbalance not in IMBALANCE_MODES:
            raise ValueError(f"imbalance must be one of {IMBALANCE_MODES}, got {self.imbalance!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (0 < self.val_size < 1 and 0 < self.test_size < 1 and self.val_size + self.test_size < 1):
            raise ValueError("val_size and test_size must be in (0, 1) and sum to less than 1")
        if any(h < 1 for h in self.hidden) or self.batch_size < 1 or self.max_epochs < 1:
            raise ValueError("hidden widths, batch_size and max_epochs must be positive")
        self.members = int(self.members)
        if self.ensemble not in ENSEMBLES:
            raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {self.ensemble!r}")
        if self.members < 1 or not self.hidden:
            raise ValueError("members must be >= 1 and hidden must list at least one layer")


    def to_dict(self) -> dict:
        """JSON-ready dict (``hidden`` as a list)."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from :meth:`to_dict` output, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _single_mlp(n_inputs: int, cfg: TrainConfig):
    """One Keras MLP ``Input -> [Dense(ReLU, L2) -> Dropout] * len(hidden) -> Dense(1, sigmoid)``."""
    import keras
    from keras import layers, regularizers

    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, width in enumerate(cfg.hidden):
        x = layers.Dense(width, activation="relu", kernel_regularizer=regularizers.l2(cfg.l2),
                         name=f"dense_{i}")(x)
        if cfg.dropout > 0:
            x = layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    outputs = layers.Dense(1, activation="sigmoid", name=PROBA)(x)
    return keras.Model(inputs, outputs, name="churn_mlp")


def dense_chain(weights):
    """The served model of a packed ensemble: a chain of plain ``Dense`` layers.

    Member ``k`` of layer ``i`` owns units ``k*h_i:(k+1)*h_i``; a per-member kernel of shape
    (members, h_{i-1}, h_i) becomes a block-diagonal ``Dense`` kernel of shape
    (members*h_{i-1}, members*h_i). The members' sigmoid outputs are averaged by a final
    linear ``Dense(1)`` with fixed weights ``1/members``; with one member the chain ends at
    its sigmoid unit (a single MLP). The model holds only ``Dense`` layers, so it loads in
    safe mode and explainers can use its first layer's linearity (``churn_core/explain.py``);
    :func:`member_blocks` recovers the blocks for the compact forward pass.

    Parameters
    ----------
    weights : churn_core.model.ensemble_fit.PackedWeights

    Returns
    -------
    keras.Model
        Input (n_samples, n_inputs) -> churn probability (n_samples, 1) in [0, 1].
    """
    import keras
    from keras import layers

    m = weights.members
    inputs = keras.Input(shape=(weights.first_kernel.shape[0],), name="features")
    first = layers.Dense(weights.first_kernel.shape[1], activation="relu", name="dense_0")
    x = first(inputs)
    first.set_weights([weights.first_kernel, weights.first_bias])
    for i, (kern, bias, act) in enumerate(weights.blocks, start=1):
        _, h_in, h_out = kern.shape
        block = np.zeros((m * h_in, m * h_out), dtype=np.float32)
        for k in range(m):
            block[k * h_in:(k + 1) * h_in, k * h_out:(k + 1) * h_out] = kern[k]
        last = i == len(weights.blocks)
        name = (PROBA if m == 1 else "member_probability") if last else f"dense_{i}"
        layer = layers.Dense(m * h_out, activation=act, name=name)
        x = layer(x)
        layer.set_weights([block, bias.reshape(-1)])
    if m > 1:
        mean = layers.Dense(1, activation="linear", name=PROBA, trainable=False)
        x = mean(x)
        mean.set_weights([np.full((m, 1), 1.0 / m, dtype=np.float32), np.zeros(1, np.float32)])
    return keras.Model(inputs, x, name="churn_mlp_ensemble" if m > 1 else "churn_mlp")


def build_mlp(n_inputs: int, cfg: TrainConfig):
    """Build and compile an untrained MLP (or packed ensemble of ``cfg.members`` MLPs).

    Parameters
    ----------
    n_inputs : int
        Number of encoded input columns.
    cfg : TrainConfig

    Returns
    -------
    keras.Model
        Compiled with binary cross-entropy and Adam(``cfg.learning_rate``); output is the
        churn probability in [0, 1], shape (n_samples, 1). With ``members > 1``: the mean
        of the members' probabilities at their initial weights, as a plain Dense chain
        (:func:`dense_chain`). No Lambda or custom layers: loads in safe mode.
    """
    import keras

    if cfg.members > 1:

        model = dense_chain(packed_weights(init_params(n_inputs, cfg), cfg))
    else:
        model = _single_mlp(n_inputs, cfg)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
                  loss="binary_crossentropy")
    return model


def balanced_class_weight(y: np.ndarray) -> dict[int, float]:
    """Class weights ``n / (2 * n_class)`` (scikit-learn ``compute_class_weight("balanced")``).

    Parameters
    ----------
    y : ndarray of shape (n_samples,) with values in {0, 1}

    Returns
    -------
    dict of int to float
    """

    classes = np.array([0, 1])
    from sklearn.utils.class_weight import compute_class_weight  # training only

    w = compute_class_weight("balanced", classes=classes, y=np.asarray(y).astype(int))
    return {0: float(w[0]), 1: float(w[1])}


def resample_smote(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Oversample the minority class with SMOTE (Chawla et al., 2002; imbalanced-learn).

    Call on training rows only.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    seed : int

    Returns
    -------
    X_res, y_res : ndarrays with both classes equally frequent
    """
    from imblearn.over_sampling import SMOTE

    minority = int(min(np.sum(y == 0), np.sum(y == 1)))
    k = max(1, min(5, minority - 1))
    Xr, yr = SMOTE(random_state=seed, k_neighbors=k).fit_resample(X, np.asarray(y).astype(int))
    return Xr.astype(np.float32), yr.astype(np.float32)


def fit_mlp(Xtr, ytr, Xva, yva, cfg: TrainConfig, progress: Callable | None = None):
    """Train the MLP (or packed ensemble) with epoch selection on the validation split.

    Two paths:

    * ``members > 1`` or ``monitor="val_auc"``: :func:`churn_core.model.ensemble_fit.fit_ensemble`
      (every member with its own binary cross-entropy; after every epoch the members' mean
      probability is scored on the validation rows, the best epoch by ``monitor`` is kept and
      training stops after ``cfg.patience`` epochs without improvement). Class weights
      (``imbalance="class_weight"``) enter as per-row loss weights.
    * one member and a Keras log key as ``monitor`` (the reference tutorial's recipe:
      ``"val_loss"``): ``keras.Model.fit`` with ``EarlyStopping(restore_best_weights=True)``
      and ``ReduceLROnPlateau`` on that key.

    Parameters
    ----------
    Xtr : ndarray of shape (n_train, n_inputs)
        Encoded training rows.
    ytr : ndarray of shape (n_train,) in {0, 1}
    Xva : ndarray of shape (n_val, n_inputs)
        Encoded validation rows (carved from the training data, never the test split).
    yva : ndarray of shape (n_val,) in {0, 1}
    cfg : TrainConfig
    progress : callable, optional
        Called after every epoch as ``progress(epoch, max_epochs, logs)`` with ``epoch``
        counted from 1 and ``logs`` a dict of floats (``loss``, ``val_loss``...).

    Returns
    -------
    model : keras.Model
        Weights of the best validation epoch; with ``members > 1`` a plain Dense chain
        (:func:`dense_chain`) returning the members' mean probability, shape (n, 1).
    history : dict of str to list of float
        Per-epoch logs (``loss``, ``val_loss``, and ``val_auc`` when selecting on it).
    """
    import keras

    keras.utils.set_random_seed(cfg.seed)
    Xtr = np.asarray(Xtr, dtype=np.float32)
    ytr = np.asarray(ytr, dtype=np.float32)
    class_weight = None
    if cfg.imbalance == "smote":
        Xtr, ytr = resample_smote(Xtr, ytr, cfg.seed)
    elif cfg.imbalance == "class_weight":
        class_weight = balanced_class_weight(ytr)
    Xva = np.asarray(Xva, np.float32)
    yva = np.asarray(yva, np.float32)
    if cfg.members > 1 or cfg.monitor == "val_auc":

        sample_weight = None
        if class_weight is not None:
            sample_weight = np.where(ytr > 0.5, class_weight[1], class_weight[0]).astype(np.float32)
        weights, history = fit_ensemble(Xtr, ytr, Xva, yva, cfg, sample_weight=sample_weight,
                                        progress=progress)
        return dense_chain(weights), history
    model = build_mlp(Xtr.shape[1], cfg)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=cfg.monitor, patience=cfg.patience,
                                      restore_best_weights=True, mode="auto"),
        keras.callbacks.ReduceLROnPlateau(monitor=cfg.monitor, factor=0.5,
                                          patience=max(1, cfg.patience // 2), min_lr=1e-5),
    ]
    if progress is not None:
        max_epochs = cfg.max_epochs

        class _Progress(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                progress(epoch + 1, max_epochs, {k: float(v) for k, v in (logs or {}).items()})

        callbacks.append(_Progress())
    hist = model.fit(Xtr, ytr, epochs=cfg.max_epochs, batch_size=cfg.batch_size, callbacks=callbacks,
                     verbose=0, shuffle=True, validation_data=(Xva, yva), class_weight=class_weight)
    return model, {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def compiled_predict(model, batch_size: int = PREDICT_BATCH) -> Callable[[np.ndarray], np.ndarray]:
    """Fast forward pass without ``model.predict``'s per-call overhead.

    Wraps ``model(x, training=False)`` in a ``tf.function`` with a fixed input signature
    (traced once), applied in batches of ``batch_size`` rows. When the model is a packed
    ensemble saved as a block-diagonal Dense chain (:func:`member_blocks` detects it), the
    compact member-by-member forward pass is used instead (same probabilities, about
    ``members`` times less arithmetic in the block-diagonal layers), in batches of
    ``min(batch_size, COMPACT_BATCH)`` rows; any other model takes the plain path.

    Parameters
    ----------
    model : keras.Model
        One input of shape (n_samples, n_inputs), one sigmoid output.
    batch_size : int
        Rows per call (bounds memory on large inputs).

    Returns
    -------
    callable
        ``fn(X: ndarray of shape (n_samples, n_inputs)) -> ndarray of shape (n_samples,)``,
        float64 probabilities in [0, 1].
    """
    import tensorflow as tf

    n_inputs = int(model.inputs[0].shape[-1])
    parts = member_blocks(model)
    if parts is not None:
        _forward = _compact_forward(parts)
        batch_size = min(batch_size, COMPACT_BATCH)
    else:
        @tf.function(input_signature=[tf.TensorSpec([None, n_inputs], tf.float32)], reduce_retracing=True)
        def _forward(x):
            return tf.reshape(model(x, training=False), [-1])

    predict_kind = "compact" if parts is not None else "plain"

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != n_inputs:
            raise ValueError(f"expected an array of shape (n, {n_inputs}), got {X.shape}")
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64)
        out = [_forward(tf.constant(X[i:i + batch_size])).numpy()
               for i in range(0, len(X), batch_size)]
        return np.concatenate(out).astype(np.float64)

    predict.kind = predict_kind  # "compact" (member_blocks detected) or "plain"
    return predict


COMPACT_BATCH = 16_384  # rows per compact call: (members, 16k, width) float32 stays a few tens of MB


def member_blocks(model) -> dict | None:
    """Detect a packed ensemble saved as a Dense chain (:func:`dense_chain`) and unpack it.

    The chain must be ``Input -> Dense_0 -> Dense_1 ... -> Dense_L -> Dense(1)`` (each layer
    fed by the previous one only), where the last layer's kernel has shape (members, 1) and
    every kernel between the first and the last is exactly block-diagonal with ``members``
    equal blocks (off-block entries exactly zero). Biases are per unit, so member ``k`` of
    layer ``i`` owns the bias slice ``k*h_i:(k+1)*h_i``, the same layout as the kernel blocks.

    Parameters
    ----------
    model : keras.Model
        A loaded model (any kind; non-matching models return ``None``).

    Returns
    -------
    dict or None
        ``None`` when the model is not such a chain (e.g. a single MLP) or has one member.
        Otherwise a dict with

        * ``members`` : int, the number of members ``m``;
        * ``first`` : ``(W, b, activation)``, W ndarray of shape (n_inputs, m * h_0) and b of
          shape (m * h_0,): the shared first layer, unchanged;
        * ``blocks`` : list of ``(W, b, activation)``, W ndarray of shape (m, h_in, h_out)
          (member ``k``'s diagonal block) and b of shape (m, h_out);
        * ``head`` : ``(W, b, activation)``, W of shape (m, 1) and b of shape (1,): the final
          member combination (the mean: ``W = 1/m``, ``b = 0`` for :func:`dense_chain`).

        ``activation`` is one of ``"relu"``, ``"sigmoid"``, ``"linear"``. All arrays float32.
    """
    import keras
    layers = list(getattr(model, "layers", []))
    if not layers or not isinstance(layers[0], keras.layers.InputLayer):
        return None
    dense = layers[1:]
    if len(dense) < 3 or not all(type(d) is keras.layers.Dense for d in dense):
        return None
    from churn_core.model.numpy_net import DenseNetwork

    net = DenseNetwork.from_keras(model)
    return None if net is None else net.parts


def _compact_forward(parts: dict):
    """``tf.function`` computing a :func:`member_blocks` ensemble member by member.

    Layout (members, rows, units) throughout: the first kernel is split per member
    (m, n_inputs, h_0) and applied by a broadcast batched matmul, later layers by batched
    matmuls with the diagonal blocks, the head as a (1, m) @ (m, rows) matmul. Same sums as
    the Dense chain minus the multiplications by the off-block zeros.
    """
    import tensorflow as tf

    fns = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "linear": tf.identity}
    m = parts["members"]
    w0, b0, a0 = parts["first"]
    n_inputs, width = w0.shape
    h0 = width // m
    w0 = tf.constant(w0.reshape(n_inputs, m, h0).transpose(1, 0, 2))  # (m, n_inputs, h0)
    b0 = tf.constant(b0.reshape(m, 1, h0))
    blocks = [(tf.constant(w), tf.constant(b[:, None, :]), fns[a]) for w, b, a in parts["blocks"]]
    wh, bh, ah = parts["head"]
    wh, bh, ah = tf.constant(wh.T), tf.constant(bh), fns[ah]  # (1, m), (1,)

    @tf.function(input_signature=[tf.TensorSpec([None, n_inputs], tf.float32)], reduce_retracing=True)
    def forward(x):
        h = fns[a0](tf.matmul(x[None], w0) + b0)  # (1, rows, d) @ (m, d, h0): broadcast batch
        for w, b, act in blocks:
            h = act(tf.matmul(h, w) + b)  # (m, rows, h_out)
        p = tf.matmul(wh, tf.reshape(h, [m, -1])) + bh  # (1, rows): last block has h_out = 1
        return tf.reshape(ah(p), [-1])

    return forward
