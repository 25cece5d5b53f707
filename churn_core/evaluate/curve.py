"""Metrics at a decision threshold: one result type (:class:`ThresholdMetrics`) and one
way to get it for any threshold (:class:`ThresholdCurve`).

Like scikit-learn keeps one Display per concept, the project keeps one threshold curve:
the scores are sorted once (``O(n log n)``); the confusion counts at any threshold are then
one ``numpy.searchsorted`` (``O(log n)``) plus a look-up in suffix sums of the sorted labels,
which is what keeps the threshold slider fast on 100,000 customers. Every other place that
needs counts at thresholds (``metrics.threshold_metrics``, ``metrics.metrics_by_threshold``,
``metrics.confusion_counts``, threshold strategies, lift, net value) goes through it.

Convention: a customer is a predicted churner when ``churn_probability >= threshold``;
ratios with an empty denominator are 0 (scikit-learn's ``zero_division=0``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: Thresholds 0.00, 0.01, ..., 1.00 used by :meth:`ThresholdCurve.sweep` by default.
DEFAULT_THRESHOLD_GRID = np.round(np.linspace(0.0, 1.0, 101), 2)


def _ratio(num, den):
    """Element-wise num/den with 0 where den == 0 (scikit-learn's ``zero_division=0``)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.zeros(np.broadcast(num, den).shape, dtype=float)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True)
class ThresholdMetrics:
    """Confusion matrix and the usual ratios at one decision threshold.

    A customer counts as a predicted churner when ``churn_probability >= threshold``.
    Precision, recall, F1 and specificity are 0 when their denominator is 0, and NaN when
    no customer has a known label.

    Attributes
    ----------
    threshold : float
        Decision threshold in [0, 1].
    tp, fp, tn, fn : int
        Confusion counts over the customers with a known label.
    precision, recall, f1, accuracy, specificity : float
        tp/(tp+fp), tp/(tp+fn), 2tp/(2tp+fp+fn), (tp+tn)/n, tn/(tn+fp).
    predicted_positive_rate : float
        ``flagged / customers``.
    flagged : int
        Customers at or above the threshold, labelled or not (the size of a contact list);
        default ``tp + fp``.
    customers : int
        Every customer, labelled or not; default ``tp + fp + tn + fn``.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    specificity: float
    predicted_positive_rate: float
    flagged: int | None = None
    customers: int | None = None

    def __post_init__(self):
        if self.flagged is None:
            object.__setattr__(self, "flagged", int(self.tp + self.fp))
        if self.customers is None:
            object.__setattr__(self, "customers", int(self.tp + self.fp + self.tn + self.fn))

    @property
    def n(self) -> int:
        """Number of customers with a known label."""
        return self.tp + self.fp + self.tn + self.fn

    @property
    def predicted_positives(self) -> int:
        """Labelled customers at or above the threshold."""
        return self.tp + self.fp

    @property
    def false_positive_rate(self) -> float:
        """fp / (fp + tn): the ROC curve's x at this threshold (0 without negatives)."""
        return float(_ratio(self.fp, self.fp + self.tn))

    def confusion_matrix(self) -> np.ndarray:
        """Return the matrix in scikit-learn's layout.

        Returns
        -------
        ndarray of shape (2, 2)
            ``[[tn, fp], [fn, tp]]``: rows are actual (stayed, churned), columns predicted.
        """
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict of every field."""
        return {k: (float(v) if isinstance(v, float) else int(v)) for k, v in asdict(self).items()}


class ThresholdCurve:
    """Confusion counts and metrics at any decision threshold, from scores sorted once.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    y : array-like of shape (n_samples,), optional
        1 = churned, 0 = stayed. NaN labels (unknown outcome) are left out of the confusion
        counts but still counted in ``flagged``. Without ``y`` only ``flagged`` is known.

    Notes
    -----
    With the scores sorted ascending, the customers at or above ``t`` are those from index
    ``searchsorted(sorted, t, side="left")`` on; the churners among them are a suffix sum of
    the sorted labels. Cost: ``O(n log n)`` once, then ``O(log n)`` per threshold.
    """

    def __init__(self, p, y=None):
        p = np.asarray(p, dtype=float).reshape(-1)
        self._order = np.argsort(p, kind="stable")
        self._p_sorted = p[self._order]
        self.n = int(p.size)
        self.has_labels = y is not None
        if y is not None:
            y = np.asarray(y, dtype=float).reshape(-1)
            known = ~np.isnan(y)
            ys = np.where(known, y, 0.0)[self._order].astype(np.int64)
            ks = known[self._order].astype(np.int64)
            # suffix sums: churners / labelled customers with probability >= p_sorted[i]
            self._pos_ge = np.concatenate([np.cumsum(ys[::-1])[::-1], [0]])
            self._known_ge = np.concatenate([np.cumsum(ks[::-1])[::-1], [0]])
            self.n_pos = int(self._pos_ge[0])
            self.n_known = int(self._known_ge[0])

    def _index(self, thresholds) -> np.ndarray:
        return np.searchsorted(self._p_sorted, np.asarray(thresholds, dtype=float), side="left")

    def flagged(self, threshold: float) -> int:
        """Number of customers with probability >= ``threshold``."""
        return int(self.n - self._index(float(threshold)))

    def counts(self, thresholds) -> dict[str, np.ndarray]:
        """Confusion counts at many thresholds at once.

        Parameters
        ----------
        thresholds : array-like of shape (n_thresholds,)

        Returns
        -------
        dict of str to ndarray of shape (n_thresholds,), int64
            ``tp``, ``fp``, ``tn``, ``fn`` (labelled customers) and ``flagged`` (all).
        """
        i = self._index(np.asarray(thresholds, dtype=float).reshape(-1))
        flagged = (self.n - i).astype(np.int64)
        if not self.has_labels:
            zero = np.zeros_like(flagged)
            return {"tp": zero, "fp": zero, "tn": zero, "fn": zero, "flagged": flagged}
        tp = self._pos_ge[i].astype(np.int64)
        fp = (self._known_ge[i] - tp).astype(np.int64)
        fn = (self.n_pos - tp).astype(np.int64)
        tn = ((self.n_known - self.n_pos) - fp).astype(np.int64)
        return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "flagged": flagged}

    def sum_at_or_above(self, values, thresholds) -> np.ndarray:
        """Sum of a per-customer value over the customers at or above each threshold.

        Parameters
        ----------
        values : array-like of shape (n_samples,)
            E.g. the expected net value of contacting each customer.
        thresholds : array-like of shape (n_thresholds,)

        Returns
        -------
        ndarray of shape (n_thresholds,), float
        """
        v = np.asarray(values, dtype=float).reshape(-1)[self._order]
        suffix = np.concatenate([np.cumsum(v[::-1])[::-1], [0.0]])
        return suffix[self._index(np.asarray(thresholds, dtype=float).reshape(-1))]

    def _columns(self, t: np.ndarray) -> dict[str, np.ndarray]:
        c = self.counts(t)
        tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
        if self.has_labels and self.n_known:
            ratios = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
                      "f1": _ratio(2 * tp, 2 * tp + fp + fn),
                      "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
                      "specificity": _ratio(tn, tn + fp)}
        else:
            ratios = {k: np.full(t.shape, np.nan)
                      for k in ("precision", "recall", "f1", "accuracy", "specificity")}
        return {"threshold": t.astype(float), "tp": tp, "fp": fp, "tn": tn, "fn": fn, **ratios,
                "predicted_positive_rate": _ratio(c["flagged"], self.n),
                "flagged": c["flagged"]}

    def sweep(self, thresholds=None) -> pd.DataFrame:
        """Metrics at many thresholds (the metrics-versus-threshold chart, strategies).

        Parameters
        ----------
        thresholds : array-like of shape (n_thresholds,), optional
            Default 0.00, 0.01, ..., 1.00 (:data:`DEFAULT_THRESHOLD_GRID`).

        Returns
        -------
        DataFrame of shape (n_thresholds, 12)
            Columns ``threshold, tp, fp, tn, fn, precision, recall, f1, accuracy,
            specificity, predicted_positive_rate, flagged``; row ``k`` equals
            ``self.at(thresholds[k])``. Ratios are NaN without labels.
        """
        t = DEFAULT_THRESHOLD_GRID if thresholds is None else np.asarray(thresholds, dtype=float)
        return pd.DataFrame(self._columns(t.reshape(-1)))

    def at(self, threshold: float) -> ThresholdMetrics:
        """Return :class:`ThresholdMetrics` at ``threshold``.

        Parameters
        ----------
        threshold : float
            Decision threshold in [0, 1].

        Returns
        -------
        ThresholdMetrics
        """
        col = self._columns(np.array([float(threshold)]))
        ints = {k: int(col[k][0]) for k in ("tp", "fp", "tn", "fn", "flagged")}
        floats = {k: float(col[k][0]) for k in ("precision", "recall", "f1", "accuracy",
                                                 "specificity", "predicted_positive_rate")}
        return ThresholdMetrics(threshold=float(threshold), **ints, **floats, customers=self.n)
