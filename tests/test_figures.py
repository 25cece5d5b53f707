"""Figures: expected traces, threshold point coordinates equal the metrics module's."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from churn_core.figures import performance as F
from churn_core.evaluate.calibration import reliability_curve
from churn_core.evaluate.lift import cumulative_gains, lift_table
from churn_core.evaluate.metrics import metrics_by_threshold, pr_points, roc_points, threshold_metrics
from churn_core.evaluate.net_value import net_value_curve
from churn_core.campaign.tiers import assign_tiers, tier_summary


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.25).astype(int)
    p = np.clip(0.35 * y + 0.65 * rng.random(3000), 0, 1)
    return y, p


def _trace(fig, name_start):
    hits = [t for t in fig.data if (t.name or "").startswith(name_start)]
    assert len(hits) == 1, [t.name for t in fig.data]
    return hits[0]


def test_roc_figure_point_and_challenger(data):
    y, p = data
    t = 0.42
    fig = F.roc_figure(roc_points(y, p, t), challenger=roc_points(y, p ** 2, t))
    assert [tr.name.split(" (")[0] for tr in fig.data] == ["model", "challenger",
                                                           "random ranking", "threshold 0.42"]
    pt = _trace(fig, "threshold")
    pred = (p >= t).astype(int)
    assert pt.x[0] == pytest.approx(1 - recall_score(1 - y, 1 - pred))  # false positive rate
    assert pt.y[0] == pytest.approx(recall_score(y, pred))
    assert "ROC" in fig.layout.title.text and fig.layout.xaxis.title.text
    model = fig.data[0]  # thinned and rounded for the browser, ends kept
    assert len(model.x) <= F.MAX_CURVE_POINTS and model.x[0] == 0.0 and model.x[-1] == 1.0
    assert all(v == round(v, F.CURVE_DECIMALS) for v in model.y)


def test_pr_figure_point(data):
    y, p = data
    fig = F.pr_figure(pr_points(y, p, 0.6), base_rate=y.mean())
    pt = _trace(fig, "threshold")
    pred = (p >= 0.6).astype(int)
    assert pt.x[0] == pytest.approx(recall_score(y, pred))
    assert pt.y[0] == pytest.approx(precision_score(y, pred))
    assert _trace(fig, "random").y[0] == pytest.approx(y.mean())


def test_metrics_vs_threshold_has_lines_and_vertical_line(data):
    y, p = data
    fig = F.metrics_vs_threshold_figure(metrics_by_threshold(y, p), 0.3)
    assert [t.name for t in fig.data] == ["precision", "recall", "F1"]
    assert any(s.x0 == 0.3 and s.x1 == 0.3 for s in fig.layout.shapes)


def test_score_distribution_per_class(data):
    y, p = data
    fig = F.score_distribution_figure(p, y, 0.5)
    assert [t.name for t in fig.data] == ["stayed", "churned"]
    # counted on the server: 40 bars per class, not one number per customer
    edges = np.linspace(0, 1, 41)
    for trace, cls in zip(fig.data, (0, 1)):
        assert trace.type == "bar" and len(trace.x) == 40
        assert list(trace.y) == np.histogram(p[y == cls], bins=edges)[0].tolist()
        assert sum(trace.y) == (y == cls).sum()
    assert trace.x[0] == pytest.approx(0.0125) and trace.x[-1] == pytest.approx(0.9875)
    only = F.score_distribution_figure(np.array([0.0, 0.5, 1.0, 1.0])).data
    assert len(only) == 1 and [i for i, v in enumerate(only[0].y) if v] == [0, 20, 39]
    assert only[0].y[-1] == 2  # 1.0 falls in the last bin (closed on the right)


def test_reliability_lift_gains_net_value_tiers(data):
    y, p = data
    rel = F.reliability_figure({"raw": reliability_curve(y, p), "squared": reliability_curve(
        y, p ** 2)})
    assert [t.name for t in rel.data] == ["perfectly calibrated", "raw", "squared"]
    lift = F.lift_figure(lift_table(y, p))
    assert list(lift.data[0].y) == pytest.approx(lift_table(y, p)["lift"].tolist())
    x, g, _ = cumulative_gains(y, p)
    gains = F.cumulative_gains_figure(x, g)
    assert gains.data[0].x[-1] == 1.0 and gains.data[0].y[-1] == 1.0
    assert len(gains.data[0].x) <= F.MAX_CURVE_POINTS
    curve = net_value_curve(p, 1000, 50, 0.3)
    nv = F.net_value_figure(curve, threshold=0.5)
    star = _trace(nv, "best threshold")
    assert star.x[0] == pytest.approx(curve.best.threshold)
    assert star.y[0] == pytest.approx(curve.best.value)
    assert any(s.type == "rect" for s in nv.layout.shapes)
    s = tier_summary(p, assign_tiers(p), y)
    tf = F.tier_summary_figure(s)
    assert list(tf.data[0].x) == ["High", "Medium", "Low"]
    assert list(tf.data[0].y) == s["customers"].tolist()


def test_confusion_matrix_table_counts(data):
    y, p = data
    m = threshold_metrics(y, p, 0.5)
    t = F.confusion_matrix_table(m)
    assert t.shape == (2, 2) and list(t.index) == ["actually stayed", "actually churned"]
    counts = t.apply(lambda col: col.str.split(" ").str[0].str.replace(",", "").astype(int))
    np.testing.assert_array_equal(counts.to_numpy(), m.confusion_matrix())
    assert t.iloc[1, 1].endswith("churners caught") and t.iloc[0, 1].endswith("false alarms")
