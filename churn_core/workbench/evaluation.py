"""Validation/test arrays a bundle recorded, and the bundle's default threshold and tier
cutoffs."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.columns import PROBA
from churn_core.errors import BundleError
from churn_core.evaluate import metrics
from churn_core.evaluate.calibration import expected_calibration_error, reliability_curve
from churn_core.evaluate.lift import cumulative_gains, lift_table, top_decile_lift
from churn_core.evaluate.curve import ThresholdCurve


@dataclass
class EvalArrays:
    """Labels and probabilities a bundle recorded for its validation and test splits.

    Attributes
    ----------
    y_val, p_val : ndarray of shape (n_val,)
        Validation labels (0/1) and calibrated churn probabilities in [0, 1].
    y_test, p_test : ndarray of shape (n_test,)
        Test labels and probabilities (every metric on the Performance page uses these).
    p_test_raw : ndarray of shape (n_test,) or None
        Uncalibrated test probabilities when the bundle recorded them.
    curve : ThresholdCurve
        Sorted test probabilities for fast metrics at any threshold.
    report : EvaluationReport
        ``metrics.evaluate`` on the test split (ROC-AUC, PR-AUC, Brier, base rate).
    roc, pr : CurvePoints
        ``metrics.roc_points`` / ``metrics.pr_points`` on the test split, computed once
        (the threshold marker is moved with :meth:`ThresholdCurve.at`).
    """

    y_val: np.ndarray
    p_val: np.ndarray
    y_test: np.ndarray
    p_test: np.ndarray
    p_test_raw: np.ndarray | None
    curve: ThresholdCurve
    report: Any = None
    roc: Any = None
    pr: Any = None

    def roc_point(self, threshold: float) -> tuple[float, float]:
        """(false positive rate, true positive rate) on the test split at ``threshold``."""
        c = self.curve.at(threshold)
        return c.false_positive_rate, float(c.recall)

    def pr_point(self, threshold: float) -> tuple[float, float]:
        """(recall, precision) on the test split at ``threshold``."""
        c = self.curve.at(threshold)
        return float(c.recall), float(c.precision)

    def roc_at(self, threshold: float):
        """``metrics.CurvePoints`` of the ROC curve with the point moved to ``threshold``
        (the curve itself is not recomputed)."""

        x, y = self.roc_point(threshold)
        return replace(self.roc, threshold=float(threshold), point_x=x, point_y=y)

    def pr_at(self, threshold: float):
        """``metrics.CurvePoints`` of the PR curve with the point moved to ``threshold``."""

        x, y = self.pr_point(threshold)
        return replace(self.pr, threshold=float(threshold), point_x=x, point_y=y)


def _pick(d: dict, *names):
    for n in names:
        if isinstance(d, dict) and d.get(n) is not None:
            return d[n]
    return None


def eval_arrays(bundle) -> EvalArrays:
    """Read the validation/test labels and probabilities stored in a bundle.

    Parameters
    ----------
    bundle : ModelBundle
        A loaded bundle (``bundle.evaluation`` holds the arrays, see ``bundle.py``).

    Returns
    -------
    EvalArrays

    Raises
    ------
    BundleError
        When the bundle does not record test labels and probabilities.
    """

    ev = getattr(bundle, "evaluation", None) or {}
    val = ev.get("validation", ev.get("val", {})) if isinstance(ev, dict) else {}
    test = ev.get("test", {}) if isinstance(ev, dict) else {}
    y_test = _pick(test, "y", "y_true", "labels")
    p_test = _pick(test, "p", "proba", PROBA, "p_calibrated", "probabilities")
    if y_test is None or p_test is None:
        raise BundleError(f"model {getattr(bundle, 'name', '?')!r} records no test-split "
                          "labels and probabilities (evaluation.json)")
    y_val = _pick(val, "y", "y_true", "labels")
    p_val = _pick(val, "p", "proba", PROBA, "p_calibrated", "probabilities")
    raw = _pick(test, "p_raw", "proba_raw", "raw")

    y_test = np.asarray(y_test, dtype=float)
    p_test = np.asarray(p_test, dtype=float)
    t = default_threshold(bundle)
    return EvalArrays(
        np.asarray(y_val if y_val is not None else [], dtype=float),
        np.asarray(p_val if p_val is not None else [], dtype=float),
        y_test, p_test, None if raw is None else np.asarray(raw, dtype=float),
        ThresholdCurve(p_test, y_test), metrics.evaluate(y_test, p_test, t),
        metrics.roc_points(y_test, p_test, t), metrics.pr_points(y_test, p_test, t))


def test_roc_auc(bundle) -> float:
    """The model's test-split ROC-AUC as recorded at training (``metrics.json``), without
    recomputing the evaluation (the first page shows only this number).

    Parameters
    ----------
    bundle : ModelBundle

    Returns
    -------
    float
        ROC-AUC in [0, 1]; computed from the recorded test arrays (:func:`eval_arrays`) when
        ``metrics.json`` lacks it.
    """
    value = ((getattr(bundle, "metrics", None) or {}).get("test") or {}).get("roc_auc")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return float(eval_arrays(bundle).report.roc_auc)


def default_threshold(bundle) -> float:
    """The decision threshold recorded in the bundle card (``config.DEFAULT_THRESHOLD``
    when absent)."""
    card = getattr(bundle, "card", None) or {}
    for key in ("default_threshold", "decision_threshold", "threshold"):
        if isinstance(card, dict) and card.get(key) is not None:
            return float(card[key])
    return float(config.DEFAULT_THRESHOLD)


def default_tier_cutoffs(bundle) -> dict:
    """Tier cutoffs recorded in the bundle card (``config.DEFAULT_TIER_CUTOFFS`` when
    absent)."""
    card = getattr(bundle, "card", None) or {}
    cut = card.get("tier_cutoffs") if isinstance(card, dict) else None
    if isinstance(cut, dict) and {"high", "medium"} <= set(cut):
        return {"high": float(cut["high"]), "medium": float(cut["medium"])}
    return dict(config.DEFAULT_TIER_CUTOFFS)


def calibration_view(ev: EvalArrays, calibrated: bool) -> tuple[dict, pd.DataFrame]:
    """Reliability curves and Brier / ECE on the test split, before and after calibration.

    Parameters
    ----------
    ev : EvalArrays
    calibrated : bool
        Whether the bundle has a calibrator (the test probabilities are then calibrated).

    Returns
    -------
    curves : dict of str to DataFrame
        ``calibration.reliability_curve`` (10 bins) per variant, for
        ``figures.reliability_figure``.
    table : DataFrame
        Columns ``probabilities``, ``Brier`` (mean squared error), ``ECE`` (expected
        calibration error, ``calibration.expected_calibration_error``).
    """
    variants = [("calibrated" if calibrated else "model", ev.p_test)]
    if ev.p_test_raw is not None and calibrated:
        variants.insert(0, ("raw (before calibration)", ev.p_test_raw))
    curves, rows = {}, []
    for label, p in variants:
        curves[label] = reliability_curve(ev.y_test, p, n_bins=10)
        rows.append({"probabilities": label,
                     "Brier": float(np.mean((p - ev.y_test) ** 2)),
                     "ECE": expected_calibration_error(ev.y_test, p)})
    return curves, pd.DataFrame(rows)


@dataclass(frozen=True)
class LiftView:
    """Lift per decile and cumulative gains on the test split.

    Attributes
    ----------
    table : DataFrame
        ``lift.lift_table`` with 10 bins.
    share, caught : ndarray
        Cumulative gains: share of customers contacted, share of churners reached.
    top_decile_lift : float
        Churn rate among the 10 % highest-risk customers / overall churn rate.
    """

    table: pd.DataFrame
    share: np.ndarray
    caught: np.ndarray
    top_decile_lift: float


def lift_view(ev: EvalArrays) -> LiftView:
    """Lift table, cumulative gains and top-decile lift of the test split.

    Raises
    ------
    ChurnError
        When the test split holds no churners (gains are undefined).
    """
    share, caught, _ = cumulative_gains(ev.y_test, ev.p_test)
    return LiftView(lift_table(ev.y_test, ev.p_test, n_bins=10), share, caught,
                    top_decile_lift(ev.y_test, ev.p_test))
