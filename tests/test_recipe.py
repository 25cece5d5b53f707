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


# ---------------------------------------------------------------- the adaptive recipe (issue 16)
from churn_core.model import recipe as R  # noqa: E402

#: Small, fast candidates with the shape of :data:`recipe.CANDIDATES` (a base and variants).
_SMALL = (
    R.Candidate("base", "as given", {}),
    R.Candidate("regularised", "batch 128, dropout, L2", {"batch_size": 128, "dropout": 0.1, "l2": 1e-3}),
    R.Candidate("finer", "16 bins", {"extra": {"preprocess": {"ple_bins": 16}}}),
)


def _adaptive_cfg(**kw):
    base = dict(hidden=(8, 4), members=2, max_epochs=6, patience=3, batch_size=256, learning_rate=0.02,
                seed=3, recipe="adaptive", time_budget=600)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def small_sample(sample_df):
    return sample_df.iloc[:1200]


def test_recipe_options_are_validated_and_round_trip():
    assert TrainConfig().recipe == "adaptive" and TrainConfig().time_budget == 60
    with pytest.raises(ValueError, match="recipe"):
        TrainConfig(recipe="fast")
    for bad in (0, -5, float("nan")):
        with pytest.raises(ValueError, match="time_budget"):
            TrainConfig(time_budget=bad)
    cfg = TrainConfig(recipe="quick", time_budget=12.5)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_candidate_config_overrides_and_merges_extra():
    base = TrainConfig(hidden=(16, 8), extra={"preprocess": {"ple_bins": 4, "other": 1}, "note": "x"})
    cand = R.Candidate("c", "d", {"dropout": 0.2, "hidden": (64, 32), "extra": {"preprocess": {"ple_bins": 16}}})
    cfg = R.candidate_config(base, cand)
    assert cfg.recipe == "quick" and cfg.dropout == 0.2 and cfg.hidden == (64, 32)
    assert cfg.extra == {"preprocess": {"ple_bins": 16, "other": 1}, "note": "x"}
    assert base.hidden == (16, 8) and base.extra["preprocess"]["ple_bins"] == 4  # base untouched
    assert R.candidate_config(base, R.CANDIDATES[0]).to_dict() == {**base.to_dict(), "recipe": "quick"}
    wider = R.Candidate("w", "d", {"hidden_factor": 2})
    assert R.candidate_config(base, wider).hidden == (32, 16)  # the analyst's widths, doubled
    assert R.candidate_config(TrainConfig(), R.CANDIDATES[-1]).hidden == (64, 32)  # as measured
    # every shipped candidate is a valid configuration of the same Dense-chain family
    for c in R.CANDIDATES:
        assert R.candidate_config(TrainConfig(), c).members == TrainConfig().members


def test_choose_prefers_pr_auc_then_roc_auc_then_the_earlier():
    s = [{"pr_auc": 0.70, "roc_auc": 0.90}, {"pr_auc": 0.72, "roc_auc": 0.80},
         {"pr_auc": 0.72, "roc_auc": 0.85}, {"pr_auc": 0.72, "roc_auc": 0.85}]
    assert R.choose(s, margin=0.01) == 2
    assert R.choose(s, margin=0.03) == 0  # the lead of 0.02 is within the margin: the base stays
    assert R.choose([s[0], s[2], s[3]], margin=0.0) == 1  # variants tie on both: the earlier
    assert R.choose(s[1:], margin=0.0) == 0  # a variant equal to the base does not replace it
    assert R.choose([{"pr_auc": float("nan"), "roc_auc": float("nan")}, {"pr_auc": 0.1, "roc_auc": 0.5}]) == 1
    assert R.choose([{"pr_auc": 0.5, "roc_auc": 0.9}, {"pr_auc": 0.505, "roc_auc": 0.5}]) == 0  # MARGIN 0.01
    assert R.choose([{"pr_auc": 0.5, "roc_auc": 0.5}]) == 0


