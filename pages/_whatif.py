"""The what-if section of the Explain page: edit the selected customer's values, see the new
churn probability, risk tier and SHAP waterfall, and the changes that lower the risk most.

Not a page (the leading underscore keeps it out of the navigation). ``pages/explain.py``
calls :func:`render` once; all compute goes through :mod:`churn_core.workbench`.
"""
from __future__ import annotations

import math

import streamlit as st

from churn_core import workbench as wb
from pages import _display, _ui

PREFIX = "wi_"                 # widget keys: wi_<column>
CUSTOMER = "wi_customer"       # (data sha256, scored position) the widgets were set for
RESET = "wi_reset"


@st.cache_resource(max_entries=4)
def _space(key: tuple, _bundle, _explainer, _scores):
    return wb.whatif_space(_bundle, _explainer, _scores)


def _clear_widgets() -> None:
    for k in [k for k in st.session_state if str(k).startswith(PREFIX) and k != CUSTOMER]:
        del st.session_state[k]


def _widget(spec, original, key: str):
    """One editor widget; returns the edited value (None = keep the original)."""
    label = spec.column
    if spec.kind == "category":
        options = list(spec.values)
        blank = original is None or (isinstance(original, float) and math.isnan(original))
        known = {str(v).strip().casefold(): v for v in options}
        start = None if blank else known.get(str(original).strip().casefold())
        if start is None:  # blank or not seen in training: kept as it is unless changed
            start = "(as in the file: blank)" if blank else f"(as in the file: {original})"
            options = [start, *options]
        st.session_state.setdefault(key, start)
        value = st.selectbox(label, options, key=key)
        return None if value == start else value
    orig = float(original)
    lo, hi = spec.low, spec.high
    if not math.isnan(orig):
        lo, hi = min(lo, orig), max(hi, orig)  # a value outside the training range stays shown
    if spec.integer:
        lo, hi = int(math.floor(lo)), int(math.ceil(hi))
        start = None if math.isnan(orig) else int(round(orig))
        step, fmt = 1, "%d"
    else:
        start = None if math.isnan(orig) else orig
        step, fmt = max((hi - lo) / 100, 0.01), "%.2f"
    st.session_state.setdefault(key, start)
    value = st.number_input(label, min_value=lo, max_value=hi, step=step, format=fmt, key=key,
                            help=f"Training range {spec.format(spec.low)} to "
                                 f"{spec.format(spec.high)}.")
    if value is None or (not math.isnan(orig) and float(value) == (round(orig) if spec.integer
                                                                    else orig)):
        return None  # unchanged (also a value outside the training range left as it is)
    return float(value)


@st.fragment
def _editor(bundle, data, scores, explainer, position: int) -> None:
    figs = wb.figures
    space = _space(_ui.explanation_key(data), bundle, explainer, scores)
    if st.session_state.get(CUSTOMER) != (data.sha256, position):
        _clear_widgets()  # another customer: start from their own values
        st.session_state[CUSTOMER] = (data.sha256, position)
    row = wb.customer_row(scores, position)
    edits = {}
    cols = st.columns(3)
    for i, (col, spec) in enumerate(space.items()):
        with cols[i % 3]:
            value = _widget(spec, row[col].iloc[0], PREFIX + col)
        if value is not None:
            edits[col] = value
    st.button("Reset to the original values", key=RESET, on_click=_clear_widgets,
              icon=":material/undo:")
    try:
        view = wb.what_if_view(bundle, scores, position, edits, st.session_state.get(_ui.CUTOFFS),
                               explainer, space)
    except Exception as exc:
        _ui.show_error(exc, "The edited customer could not be scored")
        return
    a, b = st.columns(2)
    a.metric("Churn probability, original", f"{view.probability_before:.3f}",
             help=f"Risk tier {view.tier_before}.")
    _display.metric(b, "Churn probability, edited", f"{view.probability_after:.3f}",
                    view.probability_after - view.probability_before, "+.3f",
                    delta_color="inverse", help=f"Risk tier {view.tier_after}.")
    a.caption(f"Risk tier: **{view.tier_before}**")
    b.caption(f"Risk tier: **{view.tier_after}**")
    if view.changes:
        changed = ", ".join(f"{_ui.esc(c)} = {_ui.esc(space[c].format(v))}"
                            for c, v in view.changes.items())
        st.caption(f"Edited: {changed}. Scored exactly as a file row with these values would "
                   "be.")
        st.plotly_chart(figs.waterfall_figure(view.explanation), key="wi_waterfall")
        st.caption(f"SHAP waterfall of the edited customer: base value "
                   f"{view.explanation.base_value:.3f} plus each column's SHAP value gives the "
                   f"raw model probability {float(view.explanation.output[0]):.3f} (before "
                   "calibration).")
    else:
        st.caption("Change a value above to see the edited customer's probability and "
                   "SHAP waterfall.")
    _suggestions(bundle, scores, position, edits, space)


def _suggestions(bundle, scores, position: int, edits: dict, space: dict) -> None:
    st.markdown("**Changes that would lower this customer's risk most**")
    try:
        sug, table = wb.suggestion_table(bundle, scores, position, edits, space,
                                         st.session_state.get(_ui.CUTOFFS))
    except Exception as exc:
        _ui.show_error(exc, "The changes could not be searched")
        return
    if len(table):
        st.dataframe(table, hide_index=True, key="wi_suggestions", column_config={
            "change": st.column_config.TextColumn("Change", help="Column: current → new value."),
            "churn_probability": st.column_config.NumberColumn(
                "Churn probability after", format="%.3f"),
            "difference": st.column_config.NumberColumn(
                "Difference", format="%+.3f", help="Probability after minus before."),
            "risk_tier": st.column_config.TextColumn("Risk tier after")})
    else:
        st.info("No single change of the searched columns lowers this customer's churn "
                "probability.")
    st.caption(f"Searched: {', '.join(_ui.esc(c) for c in sug.searched) or 'no column'} "
               f"(values seen in training; {sug.n_scored:,} edited customers scored). Protected "
               "attributes (gender, age, geography, ...) and columns nobody can change "
               "(tenure, salary, ...) are never searched. " + sug.note)


def render(bundle, data, scores, explainer, position: int) -> None:
    """Draw the what-if section for the customer at ``position`` of ``scores.scored``.

    Parameters
    ----------
    bundle : ModelBundle
    data : workbench.ActiveData
    scores : workbench.Scores
    explainer : explain.RawColumnExplainer
    position : int
    """
    st.subheader("What if? Edit this customer")
    st.caption("Change this customer's values (numbers within the range seen in training, "
               "categories seen in training) and see the churn probability the model gives "
               "the edited customer. The page scores the edited customer exactly as the "
               "Score & segment page scores a file row.")
    _editor(bundle, data, scores, explainer, position)
