"""The Keras multilayer perceptron: configuration, construction, fitting and fast prediction.

Architecture: ``Input -> [Dense(ReLU, L2) -> Dropout] * len(hidden) -> Dense(1, sigmoid)``,
binary cross-entropy, Adam. Early stopping (``restore_best_weights=True``) and
``ReduceLROnPlateau`` watch the validation split carved from the training data, never the
test split. Class imbalance: class weights (``"balanced"``, scikit-learn's
``compute_class_weight``), SMOTE (imbalanced-learn, training rows only) or nothing.

The model holds no Lambda layers so it loads with ``keras.saving.load_model(...,
safe_mode=True)``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

IMBALANCE_MODES = ("class_weight", "smote", "none")
#: Rows per forward pass in :func:`compiled_predict` (bounded memory on huge inputs).
PREDICT_BATCH = 65_536


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (saved in the model card).

    Parameters
    ----------
    hidden : tuple of int, default (64, 32)
        Width of each hidden ReLU layer.
    dropout : float in [0, 1), default 0.1
        Dropout rate after each hidden layer.
    l2 : float >= 0, default 1e-4
        L2 penalty on hidden-layer kernels.
    learning_rate : float, default 5e-3
        Adam step size.
    batch_size : int, default 256
    max_epochs : int, default 100
    patience : int, default 8
        Epochs without validation improvement before early stopping (the learning rate is
        halved after ``max(1, patience // 2)`` such epochs).
    imbalance : {"class_weight", "smote", "none"}, default "class_weight"
    val_size, test_size : float in (0, 1), default 0.15 and 0.2
        Fractions of all valid rows held out (stratified) for validation and test.
    seed : int, default 42
    monitor : str, default "val_loss"
        Keras log key watched by early stopping.
    numeric_encoding : str, default "standard"
        Passed to :class:`churn_core.preprocess.Preprocessor`.
    missing_indicator : bool, default False
        Add 0/1 missing indicators for numeric columns with blanks in training.
    extra : dict
        Room for later recipe options (kept in the card).
    """

    hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.1
    l2: float = 1e-4
    learning_rate: float = 5e-3
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 8
    imbalance: str = "class_weight"
    val_size: float = 0.15
    test_size: float = 0.2
    seed: int = 42
    monitor: str = "val_loss"
    numeric_encoding: str = "standard"
    missing_indicator: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.imbalance not in IMBALANCE_MODES:
            raise ValueError(f"imbalance must be one of {IMBALANCE_MODES}, got {self.imbalance!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (0 < self.val_size < 1 and 0 < self.test_size < 1 and self.val_size + self.test_size < 1):
            raise ValueError("val_size and test_size must be in (0, 1) and sum to less than 1")
        if any(h < 1 for h in self.hidden) or self.batch_size < 1 or self.max_epochs < 1:
            raise ValueError("hidden widths, batch_size and max_epochs must be positive")

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


def build_mlp(n_inputs: int, cfg: TrainConfig):
    """Build and compile the MLP.

    Parameters
    ----------
    n_inputs : int
        Number of encoded input columns.
    cfg : TrainConfig

    Returns
    -------
    keras.Model
        Compiled with binary cross-entropy and Adam(``cfg.learning_rate``); output is the
        churn probability in [0, 1], shape (n_samples, 1).
    """
    import keras
    from keras import layers, regularizers

    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, width in enumerate(cfg.hidden):
        x = layers.Dense(width, activation="relu", kernel_regularizer=regularizers.l2(cfg.l2),
                         name=f"dense_{i}")(x)
        if cfg.dropout > 0:
            x = layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="churn_probability")(x)
    model = keras.Model(inputs, outputs, name="churn_mlp")
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
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.array([0, 1])
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
    """Train the MLP with early stopping on the validation split.

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
        Weights of the best validation epoch (``restore_best_weights=True``).
    history : dict of str to list of float
        Per-epoch logs.
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
    hist = model.fit(Xtr, ytr, validation_data=(np.asarray(Xva, np.float32), np.asarray(yva, np.float32)),
                     epochs=cfg.max_epochs, batch_size=cfg.batch_size, class_weight=class_weight,
                     callbacks=callbacks, verbose=0, shuffle=True)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return model, history


def compiled_predict(model, batch_size: int = PREDICT_BATCH) -> Callable[[np.ndarray], np.ndarray]:
    """Fast forward pass without ``model.predict``'s per-call overhead.

    Wraps ``model(x, training=False)`` in a ``tf.function`` with a fixed input signature
    (traced once), applied in batches of ``batch_size`` rows.

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

    @tf.function(input_signature=[tf.TensorSpec([None, n_inputs], tf.float32)], reduce_retracing=True)
    def _forward(x):
        return tf.reshape(model(x, training=False), [-1])

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != n_inputs:
            raise ValueError(f"expected an array of shape (n, {n_inputs}), got {X.shape}")
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64)
        parts = [_forward(tf.constant(X[i:i + batch_size])).numpy()
                 for i in range(0, len(X), batch_size)]
        return np.concatenate(parts).astype(np.float64)

    return predict
