"""Data-page and training figures: values drawn equal independent pandas/numpy computations."""
from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core.figures.data import distribution_figure, loss_figure


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Geography": rng.choice(["France", "Spain", "Germany"], n),
                         "Age": rng.integers(18, 90, n).astype(float),
                         "outcome": rng.choice(["churned", "stayed"], n, p=[0.2, 0.8])})


def test_categorical_bars_are_churn_rates_per_value():
    f = _frame()[["Geography", "outcome"]]
    fig = distribution_figure(f, "Geography", numeric=False)
    bar = fig.data[0]
    expected = f.assign(c=f["outcome"].eq("churned")).groupby("Geography")["c"].mean()
    got = dict(zip(bar.x, bar.y))
    assert set(got) == set(expected.index)
    for k, v in expected.items():
        assert got[k] == v
    assert fig.layout.yaxis.tickformat == ".0%"


def test_numeric_histogram_one_trace_per_outcome_in_percent():
    f = _frame()[["Age", "outcome"]]
    fig = distribution_figure(f, "Age", numeric=True)
    assert sorted(t.name for t in fig.data) == ["churned", "stayed"]
    assert all(t.histnorm == "percent" for t in fig.data)
    for t in fig.data:
        assert len(t.x) == int((f["outcome"] == t.name).sum())


def test_without_outcome_counts_values():
    f = _frame()[["Geography"]]
    fig = distribution_figure(f, "Geography", numeric=False)
    assert len(fig.data) == 1 and fig.data[0].type == "histogram"
    assert len(fig.data[0].x) == len(f)


def test_loss_figure_traces_and_kept_epoch():
    history = {"loss": [0.7, 0.5, 0.45], "val_loss": [0.68, 0.52, 0.55]}
    fig = loss_figure(history, best_epoch=2)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["training loss"].y) == history["loss"]
    assert list(by_name["validation loss"].y) == history["val_loss"]
    assert list(by_name["training loss"].x) == [1, 2, 3]
    assert [s.x0 for s in fig.layout.shapes] == [2]
