"""Value-based decision threshold: contact the customers whose expected net value of a
retention offer is worth it (``p * success_rate * value - cost``), within a contact budget.

Uses the ranking rule and :class:`~churn_core.evaluate.thresholds.ThresholdChoice` of
:mod:`churn_core.evaluate.thresholds`; totals at many thresholds come from one
:class:`~churn_core.evaluate.curve.ThresholdCurve`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_core.errors import ChurnError
from churn_core.evaluate.curve import ThresholdCurve
from churn_core.evaluate.metrics import check_labels_scores, check_scores
from churn_core.evaluate.thresholds import ThresholdChoice, _candidates, top_n_mask

__all__ = ["NetValueCurve", "net_value_per_customer", "max_net_value", "net_value_curve"]


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