def test_selection_sees_only_validation_rows(small_sample, sample_schema, monkeypatch):
    """The scorer that chooses the candidate is called with the validation rows only."""
    from churn_core.data.validate import validate
    from churn_core.model.train import split_positions, train_bundle

    seen = []
    real = R.score_candidate

    def spy(rows, y_val, p_val):
        seen.append((np.asarray(rows).copy(), np.asarray(y_val).copy(), len(p_val)))
        return real(rows, y_val, p_val)

    monkeypatch.setattr(R, "score_candidate", spy)
    monkeypatch.setattr(R, "CANDIDATES", _SMALL)
    cfg = _adaptive_cfg()
    b = train_bundle(small_sample, sample_schema, cfg, name="spy")
    res = validate(small_sample, sample_schema, require_target=True)
    y = np.asarray(res.y, dtype=int)
    tr, va, te = split_positions(y, cfg)
    assert len(seen) == len(_SMALL)
    for rows, y_val, n in seen:
        np.testing.assert_array_equal(rows, res.valid.index[va])  # exactly the validation rows
        np.testing.assert_array_equal(y_val, y[va])
        assert n == len(va)
        assert not set(rows) & set(res.valid.index[te]) and not set(rows) & set(res.valid.index[tr])
    assert b.evaluation["validation"]["position"] == va.tolist()
    sel = b.card["recipe"]
    assert [c["name"] for c in sel["candidates"]] == [c.name for c in _SMALL]
    assert sel["validation_rows"] == len(va)
    # the recorded scores are the validation scores of each candidate; the winner has the best
    scores = [{"pr_auc": c["val_pr_auc"], "roc_auc": c["val_roc_auc"]} for c in sel["candidates"]]
    assert sel["winner"] == _SMALL[R.choose(scores)].name
    assert sel["winner"] in sel["why"]
    assert b.card["hyperparameters"] == sel["config"]
    assert b.card["recipe"]["requested"] == cfg.to_dict()
    # the saved model is the winner's: its validation PR-AUC (raw probabilities) is the recorded one
    from sklearn.metrics import average_precision_score

    pv = np.asarray(b.evaluation["validation"]["p_raw"])
    win = next(c for c in sel["candidates"] if c["name"] == sel["winner"])
    assert average_precision_score(y[va], pv) == pytest.approx(win["val_pr_auc"], abs=1e-6)


def test_same_seed_same_file_same_candidate_and_metrics(small_sample, sample_schema, monkeypatch):
    from churn_core.model.train import train_bundle

    monkeypatch.setattr(R, "CANDIDATES", _SMALL)
    a = train_bundle(small_sample, sample_schema, _adaptive_cfg(), name="a")
    b = train_bundle(small_sample, sample_schema, _adaptive_cfg(), name="b")
    assert a.card["recipe"]["winner"] == b.card["recipe"]["winner"]
    assert [c["val_pr_auc"] for c in a.card["recipe"]["candidates"]] == \
           [c["val_pr_auc"] for c in b.card["recipe"]["candidates"]]
    assert a.metrics == b.metrics


