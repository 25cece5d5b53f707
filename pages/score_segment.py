"""Score & segment: score customers, split them into risk tiers, download the target list."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from churn_core import config, workbench as wb
from churn_core.figures import performance as F
from pages import _ui

_ui.bootstrap(__file__)

st.title("Score & segment")
st.caption("Score a customer file (no churn column needed), split customers into **risk "
           "tiers** and download the **retention target list**: whom to contact, in which "
           "order, and why.")

bundle, active = _ui.need_model_and_data()

# ------------------------------------------------------------------ what to score
source = _ui.synced(st.radio, "Customers to score", "score_source_choice", "score",
                   default="The active data set",
                   options=["The active data set", "Upload a file to score"], horizontal=True)
data = active
if source == "Upload a file to score":
    up = st.file_uploader("File to score", type=_ui.UPLOAD_TYPES, key="score_upload_widget",
                          help=_ui.upload_help())
    st.caption(f"Upload limit: **{config.max_upload_mb()} MB** per file (CSV, Parquet or XLSX). "
               "The file needs the model's feature columns; a churn column is optional.")
    if up is not None:
        raw = up.getvalue()
        sha = wb.sha256_of(raw)
        held = st.session_state.get(_ui.SCORE_UPLOAD)
        if held is None or held.sha256 != sha:
            try:
                st.session_state[_ui.SCORE_UPLOAD] = wb.load_data(raw, name=up.name)
            except Exception as exc:
                _ui.show_error(exc, "This file cannot be scored")
                st.session_state[_ui.SCORE_UPLOAD] = None
    if st.session_state.get(_ui.SCORE_UPLOAD) is None:
        st.info("Upload a file above, or switch back to the active data set.")
        st.stop()
    data = st.session_state[_ui.SCORE_UPLOAD]

try:
    scores = _ui.get_scores(data)
except Exception as exc:
    _ui.show_error(exc, f"{data.name} cannot be scored with model {bundle.name!r}")
    st.stop()

# ------------------------------------------------------------------ row accounting
n_in, n_ok, n_bad = scores.rows_in, len(scores.scored), len(scores.rejected)
st.markdown(f"**{_ui.esc(data.name)}**: {n_in:,} rows in = **{n_ok:,} scored** + **{n_bad:,} "
            f"rejected** · model **{bundle.name}**")
rep = scores.report or {}
unseen = {k: v for k, v in (rep.get("unseen_categories") or {}).items() if v}
imputed = {k: v for k, v in (rep.get("imputed_cells") or {}).items() if v}
if unseen:
    st.warning("Values the model never saw in training (treated as 'other'): " + "; ".join(
        f"{_ui.esc(col)}: " + ", ".join(f"{_ui.esc(val)} ({cnt})" for val, cnt in list(
            (vals.items() if isinstance(vals, dict) else [(vals, "")]))[:5])
        for col, vals in unseen.items()))
if imputed:
    st.caption("Blank cells filled by the training rules (median / most frequent): " +
               ", ".join(f"{_ui.esc(c)} {n:,}" for c, n in imputed.items()))
outside = {k: v for k, v in (rep.get("outside_training_range") or {}).items() if v}
if outside:
    st.warning("Values outside the range seen in training (the model extrapolates: check them for "
               "typing errors such as a missing decimal point): " +
               ", ".join(f"{_ui.esc(c)} {n:,}" for c, n in outside.items()))
if n_bad:
    with st.expander(f"{n_bad:,} rejected rows (not scored): see why", expanded=False):
        st.dataframe(scores.rejected.head(500), hide_index=True)
        st.download_button("Download rejected rows with reasons (CSV)",
                           lambda: wb.rejected_csv_bytes(scores.rejected),
                           file_name=f"rejected_{_ui.safe_file_stem(data.name)}.csv",
                           mime="text/csv", on_click="ignore", key="dl_rejected")
if n_ok == 0:
    st.warning("No row could be scored.")
    st.stop()

# ------------------------------------------------------------------ batch health (drift)
from pages import _drift_ui  # noqa: E402

_drift_ui.drift_section(bundle, scores, key="score", record=True)

# ------------------------------------------------------------------ reason codes (SHAP)
reasons = None
with st.container(border=True):
    st.markdown("**Reason codes**: the top 3 columns raising each customer's risk (from SHAP "
                "values), for the customer table and the target list.")
    only = _ui.synced(st.toggle, "Only columns the bank can act on", _ui.ACTIONABLE, "score",
                      default=False, help="Leaves out e.g. Age, Gender and Geography.")
    expl = _ui.get_explanation(data, compute=False)
    if expl is None:
        st.caption("Reason codes need SHAP values for every customer (computed once per model "
                   "and file, about a few seconds per 1,000 customers).")
        if st.button("Compute reason codes", key="score_compute_reasons"):
            try:
                expl = _ui.get_explanation(data)
            except Exception as exc:
                _ui.show_error(exc, "Reason codes could not be computed")
    if expl is not None:
        reasons = _ui.get_reasons(data, expl, only)
        st.caption(f"Method: {expl.method_description}.")
    if reasons is None:
        st.caption("Until they are computed, the reason columns of the target list are empty.")

# ------------------------------------------------------------------ value assumptions
with st.expander("Value assumptions (adds expected value to the list)", expanded=False):
    st.caption("Expected value of contacting a customer = churn probability × offer success "
               "rate × value of keeping the customer − cost per contact.")
    numeric_cols = [c for c in bundle.schema.numeric if c in scores.scored.columns]
    kind = st.radio("Value of keeping a customer", ["not used", "one amount",
                    "a column × margin"], horizontal=True, key="value_kind")
    value = None
    v1, v2, v3 = st.columns(3)
    if kind == "one amount":
        value = v1.number_input("Value of a retained customer", 0.0, 1e9, 500.0, 50.0,
                                key="value_amount")
    elif kind == "a column × margin" and numeric_cols:
        vcol = v1.selectbox("Column", numeric_cols, key="value_col")
        margin = v1.number_input("Margin (share of the column kept as value)", 0.0, 10.0,
                                 0.01, 0.005, format="%.3f", key="value_margin")
        value = wb.column_value(scores, vcol, margin)
    success = v2.slider("Offer success rate", 0.0, 1.0, 0.3, 0.05, key="value_success",
                        disabled=value is None)
    cost = v3.number_input("Cost per contact", 0.0, 1e6, 20.0, 5.0, key="value_cost",
                           disabled=value is None)

# ------------------------------------------------------------------ tier settings
with st.expander("Risk tiers: how customers are grouped", expanded=True):
    st.caption("**High**: contact first. **Medium**: lighter-touch offer. **Low**: no action. "
               "Tiers by probability cutoffs, or by your team's capacity (the top N are High).")
    mode = _ui.synced(st.radio, "Tiers by", "tier_mode", "score",
                      default="probability cutoffs",
                      options=["probability cutoffs", "capacity (top N)"], horizontal=True)
    actions = st.session_state.setdefault("tier_actions", wb.default_actions())
    ac = st.columns(3)
    for col, name in zip(ac, wb.TIERS):
        actions[name] = col.text_input(f"Recommended action: {name}", actions[name],
                                       key=f"action_{name}")


@st.fragment
def segment_view() -> None:
    """Tiers, summary, table and export; re-runs alone when a slider moves."""
    p = scores.p
    n = len(p)
    a, b = st.columns(2)
    with a:
        threshold = _ui.threshold_slider("score")
        flagged = scores.curve.flagged(threshold)
        st.caption(f"{flagged:,} of {n:,} customers ({_ui.fmt_pct(flagged / n)}) are predicted "
                   f"churners at {threshold:.2f}. The threshold flags predicted churners; the "
                   "risk tiers use their own cutoffs (right).")
    with b:
        cut = dict(st.session_state[_ui.CUTOFFS])
        if mode == "probability cutoffs":
            cut = _ui.cutoff_slider("score")
            n_high = n_medium = None
        else:
            n_high = st.number_input("High tier: the top N customers", 0, n,
                                     min(n, max(1, n // 10)), key="tier_n_high")
            n_medium = st.number_input("Medium tier: the next N customers", 0, n - n_high,
                                       min(n - n_high, max(1, n // 5)), key="tier_n_medium")
    try:
        view = wb.segment(scores, mode, cut, n_high, n_medium, actions,
                          schema=bundle.schema, value=value)
    except Exception as exc:
        _ui.show_error(exc, "Tiers cannot be computed")
        return
    st.markdown("**Tier summary**")
    st.dataframe(view.summary, hide_index=True, column_config={
        "risk_tier": st.column_config.TextColumn("risk tier"),
        "observed_churners": st.column_config.NumberColumn("observed churners"),
        "share": st.column_config.NumberColumn(format="percent"),
        "expected_churners": st.column_config.NumberColumn(
            "expected churners", format="%.1f",
            help="Sum of churn probabilities: how many of them the model expects to leave."),
        "mean_probability": st.column_config.NumberColumn("mean probability", format="%.3f"),
        "observed_churn_rate": st.column_config.NumberColumn("observed churn rate",
                                                             format="percent"),
        "value_at_risk": st.column_config.NumberColumn("value at risk", format="%.0f"),
        "recommended_action": st.column_config.TextColumn("recommended action", width="large"),
    })
    if scores.y is None:
        st.caption("No churn column in this file: observed churn is not shown.")
    left, right = st.columns([3, 2])
    left.plotly_chart(F.tier_summary_figure(view.summary), key="score_tiers_fig")
    right.caption("**Expected churners** = sum of the churn probabilities in the tier: how "
                  "many of these customers the model expects to leave without action. "
                  "**Observed churn rate** (files with a churn column) shows how the tiers "
                  "worked on known outcomes.")

    st.markdown("**Customers** (highest risk first)")
    shown = wb.customer_table(scores, view.tiers, reasons, bundle.schema, limit=2000)
    event = st.dataframe(shown, hide_index=True, key="score_table", on_select="rerun",
                         selection_mode="single-row", column_config={
        "churn_probability": st.column_config.ProgressColumn(
            "churn probability", format="%.3f", min_value=0.0, max_value=1.0),
        "rank": st.column_config.NumberColumn("rank", format="%d"),
        "risk_tier": st.column_config.TextColumn("risk tier"),
        "expected_value": st.column_config.NumberColumn("expected value", format="%.0f"),
        **{f"reason_{i}": st.column_config.TextColumn(f"reason {i}") for i in (1, 2, 3)}})
    caption = "Click a row to explain that customer."
    if n > len(shown):
        caption = (f"Showing the {len(shown):,} highest-risk of {n:,} customers; the download "
                   "holds every customer of the chosen tiers. " + caption)
    st.caption(caption)
    rows = event.selection.rows if event is not None else []
    if rows and data is active:
        position = int(wb.rank_positions(scores, bundle.schema)[int(rows[0])])
        st.session_state[_ui.EXPLAIN_REQUEST] = (data.sha256, position)
        st.page_link("pages/explain.py", label=f"Explain the customer ranked {rows[0] + 1}",
                     icon=":material/lightbulb:")
    elif rows:
        st.caption("The Explain page explains the active data set; switch 'Customers to "
                   "score' to the active data to explain a customer from this table.")

    st.markdown("**Retention target list**")
    chosen = st.multiselect("Tiers to include", list(wb.TIERS), default=["High"],
                            key="export_tiers")
    listed = int(np.isin(view.tiers, chosen).sum())
    st.caption(f"{listed:,} customers will be listed; {n_ok - listed:,} scored customers and "
               f"{n_bad:,} rejected rows are excluded (counted in the decision log).")
    ctx = wb.ExportContext(bundle=bundle, scores=scores, tiers=view.tiers, reasons=reasons,
                           chosen_tiers=list(chosen), threshold=threshold, cutoffs=cut,
                           actions=dict(actions), mode=mode,
                           strategy=st.session_state.get("threshold_strategy"),
                           value=value, success_rate=float(success) if value is not None
                           else 1.0, cost_per_contact=float(cost) if value is not None else 0.0,
                           capacity=None if n_high is None else {"n_high": int(n_high),
                                                                 "n_medium": int(n_medium)})
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download target list (CSV)", lambda: wb.export_bytes(ctx, "csv"),
                       file_name=wb.export_name(ctx, "csv"), mime="text/csv",
                       on_click="ignore", type="primary", key="dl_csv",
                       disabled=listed == 0)
    d2.download_button("Download target list (Excel)", lambda: wb.export_bytes(ctx, "xlsx"),
                       file_name=wb.export_name(ctx, "xlsx"),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore", key="dl_xlsx", disabled=listed == 0)
    d3.download_button("Download decision log (JSON)", lambda: wb.export_bytes(ctx, "json"),
                       file_name=wb.export_name(ctx, "json"), mime="application/json",
                       on_click="ignore", key="dl_log")


segment_view()
