"""Small plotly builders used only by the pages, from precomputed arrays (no fitting, no
predicting). Shared evaluation figures live in ``churn_core/figures.py``; these cover the
page-specific views (threshold markers, confusion matrix, score histograms)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

RED = "#C8102E"
BLUE = "#4C78A8"
GREY = "#888888"
TIER_COLORS = {"High": RED, "Medium": "#F58518", "Low": "#54A24B"}


def _layout(fig: go.Figure, title: str, height: int = 340, **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=-0.35), **kw)
    return fig


def curve_with_point(x, y, px_, py_, *, kind: str, auc: float, threshold: float,
                     overlay: dict | None = None) -> go.Figure:
    """ROC (kind='roc') or PR (kind='pr') curve with the current threshold marked.

    ``overlay`` = {"x", "y", "auc", "name"} draws a second (challenger) curve.
    """
    fig = go.Figure()
    metric = "ROC-AUC" if kind == "roc" else "PR-AUC"
    fig.add_scatter(x=x, y=y, mode="lines", name=f"MLP ({metric} {auc:.3f})",
                    line=dict(color=RED, width=2))
    if overlay is not None:
        fig.add_scatter(x=overlay["x"], y=overlay["y"], mode="lines",
                        name=f"{overlay['name']} ({metric} {overlay['auc']:.3f})",
                        line=dict(color=BLUE, width=2, dash="dot"))
    if kind == "roc":
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="random ranking",
                        line=dict(color=GREY, dash="dash", width=1))
    fig.add_scatter(x=[px_], y=[py_], mode="markers", name=f"threshold {threshold:.2f}",
                    marker=dict(size=13, color="black", symbol="circle-open", line=dict(width=3)))
    if kind == "roc":
        return _layout(fig, "ROC curve (test split)", xaxis_title="false positive rate",
                       yaxis_title="true positive rate (recall)", xaxis_range=[0, 1],
                       yaxis_range=[0, 1.02])
    return _layout(fig, "Precision-recall curve (test split)", xaxis_title="recall",
                   yaxis_title="precision", xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def confusion(tn: int, fp: int, fn: int, tp: int, threshold: float) -> go.Figure:
    """2x2 confusion matrix with counts and plain-language labels."""
    z = [[tn, fp], [fn, tp]]
    text = [[f"{tn:,}<br>stayed, not flagged", f"{fp:,}<br>false alarms"],
            [f"{fn:,}<br>missed churners", f"{tp:,}<br>churners caught"]]
    fig = go.Figure(go.Heatmap(z=z, x=["predicted: stays", "predicted: churns"],
                               y=["actually stayed", "actually churned"], text=text,
                               texttemplate="%{text}", colorscale="Reds", showscale=False))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"Confusion matrix at threshold {threshold:.2f} (test split)")


def metrics_vs_threshold(sweep: pd.DataFrame, threshold: float) -> go.Figure:
    """Precision, recall and F1 against the threshold, with the current one marked."""
    fig = go.Figure()
    for col, color in (("precision", BLUE), ("recall", RED), ("f1", "#54A24B")):
        fig.add_scatter(x=sweep["threshold"], y=sweep[col], mode="lines",
                        name=col if col != "f1" else "F1", line=dict(color=color))
    fig.add_vline(x=threshold, line=dict(color="black", dash="dash"),
                  annotation_text=f"{threshold:.2f}")
    return _layout(fig, "Metrics versus threshold (test split)", xaxis_title="decision threshold",
                   yaxis_title="value", yaxis_range=[0, 1.02])


def score_distribution(p: np.ndarray, y: np.ndarray | None, threshold: float,
                       title: str = "Churn probability by actual outcome") -> go.Figure:
    """Overlaid histograms of the churn probability for churners and stayers."""
    fig = go.Figure()
    bins = dict(start=0, end=1, size=0.025)
    if y is None:
        fig.add_histogram(x=p, xbins=bins, name="customers", marker_color=BLUE)
    else:
        known = ~np.isnan(y)
        fig.add_histogram(x=p[known & (y == 0)], xbins=bins, name="stayed", marker_color=BLUE,
                          opacity=0.6, histnorm="percent")
        fig.add_histogram(x=p[known & (y == 1)], xbins=bins, name="churned", marker_color=RED,
                          opacity=0.6, histnorm="percent")
        fig.update_layout(barmode="overlay")
    fig.add_vline(x=threshold, line=dict(color="black", dash="dash"),
                  annotation_text=f"threshold {threshold:.2f}")
    return _layout(fig, title, xaxis_title="churn probability",
                   yaxis_title="% of group" if y is not None else "customers")


def net_value(thresholds, net, best_t: float, band: tuple, threshold: float) -> go.Figure:
    """Expected net value against the threshold with the optimum and near-optimal band."""
    fig = go.Figure()
    if np.isfinite(band[0]):
        fig.add_vrect(x0=band[0], x1=band[1], fillcolor="#54A24B", opacity=0.15, line_width=0,
                      annotation_text="near-optimal", annotation_position="top left")
    fig.add_scatter(x=thresholds, y=net, mode="lines", name="expected net value",
                    line=dict(color=RED))
    if best_t <= 1:
        fig.add_vline(x=best_t, line=dict(color="#54A24B"), annotation_text=f"best {best_t:.2f}",
                      annotation_position="bottom right")
    fig.add_vline(x=threshold, line=dict(color="black", dash="dash"),
                  annotation_text=f"current {threshold:.2f}")
    return _layout(fig, "Expected net value of contacting everyone above the threshold "
                   "(validation split)", xaxis_title="decision threshold",
                   yaxis_title="expected net value")


def reliability(curves: dict) -> go.Figure:
    """Reliability diagram: observed churn rate vs mean predicted probability per bin.

    ``curves`` maps a label to a frame with ``mean_predicted``, ``observed_rate``,
    ``customers``.
    """
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line=dict(color=GREY, dash="dash", width=1))
    for (label, frame), color in zip(curves.items(), (GREY, RED, BLUE)):
        fig.add_scatter(x=frame["mean_predicted"], y=frame["observed_rate"],
                        mode="lines+markers", name=label, line=dict(color=color),
                        customdata=frame["customers"],
                        hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>"
                                      "%{customdata} customers<extra></extra>")
    return _layout(fig, "Reliability diagram (test split)", xaxis_title="mean predicted "
                   "probability", yaxis_title="observed churn rate", xaxis_range=[0, 1],
                   yaxis_range=[0, 1])


def gains(frac: np.ndarray, captured: np.ndarray, overlay: dict | None = None) -> go.Figure:
    """Cumulative gains: share of churners caught when contacting the top x % customers."""
    fig = go.Figure()
    fig.add_scatter(x=frac, y=captured, mode="lines", name="MLP", line=dict(color=RED))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="random order",
                    line=dict(color=GREY, dash="dash", width=1))
    return _layout(fig, "Cumulative gains (test split)", xaxis_title="share of customers "
                   "contacted (highest risk first)", yaxis_title="share of churners reached",
                   xaxis_tickformat=".0%", yaxis_tickformat=".0%")


def lift_bars(table: pd.DataFrame, x: str, y: str) -> go.Figure:
    """Lift per decile (1 = no better than random)."""
    fig = go.Figure(go.Bar(x=table[x], y=table[y], marker_color=RED))
    fig.add_hline(y=1, line=dict(color=GREY, dash="dash"), annotation_text="random")
    return _layout(fig, "Lift per decile (test split)", xaxis_title="decile (1 = highest "
                   "risk)", yaxis_title="lift")


def tier_bars(summary: pd.DataFrame) -> go.Figure:
    """Customers and expected churners per risk tier."""
    fig = go.Figure()
    fig.add_bar(x=summary["risk_tier"], y=summary["customers"], name="customers",
                marker_color=[TIER_COLORS.get(t, GREY) for t in summary["risk_tier"]])
    fig.add_bar(x=summary["risk_tier"], y=summary["expected_churners"],
                name="expected churners", marker_color=GREY)
    fig.update_layout(barmode="group")
    return _layout(fig, "Customers and expected churners per risk tier", height=300)
