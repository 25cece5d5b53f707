"""The workspace's promise of how long SHAP values take (issue 18 item 4): the rate measured on
this server for the active model, replaced by the rate of the last real computation."""
from __future__ import annotations

import numpy as np
import pytest

from churn_core import workbench as wb


@pytest.fixture
def workspace(tmp_path, monkeypatch, trained_bundle):
    from churn_core.model.bundle import save_bundle

    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    save_bundle(trained_bundle, "m1", tmp_path / "models")
    monkeypatch.setattr(wb.config, "MODELS_DIR", tmp_path / "models")
    ws = wb.Workspace({}, wb.ResultStore())
    ws.set_model("m1")
    raw = wb.config.SAMPLE_CSV.read_bytes()
    lines = raw.splitlines(keepends=True)
    ws.set_data(ws.read_upload("part.csv", b"".join(lines[:301])))  # 300 customers
    return ws


def test_explain_seconds_quotes_the_rate_measured_here(workspace):
    data = workspace.data()
    n = len(workspace.scores(data).scored)
    assert n == 300
    key = workspace._model_key(None) + ("precise",)
    assert workspace.store.peek("explain_rate", key) is None
    promise = workspace.explain_seconds(data)
    rate = workspace.store.peek("explain_rate", key)  # timed on the file's customers (shap_rate)
    assert rate > 0 and promise == pytest.approx(rate * n)
    assert workspace.explain_seconds(data, max_rows=100) == pytest.approx(rate * 100)

    expl = workspace.explanation(data, max_rows=200)
    assert len(expl) == 200
    measured = workspace.store.peek("explain_rate", key)  # the real computation's own rate
    assert measured is not None and measured != rate
    assert workspace.explain_seconds(data) == pytest.approx(measured * n)


def test_reason_codes_for_every_customer_use_the_quicker_reasons_estimate(workspace):
    data = workspace.data()
    precise_key = workspace._model_key(None) + ("precise",)
    reasons_key = workspace._model_key(None) + ("reasons",)
    workspace.explain_seconds(data, estimate="reasons")
    assert workspace.store.peek("explain_rate", reasons_key) is not None
    assert workspace.store.peek("explain_rate", precise_key) is None  # a rate per estimate

    quick = workspace.explanation(data, estimate="reasons")
    assert len(quick) == 300
    assert quick.background_size == wb.config.REASON_BACKGROUND_SIZE == 50
    assert quick.n_permutations == wb.config.REASON_PERMUTATIONS == 2
    assert "50" in quick.method_description
    # the precise explainer keeps its own, larger background
    assert workspace.explainer(data).background_size == 100
    # reason codes come from it, one row per scored customer
    reasons = workspace.reasons(data, quick, actionable_only=True)
    assert len(reasons) == 300
    proba = workspace.scores(data).scored["churn_probability"].to_numpy()
    top = np.argsort(-proba)[:30]  # the riskiest customers each have a first reason
    assert reasons["reason_1"].iloc[top].astype(str).str.endswith("raises risk").all()
    # an explanation of every customer serves a later, smaller request (Explain's charts)
    assert workspace.explanation(data, compute=False, max_rows=200) is quick


def test_derived_results_are_computed_once_per_server_not_per_session(workspace,
                                                                       trained_bundle):
    data = workspace.data()
    other = wb.Workspace(dict(workspace.state), workspace.store)  # a second session
    calls = []

    def compute():
        calls.append(1)
        return object()

    scores = workspace.scores(data)
    assert scores.key and other.scores(data) is scores
    first = workspace.derived("quality", scores, compute)
    assert other.derived("quality", scores, compute) is first and len(calls) == 1
    # per file and column roles, and per extra key part (e.g. the column of a chart)
    by_data = workspace.derived("figure", data, compute, "distribution", "Age")
    assert other.derived("figure", data, compute, "distribution", "Age") is by_data
    assert other.derived("figure", data, compute, "distribution", "Balance") is not by_data
    assert len(calls) == 3
    # None: the active model alone (its test-split charts), shared by every session
    by_model = workspace.derived("figure", None, compute, "roc", 0.5)
    assert other.derived("figure", None, compute, "roc", 0.5) is by_model
    assert len(calls) == 4
    from churn_core.model.bundle import save_bundle

    save_bundle(trained_bundle, "m2", wb.config.MODELS_DIR)
    other.set_model("m2")  # another model: its own charts
    assert other.derived("figure", None, compute, "roc", 0.5) is not by_model
    assert len(calls) == 5
    # scores made outside a workspace carry no key: nothing is kept for them
    loose = wb.score_data(workspace.bundle(), data)
    assert loose.key == ()
    workspace.derived("quality", loose, compute)
    workspace.derived("quality", loose, compute)
    assert len(calls) == 7


def test_the_notice_alone_does_not_measure_the_file(workspace, monkeypatch):
    """Explain and Score & segment only need the "trained on other data" sentence: the
    description without ``measure`` has the same notice and no scoring of the labels (the
    measured one, Overview's and Performance's, has the ROC-AUC of the file)."""
    import churn_core.model.measure as measure_mod

    data, bundle = workspace.data(), workspace.bundle()
    calls = []
    real = measure_mod.measure_frame
    monkeypatch.setattr(measure_mod, "measure_frame",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    light = wb.model_on_file(bundle, data, measure=False)
    assert calls == [] and light.measure is None and light.error is None
    full = wb.model_on_file(bundle, data)
    assert calls == [1] and full.measure is not None and 0.5 < full.measure.roc_auc <= 1.0
    assert full.measure.n_evaluated == 300
    assert light.notice() == full.notice() and light.other_data == full.other_data
    assert light.test_roc_auc == full.test_roc_auc
