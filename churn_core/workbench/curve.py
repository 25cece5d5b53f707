"""Metrics at any decision threshold from probabilities sorted once.

Sorting costs ``O(n log n)`` once; each threshold then costs one ``numpy.searchsorted``
(``O(log n)``), which keeps the threshold slider fast. Convention: a customer is a predicted
churner when ``churn_probability >= decision_threshold``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_core.evaluate.metrics import ThresholdMetrics


@dataclass(frozen=True)
class ThresholdCounts:
    """Confusion counts and metrics at one decision threshold.

    Attributes
    ----------
    threshold : float
        Decision threshold in [0, 1]; predicted churn means probability >= threshold.
    tp, fp, tn, fn : int
        Confusion-matrix counts (0 when labels are unknown).
    flagged : int
        Customers predicted to churn (``tp + fp``).
    n : int
        Customers.
    precision, recall, f1, accuracy, specificity : float
        Standard definitions (scikit-learn's, with 0 where a denominator is 0);
        NaN when labels are unknown.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    flagged: int
    n: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    specificity: float

    def to_metrics(self):
        """The same numbers as ``metrics.ThresholdMetrics`` (for ``figures`` and tests)."""

        n = self.tp + self.fp + self.tn + self.fn
        return ThresholdMetrics(self.threshold, self.tp, self.fp, self.tn, self.fn,
                                self.precision, self.recall, self.f1, self.accuracy,
                                self.specificity, (self.tp + self.fp) / n if n else 0.0)


class ThresholdCurve:
    """Metrics at any decision threshold from probabilities sorted once.

    Sorting costs ``O(n log n)`` once; each threshold then costs one
    ``numpy.searchsorted`` (``O(log n)``), which is what keeps the threshold slider fast on
    100,000 customers.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    y : array-like of shape (n_samples,), optional
        1 = churned, 0 = stayed. Rows with NaN labels are ignored for the confusion
        counts but still counted in ``flagged``.
    """

    def __init__(self, p, y=None):
        p = np.asarray(p, dtype=float)
        order = np.argsort(p, kind="stable")
        self._p_sorted = p[order]
        self.n = int(len(p))
        self.has_labels = y is not None
        if y is not None:
            y = np.asarray(y, dtype=float)
            known = ~np.isnan(y)
            ys = np.where(known, y, 0.0)[order]
            ks = known[order].astype(np.int64)
            # suffix sums: positives / labelled rows with probability >= p_sorted[i]
            self._pos_ge = np.concatenate([np.cumsum(ys[::-1])[::-1], [0.0]]).astype(np.int64)
            self._known_ge = np.concatenate([np.cumsum(ks[::-1])[::-1], [0]])
            self.n_pos = int(self._pos_ge[0])
            self.n_known = int(self._known_ge[0])

    def flagged(self, threshold: float) -> int:
        """Number of customers with probability >= ``threshold``."""
        return int(self.n - np.searchsorted(self._p_sorted, threshold, side="left"))

    def at(self, threshold: float) -> ThresholdCounts:
        """Return :class:`ThresholdCounts` at ``threshold``.

        Parameters
        ----------
        threshold : float
            Decision threshold in [0, 1].

        Returns
        -------
        ThresholdCounts
        """
        t = float(threshold)
        i = int(np.searchsorted(self._p_sorted, t, side="left"))
        flagged = self.n - i
        if not self.has_labels:
            nan = float("nan")
            return ThresholdCounts(t, 0, 0, 0, 0, flagged, self.n, nan, nan, nan, nan, nan)
        tp = int(self._pos_ge[i])
        known_flagged = int(self._known_ge[i])
        fp = known_flagged - tp
        fn = self.n_pos - tp
        tn = (self.n_known - self.n_pos) - fp

        def ratio(a, b):
            return float(a / b) if b else 0.0

        precision = ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = ratio(2 * tp, 2 * tp + fp + fn)
        return ThresholdCounts(t, tp, fp, tn, fn, flagged, self.n, precision, recall, f1,
                               ratio(tp + tn, self.n_known), ratio(tn, tn + fp))

    def sweep(self, thresholds=None) -> pd.DataFrame:
        """Metrics for many thresholds (for the metrics-versus-threshold chart).

        Parameters
        ----------
        thresholds : array-like, optional
            Defaults to 101 points from 0 to 1.

        Returns
        -------
        DataFrame
            One row per threshold: ``threshold, precision, recall, f1, accuracy,
            specificity, flagged``.
        """
        ts = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds)
        rows = [self.at(t) for t in ts]
        return pd.DataFrame([{"threshold": r.threshold, "precision": r.precision,
                              "recall": r.recall, "f1": r.f1, "accuracy": r.accuracy,
                              "specificity": r.specificity, "flagged": r.flagged}
                             for r in rows])
