"""Risk tiers High / Medium / Low, and what each tier holds.

By cutoffs: ``High`` when ``churn_probability >= cutoffs["high"]``, ``Medium`` when
``cutoffs["medium"] <= churn_probability < cutoffs["high"]``, else ``Low``.
By capacity: the top ``n_high`` customers of :func:`churn_core.evaluate.thresholds.rank_order`
(probability, then tie-break key / row position) are ``High``.

Every customer lands in exactly one tier; a missing probability raises (it never silently
vanishes from a tier count).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from churn_core.columns import TIER, TIERS
from churn_core.config import DEFAULT_TIER_CUTOFFS
from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import check_labels_scores, check_scores
from churn_core.evaluate.thresholds import rank_order

__all__ = ["TIERS", "DEFAULT_ACTIONS", "is_no_action", "listed_actions", "listed_tier_actions",
           "check_cutoffs",
           "assign_tiers", "tier_codes", "tier_counts", "tiers_by_capacity", "tier_summary"]

#: Tier names, highest risk first.

#: Default recommended action per tier (the dashboard lets the analyst edit them).
DEFAULT_ACTIONS = {
    "High": "Call within a week with a personal retention offer",
    "Medium": "Send a targeted e-mail offer and watch activity",
    "Low": "No action; keep in regular communication",
}

_NO_ACTION = re.compile(r"\s*(?:no action|no contact|none|nothing|do nothing)\b|\s*$", re.I)


def is_no_action(text) -> bool:
    """Whether a tier's action contacts nobody (``"No action; keep in regular
    communication"``, ``"none"``, blank)."""
    return bool(_NO_ACTION.match(str(text or "")))


def listed_actions(actions: dict | None = None) -> tuple[dict, dict]:
    """The action per tier for customers a campaign rule *lists*: every listed customer is
    contacted (and charged the contact cost), so a tier whose action is no contact (the Low
    tier's default) gets a contact action instead.

    Parameters
    ----------
    actions : dict, optional
        Action per tier; missing tiers fall back to :data:`DEFAULT_ACTIONS`.

    Returns
    -------
    acts : dict
        Action per tier for listed customers, e.g. Low -> ``"Contact: listed by the campaign
        rule (low risk tier); send a targeted e-mail offer and watch activity"`` (the first
        contact action of Medium, then High).
    replaced : dict
        Tier -> the no-contact action it had (empty when every tier contacts).
    """
    acts = {**DEFAULT_ACTIONS, **(actions or {})}
    contact = next((acts[t] for t in ("Medium", "High") if t in acts and not is_no_action(acts[t])),
                   "contact the customer with a retention offer").strip()
    out, replaced = dict(acts), {}
    for tier, text in acts.items():
        if is_no_action(text):
            replaced[tier] = text
            out[tier] = (f"Contact: listed by the campaign rule ({str(tier).lower()} risk tier); "
                         f"{contact[:1].lower()}{contact[1:]}")
    return out, replaced


def listed_tier_actions(listed_tiers, actions: dict | None = None) -> dict | None:
    """The decision log's record of listed customers whose tier's action contacts nobody.

    Parameters
    ----------
    listed_tiers : array-like of str, shape (n_listed,)
        ``risk_tier`` of each listed customer.
    actions : dict, optional
        Action per tier, as :func:`listed_actions`.

    Returns
    -------
    dict or None
        ``{"tiers": {tier: {"customers", "tier_action", "listed_action"}}, "note": str}``;
        None when no listed customer is in such a tier.
    """
    acts, replaced = listed_actions(actions)
    counts = pd.Series(np.asarray(listed_tiers, dtype=object)).value_counts()
    tiers = {t: {"customers": int(counts.get(t, 0)), "tier_action": old, "listed_action": acts[t]}
             for t, old in replaced.items() if counts.get(t, 0)}
    if not tiers:
        return None
    parts = [f"{v['customers']:,} listed customer{'s' if v['customers'] != 1 else ''} of the "
             f"{t} tier, whose action is {v['tier_action']!r}, get {v['listed_action']!r}"
             for t, v in tiers.items()]
    return {"tiers": tiers, "note": "; ".join(parts) + (": every listed customer is contacted, "
                                                         "and each is charged the contact cost")}


def check_cutoffs(cutoffs: dict | None) -> dict:
    """Return validated cutoffs ``{"high": float, "medium": float}``.

    Parameters
    ----------
    cutoffs : dict or None
        ``None`` gives ``config.DEFAULT_TIER_CUTOFFS``.

    Returns
    -------
    dict

    Raises
    ------
    ChurnError
        Missing keys or not ``0 <= medium <= high <= 1``.
    """
    c = dict(DEFAULT_TIER_CUTOFFS if cutoffs is None else cutoffs)
    try:
        high, medium = float(c["high"]), float(c["medium"])
    except (KeyError, TypeError, ValueError):
        raise ChurnError(f"tier cutoffs need numbers 'high' and 'medium', got {cutoffs!r}")
    if not 0.0 <= medium <= high <= 1.0:
        raise ChurnError(
            f"tier cutoffs must satisfy 0 <= medium ({medium}) <= high ({high}) <= 1")
    return {"high": high, "medium": medium}


def assign_tiers(p, cutoffs: dict | None = None) -> np.ndarray:
    """Risk tier of every customer from probability cutoffs.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1]; NaN raises.
    cutoffs : dict, optional
        ``{"high": h, "medium": m}`` with ``m <= h``; default ``config.DEFAULT_TIER_CUTOFFS``.

    Returns
    -------
    ndarray of str (object) of shape (n_samples,)
        ``"High"`` (p >= h), ``"Medium"`` (m <= p < h) or ``"Low"`` (p < m).

    Raises
    ------
    ChurnError
        Missing probabilities or invalid cutoffs.
    """
    return np.asarray(TIERS, dtype=object)[tier_codes(p, cutoffs)]


