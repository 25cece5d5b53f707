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
:func:`choose_on_validation` does both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from churn_core.errors import ChurnError
from churn_core.evaluate.curve import ThresholdCurve
from churn_core.evaluate.metrics import (ThresholdMetrics, check_labels_scores, check_scores,
                                         confusion_counts, threshold_metrics)

__all__ = [
    "ThresholdChoice",
    "NetValueCurve",
    "ValidatedChoice",
    "STRATEGIES",
    "rank_order",
    "top_n_mask",
    "manual",
    "max_f1",
    "target_recall",
    "top_n",
    "top_fraction",
    "net_value_per_customer",
    "max_net_value",
    "net_value_curve",
    "choose_on_validation",
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


def net_value_per_customer(y_score, value, cost_per_contact: float, success_rate: float
                           ) -> np.ndarray:
    """Expected net value of contacting each customer.

    ``net_i = p_i * success_rate * value_i - cost_per_contact``: the chance the customer would
    churn, times the chance the offer keeps them, times what keeping them is worth, minus
    the cost of the contact (a standard expected-value / profit-curve calculation, e.g.
    Provost & Fawcett, *Data Science for Business*, ch. 7-8).

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities (calibrated ones make the amounts meaningful).
    value : float or array-like of shape (n_samples,)
        Value of a retained customer: one amount, or per customer (e.g. Balance x margin).
    cost_per_contact : float
        Cost of one contact including the offer (>= 0).
    success_rate : float
        Share of contacted would-be churners the offer retains, in [0, 1].

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    p = check_scores(y_score)
    v = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
    if not np.isfinite(v).all():
        raise ChurnError("customer values must be numbers (a missing value was found)")
    if cost_per_contact < 0:
        raise ChurnError(f"cost per contact must be >= 0, got {cost_per_contact}")
    if not 0.0 <= success_rate <= 1.0:
        raise ChurnError(f"offer success rate must be in [0, 1], got {success_rate}")
    return p * float(success_rate) * v - float(cost_per_contact)


def _net_by_threshold(p, net, budget):
    """Net value of contacting ``p >= t`` for each distinct score t (descending)."""
    order = np.argsort(-p, kind="stable")
    p_desc = p[order]
    cum = np.concatenate(([0.0], np.cumsum(net[order])))
    t = _candidates(p)
    # customers with p >= t are the first `count` of the descending order
    count = ThresholdCurve(p).counts(t)["flagged"]
    total = cum[count]
    if budget is not None:
        keep = count <= budget
        t, count, total = t[keep], count[keep], total[keep]
    return t, count, total, order, cum, p_desc


def max_net_value(y_score, value, cost_per_contact: float, success_rate: float, y=None,
                  budget: int | None = None, tiebreak=None) -> ThresholdChoice:
    """Threshold that maximises the total expected net value of the contacted customers.

    Total(t) = sum over customers with p_i >= t of ``p_i * success_rate * value_i - cost``
    (see :func:`net_value_per_customer`). Every distinct probability is tried as a threshold,
    plus "contact nobody" (total 0). Among equal totals the highest threshold wins.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities (validation split; calibrated if possible).
    value : float or array-like of shape (n_samples,)
        Value of a retained customer (constant or per customer).
    cost_per_contact : float
        Cost of one contact.
    success_rate : float
        Share of would-be churners the offer retains, in [0, 1].
    y : array-like of shape (n_samples,), optional
        Labels; when given the *observed* net value of the chosen list
        (sum of ``y_i * success_rate * value_i - cost``) is added to ``params``.
    budget : int, optional
        At most this many contacts. Thresholds selecting more are excluded; the exact top
        ``budget`` customers (rule of :func:`rank_order`) are also tried, so a tie at the
        boundary cannot waste the budget.
    tiebreak : array-like, optional
        Tie-break key for the budget boundary, see :func:`rank_order`.

    Returns
    -------
    ThresholdChoice
        ``value`` = expected net value of the chosen list. When no list has positive value,
        nobody is contacted: ``n_selected`` is 0 and the threshold is the float just above 1.
    """
    p = check_scores(y_score)
    net = net_value_per_customer(p, value, cost_per_contact, success_rate)
    if budget is not None and int(budget) < 0:
        raise ChurnError(f"contact budget must be >= 0, got {budget}")
    b = None if budget is None else int(budget)
    t, count, total, order, cum, _ = _net_by_threshold(p, net, b)
    best_t, best_total, best_n, selected = None, 0.0, 0, None
    if total.size and total.max() > 0:
        i = int(np.argmax(total))
        best_t, best_total, best_n = float(t[i]), float(total[i]), int(count[i])
    if b is not None and 0 < b < p.size:
        mask = top_n_mask(p, b, tiebreak)
        exact = float(net[mask].sum())
        if exact > best_total + 1e-12:
            best_t, best_total, best_n = float(p[mask].min()), exact, b
            selected = mask if int((p >= best_t).sum()) != b else None
    params = {"value": "per customer" if np.ndim(value) else float(value),
              "cost_per_contact": float(cost_per_contact), "success_rate": float(success_rate),
              "budget": b}
    if best_t is None:
        thr = float(np.nextafter(1.0, np.inf))  # no probability reaches it
        expl = ("No contact list has a positive expected net value with these assumptions: "
                "contact nobody (raise the value or success rate, or lower the cost).")
        chosen = np.zeros(p.size, dtype=bool)
    else:
        thr = best_t
        chosen = selected if selected is not None else p >= thr
        expl = (f"Contacting the {best_n} customers with churn probability >= {thr:.3f} has the "
                f"highest expected net value ({best_total:,.0f})"
                + (f" within the budget of {b} contacts" if b is not None else "") + ".")
    if y is not None:
        yy, _ = check_labels_scores(y, p)
        v = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
        params["observed_net_value"] = float(
            (yy[chosen] * success_rate * v[chosen] - cost_per_contact).sum())
    return ThresholdChoice(thr, "max_net_value", "expected net value", best_total, expl,
                           best_n, params, selected)


@dataclass(frozen=True)
class NetValueCurve:
    """Expected net value versus threshold, with the optimum and near-optimal band.

    Attributes
    ----------
    thresholds : ndarray of shape (n_thresholds,)
    net_value : ndarray of shape (n_thresholds,)
        Total expected net value of contacting ``p >= threshold``.
    n_contacted : ndarray of shape (n_thresholds,)
    best : ThresholdChoice
        Exact optimum from :func:`max_net_value` (over all distinct scores).
    near_optimal : ndarray of bool of shape (n_thresholds,)
        Thresholds whose net value is within ``tolerance`` (relative) of the optimum.
    band : tuple of float
        (lowest, highest) near-optimal threshold on the grid; (nan, nan) when none.
    tolerance : float
    """

    thresholds: np.ndarray
    net_value: np.ndarray
    n_contacted: np.ndarray
    best: ThresholdChoice
    near_optimal: np.ndarray
    band: tuple
    tolerance: float


def net_value_curve(y_score, value, cost_per_contact: float, success_rate: float,
                    thresholds=None, tolerance: float = 0.01, budget: int | None = None
                    ) -> NetValueCurve:
    """Expected net value at each threshold of a grid, for the net-value chart.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Churn probabilities.
    value, cost_per_contact, success_rate
        As in :func:`max_net_value`.
    thresholds : array-like, optional
        Grid; default 0.00, 0.01, ..., 1.00 (the exact optimum is added to it).
    tolerance : float, default 0.01
        Near-optimal = net value >= optimum - tolerance x |optimum| (1 % by default).
    budget : int, optional
        Thresholds that contact more than ``budget`` customers get ``nan`` net value.

    Returns
    -------
    NetValueCurve
    """
    p = check_scores(y_score)
    net = net_value_per_customer(p, value, cost_per_contact, success_rate)
    best = max_net_value(p, value, cost_per_contact, success_rate, budget=budget)
    grid = np.round(np.linspace(0, 1, 101), 2) if thresholds is None else np.asarray(
        thresholds, dtype=float)
    if best.n_selected > 0 and best.selected is None:
        grid = np.unique(np.concatenate([grid, [best.threshold]]))
    curve = ThresholdCurve(p)
    count = curve.counts(grid)["flagged"]
    total = curve.sum_at_or_above(net, grid)
    if budget is not None:
        total = np.where(count <= int(budget), total, np.nan)
    opt = max(best.value, float(np.nanmax(total)) if np.isfinite(total).any() else 0.0)
    with np.errstate(invalid="ignore"):
        near = np.isfinite(total) & (total >= opt - tolerance * abs(opt))
    band = (float(grid[near].min()), float(grid[near].max())) if near.any() else (
        float("nan"), float("nan"))
    return NetValueCurve(grid, total, count, best, near, band, float(tolerance))


@dataclass(frozen=True)
class ValidatedChoice:
    """A threshold chosen on the validation split with its metrics on both splits."""

    choice: ThresholdChoice
    validation: ThresholdMetrics
    test: ThresholdMetrics

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"choice": self.choice.to_dict(), "validation": self.validation.to_dict(),
                "test": self.test.to_dict()}


def choose_on_validation(strategy: str, y_val, p_val, y_test, p_test, **params
                         ) -> ValidatedChoice:
    """Choose a threshold on the validation split and report metrics on the test split.

    Parameters
    ----------
    strategy : str
        A key of :data:`STRATEGIES`.
    y_val, p_val : array-like of shape (n_val,)
        Validation labels and probabilities (the threshold is chosen here).
    y_test, p_test : array-like of shape (n_test,)
        Test labels and probabilities (only evaluated at the chosen threshold).
    **params
        The strategy's own arguments: ``threshold`` (manual), ``recall`` (target_recall),
        ``n`` (top_n), ``fraction`` (top_fraction), ``value``, ``cost_per_contact``,
        ``success_rate``, ``budget`` (max_net_value; a per-customer ``value`` must match
        the validation rows).

    Returns
    -------
    ValidatedChoice
        The test metrics apply the threshold with the ``>=`` rule (a top-N count chosen on
        validation becomes a probability cut-off on test, so the test count can differ).
    """
    if strategy == "manual":
        choice = manual(params["threshold"], y_val, p_val)
    elif strategy == "max_f1":
        choice = max_f1(y_val, p_val)
    elif strategy == "target_recall":
        choice = target_recall(y_val, p_val, params["recall"])
    elif strategy == "top_n":
        choice = top_n(p_val, params["n"])
    elif strategy == "top_fraction":
        choice = top_fraction(p_val, params["fraction"])
    elif strategy == "max_net_value":
        choice = max_net_value(p_val, params["value"], params["cost_per_contact"],
                               params["success_rate"], y=y_val, budget=params.get("budget"))
    else:
        raise ChurnError(f"unknown threshold strategy {strategy!r}; choose one of "
                         + ", ".join(STRATEGIES))
    # A "contact nobody" choice has a threshold just above 1: no score reaches it.
    val_metrics = threshold_metrics(y_val, p_val, choice.threshold)
    test_metrics = threshold_metrics(y_test, p_test, choice.threshold)
    return ValidatedChoice(choice, val_metrics, test_metrics)
