"""Plotly figures of drift: training vs this file, PSI per column, drift over batches.

Built from precomputed arrays only (the bins and PSI values of
:mod:`churn_core.campaign.drift`); they never fit, predict or count rows.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["SIDE_COLORS", "VERDICT_COLORS", "shares_figure", "psi_figure", "history_figure"]

SIDE_COLORS = {"training": "#4C78A8", "this file": "#F58518"}
VERDICT_COLORS = {"stable": "#54A24B", "moderate": "#F58518", "major": "#C8102E"}
_PSI_MODERATE, _PSI_MAJOR = 0.1, 0.25


def shares_figure(labels: Sequence[str], training: Sequence[float], file: Sequence[float],
                  column: str, subtitle: str = "") -> go.Figure:
    """Share of rows per bin (numeric) or category, training vs this file.

    Parameters
    ----------
    labels : sequence of str, length n_bins
        Bin or category names (``DriftReport.columns[c]["bins"]["labels"]``).
    training, file : sequence of float, length n_bins
        Shares in [0, 1] of the training rows and of this file's rows.
    column : str
        Column name, for the title.
    subtitle : str, optional
        E.g. the verdict and PSI.

    Returns
    -------
    plotly.graph_objects.Figure
        Grouped bars, y axis in percent. Bins empty on both sides are left out.
    """
    labels = [str(x) for x in labels]
    tr, fi = np.asarray(training, dtype=float), np.asarray(file, dtype=float)
    if not (len(labels) == len(tr) == len(fi)):
        raise ValueError(f"{len(labels)} labels, {len(tr)} training and {len(fi)} file shares")
    keep = (tr > 0) | (fi > 0)
    lab = [x for x, k in zip(labels, keep) if k]
    fig = go.Figure()
    for name, v in (("training", tr[keep]), ("this file", fi[keep])):
        fig.add_bar(x=lab, y=100 * v, name=name, marker_color=SIDE_COLORS[name],
                    hovertemplate="%{x}: %{y:.1f} % of rows<extra>" + name + "</extra>")
    title = f"{column}: share of rows, training vs this file"
    if subtitle:
        title += f"<br><sup>{subtitle}</sup>"
    fig.update_layout(barmode="group", title=title, yaxis_title="% of rows",
                      xaxis_title="training bins" if len(lab) else None,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=70, b=40),
                      height=360)
    fig.update_xaxes(type="category")
    return fig


def psi_figure(columns: Sequence[str], psi: Sequence[float], verdicts: Sequence[str]) -> go.Figure:
    """PSI per column as horizontal bars coloured by verdict, with the 0.1 and 0.25 bands.

    Parameters
    ----------
    columns : sequence of str, length n_columns
    psi : sequence of float, length n_columns
        Population stability index (>= 0; NaN drawn as 0).
    verdicts : sequence of str, length n_columns
        ``"stable"``, ``"moderate"`` or ``"major"`` (sample-size aware: a bar past a band
        line may still be "stable" when it is within sampling noise).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    v = np.nan_to_num(np.asarray(psi, dtype=float))
    cols = [str(c) for c in columns]
    fig = go.Figure(go.Bar(x=v, y=cols, orientation="h",
                           marker_color=[VERDICT_COLORS.get(x, "#888888") for x in verdicts],
                           customdata=list(verdicts),
                           hovertemplate="%{y}: PSI %{x:.3f} (%{customdata})<extra></extra>"))
    for x, name in ((_PSI_MODERATE, "0.1 moderate"), (_PSI_MAJOR, "0.25 major")):
        fig.add_vline(x=x, line_dash="dot", line_color="#888888", annotation_text=name,
                      annotation_position="top")
    fig.update_layout(title="PSI per column (training vs this file)", xaxis_title="PSI",
                      yaxis=dict(autorange="reversed"), height=max(220, 28 * len(cols) + 100),
                      margin=dict(t=60, b=40))
    return fig


def history_figure(history: pd.DataFrame, columns: Sequence[str], value: str = "psi") -> go.Figure:
    """Drift of key columns and of the score over scored batches.

    Parameters
    ----------
    history : DataFrame of shape (n_batches, ...)
        One row per batch, oldest first: ``batch`` (label on the x axis) and one column per
        entry of ``columns`` holding its PSI (``workbench.drift_history``).
    columns : sequence of str
        Columns of ``history`` to draw (e.g. the key features and ``"churn score"``).
    value : str, default "psi"
        Name of the plotted quantity, for the axis title.

    Returns
    -------
    plotly.graph_objects.Figure
        Lines with markers; dotted lines at PSI 0.1 and 0.25.
    """
    fig = go.Figure()
    x = history["batch"].astype(str).tolist() if len(history) else []
    for c in columns:
        if c in history.columns:
            fig.add_scatter(x=x, y=history[c].astype(float), mode="lines+markers", name=str(c),
                            hovertemplate="%{x}: " + value.upper() + " %{y:.3f}<extra>" + str(c)
                            + "</extra>")
    for y, name in ((_PSI_MODERATE, "moderate"), (_PSI_MAJOR, "major")):
        fig.add_hline(y=y, line_dash="dot", line_color="#888888", annotation_text=name,
                      annotation_position="right")
    fig.update_layout(title="Drift over scored batches (PSI vs training)", xaxis_title="batch",
                      yaxis_title=value.upper(), legend=dict(orientation="h", y=-0.3),
                      height=380, margin=dict(t=50, b=40))
    fig.update_xaxes(type="category")
    return fig