def tier_counts(p, cutoffs: dict | None = None) -> dict[str, int]:
    """Customers per risk tier from probability cutoffs (the counts of :func:`assign_tiers`).

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1]; NaN raises.
    cutoffs : dict, optional
        ``{"high": h, "medium": m}`` with ``0 <= m <= h <= 1``; default
        ``config.DEFAULT_TIER_CUTOFFS``.

    Returns
    -------
    dict
        ``{"High": int, "Medium": int, "Low": int}`` summing to ``n_samples``: High when
        ``p >= h``, Medium when ``m <= p < h``, else Low.

    Raises
    ------
    ChurnError
        Missing probabilities or invalid cutoffs.
    """
    counts = np.bincount(tier_codes(p, cutoffs), minlength=len(TIERS))
    return {name: int(k) for name, k in zip(TIERS, counts)}


def tier_codes(p, cutoffs: dict | None = None) -> np.ndarray:
    """Position in :data:`TIERS` of every customer's tier: the one cutoff rule.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1]; NaN raises.
    cutoffs : dict, optional
        ``{"high": h, "medium": m}``; default ``config.DEFAULT_TIER_CUTOFFS``.

    Returns
    -------
    ndarray of shape (n_samples,), dtype int8
        0 (High) when ``p >= h``, 1 (Medium) when ``m <= p < h``, else 2 (Low).

    Raises
    ------
    ChurnError
        Missing probabilities or invalid cutoffs.
    """
    p = check_scores(p)
    c = check_cutoffs(cutoffs)
    return np.where(p >= c["high"], 0, np.where(p >= c["medium"], 1, 2)).astype(np.int8)


def tiers_by_capacity(p, n_high: int, n_medium: int | None = None, tiebreak=None,
                      cutoffs: dict | None = None) -> np.ndarray:
    """Risk tiers by team capacity: the ``n_high`` highest-risk customers are High.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities.
    n_high : int
        Customers the team can handle personally (>= 0; capped at the number of customers).
    n_medium : int, optional
        The next ``n_medium`` customers are Medium. When ``None``, the remaining customers
        with ``p >= cutoffs["medium"]`` are Medium.
    tiebreak : array-like of shape (n_samples,), optional
        Tie-break key among equal probabilities (e.g. customer ID); default row position.
    cutoffs : dict, optional
        Used only for the Medium cutoff when ``n_medium`` is None.

    Returns
    -------
    ndarray of str (object) of shape (n_samples,)
    """
    p = check_scores(p)
    if int(n_high) < 0 or (n_medium is not None and int(n_medium) < 0):
        raise ChurnError("tier capacities must be >= 0")
    order = rank_order(p, tiebreak)
    tiers = np.full(p.size, "Low", dtype=object)
    nh = min(int(n_high), p.size)
    rest = order[nh:]
    if n_medium is None:
        m = check_cutoffs(cutoffs)["medium"]
        tiers[rest[p[rest] >= m]] = "Medium"
    else:
        tiers[rest[: int(n_medium)]] = "Medium"
    tiers[order[:nh]] = "High"
    return tiers


def tier_summary(p, tiers, y=None, value=None, actions: dict | None = None) -> pd.DataFrame:
    """One row per tier (High, Medium, Low, always all three) describing its customers.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities (calibrated ones make "expected churners" meaningful).
    tiers : array-like of shape (n_samples,)
        "High" / "Medium" / "Low" for every customer.
    y : array-like of shape (n_samples,), optional
        0/1 labels when known.
    value : float or array-like of shape (n_samples,), optional
        Value of each customer (e.g. Balance x margin).
    actions : dict, optional
        Recommended action per tier; missing tiers fall back to :data:`DEFAULT_ACTIONS`.

    Returns
    -------
    DataFrame with columns
        ``risk_tier``, ``customers``, ``share`` (of all customers), ``expected_churners``
        (sum of probabilities), ``mean_probability`` (nan when empty),
        ``observed_churners`` and ``observed_churn_rate`` (only with ``y``),
        ``value_at_risk`` (sum of p x value, only with ``value``), ``recommended_action``.

    Raises
    ------
    ChurnError
        A tier other than High/Medium/Low (including missing), different lengths, or
        missing probabilities/values.
    """
    p = check_scores(p)
    t = np.asarray(tiers, dtype=object)
    if t.shape != p.shape:
        raise ChurnError(f"{t.size} tiers for {p.size} probabilities")
    unknown = ~np.isin(t, TIERS)
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise ChurnError(f"{int(unknown.sum())} customer(s) have no valid risk tier "
                         f"(first at position {first}: {t[first]!r})")
    if y is not None:
        y, _ = check_labels_scores(y, p)
    v = None
    if value is not None:
        v = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
        if not np.isfinite(v).all():
            raise ChurnError("customer values must be numbers (a missing value was found)")
    acts = {**DEFAULT_ACTIONS, **(actions or {})}
    rows = []
    for name in TIERS:
        m = t == name
        k = int(m.sum())
        row = {TIER: name, "customers": k, "share": k / p.size if p.size else 0.0,
               "expected_churners": float(p[m].sum()),
               "mean_probability": float(p[m].mean()) if k else float("nan")}
        if y is not None:
            row["observed_churners"] = int(y[m].sum())
            row["observed_churn_rate"] = float(y[m].mean()) if k else float("nan")
        if v is not None:
            row["value_at_risk"] = float((p[m] * v[m]).sum())
        row["recommended_action"] = acts[name]
        rows.append(row)
    return pd.DataFrame(rows)
