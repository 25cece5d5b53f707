"""Decision-threshold strategies: where to put the threshold, and why.

Every strategy is a pure function returning a :class:`ThresholdChoice` (threshold, strategy
name, objective value, and a one-sentence explanation for analysts). A customer is contacted
(predicted churner) when ``churn_probability >= threshold``.

Ranking rule (used by :func:`top_n`, the budget of :func:`max_net_value`, risk tiers by
capacity and the export's ``rank``): customers are ordered by churn probability, highest first;
**ties are broken by the tie-break key ascending (e.g. the customer ID), else by row position**
(earlier row first). :func:`rank_order` implements it; a list of "exactly N" customers is the
first N of that order, even when the N-th probability is shared by more customers.

Strategies must be chosen on the validation split and reported on the test split:
:func:`churn_core.evaluate.strategies.choose_on_validation` does both. The value-based
strategy (:func:`~churn_core.evaluate.net_value.max_net_value`) lives in
:mod:`churn_core.evaluate.net_value`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import (check_labels_scores, check_scores, confusion_counts,
                                         threshold_metrics)

__all__ = [
    "ThresholdChoice",
    "STRATEGIES",
    "rank_order",
    "top_n_mask",
    "manual",
    "max_f1",
    "target_recall",
    "top_n",
    "top_fraction",
]

#: Strategy names and the label shown in the dashboard.
STRATEGIES = {
    "manual": "Manual (slider)",
    "max_f1": "Maximise F1",
    "target_recall": "Reach a target recall",
    "top_n": "Contact budget: top N customers",
    "top_fraction": "Contact budget: top k %",
    "max_net_value": "Maximise expected net value",
}


@dataclass(frozen=True)
class ThresholdChoice:
    """A decision threshold with the reason it was chosen.

    Attributes
    ----------
    threshold : float
        Contact customers with ``churn_probability >= threshold``.
    strategy : str
        One of :data:`STRATEGIES`.
    objective : str
        What the strategy optimised or targeted (e.g. ``"F1"``, ``"expected net value"``).
    value : float
        The objective's value at the chosen threshold on the data it was chosen on.
    explanation : str
        One plain sentence for analysts.
    n_selected : int
        Customers selected on the data the choice was made on.
    params : dict
        The strategy's inputs (JSON-ready), for the decision log.
    selected : ndarray of bool of shape (n_samples,) or None
        The exact selection when it differs from ``p >= threshold`` (ties at a top-N
        boundary); ``None`` otherwise.
    """

    threshold: float
    strategy: str
    objective: str
    value: float
    explanation: str
    n_selected: int
    params: dict = field(default_factory=dict)
    selected: np.ndarray | None = field(default=None, repr=False, compare=False)

    def mask(self, p) -> np.ndarray:
        """Return who is selected among scores ``p``.

        Parameters
        ----------
        p : array-like of shape (n_samples,)
            Churn probabilities; when they are the scores the choice was made on and a tie
            was broken, the exact selection is returned.

        Returns
        -------
        ndarray of bool of shape (n_samples,)
        """
        p = check_scores(p)
        if self.selected is not None and self.selected.shape == p.shape:
            return self.selected.copy()
        return p >= self.threshold

    def to_dict(self) -> dict:
        """JSON-ready dict (without the selection mask)."""
        return {
            "threshold": float(self.threshold),
            "strategy": self.strategy,
            "objective": self.objective,
            "value": None if not np.isfinite(self.value) else float(self.value),
            "explanation": self.explanation,
            "n_selected": int(self.n_selected),
            "params": dict(self.params),
        }


def rank_order(p, tiebreak=None) -> np.ndarray:
    """Return row indices from highest to lowest churn probability.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    tiebreak : array-like of shape (n_samples,), optional
        Key sorted ascending among equal probabilities (e.g. customer IDs). Default: the row
        position, so earlier rows come first.

    Returns
    -------
    ndarray of int of shape (n_samples,)
        ``order[0]`` is the row with rank 1.

    Raises
    ------
    ChurnError
        Bad scores, or a tie-break key of another length.
    """
    p = check_scores(p)
    if tiebreak is None:
        key = np.arange(p.size)
    else:
        key = np.asarray(tiebreak)
        if key.shape[0] != p.size:
            raise ChurnError(f"tie-break key has {key.shape[0]} values for {p.size} customers")
    # lexsort: last key is primary. Stable for the remaining equal pairs.
    return np.lexsort((np.arange(p.size), key, -p))


def top_n_mask(p, n: int, tiebreak=None) -> np.ndarray:
    """Boolean mask of exactly ``min(n, len(p))`` customers: the first of :func:`rank_order`.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities.
    n : int
        Number of customers to select (>= 0).
    tiebreak : array-like of shape (n_samples,), optional
        See :func:`rank_order`.

    Returns
    -------
    ndarray of bool of shape (n_samples,)
    """
    p = check_scores(p)
    if int(n) < 0:
        raise ChurnError(f"the number of customers must be >= 0, got {n}")
    mask = np.zeros(p.size, dtype=bool)
    mask[rank_order(p, tiebreak)[: int(n)]] = True
    return mask


def manual(threshold: float, y=None, p=None) -> ThresholdChoice:
    """The analyst's own threshold (the slider).

    Parameters
    ----------
    threshold : float
        In [0, 1].
    y, p : array-like of shape (n_samples,), optional
        When given, ``n_selected`` and ``value`` (F1, needs ``y``) are filled in.

    Returns
    -------
    ThresholdChoice
    """
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise ChurnError(f"decision threshold must be in [0, 1], got {threshold}")
    n_sel, f1 = 0, float("nan")
    if p is not None:
        pp = check_scores(p)
        n_sel = int((pp >= t).sum())
        if y is not None:
            f1 = threshold_metrics(y, pp, t).f1
    return ThresholdChoice(t, "manual", "F1", f1, f"Threshold {t:.2f} set by hand.", n_sel,
                           {"threshold": t})


def _candidates(p: np.ndarray) -> np.ndarray:
    """Distinct scores, highest first: every threshold that changes the selection."""
    return np.unique(p)[::-1]


def max_f1(y_true, y_score) -> ThresholdChoice:
    """Threshold with the highest F1 score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (use the validation split).
    y_score : array-like of shape (n_samples,)
        Churn probabilities.

    Returns
    -------
    ThresholdChoice
        Threshold = one of the distinct scores; among equal F1 the highest threshold (the
        shortest contact list) wins. ``value`` = F1 = 2 tp / (2 tp + fp + fn).

    Raises
    ------
    ChurnError
        When there are no churners (F1 is 0 everywhere).
    """
    y, p = check_labels_scores(y_true, y_score)
    if y.sum() == 0:
        raise ChurnError("F1 cannot be maximised: the labels hold no churners")
    t = _candidates(p)
    c = confusion_counts(y, p, t)
    f1 = 2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"])
    i = int(np.argmax(f1))  # first maximum = highest threshold
    thr = float(t[i])
    n_sel = int(c["tp"][i] + c["fp"][i])
    return ThresholdChoice(
        thr, "max_f1", "F1", float(f1[i]),
        f"Threshold {thr:.3f} gives the best balance of precision and recall (F1 = {f1[i]:.3f}); "
        f"{n_sel} of {p.size} customers are flagged.",
        n_sel, {},
    )


def target_recall(y_true, y_score, recall: float) -> ThresholdChoice:
    """The highest threshold whose recall reaches ``recall`` (so the best precision).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (validation split).
    y_score : array-like of shape (n_samples,)
        Churn probabilities.
    recall : float
        Share of churners to catch, in (0, 1].

    Returns
    -------
    ThresholdChoice
        ``value`` = the recall reached (>= target); precision is in the explanation.

    Notes
    -----
    Recall is non-increasing in the threshold, so the highest distinct score ``t`` with
    ``recall(t) >= target`` is found with one pass over the sorted scores. Because recall is
    monotone, every lower threshold also reaches the target but flags more customers.
    """
    y, p = check_labels_scores(y_true, y_score)
    r = float(recall)
    if not 0.0 < r <= 1.0:
        raise ChurnError(f"target recall must be in (0, 1], got {recall}")
    if y.sum() == 0:
        raise ChurnError("a target recall needs churners in the labels")
    t = _candidates(p)
    c = confusion_counts(y, p, t)
    rec = c["tp"] / (c["tp"] + c["fn"])
    i = int(np.flatnonzero(rec >= r - 1e-12)[0])  # thresholds descend: first hit is highest
    thr = float(t[i])
    tp, fp = int(c["tp"][i]), int(c["fp"][i])
    prec = tp / (tp + fp)
    return ThresholdChoice(
        thr, "target_recall", "recall", float(rec[i]),
        f"Threshold {thr:.3f} is the highest that catches at least {r:.0%} of churners "
        f"(recall {rec[i]:.1%}, precision {prec:.1%}); {tp + fp} customers are flagged.",
        tp + fp, {"recall": r},
    )


def top_n(y_score, n: int, tiebreak=None) -> ThresholdChoice:
    """Exactly ``n`` customers with the highest churn probability (a contact budget).

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities.
    n : int
        Number of customers the team can contact (>= 1; capped at the number of customers).
    tiebreak : array-like of shape (n_samples,), optional
        Tie-break key (e.g. customer ID); default row position. See :func:`rank_order`.

    Returns
    -------
    ThresholdChoice
        Threshold = the probability of the N-th customer; ``selected`` holds exactly N
        customers when customers tied at that probability had to be split.
        ``value`` = expected churners among them (sum of probabilities).
    """
    p = check_scores(y_score)
    if p.size == 0:
        raise ChurnError("no customers to choose from")
    n = int(n)
    if n < 1:
        raise ChurnError(f"the contact budget must be at least 1 customer, got {n}")
    n = min(n, p.size)
    order = rank_order(p, tiebreak)
    mask = np.zeros(p.size, dtype=bool)
    mask[order[:n]] = True
    thr = float(p[order[n - 1]])
    tied_out = int(((p == thr) & ~mask).sum())
    note = (f" {tied_out} customer(s) with the same probability were left out by the tie rule "
            "(customer ID / row order)." if tied_out else "")
    return ThresholdChoice(
        thr, "top_n", "expected churners", float(p[mask].sum()),
        f"The {n} customers with the highest churn probability (>= {thr:.3f}); "
        f"about {p[mask].sum():.0f} of them are expected to churn.{note}",
        n, {"n": n}, mask if tied_out else None,
    )


def top_fraction(y_score, fraction: float, tiebreak=None) -> ThresholdChoice:
    """The top ``fraction`` of customers: :func:`top_n` with N = ceil(fraction x customers).

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities.
    fraction : float
        Share of customers to contact, in (0, 1].
    tiebreak : array-like of shape (n_samples,), optional
        See :func:`rank_order`.

    Returns
    -------
    ThresholdChoice
    """
    p = check_scores(y_score)
    f = float(fraction)
    if not 0.0 < f <= 1.0:
        raise ChurnError(f"the share of customers must be in (0, 1], got {fraction}")
    n = max(1, math.ceil(f * p.size - 1e-9))
    c = top_n(p, n, tiebreak)
    return ThresholdChoice(c.threshold, "top_fraction", c.objective, c.value,
                           f"Top {f:.0%} of customers: " + c.explanation, c.n_selected,
                           {"fraction": f, "n": n}, c.selected)
