"""The default recipe: TabM-mini / independent packed ensembles served as a plain Dense chain,
best-epoch selection on validation ROC-AUC, and piecewise-linear numeric encoding."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from churn_core.model.ensemble_fit import init_params, packed_weights
from churn_core.model.network import TrainConfig, compiled_predict, dense_chain, fit_mlp
from churn_core.model.preprocess import Preprocessor
from churn_core.data.schema import FeatureSchema


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 7)).astype(np.float32)
    logit = 1.5 * X[:, 0] - X[:, 1] ** 2 + 0.8 * X[:, 2] * X[:, 3]
    y = (rng.random(700) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return X[:500], y[:500], X[500:], y[500:]


def _cfg(**kw):
    base = dict(members=4, hidden=(8, 6), max_epochs=6, patience=3, batch_size=64, learning_rate=0.01,
                imbalance="none", monitor="val_auc", seed=5)
    return TrainConfig(**{**base, **kw})


def _member_probabilities(params: dict, X: np.ndarray) -> np.ndarray:
    """Textbook forward pass of the packed ensemble, member by member, in numpy: (n, members)."""
    m = len(params["bo"])
    out = []
    for k in range(m):
        if "r" in params:  # TabM-mini: x * r_k, then the shared layers
            h, layers = X * params["r"][k], [(params[f"W{i}"], params[f"b{i}"]) for i in range(2)]
        else:
            h, layers = X, [(params[f"W{i}"][k], params[f"b{i}"][k]) for i in range(2)]
        for w, b in layers:
            h = np.maximum(h @ w + b, 0.0)
        z = h @ params["Wo"][k] + params["bo"][k]
        out.append(1 / (1 + np.exp(-z)))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("ensemble", ["tabm-mini", "independent"])
def test_dense_chain_equals_the_packed_ensemble(toy, ensemble):
    import keras

    X = toy[0]
    cfg = _cfg(ensemble=ensemble)
    params = init_params(X.shape[1], cfg)
    # move the weights away from their initial values so every block matters
    rng = np.random.default_rng(0)
    params = {k: v + rng.normal(0, 0.3, v.shape).astype(np.float32) for k, v in params.items()}
    chain = dense_chain(packed_weights(params, cfg))
    assert all(isinstance(layer, (keras.layers.Dense, keras.layers.InputLayer)) for layer in chain.layers)
    first = chain.layers[1]
    assert first.kernel.shape == (X.shape[1], cfg.members * cfg.hidden[0])
    member_p = _member_probabilities(params, X.astype(np.float64))
    np.testing.assert_allclose(np.asarray(chain(X)).ravel(), member_p.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(compiled_predict(chain)(X), member_p.mean(axis=1), atol=1e-5)


def test_members_are_different_models(toy):
    X = toy[0]
    params = init_params(X.shape[1], _cfg())
    assert set(np.unique(params["r"])) == {-1.0, 1.0}  # random-sign adapters
    p = _member_probabilities(params, X.astype(np.float64))
    assert p.shape == (len(X), 4)
    assert np.min(np.std(p, axis=1)) > 0  # ... make members disagree


def test_single_member_is_a_plain_mlp(toy):
    Xtr, ytr, Xva, yva = toy
    model, hist = fit_mlp(Xtr, ytr, Xva, yva, _cfg(members=1, max_epochs=3))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense", "Dense"]
    assert model.layers[-1].units == 1 and len(hist["val_auc"]) == 3


def test_selection_keeps_the_best_validation_auc_epoch(toy):
    Xtr, ytr, Xva, yva = toy
    model, hist = fit_mlp(Xtr, ytr, Xva, yva, _cfg(max_epochs=10, patience=10))
    p = compiled_predict(model)(Xva)
    assert roc_auc_score(yva, p) == pytest.approx(max(hist["val_auc"]), abs=1e-6)
    assert len(hist["val_auc"]) == len(hist["loss"]) == 10
    # the logged validation loss is scikit-learn's log loss of the served probability
    best = int(np.argmax(hist["val_auc"]))
    assert hist["val_loss"][best] == pytest.approx(log_loss(yva, np.clip(p, 1e-7, 1 - 1e-7)), rel=1e-5)


def test_selection_on_validation_loss(toy):
    Xtr, ytr, Xva, yva = toy
    model, hist = fit_mlp(Xtr, ytr, Xva, yva, _cfg(monitor="val_loss", max_epochs=8, patience=8))
    p = np.clip(compiled_predict(model)(Xva), 1e-7, 1 - 1e-7)
    assert log_loss(yva, p) == pytest.approx(min(hist["val_loss"]), rel=1e-5)


def test_deterministic_and_safe_round_trip(toy, tmp_path):
    import keras

    Xtr, ytr, Xva, yva = toy
    cfg = _cfg(imbalance="class_weight")
    m1, h1 = fit_mlp(Xtr, ytr, Xva, yva, cfg)
    m2, h2 = fit_mlp(Xtr, ytr, Xva, yva, cfg)
    assert h1 == h2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    m1.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(np.asarray(back(Xva)), np.asarray(m1(Xva)))
    assert all(type(layer).__name__ in ("InputLayer", "Dense") for layer in back.layers)


def test_config_validation():
    with pytest.raises(ValueError):
        TrainConfig(ensemble="bagging")
    with pytest.raises(ValueError):
        TrainConfig(members=0)
    cfg = TrainConfig(members=3, ensemble="independent")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


# ---------------------------------------------------------------- piecewise-linear encoding
@pytest.fixture(scope="module")
def ple_frames():
    rng = np.random.default_rng(3)
    n = 400
    train = pd.DataFrame({"age": rng.integers(18, 90, n).astype(float),
                          "balance": np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2, 5e4, n)),
                          "flag": rng.integers(0, 2, n).astype(float),
                          "plan": rng.choice(["a", "b"], n)})
    train.loc[::37, "age"] = np.nan
    test = pd.DataFrame({"age": [-5.0, 18, 40.5, 200, np.nan], "balance": [0.0, 1.0, 5e4, 1e9, 3e3],
                         "flag": [0.0, 1, 1, 0, 1], "plan": ["a", "b", "a", "b", "c"]})
    schema = FeatureSchema(target="y", positive_label="1", numeric=["age", "balance", "flag"],
                           categorical=["plan"])
    return train, test, schema


def test_ple_reconstructs_the_clipped_value(ple_frames):
    """Gorishniy et al. (2022): x = e_0 + sum_t enc_t * (e_t - e_{t-1}) inside [e_0, e_T]."""
    train, test, schema = ple_frames
    pre = Preprocessor.fit(train, schema, numeric_encoding="ple", ple_bins=8)
    X = pre.transform(test)
    blocks = {c: (a, b) for c, a, b in pre.blocks}
    for col in ("age", "balance"):
        a, b = blocks[col]
        raw = test[col].fillna(pre.medians[col]).to_numpy()
        e = np.unique(np.nanquantile(train[col].to_numpy(), np.linspace(0, 1, 9)))
        enc = X[:, a + 1:b]
        assert enc.shape[1] == len(e) - 1
        assert np.all((enc >= 0) & (enc <= 1))
        rebuilt = e[0] + enc.astype(np.float64) @ np.diff(e)
        np.testing.assert_allclose(rebuilt, np.clip(raw, e[0], e[-1]), rtol=1e-5)
        # the first column of the block stays the standardised value
        # ... of the value clipped to the gross-outlier fences (1e9 is far beyond them)
        low, high = pre.bounds[col]
        np.testing.assert_allclose(X[:, a], (np.clip(raw, low, high) - pre.means[col]) / pre.scales[col],
                                   rtol=1e-5)
    # a binary column has too few distinct values for bins: scalar only
    a, b = blocks["flag"]
    assert b - a == 1


def test_ple_state_is_json_and_round_trips(ple_frames):
    import json

    train, test, schema = ple_frames
    pre = Preprocessor.fit(train, schema, numeric_encoding="ple", ple_bins=8)
    back = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(back.transform(test), pre.transform(test))
    assert back.blocks == pre.blocks and back.feature_names_out == pre.feature_names_out
    assert pre.blocks[-1][2] == pre.n_features_out


def test_dropout_and_l2_runs_are_seeded_and_change_the_model(toy):
    Xtr, ytr, Xva, yva = toy
    plain, _ = fit_mlp(Xtr, ytr, Xva, yva, _cfg(max_epochs=4, patience=4))
    reg = _cfg(max_epochs=4, patience=4, dropout=0.3, l2=1e-2)
    m1, h1 = fit_mlp(Xtr, ytr, Xva, yva, reg)
    m2, h2 = fit_mlp(Xtr, ytr, Xva, yva, reg)
    assert h1 == h2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(m1.layers[1].get_weights()[0], plain.layers[1].get_weights()[0])
    # the L2 term is in the training loss: larger than the plain run's at the first epoch
    _, hp = fit_mlp(Xtr, ytr, Xva, yva, _cfg(max_epochs=1, patience=1))
    assert h1["loss"][0] > hp["loss"][0]
