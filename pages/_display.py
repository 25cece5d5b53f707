"""How the dashboard shows numbers: one rule each for customer counts, shares and metric deltas.

* **Counts** of customers (and rows) carry thousands separators: ``10,000``, in prose
  (``f"{n:,}"``) and in tables (:data:`COUNT_FORMAT`, Streamlit's printf format with ``,``:
  the same digits whatever the browser's locale).
* **Shares and rates** (churn rates, shares of a file or a list, recall) have one decimal and
  a space before the sign: ``20.9 %``, in prose and metrics (:func:`fmt_pct`) and in tables
  (:data:`PCT_FORMAT` on the share x 100, :func:`show_table`). Downloads (CSV, JSON) keep
  the raw shares; settings the analyst typed (a 10 % control group, 30 % offer success)
  are echoed as typed.
* A **metric delta** that rounds to zero at the precision shown is not shown (no green or red
  arrow for ``+0.000``): :func:`shown_delta`, :func:`metric`.

Not a page (``st.navigation`` in ``app.py`` lists the pages); pages use it as
``from pages import _display`` (or through :mod:`pages._ui`, which re-exports :func:`fmt_pct`).
"""
from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

COUNT_FORMAT = "%,d"    # 10000 -> "10,000" (sprintf-js in Streamlit's grid, ',' = thousands)
PCT_FORMAT = "%.1f %%"  # 20.94 -> "20.9 %" (the column holds the share x 100, as fmt_pct)


def on_threshold_grid(t: float) -> bool:
    """Whether a decision threshold in [0, 1] lies on the slider's 0.01 grid."""
    return abs(t * 100 - round(t * 100)) <= 1e-6


def fmt_threshold(t: float) -> str:
    """A decision threshold in [0, 1] as text: 2 decimals on the slider's 0.01 grid, else 4
    (the model card's own threshold, or a strategy's: "0.3786", not a misleading "0.38")."""
    return f"{t:.2f}" if on_threshold_grid(t) else f"{t:.4f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage for prose and metrics.

    Parameters
    ----------
    x : float or None
        The share (0.1234 for 12.34 %).
    digits : int, default 1
        Decimals shown (the app's rule is 1).

    Returns
    -------
    str
        ``"12.3 %"``; an em dash for None or NaN.
    """
    if x is None or not math.isfinite(float(x)):
        return "—"
    return f"{100 * float(x):.{digits}f} %"


def shown_delta(change: float | None, fmt: str = "+.3f") -> str | None:
    """The delta text of a metric, or None when the change rounds to zero where it is shown.

    Parameters
    ----------
    change : float or None
        The difference to show (new minus old).
    fmt : str, default "+.3f"
        Format specification of the delta (as in ``f"{change:{fmt}}"``).

    Returns
    -------
    str or None
        ``"+0.012"``; None for a change that prints as zero (``"+0.000"``, ``"-0.000"``),
        NaN or None, so that ``st.metric`` draws no arrow and no colour for it.
    """
    if change is None or not math.isfinite(float(change)):
        return None
    text = f"{float(change):{fmt}}"
    return None if not re.search(r"[1-9]", text) else text


def metric(where, label: str, value: str, change: float | None = None, fmt: str = "+.3f",
           **kwargs) -> None:
    """``st.metric`` whose delta is the formatted ``change``, left out when it shows as zero.

    Parameters
    ----------
    where : streamlit container or module
        Where to draw (a column, ``st``...).
    label, value : str
        As ``st.metric``.
    change : float, optional
        The change shown as the delta (see :func:`shown_delta`).
    fmt : str, default "+.3f"
        Format specification of the delta.
    **kwargs
        Passed to ``st.metric`` (``delta_color``, ``help``, ``border``...).
    """
    where.metric(label, value, delta=shown_delta(change, fmt), **kwargs)


def show_table(frame: pd.DataFrame, *, counts=(), percents=(), labels: dict | None = None,
               column_config: dict | None = None, **kwargs):
    """``st.dataframe`` with customer counts as ``10,000`` and shares as ``20.9 %``.

    Parameters
    ----------
    frame : DataFrame
        The table; it is not modified.
    counts : sequence of str
        Columns of counts (shown with thousands separators, :data:`COUNT_FORMAT`).
    percents : sequence of str
        Columns of shares in [0, 1] (shown x 100 with one decimal, :data:`PCT_FORMAT`).
    labels : dict, optional
        Column title of some of the ``counts`` / ``percents`` columns.
    column_config : dict, optional
        Configuration of the other columns (as ``st.dataframe``).
    **kwargs
        Passed to ``st.dataframe`` (``hide_index``, ``key``, ``on_select``...).

    Returns
    -------
    The value of ``st.dataframe`` (the selection event with ``on_select``).

    Notes
    -----
    Columns named in ``counts`` or ``percents`` but absent from ``frame`` are ignored, so one
    call serves tables with and without optional columns (observed churn, recall...).
    """
    labels = labels or {}
    config = dict(column_config or {})
    pct = [c for c in percents if c in frame.columns]
    shown = frame
    if pct:
        shown = frame.copy()
        shown[pct] = 100 * shown[pct].astype(float)
    for c in pct:
        config[c] = st.column_config.NumberColumn(labels.get(c), format=PCT_FORMAT)
    for c in counts:
        if c in frame.columns:
            config[c] = st.column_config.NumberColumn(labels.get(c), format=COUNT_FORMAT)
    return st.dataframe(shown, column_config=config, **kwargs)
