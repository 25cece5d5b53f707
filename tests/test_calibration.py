"""Calibration: improves Brier on a miscalibrated toy model, JSON round trip, ECE by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from churn_core.evaluate.calibration import (
    Calibrator,
    expected_calibration_error,
    fit_calibrator,
    reliability_curve,
)
from churn_core.errors import ChurnError


def _toy(n, seed, distort=True):
    """True churn probability q; the 'model' reports an overconfident distortion of it."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.02, 0.6, n)
    y = (rng.random(n) < q).astype(int)
    if not distort:
        return y, q
    logit = np.log(q / (1 - q))
    p = 1 / (1 + np.exp(-(2.5 * logit + 1.5)))  # too extreme and shifted upwards
    return y, p


@pytest.fixture(scope="module")
def splits():
    return _toy(3000, 1), _toy(5000, 2)


@pytest.mark.parametrize("method", ["auto", "platt", "isotonic"])
def test_calibration_improves_brier_on_held_out_data(splits, method):
    (y_val, p_val), (y_test, p_test) = splits
    cal = fit_calibrator(y_val, p_val, method=method)
    assert cal is not None
    raw = brier_score_loss(y_test, p_test)
    calibrated = brier_score_loss(y_test, cal.transform(p_test))
    assert calibrated < raw - 0.01  # clearly better, on customers it never saw
    assert expected_calibration_error(y_test, cal.transform(p_test)) < \
        expected_calibration_error(y_test, p_test)
    if method == "auto":
        assert cal.brier_calibrated < cal.brier_raw
        assert cal.method in ("platt", "isotonic")


def test_platt_recovers_the_distortion(splits):
    (y_val, p_val), _ = splits
    cal = fit_calibrator(y_val, p_val, method="platt")
    # p = sigmoid(2.5 logit(q) + 1.5)  =>  q = sigmoid(0.4 logit(p) - 0.6)
    assert cal.params["a"] == pytest.approx(0.4, abs=0.06)
    assert cal.params["b"] == pytest.approx(-0.6, abs=0.15)


def test_transform_equals_sklearn_models(splits):
    (y_val, p_val), (_, p_test) = splits
    z = np.log(np.clip(p_val, 1e-6, 1 - 1e-6) / (1 - np.clip(p_val, 1e-6, 1 - 1e-6)))
    lr = LogisticRegression(C=np.inf, max_iter=1000).fit(z.reshape(-1, 1), y_val)
    zt = np.log(np.clip(p_test, 1e-6, 1 - 1e-6) / (1 - np.clip(p_test, 1e-6, 1 - 1e-6)))
    np.testing.assert_allclose(fit_calibrator(y_val, p_val, "platt").transform(p_test),
                               lr.predict_proba(zt.reshape(-1, 1))[:, 1], rtol=1e-6)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p_val, y_val)
    grid = np.concatenate([p_test, [0.0, 1.0]])
    np.testing.assert_allclose(fit_calibrator(y_val, p_val, "isotonic").transform(grid),
                               iso.predict(grid), atol=1e-12)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_json_round_trip_gives_same_probabilities(splits, method):
    (y_val, p_val), (_, p_test) = splits
    cal = fit_calibrator(y_val, p_val, method=method)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_array_equal(back.transform(p_test), cal.transform(p_test))
    assert Calibrator.from_dict(None) is None


def test_auto_returns_none_when_already_calibrated():
    y, q = _toy(3000, 5, distort=False)
    assert fit_calibrator(y, q, method="auto") is None


def test_auto_with_too_few_churners_returns_none_and_bad_method_refused():
    y = np.array([0] * 50 + [1] * 3)
    p = np.linspace(0.1, 0.9, 53)
    assert fit_calibrator(y, p) is None
    with pytest.raises(ChurnError):
        fit_calibrator(y, p, method="magic")
    with pytest.raises(ChurnError):
        Calibrator.from_dict({"method": "pickle", "params": {}})


def test_reliability_curve_equals_sklearn_with_counts():
    y, p = _toy(2000, 9)
    for strategy in ("uniform", "quantile"):
        curve = reliability_curve(y, p, n_bins=8, strategy=strategy)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=8, strategy=strategy)
        np.testing.assert_allclose(curve["observed_rate"], prob_true)
        np.testing.assert_allclose(curve["mean_predicted"], prob_pred)
        assert curve["customers"].sum() == 2000
    # counts by hand on the uniform bins
    curve = reliability_curve(y, p, n_bins=8)
    edges = np.linspace(0, 1, 9)
    hand = [((p >= lo) & (p < hi if hi < 1 else p <= hi)).sum() for lo, hi in
            zip(edges[:-1], edges[1:])]
    np.testing.assert_array_equal(curve["customers"], [c for c in hand if c > 0])


def test_ece_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.15, 0.8, 0.6])
    # bins [0, .5): mean p .125, observed 0; [.5, 1]: mean p .7, observed 1
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.125 + 0.5 * 0.3)
