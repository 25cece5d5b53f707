"""The synthetic bank sample: layout, marginal shapes, churn rates (issue 2 item 10) and mechanism."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core import config
from churn_core.data import synthetic
from churn_core.io.reader import read_table

TOL = 0.02  # +-2 percentage points


@pytest.fixture(scope="module")
def sample():
    return synthetic.make_bank_customers(10_000, seed=config.SEED)


@pytest.mark.realdata
def test_same_columns_as_real_bank_file(sample, bank_csv):
    real, _ = read_table(bank_csv)
    assert list(sample.columns) == list(real.columns)


def test_shape_and_marginals(sample):
    assert sample.shape == (10_000, 14)
    assert sample["RowNumber"].tolist() == list(range(1, 10_001))
    assert sample["CustomerId"].is_unique
    assert sample["Geography"].value_counts(normalize=True).to_dict() == pytest.approx(
        {"France": 0.50, "Germany": 0.25, "Spain": 0.25}, abs=0.02)
    assert (sample["Gender"] == "Male").mean() == pytest.approx(0.55, abs=0.02)
    assert sample["Age"].mean() == pytest.approx(38.9, abs=0.6)
    assert sample["Age"].std() == pytest.approx(10.5, abs=0.6)
    assert sample["Age"].min() == 18 and sample["Age"].max() <= 92
    assert sample["CreditScore"].mean() == pytest.approx(650, abs=5)
    assert sample["CreditScore"].std() == pytest.approx(97, abs=5)
    assert sample["CreditScore"].between(350, 850).all()
    assert set(sample["Tenure"]) == set(range(11))
    assert (sample["Balance"] == 0).mean() == pytest.approx(0.36, abs=0.02)
    assert sample.loc[sample["Balance"] > 0, "Balance"].mean() == pytest.approx(120_000, rel=0.05)
    assert sample["NumOfProducts"].value_counts(normalize=True).to_dict() == pytest.approx(
        {1: 0.51, 2: 0.46, 3: 0.027, 4: 0.006}, abs=0.01)
    assert sample["HasCrCard"].mean() == pytest.approx(0.71, abs=0.02)
    assert sample["IsActiveMember"].mean() == pytest.approx(0.52, abs=0.02)
    sal = sample["EstimatedSalary"]
    assert sal.min() >= 0 and sal.max() <= 200_000
    np.testing.assert_allclose(np.histogram(sal, bins=4, range=(0, 200_000))[0] / len(sal), 0.25, atol=0.02)


# The rates (issue 2, item 10), written out independently of synthetic.TARGET_RATES.
RATES = [
    ("all", None, 0.204),
    ("Geography", "France", 0.162), ("Geography", "Germany", 0.32), ("Geography", "Spain", 0.167),
    ("Gender", "Female", 0.25), ("Gender", "Male", 0.165),
    ("IsActiveMember", 0, 0.27), ("IsActiveMember", 1, 0.14),
    ("NumOfProducts", 1, 0.28), ("NumOfProducts", 2, 0.076), ("NumOfProducts", 3, 0.83), ("NumOfProducts", 4, 1.0),
    ("age", (18, 30), 0.075), ("age", (30, 40), 0.12), ("age", (40, 50), 0.34), ("age", (50, 60), 0.56),
    ("age", (60, 70), 0.31), ("age", (70, 200), 0.08),
]


@pytest.mark.parametrize("column, level, rate", RATES)
def test_churn_rates_within_2_points(sample, column, level, rate):
    if column == "all":
        mask = np.ones(len(sample), bool)
    elif column == "age":
        mask = sample["Age"].between(level[0], level[1], inclusive="left")
    else:
        mask = sample[column] == level
    assert sample.loc[mask, "Exited"].mean() == pytest.approx(rate, abs=TOL)


def test_deterministic_and_seed_dependent(sample):
    pd.testing.assert_frame_equal(sample, synthetic.make_bank_customers(10_000, seed=config.SEED))
    assert not sample.equals(synthetic.make_bank_customers(10_000, seed=config.SEED + 1))


def test_mechanism_no_effect_columns_do_not_enter_probability(sample):
    p = synthetic.churn_probability(sample)
    shuffled = sample.copy()
    rng = np.random.default_rng(0)
    for col in synthetic.NO_EFFECT_COLUMNS:
        shuffled[col] = rng.permutation(shuffled[col].to_numpy())
    np.testing.assert_array_equal(synthetic.churn_probability(shuffled), p)
    for col in synthetic.TRUE_DRIVERS:
        changed = sample.copy()
        changed[col] = rng.permutation(changed[col].to_numpy())
        assert not np.allclose(synthetic.churn_probability(changed), p)
    assert set(synthetic.TRUE_DRIVERS).isdisjoint(synthetic.NO_EFFECT_COLUMNS)
    assert set(synthetic.TRUE_DRIVERS) | set(synthetic.NO_EFFECT_COLUMNS) == set(synthetic.COLUMNS[3:-1])


def test_no_effect_columns_independent_of_churn_in_large_sample():
    """Logistic regression (scikit-learn) on 200k rows: no-effect columns get ~0 coefficients."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    big = synthetic.make_bank_customers(200_000, seed=1)
    cols = ["CreditScore", "Tenure", "Balance", "HasCrCard", "EstimatedSalary", "IsActiveMember"]
    X = StandardScaler().fit_transform(big[cols].to_numpy(float))
    coef = LogisticRegression(max_iter=500).fit(X, big["Exited"]).coef_[0]
    assert np.all(np.abs(coef[:5]) < 0.03)
    assert abs(coef[5]) > 0.2  # a true driver


def test_written_sample_matches_function(tmp_path):
    path = synthetic.write_sample(tmp_path / "s.csv", n=500, seed=3)
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, synthetic.make_bank_customers(500, seed=3), check_dtype=False)


def test_shipped_sample_is_reproducible():
    if not config.SAMPLE_CSV.is_file():
        pytest.skip("data/sample_customers.csv not generated yet")
    shipped = pd.read_csv(config.SAMPLE_CSV)
    pd.testing.assert_frame_equal(shipped, synthetic.make_bank_customers(10_000, seed=config.SEED),
                                  check_dtype=False)
