"""The one campaign rule: how the retention target list is cut from the scored customers.

An analyst chooses it once and the same rule drives every view, the list, its file name
and its decision log. Five kinds:

* ``budget``       -- the ``N`` highest-risk customers of *this* file;
* ``budget_share`` -- the highest-risk ``P`` % of this file;
* ``threshold``    -- every customer with churn probability ``>= t``;
* ``tiers``        -- every customer in the chosen risk tiers (High, Medium) for the model's
  tier cutoffs;
* ``max_value``    -- every customer whose expected net value
  (:mod:`churn_core.campaign.value`) is positive, which maximises the expected net value
  of the campaign (each contact adds its own expected value, so the best set is exactly the
  positive ones).

Rules are always applied to the **scored population**: a budget of 150 on a
10,000-customer file lists 150 customers of that file, whatever the size of the model's
validation split. :func:`threshold_on` translates a rule to a probability threshold on
another set of customers (e.g. the validation or test split, to mark it on curves): the
threshold that contacts the same *share* of them.

Ranking: highest churn probability first, ties by row order
(:func:`churn_core.evaluate.thresholds.rank_order`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from churn_core.campaign.tiers import TIERS, assign_tiers
from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import check_scores
from churn_core.evaluate.thresholds import rank_order

__all__ = ["RULE_KINDS", "CampaignRule", "RuleSelection", "threshold_on"]

#: Rule kind -> words for the UI.
RULE_KINDS = {
    "budget": "a contact budget (N customers)",
    "budget_share": "a share of this file (N %)",
    "threshold": "a churn-probability threshold",
    "tiers": "risk tiers",
    "max_value": "maximum expected net value",
}


@dataclass
class RuleSelection:
    """The customers a rule lists, in rank order.

    Attributes
    ----------
    positions : ndarray of int of shape (n_listed,)
        Row positions of the listed customers, highest churn probability first.
    excluded : dict of str to int
        Plain-words reason -> scored customers left off the list.
    lowest_probability : float or None
        Churn probability of the last listed customer (the threshold the rule amounts to on
        this file); None when nobody is listed.
    description : str
        One sentence saying how the list was cut on this file.
    """

    positions: np.ndarray
    excluded: dict = field(default_factory=dict)
    lowest_probability: float | None = None
    description: str = ""


@dataclass(frozen=True)
class CampaignRule:
    """How the retention target list is cut.

    Parameters
    ----------
    kind : {"budget", "budget_share", "threshold", "tiers", "max_value"}
    budget : int, optional
        Customers to contact (``kind="budget"``), >= 1.
    share : float, optional
        Percent of the scored file to contact (``kind="budget_share"``), in (0, 100].
    threshold : float, optional
        Churn-probability threshold in [0, 1] (``kind="threshold"``).
    tiers : tuple of str, default ("High",)
        Risk tiers listed (``kind="tiers"``).

    Raises
    ------
    ChurnError
        Unknown kind, or the parameter of the kind missing or out of range.
    """

    kind: str = "tiers"
    budget: int | None = None
    share: float | None = None
    threshold: float | None = None
    tiers: tuple = ("High",)

    def __post_init__(self):
        if self.kind not in RULE_KINDS:
            raise ChurnError(f"unknown campaign rule {self.kind!r}; use one of "
                             f"{', '.join(RULE_KINDS)}")
        if self.kind == "budget" and not (self.budget is not None and int(self.budget) >= 1):
            raise ChurnError(f"a contact budget must be a whole number >= 1, got {self.budget!r}")
        if self.kind == "budget_share" and not (self.share is not None
                                                and 0 < float(self.share) <= 100):
            raise ChurnError(f"a budget share must be a percentage in (0, 100], got {self.share!r}")
        if self.kind == "threshold" and not (self.threshold is not None
                                             and 0 <= float(self.threshold) <= 1):
            raise ChurnError(f"a threshold must be a probability in [0, 1], got {self.threshold!r}")
        if self.kind == "tiers":
            tiers = tuple(str(t).strip().capitalize() for t in self.tiers if str(t).strip())
            bad = [t for t in tiers if t not in TIERS]
            if bad or not tiers:
                raise ChurnError(f"unknown or no risk tier(s) {bad or list(self.tiers)}; use "
                                 f"{', '.join(TIERS)}")
            object.__setattr__(self, "tiers", tiers)

    # ------------------------------------------------------------------ words
    def describe(self) -> str:
        """The rule in words, e.g. ``"the 500 highest-risk customers"``."""
        if self.kind == "budget":
            return f"the {int(self.budget):,} highest-risk customers"
        if self.kind == "budget_share":
            return f"the highest-risk {float(self.share):g} % of customers"
        if self.kind == "threshold":
            return f"customers with churn probability >= {float(self.threshold):.2f}"
        if self.kind == "tiers":
            return "customers in risk tier " + " and ".join(self.tiers)
        return "customers with a positive expected net value (maximum expected net value)"

    def file_tag(self) -> str:
        """Short tag for file names: ``budget500``, ``budget10pct``, ``t0.35``,
        ``high-tier``, ``high-medium-tiers``, ``max-value``."""
        if self.kind == "budget":
            return f"budget{int(self.budget)}"
        if self.kind == "budget_share":
            return f"budget{float(self.share):g}pct".replace(".", "p")
        if self.kind == "threshold":
            return f"t{float(self.threshold):.2f}"
        if self.kind == "tiers":
            return "-".join(t.lower() for t in self.tiers) + ("-tier" if len(self.tiers) == 1
                                                              else "-tiers")
        return "max-value"

    def to_dict(self) -> dict:
        """JSON-ready dict (session state, decision log); :meth:`from_dict` reads it back."""
        d = asdict(self)
        d["tiers"] = list(self.tiers)
        d["description"] = self.describe()
        return d

    @classmethod
    def from_dict(cls, data: dict | None) -> "CampaignRule":
        """Inverse of :meth:`to_dict` (unknown keys ignored); None gives the default rule."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in data.items() if k in known}
        if "tiers" in kw:
            kw["tiers"] = tuple(kw["tiers"])
        return cls(**kw)

    # ------------------------------------------------------------------ applying it
    def count_on(self, n: int) -> int | None:
        """Customers a budget rule contacts among ``n`` (None for other kinds)."""
        if self.kind == "budget":
            return min(int(self.budget), int(n))
        if self.kind == "budget_share":
            return min(int(n), int(round(float(self.share) / 100.0 * n)))
        return None

    def select(self, p, cutoffs: dict | None = None, expected_value=None) -> RuleSelection:
        """Apply the rule to scored customers.

        Parameters
        ----------
        p : array-like of shape (n_samples,)
            Churn probabilities in [0, 1] of the scored customers.
        cutoffs : dict, optional
            ``{"high": .., "medium": ..}`` tier cutoffs (``kind="tiers"``; default the
            project's).
        expected_value : array-like of shape (n_samples,), optional
            Expected net value of contacting each customer (``kind="max_value"``; required
            there).

        Returns
        -------
        RuleSelection
            ``len(positions) + sum(excluded.values()) == len(p)``.

        Raises
        ------
        ChurnError
            Bad probabilities, or ``max_value`` without expected values.
        """
        p = check_scores(p)
        n = p.size
        order = rank_order(p)
        excluded: dict = {}
        if self.kind in ("budget", "budget_share"):
            k = self.count_on(n)
            keep = order[:k]
            if n > k:
                what = (f"{int(self.budget):,} customers" if self.kind == "budget"
                        else f"{float(self.share):g} % of the file ({k:,} customers)")
                excluded[f"beyond the contact budget of {what}"] = n - k
        elif self.kind == "threshold":
            t = float(self.threshold)
            keep = order[p[order] >= t]
            if n - keep.size:
                excluded[f"churn probability below {t:.3f}"] = n - keep.size
        elif self.kind == "tiers":
            tiers = assign_tiers(p, cutoffs)
            sel = np.isin(tiers[order], list(self.tiers))
            keep = order[sel]
            for t in TIERS:
                m = int(((tiers == t) & ~np.isin(tiers, list(self.tiers))).sum())
                if m:
                    excluded[f"risk tier {t} not selected"] = m
        else:
            if expected_value is None:
                raise ChurnError("the maximum-expected-net-value rule needs value assumptions "
                                 "(a value per saved customer, success rate, cost per contact)")
            ev = np.asarray(expected_value, dtype=float)
            if ev.shape != (n,):
                raise ChurnError(f"expected values have shape {ev.shape} for {n} customers")
            keep = order[ev[order] > 0]
            if n - keep.size:
                excluded["expected net value not positive (contact costs more than it is "
                         "expected to save)"] = n - keep.size
        lowest = float(p[keep[-1]]) if keep.size else None
        desc = (f"{self.describe()}: {keep.size:,} of {n:,} scored customers"
                + (f" (churn probability {lowest:.3f} and above)" if lowest is not None else ""))
        return RuleSelection(np.asarray(keep, dtype=np.int64), excluded, lowest, desc)


