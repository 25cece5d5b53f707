"""Metrics equal scikit-learn's on the same arrays."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import (
    EvaluationReport,
    evaluate,
    metrics_by_threshold,
    pr_points,
    roc_points,
    threshold_metrics,
)


def _random(seed, n=500, rate=0.2, grid=False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    p = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    if grid:  # many ties, and scores exactly on thresholds
        p = np.round(p, 2)
    return y, p


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("t", [0.0, 0.2, 0.35, 0.5, 0.71, 1.0])
def test_threshold_metrics_equal_sklearn(seed, t):
    y, p = _random(seed, grid=seed % 2 == 0)
    pred = (p >= t).astype(int)
    m = threshold_metrics(y, p, t)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert (m.tn, m.fp, m.fn, m.tp) == (tn, fp, fn, tp)
    np.testing.assert_array_equal(m.confusion_matrix(), confusion_matrix(y, pred, labels=[0, 1]))
    assert m.precision == pytest.approx(precision_score(y, pred, zero_division=0))
    assert m.recall == pytest.approx(recall_score(y, pred, zero_division=0))
    assert m.f1 == pytest.approx(f1_score(y, pred, zero_division=0))
    assert m.accuracy == pytest.approx(accuracy_score(y, pred))
    assert m.specificity == pytest.approx(recall_score(1 - y, 1 - pred, zero_division=0))
    assert m.predicted_positive_rate == pytest.approx(pred.mean())


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_equal_sklearn(seed):
    y, p = _random(seed, n=800, grid=seed == 1)
    r = evaluate(y, p, 0.4)
    assert r.roc_auc == pytest.approx(roc_auc_score(y, p))
    assert r.pr_auc == pytest.approx(average_precision_score(y, p))
    assert r.brier == pytest.approx(brier_score_loss(y, p))
    assert r.base_rate == pytest.approx(y.mean())
    assert r.n == 800 and r.threshold == 0.4
    d = json.loads(json.dumps(r.to_dict()))
    assert EvaluationReport.from_dict(d) == r


def test_curves_equal_sklearn_and_point_on_curve():
    y, p = _random(7, grid=True)
    roc = roc_points(y, p, threshold=0.5)
    fpr, tpr, thr = roc_curve(y, p)
    np.testing.assert_allclose(roc.x, fpr)
    np.testing.assert_allclose(roc.y, tpr)
    np.testing.assert_allclose(roc.thresholds, thr)
    # With rounded scores 0.5 is a curve threshold: the marked point lies on the curve.
    i = int(np.flatnonzero(np.isclose(thr, 0.5))[0])
    assert (roc.point_x, roc.point_y) == pytest.approx((fpr[i], tpr[i]))
    assert roc.auc == pytest.approx(roc_auc_score(y, p))

    pr = pr_points(y, p, threshold=0.5)
    prec, rec, thr2 = precision_recall_curve(y, p)
    np.testing.assert_allclose(pr.x, rec)
    np.testing.assert_allclose(pr.y, prec)
    j = int(np.flatnonzero(np.isclose(thr2, 0.5))[0])
    assert (pr.point_x, pr.point_y) == pytest.approx((rec[j], prec[j]))
    assert pr.auc == pytest.approx(average_precision_score(y, p))


@pytest.mark.parametrize("grid", [False, True])
def test_metrics_by_threshold_matches_pointwise(grid):
    y, p = _random(11, n=2000, grid=grid)
    thresholds = np.concatenate([np.linspace(0, 1, 101), np.unique(p)[:50]])
    df = metrics_by_threshold(y, p, thresholds)
    assert len(df) == len(thresholds)
    for row in df.sample(40, random_state=0).itertuples():
        pred = (p >= row.threshold).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (row.tp, row.fp, row.tn, row.fn) == (tp, fp, tn, fn)
        assert row.precision == pytest.approx(precision_score(y, pred, zero_division=0))
        assert row.recall == pytest.approx(recall_score(y, pred, zero_division=0))
        assert row.f1 == pytest.approx(f1_score(y, pred, zero_division=0))
        assert row.accuracy == pytest.approx(accuracy_score(y, pred))


def test_default_grid_is_0_to_1_by_0_01():
    y, p = _random(1)
    df = metrics_by_threshold(y, p)
    np.testing.assert_allclose(df["threshold"], np.arange(101) / 100)


def test_no_predicted_positives_gives_zero_precision_without_warnings():
    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = threshold_metrics(y, p, 0.9)
        df = metrics_by_threshold(y, p, [0.9, 1.0])
    assert m.precision == 0.0 and m.recall == 0.0 and m.f1 == 0.0 and m.tp + m.fp == 0
    assert (df["precision"] == 0).all()


def test_single_class_gives_nan_auc_and_clear_curve_error():
    y = np.zeros(5, dtype=int)
    p = np.linspace(0.1, 0.9, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = evaluate(y, p, 0.5)
    assert np.isnan(r.roc_auc) and np.isnan(r.pr_auc)
    assert r.to_dict()["roc_auc"] is None
    assert r.brier == pytest.approx(brier_score_loss(y, p))
    with pytest.raises(ChurnError, match="both"):
        roc_points(y, p)
    with pytest.raises(ChurnError, match="both"):
        pr_points(y, p)


@pytest.mark.parametrize(
    "y, p, match",
    [
        ([0, 1], [0.2], "length"),
        ([0, 1], [0.2, np.nan], "missing"),
        ([0, 2], [0.2, 0.3], "0 or 1"),
        ([0, 1], [0.2, 1.3], r"\[0, 1\]"),
        ([], [], "empty"),
    ],
)
def test_bad_input_is_refused_clearly(y, p, match):
    with pytest.raises(ChurnError, match=match):
        evaluate(y, p)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=1, max_size=60),
       st.lists(st.integers(0, 21), min_size=1, max_size=10))
def test_metrics_by_threshold_equals_pointwise_property(pairs, grid):
    """Any labels, heavily tied scores on a 0.05 grid, thresholds on and off the scores."""
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs]) / 20
    t = np.array(grid) / 20
    df = metrics_by_threshold(y, p, t)
    for i, thr in enumerate(t):
        pred = (p >= thr).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (df.tp[i], df.fp[i], df.tn[i], df.fn[i]) == (tp, fp, tn, fn)
        assert df.f1[i] == pytest.approx(f1_score(y, pred, zero_division=0))
