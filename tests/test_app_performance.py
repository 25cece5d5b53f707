"""AppTest of the Performance page: shown metrics equal scikit-learn's on the test split."""
from __future__ import annotations

import numpy as np
import pytest
from apptest_util import (app_models, assert_no_exception, eval_test_arrays, metric,  # noqa: F401
                          number, open_page)
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score,
                             precision_recall_curve, precision_score, recall_score,
                             roc_auc_score)

from churn_core.model.bundle import load_bundle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def perf_app(app_models):  # noqa: F811
    at = open_page("pages/performance.py")
    return at


def test_threshold_free_metrics(perf_app):
    y, p = eval_test_arrays(load_bundle("default"))
    assert number(metric(perf_app, "ROC-AUC")) == pytest.approx(roc_auc_score(y, p), abs=5e-4)
    assert number(metric(perf_app, "PR-AUC (average precision)")) == pytest.approx(
        average_precision_score(y, p), abs=5e-4)
    assert number(metric(perf_app, "Test customers")) == len(y)


@pytest.mark.parametrize("t", [0.2, 0.45, 0.7])
def test_metrics_at_the_slider_threshold(perf_app, t):
    at = perf_app
    at.slider(key="threshold_slider_performance").set_value(t).run()
    assert_no_exception(at)
    y, p = eval_test_arrays(load_bundle("default"))
    pred = (p >= t).astype(int)
    assert number(metric(at, "Precision")) == pytest.approx(
        precision_score(y, pred, zero_division=0), abs=5e-4)
    assert number(metric(at, "Recall")) == pytest.approx(recall_score(y, pred), abs=5e-4)
    assert number(metric(at, "F1")) == pytest.approx(f1_score(y, pred), abs=5e-4)
    assert number(metric(at, "Accuracy")) == pytest.approx(accuracy_score(y, pred), abs=5e-4)
    spec = ((pred == 0) & (y == 0)).sum() / (y == 0).sum()
    assert number(metric(at, "Specificity")) == pytest.approx(spec, abs=5e-4)
    assert number(metric(at, "Flagged")) == pred.sum()


def test_precision_is_a_dash_when_nobody_is_flagged(perf_app):
    """At threshold 1.00 no test customer is flagged: precision is undefined, shown as a dash
    with the reason (was 0.000, read as "every flagged customer is a false alarm")."""
    at = perf_app
    at.slider(key="threshold_slider_performance").set_value(1.0).run()
    assert_no_exception(at)
    y, p = eval_test_arrays(load_bundle("default"))
    assert (p >= 1.0).sum() == 0 and number(metric(at, "Flagged")) == 0
    [prec] = [m for m in at.metric if m.label == "Precision"]
    assert prec.value == "—" and "No test customer is flagged" in prec.proto.help
    at.slider(key="threshold_slider_performance").set_value(0.5).run()
    assert number(metric(at, "Precision")) == pytest.approx(
        precision_score(y, (p >= 0.5).astype(int)), abs=5e-4)


def test_max_f1_strategy_sets_the_shared_threshold(perf_app):
    at = perf_app
    at.radio(key="perf_strategy").set_value("max_f1").run()
    at.button(key="perf_apply").click().run()
    assert_no_exception(at)
    bundle = load_bundle("default")
    ev = bundle.evaluation["validation"]
    y_val, p_val = np.asarray(ev["y"]), np.asarray(ev["p"])
    prec, rec, _ = precision_recall_curve(y_val, p_val)
    best_f1 = np.max(np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0))
    t = at.session_state["decision_threshold"]
    assert f1_score(y_val, (p_val >= t).astype(int)) == pytest.approx(best_f1, abs=1e-9)
    assert at.slider(key="threshold_slider_performance").value == pytest.approx(t)


def test_challenger_overlay_never_raises(perf_app):
    at = perf_app
    at.toggle(key="perf_challenger__performance").set_value(True).run()
    assert_no_exception(at)
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/performance.py").run()  # the overlay stays on after a page visit
    assert at.toggle(key="perf_challenger__performance").value is True
    tables = [d for d in at.dataframe if "ROC-AUC" in getattr(d.value, "columns", [])]
    errors = [e.value for e in at.error]
    # either the side-by-side table, or a clear message that the training file is needed
    assert tables or any("training" in e for e in errors), errors
    if tables:  # the plain verdict comes with the table
        texts = [m.value for m in [*at.info, *at.warning]]
        assert any("challenger" in t and "top 10%" in t for t in texts), texts


def _best_net_value(value: float, cost: float, success: float) -> tuple:
    """(p_val, total(t), best total) of the net-value strategy, by brute force over every
    distinct validation score as a threshold."""
    ev = load_bundle("default").evaluation["validation"]
    p = np.asarray(ev["p"])
    net = p * success * value - cost

    def total(t):
        return net[p >= t].sum()

    return p, total, max(total(t) for t in np.unique(p))


