"""Plotly figures of the Data and Model pages, built from precomputed frames only.

They never fit or predict. :func:`distribution_figure` shows one column split by churn
outcome (Data page); :func:`loss_figure` shows the training and validation loss per epoch
(Model page, also live during training). Performance figures are in :mod:`churn_core.figures.performance`,
SHAP figures in :mod:`churn_core.figures.explain`.
"""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

__all__ = ["OUTCOME_COLORS", "distribution_figure", "loss_figure"]

OUTCOME_COLORS = {"churned": "#C8102E", "stayed": "#4C78A8", "blank": "#999999"}


def distribution_figure(frame: pd.DataFrame, column: str, numeric: bool) -> go.Figure:
    """Distribution of one column, split by churn outcome when known.

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, 1 or 2)
        ``column`` (the valid rows' values) and, when the file has labels, ``outcome``
        (``"churned"`` / ``"stayed"`` / ``"blank"``, from ``workbench.churn_label_series``).
    column : str
        The column to show.
    numeric : bool
        True for a numeric feature: histogram per outcome, each outcome summing to 100 %.
        False for a categorical one: churn rate per value (the 30 most frequent values)
        when ``outcome`` is present, else a count per value.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    has_outcome = "outcome" in frame.columns
    if numeric:
        fig = px.histogram(frame, x=column, color="outcome" if has_outcome else None,
                           barmode="group", histnorm="percent", nbins=30,
                           color_discrete_map=OUTCOME_COLORS)
        fig.update_layout(yaxis_title="% of customers in the group")
    elif has_outcome:
        g = frame.assign(churned=frame["outcome"].eq("churned").astype(float))
        rate = g.groupby(column, dropna=False).agg(customers=("churned", "size"),
                                                   churn_rate=("churned", "mean"))
        rate = rate.reset_index().sort_values("customers", ascending=False).head(30)
        fig = px.bar(rate, x=column, y="churn_rate", hover_data=["customers"],
                     color_discrete_sequence=[OUTCOME_COLORS["churned"]])
        fig.update_layout(yaxis_tickformat=".0%", yaxis_title="churn rate")
    else:
        fig = px.histogram(frame, x=column)
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def loss_figure(history: dict, best_epoch: int | None = None) -> go.Figure:
    """Training and validation loss per epoch, the kept epoch marked.

    Parameters
    ----------
    history : dict
        ``{"loss": [...], "val_loss": [...]}`` as recorded by Keras ``History`` (binary
        cross-entropy per epoch); a missing key draws an empty line.
    best_epoch : int, optional
        1-based epoch whose weights were kept (early stopping); marked with a dashed line.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces named ``"training loss"`` and ``"validation loss"``.
    """
    fig = go.Figure()
    for key, name, color in (("loss", "training loss", "#4C78A8"),
                             ("val_loss", "validation loss", "#C8102E")):
        values = history.get(key) or []
        fig.add_scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers",
                        name=name, line=dict(color=color))
    n = max((len(history.get(k) or []) for k in ("loss", "val_loss")), default=0)
    if n <= 20:
        fig.update_xaxes(dtick=1)
    if best_epoch:
        fig.add_vline(x=best_epoch, line=dict(color="#54A24B", dash="dash"),
                      annotation_text=f"kept: epoch {best_epoch}")
    fig.update_layout(title=dict(text="Loss per epoch (lower is better; the kept epoch is the one "
                                      "with the best validation ROC-AUC)", font=dict(size=15)),
                      height=320, margin=dict(l=10, r=10, t=45, b=10), xaxis_title="epoch",
                      yaxis_title="loss (binary cross-entropy)", legend=dict(orientation="h"))
    return fig
