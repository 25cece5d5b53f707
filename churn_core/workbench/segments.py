"""Risk tiers of scored customers, their summary, and the customer table shown on screen."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_core.campaign import tiers as T  # imported on first use (it loads scikit-learn)
from churn_core.campaign.tiers import DEFAULT_ACTIONS
from churn_core.columns import PROBA, RANK, TIER
from churn_core.data.schema import FeatureSchema
from churn_core.evaluate.thresholds import rank_order
from churn_core.workbench.scores import Scores


def tier_counts(p: np.ndarray, cutoffs: dict) -> dict[str, int]:
    """Customers per risk tier for ``cutoffs``: :func:`churn_core.campaign.tiers.tier_counts`.

    Parameters
    ----------
    p : ndarray of shape (n_samples,)
        Churn probabilities in [0, 1].
    cutoffs : dict
        ``{"high": float, "medium": float}`` with ``high >= medium``.

    Returns
    -------
    dict
        ``{"High": int, "Medium": int, "Low": int}`` summing to ``len(p)``.
    """

    return T.tier_counts(p, cutoffs)


@dataclass
class SegmentView:
    """Risk tiers of the scored customers and their summary.

    Attributes
    ----------
    tiers : ndarray of str of shape (n_scored,)
        "High" / "Medium" / "Low" for every scored customer.
    summary : DataFrame
        ``tiers.tier_summary`` (customers, share, expected churners, observed churn...).
    """

    tiers: np.ndarray
    summary: pd.DataFrame


def default_actions() -> dict:
    """Recommended action per tier (``tiers.DEFAULT_ACTIONS``), as an editable copy."""

    return dict(DEFAULT_ACTIONS)


def rank_positions(scores: Scores, schema: FeatureSchema | None = None) -> np.ndarray:
    """Positions of the scored rows, highest churn probability first (computed once).

    Returns
    -------
    ndarray of int of shape (n_scored,)
        ``thresholds.rank_order`` (ties broken by customer ID, else row position).
    """
    cached = getattr(scores, "_rank", None)
    if cached is None:

        cached = rank_order(scores.p)  # the export's rank: ties by row position
        scores._rank = cached
    return cached


def segment(scores: Scores, mode: str, cutoffs: dict, n_high: int | None = None,
            n_medium: int | None = None, actions: dict | None = None,
            schema: FeatureSchema | None = None, value=None) -> SegmentView:
    """Assign risk tiers and summarise them.

    Parameters
    ----------
    scores : Scores
    mode : {"probability cutoffs", "capacity (top N)"}
        Tiers by ``tiers.assign_tiers`` or ``tiers.tiers_by_capacity``.
    cutoffs : dict
        ``{"high", "medium"}`` probability cutoffs.
    n_high, n_medium : int, optional
        Capacities for the capacity mode.
    actions : dict, optional
        Recommended action per tier.
    schema : FeatureSchema, optional
        Used for the ID tie-break of the capacity mode.
    value : float or ndarray of shape (n_scored,), optional
        Value of each customer (adds ``value_at_risk``).

    Returns
    -------
    SegmentView
    """

    p = scores.p
    if mode.startswith("capacity"):
        tiers = T.tiers_by_capacity(p, int(n_high or 0), None if n_medium is None
                                    else int(n_medium))
    else:
        tiers = T.assign_tiers(p, cutoffs)
    y = scores.y
    if y is not None and not np.isfinite(y).all():
        y = None  # blank labels: observed churn is not defined for every tier
    return SegmentView(tiers, T.tier_summary(p, tiers, y=y, value=value, actions=actions))


def customer_table(scores: Scores, tiers: np.ndarray, reasons: pd.DataFrame | None,
                   schema: FeatureSchema, limit: int | None = 2000) -> pd.DataFrame:
    """The scored customers for display, highest risk first.

    Parameters
    ----------
    scores : Scores
    tiers : ndarray of shape (n_scored,)
    reasons : DataFrame of shape (n_scored, 3) or None
        ``reason_1..3`` aligned to the scored rows.
    schema : FeatureSchema
        ID and personal columns are shown first.
    limit : int or None, default 2000
        Rows returned (the top of the ranking); None for all.

    Returns
    -------
    DataFrame
        ``rank`` (1 = highest risk), ID columns, ``churn_probability``, ``risk_tier``,
        ``reason_1..3`` (when given), then the feature columns.
    """
    order = rank_positions(scores, schema)
    take = order if limit is None else order[:limit]
    sc = scores.scored
    ids = [c for c in schema.passthrough if c in sc.columns]
    feats = [c for c in schema.features if c in sc.columns]
    sub = sc.iloc[take]  # take the rows first: converting 100k text cells is the slow part
    out = pd.DataFrame({RANK: np.arange(1, len(take) + 1)})
    for c in ids:
        out[c] = sub[c].to_numpy()
    out[PROBA] = sub[PROBA].to_numpy()
    out[TIER] = np.asarray(tiers, dtype=object)[take]
    if reasons is not None:
        rs = reasons.iloc[take]
        for c in reasons.columns:
            out[c] = rs[c].to_numpy()
    for c in feats:
        out[c] = sub[c].to_numpy()
    return out