def test_net_value_strategy_picks_the_best_threshold_on_validation(perf_app):
    at = perf_app
    # the strategy has no value inputs of its own: the app's one set (campaign rule section)
    at.radio(key="perf_strategy").set_value("max_net_value").run()
    assert not [w for w in at.number_input if w.key in ("perf_value", "perf_cost")]
    at.radio(key="value_kind__performance").set_value("one amount").run()
    at.number_input(key="value_amount__performance").set_value(800.0)
    at.number_input(key="value_cost__performance").set_value(30.0)
    at.slider(key="value_success__performance").set_value(0.4).run()
    at.button(key="perf_apply").click().run()
    assert_no_exception(at)
    _, total, brute = _best_net_value(800.0, 30.0, 0.4)
    t = at.session_state["decision_threshold"]
    assert total(t) == pytest.approx(brute, rel=1e-9)
    assert any("net value" in c.value and f"{brute:,.0f} EUR" in c.value for c in at.caption)
    assert any(r"800\.00 EUR per saved customer" in c.value for c in at.caption)  # escaped


def test_value_set_on_score_page_drives_the_net_value_strategy(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    at.radio(key="value_kind__score").set_value("one amount").run()
    at.number_input(key="value_amount__score").set_value(1200.0)
    at.number_input(key="value_cost__score").set_value(45.0)
    at.slider(key="value_success__score").set_value(0.25)
    at.text_input(key="value_currency__score").set_value("USD").run()
    assert_no_exception(at)
    at.switch_page("pages/performance.py").run()
    # the shared values are shown (and editable) on Performance
    assert at.number_input(key="value_amount__performance").value == 1200.0
    assert at.number_input(key="value_cost__performance").value == 45.0
    at.radio(key="perf_strategy").set_value("max_net_value").run()
    at.button(key="perf_apply").click().run()
    assert_no_exception(at)
    p, total, brute = _best_net_value(1200.0, 45.0, 0.25)
    t = at.session_state["decision_threshold"]
    assert total(t) == pytest.approx(brute, rel=1e-9)
    assert any(f"{brute:,.0f} USD" in c.value for c in at.caption)
    # a change on Performance is seen on Score & segment, and back on Performance
    at.number_input(key="value_amount__performance").set_value(300.0).run()
    at.switch_page("pages/score_segment.py").run()
    assert_no_exception(at)
    assert at.number_input(key="value_amount__score").value == 300.0
    assert at.session_state["value_assumptions"]["amount"] == 300.0
    at.switch_page("pages/performance.py").run()
    at.radio(key="perf_strategy").set_value("max_net_value").run()  # a plain page widget
    assert_no_exception(at)
    _, _, brute300 = _best_net_value(300.0, 45.0, 0.25)
    assert brute300 != pytest.approx(brute)
    assert any(f"{brute300:,.0f} USD" in c.value for c in at.caption)


def test_one_threshold_chart_at_a_time_and_the_confusion_table(perf_app):
    """The slider redraws one chart (the analyst picks which) and a plain confusion table."""
    at = perf_app
    at.slider(key="threshold_slider_performance").set_value(0.45).run()
    y, p = eval_test_arrays(load_bundle("default"))
    pred = (p >= 0.45).astype(int)
    table = [t for t in at.table if "model says: churns" in t.value.columns][0].value
    assert table.loc["actually churned", "model says: churns"].startswith(f"{((pred == 1) & (y == 1)).sum():,} ")
    assert table.loc["actually stayed", "model says: churns"].startswith(f"{((pred == 1) & (y == 0)).sum():,} ")
    views = {"Score distribution": ("perf_dist", "stayed"), "Metrics vs threshold": ("perf_sweep", "precision"),
             "ROC curve": ("perf_roc", "MLP (ROC-AUC"), "Precision-recall curve": ("perf_pr", "MLP (PR-AUC")}
    keys = {key for key, _ in views.values()}
    for view, (key, trace) in views.items():
        at.segmented_control(key="perf_view__performance").set_value(view).run()
        assert_no_exception(at)
        shown = [c for c in at.get("plotly_chart") if c.key in keys]
        assert [c.key for c in shown] == [key], view  # one threshold chart, the one picked
        assert f'"name":"{trace}' in shown[0].proto.spec, view
        assert "threshold 0.45" in shown[0].proto.spec or "0.45," in shown[0].proto.spec, view
    # the choice outlives a visit to another page
    at.switch_page("pages/explain.py").run()
    at.switch_page("pages/performance.py").run()
    assert at.segmented_control(key="perf_view__performance").value == "Precision-recall curve"
    assert [c.key for c in at.get("plotly_chart") if c.key in keys] == ["perf_pr"]
