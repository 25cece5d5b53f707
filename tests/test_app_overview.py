"""AppTest of the Overview page (the entry page) on the shipped sample and default model."""
from __future__ import annotations

import numpy as np
import pytest
from apptest_util import (app_models, assert_no_exception, metric, new_app, number,  # noqa: F401
                          reference_scores)

from churn_core import config

pytestmark = pytest.mark.slow


def test_overview_numbers_match_the_engine(app_models):  # noqa: F811
    at = new_app()
    at.run()
    assert_no_exception(at)
    bundle, ref = reference_scores()
    p = ref.scored["churn_probability"].to_numpy()
    y = (ref.scored[bundle.schema.target].astype(str) == bundle.schema.positive_label)

    # defaults come from the model card
    t0 = at.session_state["decision_threshold"]
    # as on the card, not rounded to the slider's grid: the same customers as the CLI flags
    assert t0 == bundle.default_threshold
    shown = f"{t0:.2f}" if abs(t0 * 100 - round(t0 * 100)) <= 1e-6 else f"{t0:.4f}"
    assert f"the decision threshold ({shown})." in [m for m in at.metric
                                                   if m.label == "Predicted churners"][0].help
    if abs(t0 * 100 - round(t0 * 100)) > 1e-6:
        assert any(f"Threshold in use: **{t0:.4f}** (the model's own decision threshold"
                   in c.value for c in at.caption)
    assert at.session_state["tier_cutoffs"] == bundle.tier_cutoffs

    assert number(metric(at, "Customers scored")) == len(ref.scored)
    assert number(metric(at, "Observed churn rate")) == pytest.approx(100 * y.mean(), abs=0.05)
    assert number(metric(at, "Predicted churners")) == int((p >= t0).sum())
    cut = bundle.tier_cutoffs
    assert number(metric(at, "High risk")) == int((p >= cut["high"]).sum())
    assert number(metric(at, "Medium risk")) == int(((p >= cut["medium"]) & (p < cut["high"])).sum())
    assert number(metric(at, "Low risk")) == int((p < cut["medium"]).sum())

    # moving the shared slider changes the count, and the value is kept for other pages
    at.slider(key="threshold_slider_overview").set_value(0.3).run()
    assert_no_exception(at)
    assert at.session_state["decision_threshold"] == pytest.approx(0.3)
    assert number(metric(at, "Predicted churners")) == int((p >= 0.3).sum())
    at.switch_page("pages/performance.py").run()
    assert at.slider(key="threshold_slider_performance").value == pytest.approx(0.3)
    at.switch_page("pages/overview.py").run()
    assert at.slider(key="threshold_slider_overview").value == pytest.approx(0.3)
    assert number(metric(at, "Predicted churners")) == int((p >= 0.3).sum())
    assert config.MODELS_DIR == app_models
