"""Plotly figures of SHAP explanations, built from a precomputed :class:`Explanation` only.

They never fit, predict or compute SHAP values. Values are in probability of the raw model
output (see :mod:`churn_core.explain.shap_values`); positive values raise churn risk. Trace names are
stable (tests and pages look traces up by name).

* :func:`importance_figure` - global importance, mean |SHAP value| per raw column;
* :func:`beeswarm_figure` - summary: one dot per customer and column, coloured by the
  column's value (low to high), as in Lundberg et al. (2020)'s summary plot;
* :func:`dependence_figure` - a column's value against its SHAP value, coloured by another;
* :func:`waterfall_figure` - one customer: base value, each column's contribution, output,
  with the customer's values in the labels (and optionally a table beside it);
* :func:`customer_table` - the customer's values and SHAP values as a DataFrame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from churn_core.explain.explanation import Explanation
from churn_core.explain.reason_codes import global_importance

__all__ = ["importance_figure", "beeswarm_figure", "dependence_figure", "waterfall_figure",
           "customer_table", "RAISES", "LOWERS"]

RAISES = "#C8102E"  # pushes risk up
LOWERS = "#4C78A8"  # pushes risk down
_NEUTRAL = "#888888"
_VALUE_SCALE = [[0.0, "#1E88E5"], [0.5, "#B39DDB"], [1.0, "#FF0D57"]]  # low -> high value
_CATEGORY_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2",
                    "#FF9DA6", "#9D755D", "#BAB0AC", "#EECA3B"]
_X_LABEL = "SHAP value (change in churn probability)"


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int, **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, font=dict(size=15)), xaxis_title=x,
                      yaxis_title=y, height=height, margin=dict(l=10, r=10, t=45, b=10),
                      **kw)
    return fig


def _value_text(expl: Explanation, col: str, value) -> str:
    """``"57"``, ``"125,000.50"``, ``"Germany"`` or ``"missing"``."""
    if col in expl.numeric:
        v = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        if pd.isna(v):
            return "missing"
        return f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return "missing"
    return str(value)


def _sample_rows(n: int, max_points: int, seed: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def importance_figure(expl: Explanation, max_display: int = 20) -> go.Figure:
    """Horizontal bars of mean |SHAP value| per raw column, largest on top.

    Parameters
    ----------
    expl : Explanation
    max_display : int, default 20
        Columns shown (the largest).

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace named ``"mean |SHAP|"``.
    """
    imp = global_importance(expl).iloc[:max_display]
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=list(imp.index), orientation="h",
                           name="mean |SHAP|", marker_color=RAISES,
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"What drives the churn probability ({len(expl):,} customers)",
                   "mean |SHAP value| (probability points)", "", max(260, 28 * len(imp) + 90))


def _swarm_offsets(x: np.ndarray, width: float = 0.4, bins: int = 80) -> np.ndarray:
    """Vertical offsets that stack dots with similar x (a simple beeswarm layout)."""
    if len(x) == 0:
        return np.zeros(0)
    lo, hi = float(np.min(x)), float(np.max(x))
    b = np.zeros(len(x), dtype=np.int64) if hi <= lo else \
        np.minimum(((x - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
    order = np.argsort(b, kind="stable")
    sb = b[order]
    start = np.r_[0, np.flatnonzero(np.diff(sb)) + 1]
    counts = np.diff(np.r_[start, len(sb)])
    rank = np.arange(len(sb)) - np.repeat(start, counts)  # position within its bin
    k = (rank + 1) // 2 * np.where(rank % 2 == 1, 1, -1)  # 0, +1, -1, +2, -2 ...
    step = width / max(1, counts.max() // 2)
    out = np.empty(len(x))
    out[order] = k * step
    return out


def _colour_values(expl: Explanation, col: str, rows: np.ndarray) -> tuple[np.ndarray, list]:
    """Colour position in [0, 1] of each row's value (percentile for numbers, category
    order for categories) and the hover text of the values."""
    raw = expl.data[col].iloc[rows]
    text = [_value_text(expl, col, v) for v in raw.to_numpy()]
    if col in expl.numeric:
        x = pd.to_numeric(raw, errors="coerce")
        pct = x.rank(pct=True).to_numpy(dtype=float)
        return np.where(np.isnan(pct), 0.5, pct), text
    codes, uniques = pd.factorize(raw.astype("string"), sort=True)
    pos = codes / max(1, len(uniques) - 1)
    return np.where(codes < 0, 0.5, pos), text


def beeswarm_figure(expl: Explanation, max_display: int = 15, max_points: int = 2000,
                    seed: int = 0) -> go.Figure:
    """Summary (beeswarm) plot: one dot per customer and column.

    Columns are ordered by mean |SHAP value| (largest on top); a dot's x is the SHAP value
    and its colour the column's value for that customer (percentile for numeric columns, low
    = blue, high = red; categories in alphabetical order). Dots with similar values are
    stacked vertically.

    Parameters
    ----------
    expl : Explanation
    max_display : int, default 15
    max_points : int, default 2000
        Customers drawn (a seeded random sample when there are more).
    seed : int, default 0

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace named ``"SHAP values"``.
    """
    cols = list(global_importance(expl).index[:max_display])
    rows = _sample_rows(len(expl), max_points, seed)
    xs, ys, cs, texts = [], [], [], []
    for i, col in enumerate(cols):
        j = expl.columns.index(col)
        x = expl.values[rows, j]
        colour, text = _colour_values(expl, col, rows)
        xs.append(x)
        ys.append(i + _swarm_offsets(x))
        cs.append(colour)
        texts += [f"{col} = {t}" for t in text]
    fig = go.Figure(go.Scattergl(
        x=np.concatenate(xs) if xs else [], y=np.concatenate(ys) if ys else [], mode="markers",
        name="SHAP values", text=texts,
        marker=dict(size=4, opacity=0.7, color=np.concatenate(cs) if cs else [],
                    colorscale=_VALUE_SCALE, cmin=0, cmax=1,
                    colorbar=dict(title="value<br>(categories<br>A to Z)", tickvals=[0, 1],
                                  ticktext=["low", "high"],
                                  thickness=12)),
        hovertemplate="%{text}<br>SHAP %{x:+.4f}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=_NEUTRAL, width=1))
    fig.update_yaxes(tickvals=list(range(len(cols))), ticktext=cols, autorange="reversed",
                     showgrid=False)
    return _layout(fig, f"SHAP values of {len(rows):,} customers (right = raises risk)",
                   _X_LABEL, "", max(300, 34 * len(cols) + 100))


def dependence_figure(expl: Explanation, column: str, color_by: str | None = None,
                      max_points: int = 3000, seed: int = 0) -> go.Figure:
    """A column's value against its SHAP value, coloured by a second column.

    Parameters
    ----------
    expl : Explanation
    column : str
        Raw column on the x axis (categories as a category axis).
    color_by : str, optional
        Raw column colouring the dots (numbers: continuous scale; categories: one trace per
        category, named after it).
    max_points : int, default 3000
        Customers drawn (a seeded random sample when there are more).
    seed : int, default 0

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    KeyError
        If ``column`` or ``color_by`` is not a column of the explanation.
    """
    for c in (column, color_by):
        if c is not None and c not in expl.columns:
            raise KeyError(f"{c!r} is not an explained column; choose one of {expl.columns}")
    rows = _sample_rows(len(expl), max_points, seed)
    j = expl.columns.index(column)
    y = expl.values[rows, j]
    raw = expl.data[column].iloc[rows]
    if column in expl.numeric:
        x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    else:
        x = np.array([_value_text(expl, column, v) for v in raw.to_numpy()], dtype=object)
    fig = go.Figure()
    if color_by is None:
        fig.add_scatter(x=x, y=y, mode="markers", name=column,
                        marker=dict(size=5, opacity=0.6, color=RAISES))
    elif color_by in expl.numeric:
        cv = pd.to_numeric(expl.data[color_by].iloc[rows], errors="coerce").to_numpy(dtype=float)
        fig.add_scatter(x=x, y=y, mode="markers", name=column,
                        marker=dict(size=5, opacity=0.7, color=cv, colorscale=_VALUE_SCALE,
                                    colorbar=dict(title=color_by, thickness=12)),
                        text=[f"{color_by} = {_value_text(expl, color_by, v)}" for v in cv],
                        hovertemplate=f"{column} %{{x}}<br>SHAP %{{y:+.4f}}<br>%{{text}}<extra></extra>")
    else:
        cv = np.array([_value_text(expl, color_by, v) for v in expl.data[color_by].iloc[rows]],
                      dtype=object)
        for k, level in enumerate(sorted(set(cv))):
            m = cv == level
            fig.add_scatter(x=x[m], y=y[m], mode="markers", name=f"{color_by} = {level}",
                            marker=dict(size=5, opacity=0.7,
                                        color=_CATEGORY_COLORS[k % len(_CATEGORY_COLORS)]))
    fig.add_hline(y=0, line=dict(color=_NEUTRAL, width=1))
    title = f"How {column} moves the churn probability"
    if color_by:
        title += f" (coloured by {color_by})"
    fig = _layout(fig, title, column, f"SHAP value of {column}", 400,
                  legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    if column not in expl.numeric:
        fig.update_xaxes(type="category", categoryorder="category ascending")
    return fig


def customer_table(expl: Explanation, row: int = 0) -> pd.DataFrame:
    """One customer's values and SHAP values, largest effect first.

    Parameters
    ----------
    expl : Explanation
    row : int, default 0
        Position of the customer in ``expl``.

    Returns
    -------
    DataFrame
        Columns ``column``, ``value`` (as text), ``shap_value`` (probability points),
        ``effect`` (``"raises risk"`` / ``"lowers risk"`` / ``"no effect"``).
    """
    v = expl.values[row]
    data = expl.data.iloc[row]
    table = pd.DataFrame({
        "column": expl.columns,
        "value": [_value_text(expl, c, data[c]) for c in expl.columns],
        "shap_value": v,
        "effect": np.where(v > 0, "raises risk", np.where(v < 0, "lowers risk", "no effect")),
    })
    return table.iloc[np.argsort(-np.abs(v), kind="stable")].reset_index(drop=True)


def waterfall_figure(expl: Explanation, row: int = 0, max_display: int = 10,
                     with_table: bool = False) -> go.Figure:
    """One customer's waterfall: base value -> each column's contribution -> model output.

    Bars are sorted by |SHAP value| (largest on top); columns beyond ``max_display`` are
    lumped into one bar ("N other columns"), so the bars always sum to the output. Each
    label carries the customer's value (``"Age = 57"``).

    Parameters
    ----------
    expl : Explanation
    row : int, default 0
        Position of the customer in ``expl``.
    max_display : int, default 10
    with_table : bool, default False
        Put :func:`customer_table` beside the waterfall (a plotly table).

    Returns
    -------
    plotly.graph_objects.Figure
        A waterfall trace named ``"SHAP waterfall"`` (and a table trace named
        ``"customer values"`` when ``with_table``).
    """
    table = customer_table(expl, row)
    shown = table.iloc[:max_display]
    rest = table.iloc[max_display:]
    labels = [f"{c} = {v}" for c, v in zip(shown["column"], shown["value"])]
    values = list(shown["shap_value"].to_numpy(dtype=float))
    if len(rest):
        labels.append(f"{len(rest)} other column{'s' if len(rest) > 1 else ''}")
        values.append(float(rest["shap_value"].sum()))
    base, out = float(expl.base_value), float(expl.output[row])
    y = ["base value (average customer)", *labels, "this customer's probability"]
    x = [base, *values, out]
    measure = ["absolute", *["relative"] * len(values), "total"]
    text = [f"{base:.3f}", *[f"{v:+.3f}" for v in values], f"{out:.3f}"]
    wf = go.Waterfall(orientation="h", y=y, x=x, measure=measure, text=text,
                      textposition="outside", name="SHAP waterfall",
                      increasing=dict(marker=dict(color=RAISES)),
                      decreasing=dict(marker=dict(color=LOWERS)),
                      totals=dict(marker=dict(color=_NEUTRAL)),
                      connector=dict(line=dict(color="#BBBBBB", width=1)))
    height = max(320, 32 * len(y) + 100)
    title = f"Why this customer's probability is {out:.3f}"
    # leave room for the text outside the bars
    ends = base + np.cumsum([0.0, *values])
    lo, hi = min(0.0, float(ends.min()), out), max(float(ends.max()), out)
    pad = 0.14 * max(hi - lo, 1e-9)
    x_range = [lo - (pad if lo < 0 else 0.0), hi + pad]
    if not with_table:
        fig = go.Figure(wf)
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(range=x_range)
        return _layout(fig, title, "churn probability (raw model output)", "", height)

    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.03,
                        specs=[[{"type": "xy"}, {"type": "table"}]])
    fig.add_trace(wf, row=1, col=1)
    fig.add_trace(go.Table(
        name="customer values",
        header=dict(values=["column", "value", "SHAP value"], align="left"),
        cells=dict(values=[table["column"], table["value"],
                           [f"{v:+.4f}" for v in table["shap_value"]]], align="left")),
        row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_xaxes(range=x_range, row=1, col=1)
    return _layout(fig, title, "churn probability (raw model output)", "", height)
