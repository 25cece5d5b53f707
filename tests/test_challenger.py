"""The gradient-boosting challenger is trained and evaluated on the MLP bundle's own split."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, f1_score, roc_auc_score

from churn_core.evaluate.challenger import CHALLENGER_PARAMS, split_from, train_challenger
from churn_core.errors import SchemaError, TrainingDataError


@pytest.fixture(scope="module")
def validated(sample_df, trained_bundle):
    from churn_core.data.validate import validate

    res = validate(sample_df, trained_bundle.schema, require_target=True)
    return res.valid, np.asarray(res.y, dtype=int)


@pytest.fixture(scope="module")
def challenger(trained_bundle, validated):
    valid, y = validated
    t0 = time.perf_counter()
    out = train_challenger(trained_bundle, valid, y)
    return out, time.perf_counter() - t0


def test_uses_the_bundles_test_split(trained_bundle, validated, challenger):
    (y_test, p_test, report), _ = challenger
    _, y = validated
    test = trained_bundle.evaluation["test"]
    assert np.array_equal(y_test, np.asarray(test["y"]))
    assert np.array_equal(y_test, y[np.asarray(test["position"])])
    assert p_test.shape == y_test.shape and report.n == len(test["position"])
    assert np.all((p_test >= 0) & (p_test <= 1))
    split = split_from(trained_bundle)
    assert not set(split.train) & set(split.test) and not set(split.validation) & set(split.test)


def test_metrics_equal_scikit_learn_on_its_predictions(challenger):
    (y_test, p_test, report), _ = challenger
    assert report.roc_auc == pytest.approx(roc_auc_score(y_test, p_test), abs=1e-12)
    assert report.pr_auc == pytest.approx(average_precision_score(y_test, p_test), abs=1e-12)
    assert report.brier == pytest.approx(brier_score_loss(y_test, p_test), abs=1e-12)
    f1 = f1_score(y_test, (p_test >= report.threshold).astype(int))
    assert report.at_threshold.f1 == pytest.approx(f1, abs=1e-12)
    assert report.roc_auc > 0.7  # the synthetic sample has strong, learnable drivers


def test_predictions_equal_an_independent_fit_on_the_same_rows(trained_bundle, validated, challenger):
    """Fitting scikit-learn by hand on the bundle's train rows gives the same probabilities."""
    (_, p_test, _), _ = challenger
    valid, y = validated
    schema = trained_bundle.schema
    ev = trained_bundle.evaluation
    tr, va, te = (np.asarray(ev[k]["position"]) for k in ("train", "validation", "test"))
    X = pd.DataFrame({c: valid[c].astype(float).to_numpy() for c in schema.numeric})
    for c in schema.categorical:
        cats = sorted(valid[c].iloc[tr].astype(str).str.strip().unique())
        X[c] = pd.Categorical(valid[c].astype(str).str.strip().to_numpy(), categories=cats)
    X = X[schema.features]
    clf = HistGradientBoostingClassifier(random_state=trained_bundle.card["seed"], early_stopping=True,
                                         **CHALLENGER_PARAMS)
    clf.fit(X.iloc[tr], y[tr], X_val=X.iloc[va], y_val=y[va])
    np.testing.assert_allclose(p_test, clf.predict_proba(X.iloc[te])[:, 1], rtol=0, atol=1e-12)


def test_deterministic_and_fast(trained_bundle, validated, challenger):
    (y1, p1, r1), seconds = challenger
    valid, y = validated
    y2, p2, r2 = train_challenger(trained_bundle, valid, y)
    assert np.array_equal(y1, y2) and np.array_equal(p1, p2)
    assert r1.to_dict() == r2.to_dict()
    assert seconds < 30  # generous bound on a shared machine; speed targets live in benchmarks/


def test_accepts_the_evaluation_dict_with_a_schema(trained_bundle, validated, challenger):
    (_, p1, _), _ = challenger
    valid, y = validated
    _, p2, _ = train_challenger(trained_bundle.evaluation, valid, y, schema=trained_bundle.schema,
                                seed=trained_bundle.card["seed"])
    assert np.array_equal(p1, p2)
    with pytest.raises(SchemaError, match="schema"):
        train_challenger(trained_bundle.evaluation, valid, y)


