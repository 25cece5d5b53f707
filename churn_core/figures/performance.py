"""Plotly figures for analysts, built from precomputed arrays only (they never fit or predict).

Inputs are the outputs of :mod:`churn_core.evaluate.metrics`, :mod:`~churn_core.evaluate.thresholds`,
:mod:`~churn_core.evaluate.calibration`, :mod:`~churn_core.evaluate.lift` and :mod:`~churn_core.campaign.tiers`.
Titles and axis labels are in plain words; the current decision threshold is always marked.
Trace names are stable (tests and pages look traces up by name).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from churn_core.columns import TIER

__all__ = [
    "COLORS",
    "TIER_COLORS",
    "roc_figure",
    "pr_figure",
    "confusion_matrix_table",
    "metrics_vs_threshold_figure",
    "score_distribution_figure",
    "reliability_figure",
    "lift_figure",
    "cumulative_gains_figure",
    "net_value_figure",
    "tier_summary_figure",
]

#: "point" marks the decision threshold: orange, seen on a light and a dark theme (a near-black
#: marker disappeared on the dark one) and apart from every curve's colour
COLORS = {"model": "#C8102E", "challenger": "#4C78A8", "baseline": "#888888",
          "point": "#F58518", "band": "rgba(84, 162, 75, 0.18)", "optimum": "#2E7D32"}
TIER_COLORS = {"High": "#C8102E", "Medium": "#F58518", "Low": "#54A24B"}
_METRIC_COLORS = {"precision": "#4C78A8", "recall": "#C8102E", "f1": "#2E7D32",
                  "accuracy": "#9467BD", "specificity": "#8C564B",
                  "predicted_positive_rate": "#888888"}
_METRIC_LABELS = {"precision": "precision", "recall": "recall", "f1": "F1",
                  "accuracy": "accuracy", "specificity": "specificity",
                  "predicted_positive_rate": "share of customers flagged"}


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=15)), xaxis_title=x,
                      yaxis_title=y, height=height, margin=dict(l=10, r=10, t=45, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
                      **kw)
    return fig


#: Points kept per drawn curve: a chart is about 600 pixels wide, so 500 points look the same
#: as 2,000 and make a quarter of the JSON the browser parses and draws on every threshold move.
MAX_CURVE_POINTS = 500
#: Decimals kept of drawn curve coordinates (shares and rates in [0, 1]: 1e-5 is far below a
#: pixel); full float64 digits tripled the size of the figure sent to the browser.
CURVE_DECIMALS = 5


def _thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS):
    """Keep at most ``max_points`` evenly spaced points (always the first and last), rounded
    to :data:`CURVE_DECIMALS` decimals."""
    x, y = np.asarray(x), np.asarray(y)
    if x.size > max_points:
        idx = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, y = x[idx], y[idx]
    if x.dtype.kind == "f":
        x = np.round(x, CURVE_DECIMALS)
    if y.dtype.kind == "f":
        y = np.round(y, CURVE_DECIMALS)
    return x, y


def _curve(fig, x, y, name, color, dash=None):
    x, y = _thin(x, y)
    fig.add_scatter(x=x, y=y, mode="lines", name=name, line=dict(color=color, width=2,
                                                                  dash=dash))


def _point(fig, x, y, threshold, hover):
    fig.add_scatter(x=[x], y=[y], mode="markers", name=f"threshold {threshold:.2f}",
                    marker=dict(size=13, color=COLORS["point"], symbol="circle-open",
                                line=dict(width=3)),
                    hovertemplate=hover + "<extra></extra>")


def roc_figure(roc, challenger=None, name: str = "model",
               challenger_name: str = "challenger", split: str = "test") -> go.Figure:
    """ROC curve with the current threshold marked.

    Parameters
    ----------
    roc : churn_core.evaluate.metrics.CurvePoints
        From :func:`churn_core.evaluate.metrics.roc_points` (x = false positive rate, y = recall).
    challenger : CurvePoints, optional
        A second model's ROC curve, drawn dotted.
    name, challenger_name : str
        Legend names (the ROC-AUC is appended).
    split : str, default "test"
        Named in the title.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: model curve, [challenger curve], "random ranking" diagonal, threshold point.
    """
    fig = go.Figure()
    _curve(fig, roc.x, roc.y, f"{name} (ROC-AUC {roc.auc:.3f})", COLORS["model"])
    if challenger is not None:
        _curve(fig, challenger.x, challenger.y,
               f"{challenger_name} (ROC-AUC {challenger.auc:.3f})", COLORS["challenger"], "dot")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="random ranking",
                    line=dict(color=COLORS["baseline"], dash="dash", width=1))
    _point(fig, roc.point_x, roc.point_y, roc.threshold,
           "false alarm rate %{x:.1%}<br>churners caught %{y:.1%}")
    return _layout(fig, f"ROC curve ({split} split): churners caught vs false alarms",
                   "false positive rate (share of stayers flagged)",
                   "true positive rate (recall)",
                   xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def pr_figure(pr, challenger=None, base_rate: float | None = None, name: str = "model",
              challenger_name: str = "challenger", split: str = "test") -> go.Figure:
    """Precision-recall curve with the current threshold marked.

    Parameters
    ----------
    pr : churn_core.evaluate.metrics.CurvePoints
        From :func:`churn_core.evaluate.metrics.pr_points` (x = recall, y = precision).
    challenger : CurvePoints, optional
        A second model's curve.
    base_rate : float, optional
        Overall churn rate, drawn as the "random ranking" line (precision of random picks).
    name, challenger_name, split : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    _curve(fig, pr.x, pr.y, f"{name} (PR-AUC {pr.auc:.3f})", COLORS["model"])
    if challenger is not None:
        _curve(fig, challenger.x, challenger.y,
               f"{challenger_name} (PR-AUC {challenger.auc:.3f})", COLORS["challenger"], "dot")
    if base_rate is not None:
        fig.add_scatter(x=[0, 1], y=[base_rate, base_rate], mode="lines",
                        name="random ranking", line=dict(color=COLORS["baseline"], dash="dash",
                                                         width=1))
    _point(fig, pr.point_x, pr.point_y, pr.threshold,
           "churners caught %{x:.1%}<br>flagged who really churn %{y:.1%}")
    return _layout(fig, f"Precision-recall curve ({split} split)",
                   "recall (share of churners caught)",
                   "precision (flagged who churn)",
                   xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def confusion_matrix_table(m) -> pd.DataFrame:
    """The 2x2 confusion matrix as a small table of counts with plain labels (drawn as plain
    text: cheaper for the browser than a heatmap on every threshold move).

    Parameters
    ----------
    m : churn_core.evaluate.metrics.ThresholdMetrics

    Returns
    -------
    DataFrame of shape (2, 2)
        Index "actually stayed", "actually churned"; columns "model says: stays", "model
        says: churns"; cells such as ``"1,234 stayed, not flagged"`` (counts of
        ``[[tn, fp], [fn, tp]]``).
    """
    return pd.DataFrame(
        [[f"{m.tn:,} stayed, not flagged", f"{m.fp:,} false alarms"],
         [f"{m.fn:,} churners missed", f"{m.tp:,} churners caught"]],
        index=["actually stayed", "actually churned"],
        columns=["model says: stays", "model says: churns"])


def metrics_vs_threshold_figure(table: pd.DataFrame, threshold: float,
                                metrics=("precision", "recall", "f1")) -> go.Figure:
    """Metrics as the decision threshold moves, with a vertical line at the current one.

    Parameters
    ----------
    table : DataFrame
        From :func:`churn_core.evaluate.metrics.metrics_by_threshold`.
    threshold : float
        Current decision threshold.
    metrics : sequence of str, default ("precision", "recall", "f1")
        Columns of ``table`` to draw.

    Returns
    -------
    plotly.graph_objects.Figure
        One line per metric; the threshold is a layout shape (vertical line). Precision is
        drawn as a gap (NaN) at thresholds where no customer is flagged (undefined there).
    """
    fig = go.Figure()
    if "flagged" in table:
        flagged = table["flagged"].to_numpy()
    elif {"tp", "fp"} <= set(table.columns):
        flagged = (table["tp"] + table["fp"]).to_numpy()
    else:
        flagged = None
    for k in metrics:
        y = table[k].to_numpy(dtype=float)
        if k == "precision" and flagged is not None:
            # nobody flagged: precision is undefined, drawn as a gap rather than a fall to 0
            y = np.where(flagged == 0, np.nan, y)
        fig.add_scatter(x=table["threshold"], y=y, mode="lines",
                        name=_METRIC_LABELS.get(k, k),
                        line=dict(color=_METRIC_COLORS.get(k), width=2))
    fig.add_vline(x=float(threshold), line=dict(color=COLORS["point"], dash="dash"),
                  annotation_text=f"threshold {threshold:.2f}", annotation_position="top")
    return _layout(fig, "Precision, recall and F1 as the threshold moves",
                   "decision threshold (churn probability)", "value",
                   xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def score_distribution_figure(p, y=None, threshold: float = 0.5, nbins: int = 40
                              ) -> go.Figure:
    """Histogram of churn probabilities, per class when labels are known.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities.
    y : array-like of shape (n_samples,), optional
        0/1 labels; two overlaid histograms ("stayed", "churned") when given.
    threshold : float
    nbins : int, default 40
        Bins over [0, 1].

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per class (bar ``i`` counts the probabilities in
        ``[i / nbins, (i + 1) / nbins)``, the last bin closed, as :func:`numpy.histogram`),
        and the threshold as a dashed vertical line.
    """
    p = np.asarray(p, dtype=float)
    fig = go.Figure()
    # counted here, drawn as bars: a histogram trace sent every probability to the browser
    # (100,000 numbers for 100,000 customers) on every threshold move
    edges = np.linspace(0.0, 1.0, nbins + 1)
    mids = np.round((edges[:-1] + edges[1:]) / 2, 6)
    groups = [("customers", p, COLORS["challenger"])] if y is None else [
        ("stayed", p[np.asarray(y) == 0], COLORS["challenger"]),
        ("churned", p[np.asarray(y) == 1], COLORS["model"])]
    for name, values, color in groups:
        counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
        fig.add_bar(x=mids, y=counts, width=1.0 / nbins, name=name, marker_color=color,
                    opacity=0.65 if y is not None else None, marker_line_width=0,
                    customdata=np.round(np.column_stack([edges[:-1], edges[1:]]), 6),
                    hovertemplate="%{customdata[0]:.3f}-%{customdata[1]:.3f}: %{y:,} customers"
                                  "<extra>" + name + "</extra>")
    fig.add_vline(x=float(threshold), line=dict(color=COLORS["point"], dash="dash"),
                  annotation_text=f"threshold {threshold:.2f}", annotation_position="top")
    return _layout(fig, "How churn probabilities are spread", "churn probability",
                   "customers", barmode="overlay", xaxis_range=[0, 1])


def reliability_figure(curves: dict) -> go.Figure:
    """Reliability diagram: observed churn rate versus predicted probability.

    Parameters
    ----------
    curves : dict of str to DataFrame
        Label (e.g. ``"raw"``, ``"calibrated (isotonic)"``) -> output of
        :func:`churn_core.evaluate.calibration.reliability_curve`.

    Returns
    -------
    plotly.graph_objects.Figure
        A "perfectly calibrated" diagonal plus one line+markers trace per curve.
    """
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line=dict(color=COLORS["baseline"], dash="dash", width=1))
    palette = [COLORS["model"], COLORS["challenger"], "#2E7D32", "#9467BD"]
    for i, (label, c) in enumerate(curves.items()):
        fig.add_scatter(x=c["mean_predicted"], y=c["observed_rate"], mode="lines+markers",
                        name=label, line=dict(color=palette[i % len(palette)], width=2),
                        customdata=c["customers"],
                        hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}"
                                      "<br>%{customdata:,} customers<extra></extra>")
    return _layout(fig, "Do the probabilities mean what they say? (reliability diagram)",
                   "predicted churn probability (bin average)", "observed churn rate",
                   xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def lift_figure(table: pd.DataFrame) -> go.Figure:
    """Lift per group (decile) as bars, with the "random targeting" level at 1.

    Parameters
    ----------
    table : DataFrame
        From :func:`churn_core.evaluate.lift.lift_table`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    k = len(table)
    fig = go.Figure(go.Bar(x=table["group"], y=table["lift"], name="lift",
                           marker_color=COLORS["model"], customdata=table["churn_rate"],
                           hovertemplate="group %{x}<br>lift %{y:.2f}<br>churn rate "
                                         "%{customdata:.1%}<extra></extra>"))
    fig.add_hline(y=1.0, line=dict(color=COLORS["baseline"], dash="dash"),
                  annotation_text="random targeting", annotation_position="top right")
    word = "decile" if k == 10 else "group"
    return _layout(fig, f"Lift by {word}: how many times the average churn rate",
                   f"{word} of customers (1 = highest churn probability)", "lift",
                   xaxis=dict(tickmode="linear", dtick=1))


def cumulative_gains_figure(share_contacted, share_caught, overlay: dict | None = None
                            ) -> go.Figure:
    """Cumulative gains: share of churners caught when contacting the top x % of customers.

    Parameters
    ----------
    share_contacted, share_caught : array-like of shape (n_points,)
        From :func:`churn_core.evaluate.lift.cumulative_gains`.
    overlay : dict, optional
        ``{"x": ..., "y": ..., "name": ...}`` for a second model.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    _curve(fig, share_contacted, share_caught, "model", COLORS["model"])
    if overlay is not None:
        _curve(fig, overlay["x"], overlay["y"], overlay.get("name", "challenger"),
               COLORS["challenger"], "dot")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="random targeting",
                    line=dict(color=COLORS["baseline"], dash="dash", width=1))
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return _layout(fig, "Cumulative gains: churners caught by contacting the top of the list",
                   "share of customers contacted (highest risk first)",
                   "share of all churners caught", xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def net_value_figure(curve, threshold: float | None = None, currency: str = "") -> go.Figure:
    """Expected net value versus threshold, with the optimum and near-optimal band.

    Parameters
    ----------
    curve : churn_core.evaluate.net_value.NetValueCurve
    threshold : float, optional
        Current decision threshold (vertical dashed line).
    currency : str, default ""
        Prefix for amounts in hover texts.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: "expected net value" line, "best threshold" marker; the band is a shaded
        vertical rectangle (layout shape).
    """
    fig = go.Figure()
    fig.add_scatter(x=curve.thresholds, y=curve.net_value, mode="lines",
                    name="expected net value", line=dict(color=COLORS["model"], width=2),
                    customdata=curve.n_contacted,
                    hovertemplate=f"threshold %{{x:.2f}}<br>net value {currency}%{{y:,.0f}}"
                                  "<br>%{customdata:,} customers contacted<extra></extra>")
    if np.isfinite(curve.band[0]):
        fig.add_vrect(x0=curve.band[0], x1=curve.band[1], fillcolor=COLORS["band"],
                      line_width=0, annotation_text=f"within {curve.tolerance:.0%} of best",
                      annotation_position="top left")
    best = curve.best
    if best.n_selected > 0:
        fig.add_scatter(x=[best.threshold], y=[best.value], mode="markers",
                        name=f"best threshold {best.threshold:.2f}",
                        marker=dict(size=12, color=COLORS["optimum"], symbol="star"))
    if threshold is not None:
        fig.add_vline(x=float(threshold), line=dict(color=COLORS["point"], dash="dash"),
                      annotation_text=f"current {threshold:.2f}", annotation_position="bottom")
    fig.add_hline(y=0, line=dict(color=COLORS["baseline"], width=1))
    return _layout(fig, "Expected net value of the campaign by threshold",
                   "decision threshold (contact customers at or above it)",
                   f"expected net value {currency}".strip(), xaxis_range=[0, 1])


def tier_summary_figure(summary: pd.DataFrame) -> go.Figure:
    """Customers and expected churners per risk tier.

    Parameters
    ----------
    summary : DataFrame
        From :func:`churn_core.campaign.tiers.tier_summary`.

    Returns
    -------
    plotly.graph_objects.Figure
        Two bar traces ("customers", "expected churners"), tiers High, Medium, Low.
    """
    s = summary
    colors = [TIER_COLORS.get(t, COLORS["baseline"]) for t in s[TIER]]
    fig = go.Figure()
    fig.add_bar(x=s[TIER], y=s["customers"], name="customers", marker_color=colors,
                opacity=0.45, text=s["customers"].map("{:,}".format), textposition="outside")
    fig.add_bar(x=s[TIER], y=s["expected_churners"], name="expected churners",
                marker_color=colors, text=s["expected_churners"].map("{:,.0f}".format),
                textposition="outside")
    return _layout(fig, "Customers and expected churners per risk tier", "risk tier",
                   "customers", barmode="group")


def fairness_figure(table: pd.DataFrame) -> go.Figure:
    """Share of each protected group in the scored file and on the target list.

    Parameters
    ----------
    table : DataFrame
        From :func:`churn_core.campaign.fairness.fairness_table` (``attribute``, ``group``,
        ``share_of_file``, ``share_of_list``).

    Returns
    -------
    plotly.graph_objects.Figure
        Two bar traces ("in the file", "on the list"); x = "attribute: group", y = share.
    """
    x = table["attribute"].astype(str) + ": " + table["group"].astype(str)
    fig = go.Figure()
    fig.add_bar(x=x, y=table["share_of_file"], name="in the file",
                marker_color=COLORS["baseline"], opacity=0.6)
    fig.add_bar(x=x, y=table["share_of_list"], name="on the list", marker_color=COLORS["model"])
    return _layout(fig, "Protected groups: share of the file vs share of the list",
                   "group", "share of customers", barmode="group", yaxis_tickformat=".0%")
