"""Validation/test arrays a bundle recorded, and the bundle's default threshold and tier
cutoffs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from churn_core import config
from churn_core.workbench.curve import ThresholdCurve


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
        fpr = c.fp / (c.fp + c.tn) if (c.fp + c.tn) else 0.0
        return float(fpr), float(c.recall)

    def pr_point(self, threshold: float) -> tuple[float, float]:
        """(recall, precision) on the test split at ``threshold``."""
        c = self.curve.at(threshold)
        return float(c.recall), float(c.precision)

    def roc_at(self, threshold: float):
        """``metrics.CurvePoints`` of the ROC curve with the point moved to ``threshold``
        (the curve itself is not recomputed)."""
        from dataclasses import replace

        x, y = self.roc_point(threshold)
        return replace(self.roc, threshold=float(threshold), point_x=x, point_y=y)

    def pr_at(self, threshold: float):
        """``metrics.CurvePoints`` of the PR curve with the point moved to ``threshold``."""
        from dataclasses import replace

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
    from churn_core.errors import BundleError

    ev = getattr(bundle, "evaluation", None) or {}
    val = ev.get("validation", ev.get("val", {})) if isinstance(ev, dict) else {}
    test = ev.get("test", {}) if isinstance(ev, dict) else {}
    y_test = _pick(test, "y", "y_true", "labels")
    p_test = _pick(test, "p", "proba", "churn_probability", "p_calibrated", "probabilities")
    if y_test is None or p_test is None:
        raise BundleError(f"model {getattr(bundle, 'name', '?')!r} records no test-split "
                          "labels and probabilities (evaluation.json)")
    y_val = _pick(val, "y", "y_true", "labels")
    p_val = _pick(val, "p", "proba", "churn_probability", "p_calibrated", "probabilities")
    raw = _pick(test, "p_raw", "proba_raw", "raw")
    from churn_core.evaluate import metrics

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
