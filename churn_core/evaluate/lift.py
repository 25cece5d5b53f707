"""Lift and cumulative gains: how much better than random is contacting the top of the list.

Customers are ranked by churn probability (highest first, ties by row position, the rule of
:func:`churn_core.evaluate.thresholds.rank_order`) and cut into ``n_bins`` groups of equal size
(deciles by default; with n not divisible by ``n_bins`` the first groups get one customer
more, as ``numpy.array_split``).

* churn rate of a group = churners / customers in it;
* **lift** = churn rate of the group / overall churn rate (1 = no better than random);
* **cumulative gains** = share of all churners found in the top groups so far.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import check_labels_scores, confusion_counts
from churn_core.evaluate.thresholds import rank_order

__all__ = ["lift_table", "cumulative_gains", "top_decile_lift"]


def lift_table(y_true, y_score, n_bins: int = 10, *, bins: int | None = None) -> pd.DataFrame:
    """Lift table by group of equal size (deciles by default), highest risk first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    n_bins : int, default 10
        Number of groups (10 = deciles). ``bins`` is an alias.

    Returns
    -------
    DataFrame of shape (n_bins, 12)
        ``group`` (1 = highest probabilities), ``customers``, ``churners``, ``churn_rate``,
        ``lift``, ``min_probability``, ``max_probability``, ``mean_probability``,
        ``cumulative_customers``, ``cumulative_churners``, ``cumulative_gain`` (share of all
        churners in groups 1..g), ``cumulative_lift`` (churn rate of groups 1..g / overall).

    Raises
    ------
    ChurnError
        Fewer customers than groups, no churners, or bad input.
    """
    k = int(bins if bins is not None else n_bins)
    y, p = check_labels_scores(y_true, y_score)
    if k < 1 or y.size < k:
        raise ChurnError(f"cannot cut {y.size} customers into {k} groups")
    total_pos = int(y.sum())
    if total_pos == 0:
        raise ChurnError("lift needs churners in the labels (none found)")
    base = total_pos / y.size
    groups = np.array_split(rank_order(p), k)
    customers = np.array([g.size for g in groups])
    churners = np.array([int(y[g].sum()) for g in groups])
    rate = churners / customers
    cum_c = np.cumsum(customers)
    cum_p = np.cumsum(churners)
    return pd.DataFrame({
        "group": np.arange(1, k + 1),
        "customers": customers,
        "churners": churners,
        "churn_rate": rate,
        "lift": rate / base,
        "min_probability": [float(p[g].min()) for g in groups],
        "max_probability": [float(p[g].max()) for g in groups],
        "mean_probability": [float(p[g].mean()) for g in groups],
        "cumulative_customers": cum_c,
        "cumulative_churners": cum_p,
        "cumulative_gain": cum_p / total_pos,
        "cumulative_lift": (cum_p / cum_c) / base,
    })


def cumulative_gains(y_true, y_score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative gains curve: share of churners caught versus share of customers contacted.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities.

    Returns
    -------
    share_contacted : ndarray of shape (n_points,)
        Share of customers with probability >= t, from 0 to 1.
    share_caught : ndarray of shape (n_points,)
        Share of all churners among them (recall at t), from 0 to 1.
    thresholds : ndarray of shape (n_points,)
        t for each point (first point: above every score, ``inf``).

    Notes
    -----
    One point per distinct score, so tied customers move together (the curve does not
    depend on row order). The random-targeting baseline is the diagonal.
    """
    y, p = check_labels_scores(y_true, y_score)
    if y.sum() == 0:
        raise ChurnError("cumulative gains need churners in the labels (none found)")
    t = np.unique(p)[::-1]
    c = confusion_counts(y, p, t)
    x = (c["tp"] + c["fp"]) / y.size
    g = c["tp"] / y.sum()
    return (np.concatenate(([0.0], x)), np.concatenate(([0.0], g)),
            np.concatenate(([np.inf], t)))


def top_decile_lift(y_true, y_score) -> float:
    """Churn rate among the 10 % highest-risk customers divided by the overall churn rate.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels (at least 10 customers).
    y_score : array-like of shape (n_samples,)
        Churn probabilities.

    Returns
    -------
    float
        Lift of group 1 of :func:`lift_table` with 10 groups.
    """
    return float(lift_table(y_true, y_score, 10)["lift"].iloc[0])
