"""train_bundle: leakage-free splits, determinism, metrics on test, threshold and stats from train/val."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from churn_core.errors import ChurnError
from churn_core.model.train import split_positions, train_bundle
from churn_core.data.validate import validate


def test_splits_partition_and_are_stratified(trained_bundle, sample_df, sample_schema, tiny_cfg):
    ev = trained_bundle.evaluation
    tr, va, te = (np.array(ev[k]["position"]) for k in ("train", "validation", "test"))
    n = len(sample_df)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(n))
    assert len(te) == round(n * tiny_cfg.test_size)
    y = validate(sample_df, sample_schema, require_target=True).y
    for part in (tr, va, te):
        assert abs(y[part].mean() - y.mean()) < 0.01
    np.testing.assert_array_equal(np.array(ev["test"]["y"]), y[te])
    assert trained_bundle.card["split_sizes"] == {"train": len(tr), "validation": len(va), "test": len(te)}


def test_test_metrics_equal_sklearn_on_saved_arrays(trained_bundle):
    t = trained_bundle.evaluation["test"]
    y, p = np.array(t["y"]), np.array(t["p"])
    m = trained_bundle.metrics["test"]
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-6)
    thr = trained_bundle.default_threshold
    assert m["at_threshold"]["f1"] == pytest.approx(f1_score(y, p >= thr), abs=1e-6)
    assert m["roc_auc"] > 0.75  # the synthetic drivers are learnable


def test_default_threshold_maximises_f1_on_validation(trained_bundle):
    v = trained_bundle.evaluation["validation"]
    y, p = np.array(v["y"]), np.array(v["p"])
    best = max(f1_score(y, p >= t) for t in np.unique(p))
    assert f1_score(y, p >= trained_bundle.default_threshold) == pytest.approx(best, abs=1e-6)


def test_preprocessing_statistics_come_from_training_rows(trained_bundle, sample_df, sample_schema):
    valid = validate(sample_df, sample_schema, require_target=True).valid
    tr = np.array(trained_bundle.evaluation["train"]["position"])
    pre = trained_bundle.preprocessor
    for col in sample_schema.numeric:
        assert pre.medians[col] == pytest.approx(valid[col].iloc[tr].median())
        assert pre.means[col] == pytest.approx(valid[col].iloc[tr].mean())
    assert pre.medians[sample_schema.numeric[0]] != pytest.approx(valid[sample_schema.numeric[0]].median()) \
        or pre.means[sample_schema.numeric[0]] != pytest.approx(valid[sample_schema.numeric[0]].mean())


def test_same_data_and_seed_give_identical_metrics(trained_bundle, sample_df, sample_schema, tiny_cfg):
    again = train_bundle(sample_df, sample_schema, tiny_cfg, name="again")
    assert again.metrics == trained_bundle.metrics
    assert again.card["data_sha256"] == trained_bundle.card["data_sha256"]


def test_card_contents(trained_bundle, tiny_cfg):
    card = trained_bundle.card
    for key in ("data_sha256", "rows", "churn_rate", "split_sizes", "seed", "hyperparameters",
                "versions", "created", "default_threshold", "tier_cutoffs"):
        assert key in card
    assert len(card["data_sha256"]) == 64
    assert card["hyperparameters"] == tiny_cfg.to_dict()
    assert card["versions"]["tensorflow"] != "absent"
    assert card["test_churners"] == sum(trained_bundle.evaluation["test"]["y"]) > 30
    assert card["warnings"] == []  # enough churners, a real model, no outliers


@pytest.mark.slow
@pytest.mark.parametrize("imbalance", ["class_weight", "smote"])
def test_random_noise_target_gives_no_skill(sample_df, sample_schema, tiny_cfg, imbalance):
    """No leakage: with a target that is pure noise the test ROC-AUC stays near 0.5."""
    noisy = sample_df.copy()
    rng = np.random.default_rng(123)
    noisy["Exited"] = np.where(rng.random(len(noisy)) < 0.2, "1", "0")
    cfg = dataclasses.replace(tiny_cfg, imbalance=imbalance, max_epochs=10)
    b = train_bundle(noisy, sample_schema, cfg)
    assert b.metrics["test"]["roc_auc"] < 0.62


def test_untrainable_data_is_refused(sample_df, sample_schema, tiny_cfg):
    one_class = sample_df.copy()
    one_class["Exited"] = "0"
    with pytest.raises(ChurnError, match="one class"):
        train_bundle(one_class, sample_schema, tiny_cfg)
    with pytest.raises(ChurnError):
        train_bundle(sample_df.head(50), sample_schema, tiny_cfg)


def test_split_positions_seeded(tiny_cfg):
    y = np.array([0] * 80 + [1] * 20)
    a = split_positions(y, tiny_cfg)
    b = split_positions(y, tiny_cfg)
    c = split_positions(y, dataclasses.replace(tiny_cfg, seed=1))
    assert all((x == z).all() for x, z in zip(a, b))
    assert not (a[2] == c[2]).all()


def test_quality_warnings_name_what_an_analyst_must_check():
    from churn_core.model.train import MIN_TEST_CHURNERS, quality_warnings

    assert quality_warnings({"test_churners": MIN_TEST_CHURNERS, "test_roc_auc": 0.8}) == []
    few = quality_warnings({"test_churners": 5, "test_roc_auc": 0.8})
    assert len(few) == 1 and "only 5 churners" in few[0]
    weak = quality_warnings({"test_churners": 400, "test_roc_auc": 0.5, "scaling_outliers": {"Age": 2}})
    assert len(weak) == 2 and "0.500 is close to guessing" in weak[0] and "2 value(s) of Age" in weak[1]
