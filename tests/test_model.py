"""The Keras MLP: architecture, safe layers, determinism, imbalance handling, fast predict."""
from __future__ import annotations

import numpy as np
import pytest

from churn_core.model.network import (TrainConfig, balanced_class_weight, build_mlp, compiled_predict,
                              fit_mlp, resample_smote)


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, 600) > 1.0).astype(np.float32)
    return X[:400], y[:400], X[400:], y[400:]


TINY = dict(hidden=(8, 4), max_epochs=4, patience=2, batch_size=64, seed=3)


def test_architecture_matches_the_promise():
    import keras

    cfg = TrainConfig(hidden=(16, 8), dropout=0.2, l2=1e-3, members=1)  # the single MLP
    m = build_mlp(5, cfg)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["InputLayer", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    dense = [layer for layer in m.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [16, 8, 1]
    assert [d.activation.__name__ for d in dense] == ["relu", "relu", "sigmoid"]
    assert all(d.kernel_regularizer is not None for d in dense[:-1])
    assert "Lambda" not in kinds
    assert isinstance(m.optimizer, keras.optimizers.Adam)
    assert np.isclose(float(m.optimizer.learning_rate), cfg.learning_rate)


def test_config_rejects_bad_values_and_round_trips():
    with pytest.raises(ValueError):
        TrainConfig(imbalance="oversample")
    with pytest.raises(ValueError):
        TrainConfig(val_size=0.5, test_size=0.5)
    cfg = TrainConfig(hidden=[32], imbalance="smote")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_balanced_class_weight_formula():
    y = np.array([0] * 30 + [1] * 10)
    w = balanced_class_weight(y)
    assert w == pytest.approx({0: 40 / (2 * 30), 1: 40 / (2 * 10)})


def test_smote_balances_training_rows_and_keeps_originals(toy):
    X, y, _, _ = toy
    Xr, yr = resample_smote(X, y, seed=0)
    assert int(yr.sum()) == int((yr == 0).sum()) == int((y == 0).sum())
    np.testing.assert_array_equal(Xr[: len(X)], X)  # originals first, synthetic rows appended


def test_same_seed_same_model_and_progress_called(toy):
    Xtr, ytr, Xva, yva = toy
    calls = []
    m1, h1 = fit_mlp(Xtr, ytr, Xva, yva, TrainConfig(**TINY),
                     progress=lambda e, n, logs: calls.append((e, n, sorted(logs))))
    m2, h2 = fit_mlp(Xtr, ytr, Xva, yva, TrainConfig(**TINY))
    assert h1 == h2
    for w1, w2 in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(w1, w2)
    assert [c[0] for c in calls] == list(range(1, len(h1["loss"]) + 1))
    assert calls[0][1] == TINY["max_epochs"] and "val_loss" in calls[0][2]


def test_early_stopping_restores_best_validation_epoch(toy):
    Xtr, ytr, Xva, yva = toy
    cfg = TrainConfig(**{**TINY, "max_epochs": 30, "patience": 2, "learning_rate": 0.05,
                         "members": 1, "monitor": "val_loss"})  # Keras EarlyStopping path
    m, h = fit_mlp(Xtr, ytr, Xva, yva, cfg)
    import keras

    bce = float(keras.losses.BinaryCrossentropy()(yva.reshape(-1, 1), m(Xva, training=False)))
    l2 = float(sum(m.losses)) if m.losses else 0.0
    assert bce + l2 == pytest.approx(min(h["val_loss"]), rel=1e-3, abs=1e-4)


def test_compiled_predict_equals_model_call_in_batches(toy):
    _, _, Xva, _ = toy
    m = build_mlp(Xva.shape[1], TrainConfig(hidden=(8,), seed=0))
    ref = np.asarray(m(Xva, training=False)).reshape(-1)
    fn = compiled_predict(m, batch_size=64)
    p = fn(Xva)
    assert p.shape == (len(Xva),)
    np.testing.assert_allclose(p, ref, atol=1e-6)
    assert fn(Xva[:0]).shape == (0,)
    with pytest.raises(ValueError):
        fn(Xva[:, :3])
