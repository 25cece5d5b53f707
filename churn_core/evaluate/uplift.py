"""Uplift evaluation: the Qini curve and coefficient, uplift by decile, and the difference of
two churn rates with its confidence interval.

Conventions: ``y`` is the churn outcome (1 = left), ``treatment`` is 1 for customers who were
called (or assigned to be called) and 0 for the control group, and *uplift* is the reduction
of the churn rate caused by the call, ``rate(control) - rate(treatment)``: positive when
calling helps. Curves rank customers by a score, highest first.

References
----------
N. J. Radcliffe, "Using control groups to target on predicted lift: building and assessing
uplift models", Direct Marketing Analytics Journal, 2007 (the Qini curve and coefficient).
P. Gutierrez and J.-Y. Gérardy, "Causal inference and uplift modelling: a review of the
literature", PMLR 67, 2017. R. G. Newcombe, "Interval estimation for the difference between
independent proportions: comparison of eleven methods", Statistics in Medicine 17, 1998
(method 10, the hybrid score interval, computed by ``statsmodels``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep

from churn_core.errors import ChurnError


def _arrays(y, treatment, score=None):
    y = np.asarray(y, dtype=float).ravel()
    t = np.asarray(treatment, dtype=float).ravel()
    if len(y) != len(t) or (score is not None and len(np.ravel(score)) != len(y)):
        raise ChurnError("outcome, treatment and score must have the same length")
    if not len(y):
        raise ChurnError("no customers to evaluate")
    for name, a in (("outcome", y), ("treatment", t)):
        if not np.isin(a, (0.0, 1.0)).all():
            raise ChurnError(f"the {name} must be 0 or 1 for every customer")
    if not (t == 1).any() or not (t == 0).any():
        raise ChurnError("uplift needs customers in both groups (called and control)")
    if score is None:
        return y, t
    s = np.asarray(score, dtype=float).ravel()
    if not np.isfinite(s).all():
        raise ChurnError("the ranking score has missing or infinite values")
    return y, t, s


def qini_curve(y, treatment, score) -> tuple[np.ndarray, np.ndarray]:
    """Qini curve: customers saved by calling the top of a ranking.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Churn outcome, 0/1.
    treatment : array-like of shape (n_samples,)
        1 = called, 0 = control.
    score : array-like of shape (n_samples,)
        Ranking score (e.g. predicted uplift); higher is called first; ties keep row order.

    Returns
    -------
    fraction : ndarray of shape (n_samples + 1,)
        Share of customers targeted, 0 to 1.
    qini : ndarray of shape (n_samples + 1,)
        ``Q(k) = C_c(k) * N_t(k) / N_c(k) - C_t(k)``: churners among the top-``k`` control
        customers scaled to the treated count, minus churners among the top-``k`` treated,
        i.e. the customers the call kept (Radcliffe 2007, with churn as the outcome to
        avoid); 0 while no control customer is in the top ``k``.
    """
    y, t, s = _arrays(y, treatment, score)
    order = np.argsort(-s, kind="stable")
    y, t = y[order], t[order]
    n_t = np.concatenate([[0.0], np.cumsum(t)])
    n_c = np.concatenate([[0.0], np.cumsum(1 - t)])
    c_t = np.concatenate([[0.0], np.cumsum(y * t)])
    c_c = np.concatenate([[0.0], np.cumsum(y * (1 - t))])
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, c_c * n_t / np.where(n_c > 0, n_c, 1) - c_t, 0.0)
    return np.arange(len(y) + 1) / len(y), q


def qini_coefficient(y, treatment, score) -> float:
    """Area between the Qini curve and the random-targeting line, per customer.

    Both axes are divided by the number of customers ``n``; the random line runs from
    (0, 0) to (1, Q(n) / n). Positive: the ranking finds the customers a call keeps better
    than calling at random; 0: no better than random (Radcliffe 2007).

    Parameters
    ----------
    y, treatment, score : array-like of shape (n_samples,)
        As for :func:`qini_curve`.

    Returns
    -------
    float
    """
    x, q = qini_curve(y, treatment, score)
    q = q / len(q[1:])
    random_area = q[-1] / 2.0
    return float(np.trapezoid(q, x) - random_area)


def uplift_by_decile(y, treatment, score, bins: int = 10, predicted=None, truth=None) -> pd.DataFrame:
    """Observed uplift in each tenth of a ranking (decile 1 = highest score).

    Parameters
    ----------
    y, treatment, score : array-like of shape (n_samples,)
        As for :func:`qini_curve`.
    bins : int, default 10
    predicted : array-like of shape (n_samples,), optional
        Predicted uplift per customer: its mean per decile is added.
    truth : array-like of shape (n_samples,), optional
        Known true uplift (synthetic data only): its mean per decile is added.

    Returns
    -------
    DataFrame
        One row per decile: ``decile``, ``customers``, ``called``, ``control``,
        ``churn_rate_called``, ``churn_rate_control``, ``observed_uplift`` (control minus
        called rate; NaN when a group is empty), and ``predicted_uplift`` / ``true_uplift``.
    """
    y, t, s = _arrays(y, treatment, score)
    order = np.argsort(-s, kind="stable")
    groups = np.array_split(order, bins)
    rows = []
    for i, idx in enumerate(groups, start=1):
        tt, yy = t[idx], y[idx]
        r_t = yy[tt == 1].mean() if (tt == 1).any() else np.nan
        r_c = yy[tt == 0].mean() if (tt == 0).any() else np.nan
        row = {"decile": i, "customers": len(idx), "called": int(tt.sum()),
               "control": int((1 - tt).sum()), "churn_rate_called": r_t,
               "churn_rate_control": r_c, "observed_uplift": r_c - r_t}
        if predicted is not None:
            row["predicted_uplift"] = float(np.asarray(predicted, dtype=float)[idx].mean())
        if truth is not None:
            row["true_uplift"] = float(np.asarray(truth, dtype=float)[idx].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class RateDifference:
    """Churn rate of the control group minus that of the called group, with a 95 % interval.

    Attributes
    ----------
    n_called, churned_called, n_control, churned_control : int
    rate_called, rate_control : float
        Churn rates in [0, 1] (NaN for an empty group).
    uplift : float
        ``rate_control - rate_called``: the churn the call prevented, per called customer.
    low, high : float
        95 % Newcombe hybrid score interval of ``uplift`` (NaN when a group is empty).
    """

    n_called: int
    churned_called: int
    n_control: int
    churned_control: int
    rate_called: float
    rate_control: float
    uplift: float
    low: float
    high: float


def rate_difference(churned_called: int, n_called: int, churned_control: int, n_control: int,
                    alpha: float = 0.05) -> RateDifference:
    """Uplift of a campaign with its confidence interval.

    Parameters
    ----------
    churned_called, n_called : int
        Churners and customers in the called (treatment) group.
    churned_control, n_control : int
        Churners and customers in the control group.
    alpha : float, default 0.05
        1 - confidence level.

    Returns
    -------
    RateDifference
        The interval is Newcombe's hybrid score interval (method 10, from two Wilson
        intervals), computed by ``statsmodels.stats.proportion.confint_proportions_2indep``
        with ``method="newcomb"``; it stays inside [-1, 1] and behaves at rates near 0 or 1.
    """
    nan = float("nan")
    r_t = churned_called / n_called if n_called else nan
    r_c = churned_control / n_control if n_control else nan
    low = high = nan
    if n_called and n_control:
        # difference (control - called) = -(called - control)
        lo, hi = confint_proportions_2indep(churned_control, n_control, churned_called, n_called,
                                            method="newcomb", compare="diff", alpha=alpha)
        low, high = float(lo), float(hi)
    return RateDifference(int(n_called), int(churned_called), int(n_control), int(churned_control),
                          float(r_t), float(r_c), float(r_c - r_t), low, high)
