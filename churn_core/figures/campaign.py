"""Figures of the campaign loop: the Qini curve and the campaign results per risk tier.

They draw precomputed arrays only (the uplift card, :class:`CampaignResults.table`); they never
fit or predict.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

_COLOURS = {"uplift model": "#1f77b4", "risk only": "#ff7f0e", "random": "#7f7f7f"}


def qini_figure(curves: dict) -> go.Figure:
    """Qini curves of several rankings on the same held-out customers.

    Parameters
    ----------
    curves : dict of str to dict
        ``{name: {"share_targeted": [...], "customers_kept_per_100": [...]}}`` as saved in the
        uplift card (``card["qini_curves"]``).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    for name, c in curves.items():
        fig.add_trace(go.Scatter(x=[100 * v for v in c["share_targeted"]],
                                 y=c["customers_kept_per_100"], mode="lines", name=name,
                                 line={"color": _COLOURS.get(name), "dash": "dot" if name == "random" else None}))
    fig.update_layout(xaxis_title="customers called, % of the held-out file (highest score first)",
                      yaxis_title="customers kept by the calls, per 100 customers",
                      height=380, margin={"t": 30, "b": 40}, legend={"orientation": "h"})
    return fig


def campaign_results_figure(table: pd.DataFrame) -> go.Figure:
    """Uplift per risk tier with its 95 % interval (bars with error bars).

    Parameters
    ----------
    table : DataFrame
        :attr:`churn_core.campaign.results.CampaignResults.table` (``risk_tier``, ``uplift``,
        ``ci_low``, ``ci_high``).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    t = table.dropna(subset=["uplift"])
    fig = go.Figure(go.Bar(
        x=t["risk_tier"], y=100 * t["uplift"],
        error_y={"type": "data", "symmetric": False, "array": 100 * (t["ci_high"] - t["uplift"]),
                 "arrayminus": 100 * (t["uplift"] - t["ci_low"])},
        marker_color=["#2ca02c" if lo > 0 else "#9467bd" if hi < 0 else "#7f7f7f"
                      for lo, hi in zip(t["ci_low"], t["ci_high"])]))
    fig.add_hline(y=0, line_color="#888888", line_width=1)  # seen on light and dark themes
    fig.update_layout(yaxis_title="churn prevented, points (control - called)",
                      xaxis_title="risk tier", height=340, margin={"t": 30, "b": 40})
    return fig