def test_clear_errors(trained_bundle, validated):
    valid, y = validated
    with pytest.raises(TrainingDataError, match="no saved train/validation/test split"):
        train_challenger({}, valid, y, schema=trained_bundle.schema)
    with pytest.raises(TrainingDataError, match="same file the model was trained on"):
        train_challenger(trained_bundle, valid.iloc[:100], y[:100])
    with pytest.raises(TrainingDataError, match="labels"):
        train_challenger(trained_bundle, valid, y[:-1])


# ---------------------------------------------------------------- the plain verdict (issue 16)
from churn_core.evaluate.challenger import challenger_verdict  # noqa: E402


@pytest.fixture(scope="module")
def scored():
    """1,000 test customers, 20 % churners; a sharp and a blurred ranking of the same risk."""
    rng = np.random.default_rng(11)
    risk = rng.normal(size=1000)
    y = (risk + rng.normal(scale=0.6, size=1000) > 0.85).astype(int)
    sharp = 1 / (1 + np.exp(-(2 * risk)))
    blurred = 1 / (1 + np.exp(-(2 * risk + rng.normal(scale=2.5, size=1000))))
    return y, sharp, blurred


def _churners_in_top(y, p, share=0.10):
    n = int(np.ceil(share * len(y)))
    return int(y[np.argsort(-p, kind="stable")[:n]].sum()), n


def test_verdict_says_when_the_challenger_wins_and_what_to_do(scored):
    y, sharp, blurred = scored
    v = challenger_verdict(y, blurred, sharp, recipe="quick")
    assert v.challenger_wins
    cc, n = _churners_in_top(y, sharp)
    cm, _ = _churners_in_top(y, blurred)
    assert (v.top_n, v.churners_challenger, v.churners_mlp) == (n, cc, cm) and cc > cm
    assert f"it finds {cc} churners, the MLP {cm} ({(cc - cm) / cm:.0%} more)" in v.sentence
    pr = v.gaps["pr_auc"]
    assert pr["challenger"] == pytest.approx(average_precision_score(y, sharp))
    assert pr["mlp"] == pytest.approx(average_precision_score(y, blurred))
    assert pr["gap"] > pr["noise"] > 0
    assert "adaptive recipe" in v.advice and "more customers" in v.advice
    assert "time budget" in challenger_verdict(y, blurred, sharp, recipe="adaptive").advice


def test_verdict_stays_quiet_within_the_noise(scored):
    y, sharp, blurred = scored
    same = challenger_verdict(y, sharp, sharp)
    assert not same.challenger_wins and same.advice == "" and "Keep the MLP" in same.sentence
    assert same.gaps["roc_auc"]["gap"] == 0
    better_mlp = challenger_verdict(y, sharp, blurred)  # the MLP is the sharp one
    assert not better_mlp.challenger_wins and better_mlp.gaps["pr_auc"]["gap"] < 0


def test_verdict_noise_is_the_spread_over_stratified_parts(scored):
    from sklearn.model_selection import StratifiedKFold

    y, sharp, blurred = scored
    v = challenger_verdict(y, blurred, sharp, seed=5)
    diffs = [roc_auc_score(y[i], sharp[i]) - roc_auc_score(y[i], blurred[i])
             for _, i in StratifiedKFold(5, shuffle=True, random_state=5).split(sharp, y)]
    assert v.gaps["roc_auc"]["noise"] == pytest.approx(np.std(diffs, ddof=1), abs=1e-12)


def test_verdict_refuses_mismatched_or_one_class_input(scored):
    y, sharp, _ = scored
    with pytest.raises(ValueError):
        challenger_verdict(y, sharp, sharp[:-1])
    with pytest.raises(ValueError):
        challenger_verdict(np.zeros(50, int), sharp[:50], sharp[:50])
