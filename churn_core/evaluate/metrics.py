"""Evaluation of churn scores as pure functions: arrays in, arrays or dataclasses out.

Conventions used everywhere in this project:

* ``y_true`` holds 0/1 labels (1 = churned), ``y_score`` the churn probability in [0, 1].
* A customer is **predicted to churn when** ``y_score >= threshold`` (greater than *or equal*).
* Ratios with an empty denominator (precision with no predicted churners, recall with no
  churners...) are 0, as scikit-learn's ``zero_division=0``, and never emit a warning.
* Ranking metrics (ROC-AUC, PR-AUC) need both classes; with a single class they are ``nan``
  (documented, no exception) because the dashboard must still render a scored file.

Every value equals scikit-learn's on the same arrays (see ``tests/test_metrics.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from churn_core.columns import PROBA
from churn_core.errors import ChurnError
from churn_core.evaluate.curve import DEFAULT_THRESHOLD_GRID, ThresholdCurve, ThresholdMetrics


def _sklearn_metric(name: str):
    """``sklearn.metrics.<name>``, imported on its first call: scoring a file uses this module's
    checks but no metric, and importing scikit-learn costs ~0.5 CPU-s per process."""
    def call(*args, **kwargs):
        from sklearn import metrics

        return getattr(metrics, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"scikit-learn's ``sklearn.metrics.{name}`` (imported on first call)."
    return call


average_precision_score = _sklearn_metric("average_precision_score")
brier_score_loss = _sklearn_metric("brier_score_loss")
precision_recall_curve = _sklearn_metric("precision_recall_curve")
roc_auc_score = _sklearn_metric("roc_auc_score")
roc_curve = _sklearn_metric("roc_curve")

__all__ = [
    "ThresholdMetrics",
    "EvaluationReport",
    "CurvePoints",
    "check_labels_scores",
    "check_scores",
    "threshold_metrics",
    "evaluate",
    "roc_points",
    "pr_points",
    "metrics_by_threshold",
    "confusion_counts",
    "DEFAULT_THRESHOLD_GRID",
]



def check_scores(y_score, name: str = PROBA) -> np.ndarray:
    """Return churn scores as a float ndarray after checking they are usable.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    name : str, default "churn_probability"
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples,), dtype float64

    Raises
    ------
    ChurnError
        If the array is not one-dimensional, holds NaN/inf (the first bad position is named),
        or values outside [0, 1].
    """
    p = np.asarray(y_score, dtype=float)
    if p.ndim == 2 and 1 in p.shape:  # a Keras output of shape (n, 1)
        p = p.reshape(-1)
    if p.ndim != 1:
        raise ChurnError(f"{name} must be one-dimensional, got shape {p.shape}")
    bad = ~np.isfinite(p)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ChurnError(
            f"{name} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at position {first}); every customer needs a probability"
        )
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ChurnError(f"{name} must lie in [0, 1]; got values from {p.min():g} to {p.max():g}")
    return p


def check_labels_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Check labels and scores together and return them as ndarrays.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels, 0 (stayed) or 1 (churned); booleans are accepted.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].

    Returns
    -------
    y : ndarray of shape (n_samples,), dtype int64
    p : ndarray of shape (n_samples,), dtype float64

    Raises
    ------
    ChurnError
        On empty input, different lengths, missing labels or labels other than 0/1,
        and everything :func:`check_scores` refuses.
    """
    p = check_scores(y_score)
    y_raw = np.asarray(y_true)
    if y_raw.ndim != 1:
        y_raw = y_raw.reshape(-1)
    if y_raw.shape[0] != p.shape[0]:
        raise ChurnError(f"labels ({y_raw.shape[0]}) and scores ({p.shape[0]}) differ in length")
    if p.size == 0:
        raise ChurnError("no customers to evaluate (empty arrays)")
    y_float = pd.to_numeric(pd.Series(y_raw), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(y_float, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ChurnError(
            f"labels must be 0 or 1; {int(bad.sum())} value(s) are not "
            f"(first at position {first}: {str(y_raw[first])!r})"
        )
    return y_float.astype(np.int64), p


def threshold_metrics(y_true, y_score, threshold: float = 0.5) -> ThresholdMetrics:
    """Compute the confusion matrix and ratios at one decision threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (1 = churned).
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    threshold : float, default 0.5
        Decision threshold; ``y_score >= threshold`` is a predicted churner.

    Returns
    -------
    ThresholdMetrics
        tp, fp, tn, fn, precision = tp/(tp+fp), recall = tp/(tp+fn),
        F1 = 2 tp/(2 tp + fp + fn), accuracy = (tp+tn)/n, specificity = tn/(tn+fp),
        predicted_positive_rate = (tp+fp)/n. Empty denominators give 0.

    Raises
    ------
    ChurnError
        See :func:`check_labels_scores`.
    """
    y, p = check_labels_scores(y_true, y_score)
    return ThresholdCurve(p, y).at(threshold)


@dataclass(frozen=True)
class EvaluationReport:
    """Threshold-free quality of the scores plus the metrics at one threshold.

    ``roc_auc`` and ``pr_auc`` are ``nan`` when only one class is present.
    ``pr_auc`` is scikit-learn's average precision (step-wise, no interpolation).
    """

    n: int
    base_rate: float
    roc_auc: float
    pr_auc: float
    brier: float
    at_threshold: ThresholdMetrics

    @property
    def threshold(self) -> float:
        """The decision threshold of :attr:`at_threshold`."""
        return self.at_threshold.threshold

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (``nan`` becomes ``None``)."""

        def clean(v):
            return None if isinstance(v, float) and not np.isfinite(v) else v

        return {
            "n": int(self.n),
            "base_rate": float(self.base_rate),
            "roc_auc": clean(float(self.roc_auc)),
            "pr_auc": clean(float(self.pr_auc)),
            "brier": float(self.brier),
            "threshold": float(self.threshold),
            "at_threshold": self.at_threshold.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "EvaluationReport":
        """Rebuild a report written by :meth:`to_dict`."""
        at = dict(d["at_threshold"])
        return cls(
            n=int(d["n"]),
            base_rate=float(d["base_rate"]),
            roc_auc=float("nan") if d.get("roc_auc") is None else float(d["roc_auc"]),
            pr_auc=float("nan") if d.get("pr_auc") is None else float(d["pr_auc"]),
            brier=float(d["brier"]),
            at_threshold=ThresholdMetrics(**at),
        )


def _both_classes(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < y.size


def evaluate(y_true, y_score, threshold: float = 0.5) -> EvaluationReport:
    """Evaluate churn probabilities against labels (typically on the test split).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (1 = churned).
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    threshold : float, default 0.5
        Decision threshold for the threshold-dependent metrics.

    Returns
    -------
    EvaluationReport
        ``roc_auc`` (sklearn ``roc_auc_score``), ``pr_auc`` (``average_precision_score``),
        ``brier`` (``brier_score_loss``, mean squared error of the probability), ``base_rate``
        (share of churners), ``n`` and ``at_threshold`` (:func:`threshold_metrics`).
        With a single class present, ``roc_auc`` and ``pr_auc`` are ``nan``.

    Raises
    ------
    ChurnError
        See :func:`check_labels_scores`.
    """
    y, p = check_labels_scores(y_true, y_score)
    if _both_classes(y):
        roc = float(roc_auc_score(y, p))
        ap = float(average_precision_score(y, p))
    else:
        roc = ap = float("nan")
    return EvaluationReport(
        n=int(y.size),
        base_rate=float(y.mean()),
        roc_auc=roc,
        pr_auc=ap,
        brier=float(brier_score_loss(y, p)),
        at_threshold=threshold_metrics(y, p, threshold),
    )


@dataclass(frozen=True)
class CurvePoints:
    """A ROC or PR curve plus the point of the current decision threshold.

    For ROC: ``x`` = false positive rate, ``y`` = true positive rate (recall).
    For PR: ``x`` = recall, ``y`` = precision. ``thresholds[i]`` is the score at which
    ``(x[i], y[i])`` is reached (scikit-learn's arrays; lengths follow scikit-learn).
    ``point_x``, ``point_y`` are the coordinates at ``threshold`` (``>=`` rule).
    """

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray
    threshold: float
    point_x: float
    point_y: float
    auc: float


def roc_points(y_true, y_score, threshold: float = 0.5) -> CurvePoints:
    """ROC curve arrays (scikit-learn ``roc_curve``) and the point at ``threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    threshold : float, default 0.5
        Current decision threshold.

    Returns
    -------
    CurvePoints
        ``x`` = FPR, ``y`` = TPR, ``point_x`` = 1 - specificity, ``point_y`` = recall at the
        threshold, ``auc`` = ROC-AUC.

    Raises
    ------
    ChurnError
        If only one class is present (a ROC curve is undefined), or bad input.
    """
    y, p = check_labels_scores(y_true, y_score)
    if not _both_classes(y):
        raise ChurnError("a ROC curve needs both churners and non-churners in the labels")
    fpr, tpr, thr = roc_curve(y, p)
    m = threshold_metrics(y, p, threshold)
    return CurvePoints(
        x=fpr,
        y=tpr,
        thresholds=thr,
        threshold=float(threshold),
        point_x=1.0 - m.specificity,
        point_y=m.recall,
        auc=float(roc_auc_score(y, p)),
    )


def pr_points(y_true, y_score, threshold: float = 0.5) -> CurvePoints:
    """Precision-recall curve (scikit-learn ``precision_recall_curve``) and the threshold point.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    threshold : float, default 0.5
        Current decision threshold.

    Returns
    -------
    CurvePoints
        ``x`` = recall, ``y`` = precision (scikit-learn's order: recall decreasing, the last
        point is (0, 1) and has no threshold), ``point_x`` = recall, ``point_y`` = precision at
        the threshold, ``auc`` = PR-AUC (average precision).

    Raises
    ------
    ChurnError
        If only one class is present, or bad input.
    """
    y, p = check_labels_scores(y_true, y_score)
    if not _both_classes(y):
        raise ChurnError("a precision-recall curve needs both churners and non-churners")
    prec, rec, thr = precision_recall_curve(y, p)
    m = threshold_metrics(y, p, threshold)
    return CurvePoints(
        x=rec,
        y=prec,
        thresholds=thr,
        threshold=float(threshold),
        point_x=m.recall,
        point_y=m.precision,
        auc=float(average_precision_score(y, p)),
    )


def confusion_counts(y_true, y_score, thresholds) -> dict[str, np.ndarray]:
    """Confusion counts at many thresholds at once (sorting the scores once).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    thresholds : array-like of shape (n_thresholds,)
        Decision thresholds (``>=`` rule).

    Returns
    -------
    dict of str to ndarray of shape (n_thresholds,)
        ``tp``, ``fp``, ``tn``, ``fn`` (int64).

    Notes
    -----
    :meth:`churn_core.evaluate.curve.ThresholdCurve.counts` (scores sorted once):
    O(n log n + m log n) for n customers and m thresholds.
    """
    y, p = check_labels_scores(y_true, y_score)
    c = ThresholdCurve(p, y).counts(thresholds)
    return {k: c[k] for k in ("tp", "fp", "tn", "fn")}


def metrics_by_threshold(y_true, y_score, thresholds=None) -> pd.DataFrame:
    """Precision, recall, F1, accuracy, specificity for many thresholds (vectorised).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    thresholds : array-like of shape (n_thresholds,), optional
        Decision thresholds; default 0.00, 0.01, ..., 1.00.

    Returns
    -------
    DataFrame of shape (n_thresholds, 11)
        Columns ``threshold, tp, fp, tn, fn, precision, recall, f1, accuracy, specificity,
        predicted_positive_rate``; each row equals :func:`threshold_metrics` at that threshold.

    Notes
    -----
    :meth:`churn_core.evaluate.curve.ThresholdCurve.sweep` (scores sorted once), so 100,000
    customers and 101 thresholds take a few milliseconds.
    """
    y, p = check_labels_scores(y_true, y_score)
    return ThresholdCurve(p, y).sweep(thresholds).drop(columns="flagged")
