"""Threshold strategies, checked against numbers worked out by hand and brute force."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from churn_core.errors import ChurnError
from churn_core.evaluate.net_value import max_net_value, net_value_curve, net_value_per_customer
from churn_core.evaluate.strategies import choose_on_validation
from churn_core.evaluate.thresholds import (
    manual,
    max_f1,
    rank_order,
    target_recall,
    top_fraction,
    top_n,
)

# Ten customers (the acceptance example).
P = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
Y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
VALUE = np.array([1000, 500, 2000, 100, 800, 3000, 200, 400, 5000, 100], dtype=float)


def test_net_value_per_customer_by_hand():
    # p * 0.5 * value - 50
    expected = [400, 150, 650, -20, 150, 550, -20, -10, 200, -47.5]
    np.testing.assert_allclose(net_value_per_customer(P, VALUE, 50, 0.5), expected)


def test_max_net_value_per_customer_value_by_hand():
    # Cumulative net down the ranking: 400, 550, 1200, 1180, 1330, 1880, 1860, 1850, 2050,
    # 2002.5 -> best is contacting the first 9 (threshold 0.1), 2050.
    c = max_net_value(P, VALUE, cost_per_contact=50, success_rate=0.5, y=Y)
    assert c.threshold == pytest.approx(0.1)
    assert c.value == pytest.approx(2050)
    assert c.n_selected == 9
    # Observed with labels: churners 1, 2, 4, 7 in the list -> 0.5*(1000+500+100+200) - 9*50
    assert c.params["observed_net_value"] == pytest.approx(450)


def test_max_net_value_under_budget_by_hand():
    c5 = max_net_value(P, VALUE, 50, 0.5, budget=5)
    assert (c5.threshold, c5.value, c5.n_selected) == (pytest.approx(0.5), pytest.approx(1330), 5)
    c6 = max_net_value(P, VALUE, 50, 0.5, budget=6)
    assert (c6.threshold, c6.value, c6.n_selected) == (pytest.approx(0.4), pytest.approx(1880), 6)


def test_max_net_value_constant_value_tie_takes_highest_threshold():
    # net = 500 p - 100: 350, 300, 250, 200, 150, 100, 50, 0, -50, -75
    # cumulative: ..., 1350 (0.4), 1400 (0.3), 1400 (0.2), 1350 (0.1): tie -> 0.3, 7 customers
    c = max_net_value(P, 1000, 100, 0.5)
    assert c.threshold == pytest.approx(0.3)
    assert c.value == pytest.approx(1400)
    assert c.n_selected == 7


def test_max_net_value_nobody_when_never_profitable():
    c = max_net_value(P, 10, 100, 0.5)
    assert c.n_selected == 0 and c.value == 0
    assert not c.mask(P).any()
    assert "nobody" in c.explanation


def test_net_value_curve_band_by_hand():
    curve = net_value_curve(P, 1000, 100, 0.5, tolerance=0.01)
    # total is 1400 for thresholds in (0.1, 0.3]; 1350 elsewhere nearby (< 1386)
    assert curve.best.threshold == pytest.approx(0.3)
    assert curve.band == (pytest.approx(0.11), pytest.approx(0.30))
    i = int(np.flatnonzero(np.isclose(curve.thresholds, 0.25))[0])
    assert curve.net_value[i] == pytest.approx(1400) and curve.n_contacted[i] == 7
    j = int(np.flatnonzero(np.isclose(curve.thresholds, 0.35))[0])
    assert curve.net_value[j] == pytest.approx(1350)
    assert curve.net_value[0] == pytest.approx(500 * P.sum() - 100 * 10)


def test_net_value_curve_budget_masks_thresholds():
    curve = net_value_curve(P, VALUE, 50, 0.5, budget=5)
    assert np.isnan(curve.net_value[curve.n_contacted > 5]).all()
    assert curve.best.value == pytest.approx(1330)


def test_max_f1_by_hand():
    # F1 at 0.9 .4, 0.8 .667, 0.7 .571, 0.6 .75, 0.5 .667, 0.4 .6, 0.3 .727 -> 0.6
    c = max_f1(Y, P)
    assert c.threshold == pytest.approx(0.6)
    assert c.value == pytest.approx(0.75)
    assert c.n_selected == 4


@pytest.mark.parametrize("target, thr, prec", [(0.7, 0.6, 3 / 4), (1.0, 0.3, 4 / 7),
                                                (0.5, 0.8, 1.0), (0.25, 0.9, 1.0)])
def test_target_recall_by_hand(target, thr, prec):
    c = target_recall(Y, P, target)
    assert c.threshold == pytest.approx(thr)
    pred = (P >= c.threshold).astype(int)
    assert precision_score(Y, pred) == pytest.approx(prec)
    assert c.value >= target


@pytest.mark.parametrize("seed", range(5))
def test_target_recall_is_highest_threshold_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.3).astype(int)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1), 2)
    for target in (0.3, 0.7, 0.9):
        c = target_recall(y, p, target)
        ok = [t for t in np.unique(p) if recall_score(y, (p >= t).astype(int)) >= target]
        assert c.threshold == pytest.approx(max(ok))


@pytest.mark.parametrize("seed", range(5))
def test_max_f1_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.3).astype(int)
    p = np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)
    c = max_f1(y, p)
    best = max(f1_score(y, (p >= t).astype(int)) for t in np.unique(p))
    assert c.value == pytest.approx(best)
    assert f1_score(y, (p >= c.threshold).astype(int)) == pytest.approx(best)


def test_top_n_exactly_n_with_ties_row_order():
    p = np.array([0.9, 0.7, 0.8, 0.7, 0.7, 0.2])
    c = top_n(p, 3)
    assert c.threshold == pytest.approx(0.7)
    # ranks: 0 (0.9), 2 (0.8), then the tied 0.7s by row order: 1, 3, 4
    np.testing.assert_array_equal(np.flatnonzero(c.mask(p)), [0, 1, 2])
    assert c.n_selected == 3 and c.mask(p).sum() == 3
    np.testing.assert_array_equal(rank_order(p), [0, 2, 1, 3, 4, 5])


def test_top_n_ties_broken_by_customer_id():
    p = np.array([0.9, 0.7, 0.8, 0.7, 0.7, 0.2])
    ids = np.array([10, 99, 20, 30, 5, 1])
    c = top_n(p, 4, tiebreak=ids)
    # tied 0.7s ordered by id: 5 (row 4), 30 (row 3), 99 (row 1)
    np.testing.assert_array_equal(np.flatnonzero(c.mask(p)), [0, 2, 3, 4])


def test_top_n_hand_example_and_fraction():
    c = top_n(P, 3)
    assert c.threshold == pytest.approx(0.7) and c.selected is None
    assert c.value == pytest.approx(0.9 + 0.8 + 0.7)
    f = top_fraction(P, 0.25)  # ceil(2.5) = 3 customers
    assert f.n_selected == 3 and f.threshold == pytest.approx(0.7)
    assert top_n(P, 50).n_selected == 10
    with pytest.raises(ChurnError):
        top_n(P, 0)


def test_manual_and_validation_helper_report_test_split():
    c = manual(0.55, Y, P)
    assert c.n_selected == 4
    rng = np.random.default_rng(3)
    y_test = (rng.random(200) < 0.3).astype(int)
    p_test = np.clip(0.3 * y_test + 0.7 * rng.random(200), 0, 1)
    v = choose_on_validation("max_f1", Y, P, y_test, p_test)
    assert v.choice.threshold == pytest.approx(0.6)
    assert v.validation.f1 == pytest.approx(0.75)
    assert v.test.recall == pytest.approx(recall_score(y_test, (p_test >= 0.6).astype(int)))
    assert v.test.n == 200
    nv = choose_on_validation("max_net_value", Y, P, y_test, p_test, value=1000,
                              cost_per_contact=100, success_rate=0.5)
    assert nv.choice.threshold == pytest.approx(0.3)
    assert nv.to_dict()["choice"]["strategy"] == "max_net_value"
    with pytest.raises(ChurnError, match="unknown"):
        choose_on_validation("magic", Y, P, y_test, p_test)


def test_bad_parameters_refused():
    with pytest.raises(ChurnError):
        target_recall(Y, P, 0)
    with pytest.raises(ChurnError):
        max_net_value(P, 1000, -1, 0.5)
    with pytest.raises(ChurnError):
        max_net_value(P, 1000, 1, 1.5)
    with pytest.raises(ChurnError):
        max_f1(np.zeros(10), P)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 50)), min_size=1, max_size=25),
       st.integers(0, 30), st.one_of(st.none(), st.integers(0, 30)))
def test_max_net_value_equals_brute_force(rows, cost, budget):
    """Brute force over every threshold (and every exact top-k within the budget)."""
    p = np.array([a for a, _ in rows]) / 10
    v = np.array([b for _, b in rows], dtype=float) * 10
    c = max_net_value(p, v, cost, 0.5, budget=budget)
    net = p * 0.5 * v - cost
    options = [0.0] + [net[p >= t].sum() for t in np.unique(p)
                       if budget is None or (p >= t).sum() <= budget]
    if budget is not None and 0 < budget < len(p):
        order = rank_order(p)
        options.append(net[order[:budget]].sum())
    assert c.value == pytest.approx(max(options))
    assert net[c.mask(p)].sum() == pytest.approx(c.value)
    if budget is not None:
        assert c.mask(p).sum() <= budget
