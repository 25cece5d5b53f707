"""Lift table and cumulative gains, by hand and against an independent computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnError
from churn_core.evaluate.lift import cumulative_gains, lift_table, top_decile_lift

# 20 customers, probabilities distinct, 6 churners (base rate 0.3)
P = np.linspace(0.95, 0.0, 20)
Y = np.array([1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])


def test_lift_table_quartiles_by_hand():
    t = lift_table(Y, P, n_bins=4)
    # groups of 5: churners 4, 1, 1, 0
    assert t["customers"].tolist() == [5, 5, 5, 5]
    assert t["churners"].tolist() == [4, 1, 1, 0]
    np.testing.assert_allclose(t["churn_rate"], [0.8, 0.2, 0.2, 0.0])
    np.testing.assert_allclose(t["lift"], [0.8 / 0.3, 0.2 / 0.3, 0.2 / 0.3, 0.0])
    np.testing.assert_allclose(t["cumulative_gain"], [4 / 6, 5 / 6, 1.0, 1.0])
    np.testing.assert_allclose(t["cumulative_lift"], [0.8 / 0.3, 0.5 / 0.3, (6 / 15) / 0.3, 1])
    assert t["group"].tolist() == [1, 2, 3, 4]
    assert t["max_probability"].iloc[0] == pytest.approx(0.95)


def test_top_decile_lift_by_hand():
    # top 2 of 20 are both churners: rate 1.0 / 0.3
    assert top_decile_lift(Y, P) == pytest.approx(1 / 0.3)


@pytest.mark.parametrize("seed", range(3))
def test_lift_table_matches_pandas_qcut_on_distinct_scores(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(1003) < 0.2).astype(int)
    p = rng.random(1003) * 0.5 + 0.4 * y
    t = lift_table(y, p)
    # independent: sort descending, cut ranks into 10 near-equal groups
    df = pd.DataFrame({"y": y, "p": p}).sort_values("p", ascending=False).reset_index(drop=True)
    df["g"] = np.concatenate([np.full(len(c), i) for i, c in
                              enumerate(np.array_split(np.arange(len(df)), 10))])
    rates = df.groupby("g")["y"].mean().to_numpy()
    np.testing.assert_allclose(t["lift"], rates / y.mean())
    assert t["customers"].sum() == 1003 and t["churners"].sum() == y.sum()
    assert t["cumulative_gain"].iloc[-1] == pytest.approx(1.0)


def test_cumulative_gains_by_hand_with_ties():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.5, 0.5, 0.1])
    x, g, thr = cumulative_gains(y, p)
    np.testing.assert_allclose(x, [0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(g, [0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(thr[1:], [0.9, 0.5, 0.1])


def test_errors():
    with pytest.raises(ChurnError, match="groups"):
        lift_table([0, 1], [0.1, 0.2], n_bins=10)
    with pytest.raises(ChurnError, match="churners"):
        lift_table(np.zeros(20), P)