def threshold_on(rule: CampaignRule, p_ref, n_scored: int, p_scored=None,
                 cutoffs: dict | None = None) -> float | None:
    """The probability threshold a rule amounts to on other customers (e.g. validation).

    Budget rules contact the same *share* of ``p_ref`` as of the scored file; a threshold
    rule is its threshold; a tier rule is the lowest cutoff of its tiers; a value rule is
    the lowest probability listed on the scored file (needs ``p_scored`` listed positions:
    pass the scored probabilities of the listed customers).

    Parameters
    ----------
    rule : CampaignRule
    p_ref : array-like of shape (n_ref,)
        Probabilities of the reference customers (validation or test split).
    n_scored : int
        Customers in the scored file the rule is applied to.
    p_scored : array-like, optional
        Probabilities of the customers the rule listed on the scored file
        (``kind="max_value"``).
    cutoffs : dict, optional
        Tier cutoffs (``kind="tiers"``).

    Returns
    -------
    float or None
        A threshold in [0, 1] (customers with ``p >= threshold`` are contacted), or None
        when the rule contacts nobody.
    """
    from churn_core.campaign.tiers import check_cutoffs

    if rule.kind == "threshold":
        return float(rule.threshold)
    if rule.kind == "tiers":
        c = check_cutoffs(cutoffs)
        return float(c["medium"] if "Medium" in rule.tiers or "Low" in rule.tiers
                     else c["high"]) if "Low" not in rule.tiers else 0.0
    if rule.kind == "max_value":
        ps = np.asarray(p_scored if p_scored is not None else [], dtype=float)
        return float(ps.min()) if ps.size else None
    p_ref = np.sort(check_scores(p_ref))[::-1]
    k = rule.count_on(int(n_scored))
    if not k or not p_ref.size:
        return None
    k_ref = max(1, int(round(k / max(int(n_scored), 1) * p_ref.size)))
    return float(p_ref[min(k_ref, p_ref.size) - 1])
