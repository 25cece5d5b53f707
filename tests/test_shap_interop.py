"""Our raw-column SHAP values as ``shap.Explanation`` objects, checked against shap's own
exact explainer (``shap.explainers.Exact`` with an ``Independent`` masker over the same
background rows) on the suite's tiny model."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from churn_core.explain.shap_values import RawColumnExplainer

pytestmark = pytest.mark.slow  # shap's Exact explainer compiles numba code on first use


@pytest.fixture(scope="module")
def small(trained_bundle, sample_df, sample_schema):
    from churn_core.data.validate import validate

    valid = validate(sample_df, sample_schema, require_target=True).valid
    explainer = RawColumnExplainer(trained_bundle, valid, background_size=20, seed=5)
    return explainer, valid.iloc[200:204]


def _shap_exact(explainer, rows):
    """shap.explainers.Exact over the raw columns (categories coded as integers)."""
    import shap

    from churn_core.explain.shap_interop import numeric_game

    to_num, f = numeric_game(explainer, rows)
    bg = to_num(explainer.background)
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    return shap.explainers.Exact(f, masker)(to_num(rows))


def test_our_values_as_shap_explanation_match_shaps_exact_explainer(small):
    import shap

    explainer, rows = small
    ours = explainer.explain(rows, method="exact").to_shap()
    assert isinstance(ours, shap.Explanation)
    assert ours.values.shape == (len(rows), len(explainer.columns))
    assert list(ours.feature_names) == explainer.columns
    assert np.allclose(ours.base_values, explainer.base_value)
    theirs = _shap_exact(explainer, rows)
    # same game (same background rows, same raw-column players): same values, float32 model
    assert np.allclose(ours.values, theirs.values, atol=1e-5)
    assert np.allclose(ours.base_values, theirs.base_values, atol=1e-5)
    # the fast estimate agrees closely with shap's exact values
    fast = explainer.explain(rows, method="fast", n_permutations=16).to_shap()
    r = np.corrcoef(fast.values.ravel(), theirs.values.ravel())[0, 1]
    assert r > 0.99
    # shap's own Explanation operations work on ours: one customer, a column by name,
    # mean |SHAP| (what shap.plots.bar shows; matplotlib is not installed here)
    one = ours[0]
    assert one.values.shape == (len(explainer.columns),)
    col = explainer.columns[0]
    assert np.allclose(ours[:, col].values, ours.values[:, 0])
    assert np.allclose(ours.abs.mean(0).values, np.abs(ours.values).mean(axis=0))
    numeric_col = explainer.columns.index(explainer.numeric[0])
    assert isinstance(ours.data[0, numeric_col], float)