def test_progress_counts_each_candidates_own_epochs(small_sample, sample_schema):
    """Progress says which candidate of how many trains and its own epoch of its own maximum
    (the page words it "Candidate 2 of 3 (...) · epoch 4 of at most 6"), while the overall
    count runs over all candidates."""
    from churn_core.data.validate import validate
    from churn_core.model.train import split_positions

    res = validate(small_sample, sample_schema, require_target=True)
    y = np.asarray(res.y, dtype=int)
    cfg = _adaptive_cfg()
    tr, va, _ = split_positions(y, cfg)
    calls = []
    R.fit_adaptive(res.valid.iloc[tr], y[tr], res.valid.iloc[va], y[va], sample_schema, cfg,
                   candidates=_SMALL, progress=lambda e, total, logs: calls.append((e, total, logs)))
    n = len(_SMALL)
    assert {total for _, total, _ in calls} == {n * cfg.max_epochs}
    assert [logs["candidate_number"] for _, _, logs in calls] == sorted(
        logs["candidate_number"] for _, _, logs in calls)
    assert {logs["candidate_number"] for _, _, logs in calls} == set(range(1, n + 1))
    for overall, _, logs in calls:
        assert logs["candidates"] == n and logs["candidate_max_epochs"] == cfg.max_epochs
        assert 1 <= logs["candidate_epoch"] <= cfg.max_epochs
        assert overall == (logs["candidate_number"] - 1) * cfg.max_epochs + logs["candidate_epoch"]
        assert logs["candidate"] == _SMALL[logs["candidate_number"] - 1].name


def test_time_budget_skips_candidates_and_says_so(small_sample, sample_schema, monkeypatch):
    """A fake clock where each fit takes 10 s: with 15 s of budget only the first fits."""
    from churn_core.data.validate import validate
    from churn_core.model.train import split_positions

    res = validate(small_sample, sample_schema, require_target=True)
    y = np.asarray(res.y, dtype=int)
    cfg = _adaptive_cfg(time_budget=15)
    tr, va, _ = split_positions(y, cfg)
    ticks = iter(np.arange(0, 1000, 5.0))  # every clock() call advances 5 s
    _, model, _, sel = R.fit_adaptive(res.valid.iloc[tr], y[tr], res.valid.iloc[va], y[va], sample_schema,
                                      cfg, candidates=_SMALL, clock=lambda: next(ticks))
    status = [c["status"] for c in sel["candidates"]]
    assert status[0] == "fitted" and "skipped" in status
    skipped = [c for c in sel["candidates"] if c["status"] == "skipped"]
    assert all("time budget" in c["reason"] for c in skipped)
    assert sel["winner"] == "base" and "only candidate" in sel["why"]


def test_quick_recipe_fits_once(small_sample, sample_schema, monkeypatch):
    from churn_core.model.train import train_bundle

    calls = []
    monkeypatch.setattr(R, "score_candidate", lambda *a: calls.append(1) or {"pr_auc": 0, "roc_auc": 0})
    b = train_bundle(small_sample, sample_schema, _adaptive_cfg(recipe="quick"), name="q")
    assert calls == [] and b.card["recipe"]["recipe"] == "quick"
    assert b.card["hyperparameters"] == _adaptive_cfg(recipe="quick").to_dict()


def test_winner_is_one_plain_dense_chain_in_safe_mode(small_sample, sample_schema, monkeypatch, tmp_path):
    """Whatever candidate wins, the saved model is one .keras file of Dense layers (safe mode)."""
    import keras

    from churn_core.model.bundle import load_bundle, save_bundle
    from churn_core.model.train import train_bundle

    wide = (R.Candidate("wide", "16 bins, wider", {"hidden": (12, 6), "dropout": 0.1,
                                                   "extra": {"preprocess": {"ple_bins": 16}}}),)
    monkeypatch.setattr(R, "CANDIDATES", wide)
    b = train_bundle(small_sample, sample_schema, _adaptive_cfg(), name="w")
    save_bundle(b, "w", tmp_path)
    assert len(list((tmp_path / "w").glob("*.keras"))) == 1
    m = keras.saving.load_model(tmp_path / "w" / "model.keras", safe_mode=True)
    assert {type(layer).__name__ for layer in m.layers} == {"InputLayer", "Dense"}
    back = load_bundle("w", tmp_path)
    assert back.preprocessor.options["ple_bins"] == 16
    te = b.evaluation["test"]
    from churn_core.data.validate import validate

    valid = validate(small_sample, sample_schema, require_target=True).valid
    np.testing.assert_allclose(back.predict_proba(valid.iloc[te["position"]]), te["p"], atol=1e-6)
