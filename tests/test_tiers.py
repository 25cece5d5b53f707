"""Risk tiers: boundaries, capacity with ties, summary by hand, no customer lost."""
from __future__ import annotations

import numpy as np
import pytest

from churn_core.errors import ChurnError
from churn_core.campaign.tiers import (DEFAULT_ACTIONS, assign_tiers, tier_counts, tier_summary,
                              tiers_by_capacity)

P = np.array([0.9, 0.6, 0.5, 0.49, 0.3, 0.25, 0.1, 0.0])
Y = np.array([1, 0, 1, 0, 1, 0, 0, 0])
V = np.array([100, 200, 300, 400, 500, 600, 700, 800], dtype=float)


def test_assign_tiers_boundaries_inclusive():
    t = assign_tiers(P, {"high": 0.5, "medium": 0.25})
    assert t.tolist() == ["High", "High", "High", "Medium", "Medium", "Medium", "Low", "Low"]


def test_tier_counts_match_assign_tiers_at_the_cutoffs():
    from churn_core import workbench as wb

    rng = np.random.default_rng(4)
    cut = {"high": 0.6, "medium": 0.3}
    # random probabilities plus values exactly at, just below and just above each cutoff
    edges = [0.0, 1.0, 0.6, 0.3, np.nextafter(0.6, 0), np.nextafter(0.3, 0),
             np.nextafter(0.6, 1), np.nextafter(0.3, 1)]
    p = rng.permutation(np.concatenate([rng.random(500), np.repeat(edges, 3)]))
    t = assign_tiers(p, cut)
    expected = {name: int((t == name).sum()) for name in ("High", "Medium", "Low")}
    assert tier_counts(p, cut) == expected
    assert wb.tier_counts(p, cut) == expected
    assert sum(expected.values()) == len(p)
    # the edge values alone, by hand: at a cutoff the customer is in the higher tier
    assert tier_counts(edges, cut) == {"High": 3, "Medium": 3, "Low": 2}
    assert tier_counts(P, {"high": 0.5, "medium": 0.25}) == {"High": 3, "Medium": 3, "Low": 2}
    assert tier_counts(P) == {n: int((assign_tiers(P) == n).sum()) for n in ("High", "Medium", "Low")}
    with pytest.raises(ChurnError, match="missing"):
        tier_counts([0.2, np.nan], cut)


def test_default_cutoffs_come_from_config():
    from churn_core.config import DEFAULT_TIER_CUTOFFS

    np.testing.assert_array_equal(assign_tiers(P), assign_tiers(P, DEFAULT_TIER_CUTOFFS))


def test_nan_probability_raises_and_bad_cutoffs_refused():
    with pytest.raises(ChurnError, match="missing"):
        assign_tiers([0.2, np.nan])
    with pytest.raises(ChurnError, match="medium"):
        assign_tiers(P, {"high": 0.2, "medium": 0.5})
    with pytest.raises(ChurnError, match="tier"):
        tier_summary(P[:2], ["High", None])


def test_capacity_exact_count_with_ties():
    p = np.array([0.4, 0.8, 0.4, 0.4, 0.1])
    t = tiers_by_capacity(p, n_high=2, n_medium=2)
    # rank: row1 (0.8), then tied 0.4s by row order 0, 2, 3, then row 4
    assert t.tolist() == ["High", "High", "Medium", "Medium", "Low"]
    ids = np.array([5, 1, 9, 2, 3])
    t2 = tiers_by_capacity(p, n_high=2, n_medium=1, tiebreak=ids)
    # tied 0.4s ordered by id: row3 (2), row0 (5), row2 (9)
    assert t2.tolist() == ["Medium", "High", "Low", "High", "Low"]


def test_capacity_medium_from_cutoff_when_not_given():
    t = tiers_by_capacity(P, n_high=1, cutoffs={"high": 0.5, "medium": 0.3})
    assert t.tolist() == ["High", "Medium", "Medium", "Medium", "Medium", "Low", "Low", "Low"]


def test_tier_summary_by_hand():
    t = assign_tiers(P, {"high": 0.5, "medium": 0.25})
    s = tier_summary(P, t, y=Y, value=V, actions={"Low": "Nothing"}).set_index("risk_tier")
    assert s.index.tolist() == ["High", "Medium", "Low"]
    assert s["customers"].tolist() == [3, 3, 2]
    assert s["customers"].sum() == len(P)
    np.testing.assert_allclose(s["share"], [3 / 8, 3 / 8, 2 / 8])
    np.testing.assert_allclose(s["expected_churners"], [2.0, 1.04, 0.1])
    assert s["observed_churners"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(s["observed_churn_rate"], [2 / 3, 1 / 3, 0])
    # value at risk: .9*100 + .6*200 + .5*300 = 360; .49*400+.3*500+.25*600 = 496; .1*700 = 70
    np.testing.assert_allclose(s["value_at_risk"], [360, 496, 70])
    assert s.loc["High", "recommended_action"] == DEFAULT_ACTIONS["High"]
    assert s.loc["Low", "recommended_action"] == "Nothing"


def test_summary_keeps_empty_tiers_and_omits_label_columns_without_labels():
    s = tier_summary([0.9, 0.8], ["High", "High"])
    assert s["customers"].tolist() == [2, 0, 0]
    assert "observed_churn_rate" not in s and "value_at_risk" not in s
    assert np.isnan(s["mean_probability"].iloc[1])
