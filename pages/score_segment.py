"""Score & segment: score customers, split them into risk tiers, download the target list."""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from churn_core.workbench import config
from pages import _campaign, _display, _model_views as _mv, _ui

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
        sheet = _ui.upload_sheet(up.name, raw, "score")  # XLSX with several sheets
        sha = wb.data_sha256(raw, sheet)
        held = st.session_state.get(_ui.SCORE_UPLOAD)
        if held is None or held.sha256 != sha:
            try:
                st.session_state[_ui.SCORE_UPLOAD] = wb.load_data(raw, name=up.name,
                                                                  sheet=sheet)
            except Exception as exc:
                _ui.show_error(exc, "This file cannot be scored")
                st.session_state[_ui.SCORE_UPLOAD] = None
    if st.session_state.get(_ui.SCORE_UPLOAD) is None:
        st.info("Upload a file above, or switch back to the active data set.")
        st.stop()
    data = st.session_state[_ui.SCORE_UPLOAD]
    for note in wb.header_notes(getattr(data.read_report, "warnings", None)):
        st.warning(f"{_ui.esc(data.name)}: {_ui.esc(note)}.")
# the "trained on other data" notice speaks of the file scored below (an upload, or the
# active data with its "Train a model on this file" button)
_mv.model_file_notice("score", scored=data if data is not active else None)

try:
    scores = _ui.get_scores(data)
except Exception as exc:
    _ui.show_error(exc, f"{data.name} cannot be scored with model {bundle.name!r}")
    st.stop()

# ------------------------------------------------------------------ row accounting
n_in, n_ok, n_bad = scores.rows_in, len(scores.scored), len(scores.rejected)
st.markdown(f"**{_ui.esc(data.name)}**: {n_in:,} rows in = **{n_ok:,} scored** + **{n_bad:,} "
            f"rejected** · model **{_ui.esc(wb.model_label(bundle))}**")
if data is active and not _ui.workspace().data_is_upload:  # F5 drops a file uploaded here
    st.info("These are the shipped **synthetic sample** customers, not a file of yours: "
            "upload your customers on the **Data** page, or choose *Upload a file to score* "
            "above (a file uploaded here is not kept after a reload).")
rep = scores.report or {}
shared_ids = {c: n for c, n in (rep.get("duplicate_ids") or {}).items() if n}
if shared_ids:  # the same warning as on Data, for a file uploaded here too
    examples = _ui.derived("quality", data, lambda: wb.duplicate_id_examples(
        data.frame, list(shared_ids)), "duplicate_examples", tuple(shared_ids))
    st.warning("; ".join(f"{n:,} rows share an ID value in column {_ui.esc(c)}"
                         for c, n in shared_ids.items())
               + ": check for double exports before sending a target list."
               + (" For example: " + _ui.esc("; ".join(examples)) + "." if examples else ""))
unseen = {k: v for k, v in (rep.get("unseen_categories") or {}).items() if v}
imputed = {k: v for k, v in (rep.get("imputed_cells") or {}).items() if v}
if unseen:
    st.warning("Values the model never saw in training (treated as 'other'): " + "; ".join(
        f"{_ui.esc(col)}: " + ", ".join(f"{_ui.esc(val)} ({cnt})" for val, cnt in list(
            (vals.items() if isinstance(vals, dict) else [(vals, "")]))[:5])
        for col, vals in unseen.items()))
for note in wb.blank_feature_notes(bundle, scores):  # a column empty in (nearly) every row
    st.warning(_ui.esc(note) + ".")
if imputed:
    st.caption("Blank cells filled by the training rules (median / most frequent): " +
               ", ".join(f"{_ui.esc(c)} {n:,}" for c, n in imputed.items()))
outside = wb.outside_range_notes(rep)
if outside:
    st.warning("Values outside the range seen in training (smallest to largest value of the "
               "model's training file; the model extrapolates: check them for typing errors "
               "such as a missing decimal point): " + "; ".join(_ui.esc(t) for t in outside))
if n_bad:
    with (rej_box := _ui.lazy_expander(f"{n_bad:,} rejected rows (not scored): see why",
                                   key=f"seg_rejected_open_{scores.data_sha256[:12]}")):
        if rej_box.open:
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
    only = _ui.synced(st.toggle, "Only columns your team can act on", _ui.ACTIONABLE, "score",
                      default=True, help="Leaves out columns your team cannot change (e.g. "
                      "tenure). Protected attributes (gender, age, geography ...) are never "
                      "reasons unless allowed in the target list settings below.")
    expl = _ui.get_explanation(data, compute=False)
    if expl is None:
        promise = _ui.explain_seconds(data, estimate="reasons")
        n_all = len(scores.scored)
        n_expl = min(n_all, config.SHAP_MAX_ROWS)
        digits = 1 if promise < 10 else 0
        # a file above the SHAP sample size: the promise says which customers it is for
        whom = (f"{n_expl:,} customers" if n_expl == n_all else
                f"a random sample of {n_expl:,} of the {n_all:,} customers (the others get "
                "no reason codes)")
        st.caption(f"Reason codes need SHAP values for every customer (computed once per model "
                   f"and file, with the target list's quicker estimate: "
                   f"{config.REASON_BACKGROUND_SIZE} background customers x "
                   f"{config.REASON_PERMUTATIONS} column orders): about "
                   f"**{promise:,.{digits}f} s** for {whom} on this server now "
                   "(measured rate of this model).")
        if st.button("Compute reason codes", key="score_compute_reasons"):
            try:
                import time

                t0 = time.perf_counter()
                expl = _ui.get_explanation(data, estimate="reasons")
                st.caption(f"Computed in {time.perf_counter() - t0:,.1f} s (promised about "
                           f"{promise:,.1f} s).")
            except Exception as exc:
                _ui.show_error(exc, "Reason codes could not be computed")
    if expl is not None:
        reasons = _ui.get_reasons(data, expl, only)
        st.caption(f"Method: {expl.method_description}.")
    if reasons is None:
        st.caption("Until they are computed, the reason columns of the target list are empty.")

# ------------------------------------------------------------------ value assumptions
with st.expander("Value assumptions (the same on every page; adds expected value to the list)",
                 expanded=False):
    numeric_cols = [c for c in bundle.schema.numeric if c in scores.scored.columns]
    value_assumed = _campaign.value_editor("score", numeric_cols)
try:
    value = (value_assumed.per_customer(scores.valid if scores.valid is not None
                                        else scores.scored)
             if value_assumed is not None else None)
except Exception as exc:
    _ui.show_error(exc, "Value assumptions")
    value_assumed = value = None

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
def threshold_view() -> None:
    """The decision threshold and its predicted-churner count: the tiers and the table below
    do not depend on it, so a threshold move re-runs only this."""
    n = len(scores.p)
    threshold = _ui.threshold_slider("score")
    flagged = scores.curve.flagged(threshold)
    st.caption(f"{flagged:,} of {n:,} customers ({_ui.fmt_pct(flagged / n)}) are predicted "
               f"churners at {_display.fmt_threshold(threshold)}. The threshold flags predicted churners; the "
               "risk tiers use their own cutoffs (right).")


@st.fragment
def segment_view() -> None:
    """Tiers, summary, table and export; re-runs alone when a tier cutoff moves."""
    p = scores.p
    n = len(p)
    a, b = st.columns(2)
    with a:
        threshold_view()
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
    _display.show_table(
        view.summary, hide_index=True, key="tier_summary_table",
        counts=("customers", "observed_churners"), percents=("share", "observed_churn_rate"),
        labels={"observed_churners": "observed churners",
                "observed_churn_rate": "observed churn rate"},
        column_config={
            "risk_tier": st.column_config.TextColumn("risk tier"),
            "expected_churners": st.column_config.NumberColumn(
                "expected churners", format="%,.1f",
                help="Sum of churn probabilities: how many of them the model expects to leave."),
            "mean_probability": st.column_config.NumberColumn("mean probability", format="%.3f"),
            "value_at_risk": st.column_config.NumberColumn("value at risk", format="%,.0f"),
            "recommended_action": st.column_config.TextColumn("recommended action",
                                                              width="large")})
    if scores.y is None:
        st.caption("No churn column in this file: observed churn is not shown.")
    left, right = st.columns([3, 2])
    left.plotly_chart(wb.figures.tier_summary_figure(view.summary), key="score_tiers_fig")
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
        "rank": st.column_config.NumberColumn("rank", format=_display.COUNT_FORMAT),
        "risk_tier": st.column_config.TextColumn("risk tier"),
        "expected_value": st.column_config.NumberColumn("expected value", format="%.0f"),
        **{f"reason_{i}": st.column_config.TextColumn(f"reason {i}") for i in (1, 2, 3)}})
    caption = "Click a row to explain that customer."
    if n > len(shown):
        caption = (f"Showing the {len(shown):,} highest-risk of {n:,} customers; the target "
                   "list below follows the campaign rule. " + caption)
    st.caption(caption)
    rows = event.selection.rows if event is not None else []
    if rows:
        position = int(wb.rank_positions(scores, bundle.schema)[int(rows[0])])
        st.session_state[_ui.EXPLAIN_REQUEST] = (data.sha256, position)
        st.page_link("pages/explain.py", label=f"Explain the customer ranked {rows[0] + 1}",
                     icon=":material/lightbulb:")
        if data is not active:
            st.caption("The Explain page opens this customer of the scored file; your active "
                       "data set stays as it is.")



segment_view()


# ------------------------------------------------------------------ the retention target list
def _calls_text(calls: dict, currency: str) -> str:
    """The preview's call count and value in words (markdown), e.g. "500 listed = 450 to call
    + 50 held back as control group; expected net value of the 450 calls: **54,428 EUR**"."""
    return wb.calls_sentence(calls, currency,
                             money=lambda v: f"**{_campaign.money(v, currency)}**")


@st.fragment
def target_list_view() -> None:
    """One campaign rule -> the list, reason codes for the listed customers, fairness check,
    downloads. Re-runs alone when a list setting changes."""
    st.subheader("Retention target list")
    st.caption("The list an agent opens: rank, IDs, churn probability, risk tier, expected "
               "value, three reasons and the recommended action. The rule is the same on "
               "every page (also on Performance).")
    rule = _campaign.rule_editor("score", n_ok)
    ev = None
    try:
        ev = _ui.get_eval()
    except Exception:  # no recorded validation split: no translation shown
        ev = None
    preview_slot = st.container()  # filled once the control-group choice below is known
    list_ids = [c for c in bundle.schema.id_columns if c in scores.scored.columns]
    currency = value_assumed.currency if value_assumed is not None else ""
    c1, c2 = st.columns(2)
    with c1:
        protected = _ui.synced(st.toggle, "Allow protected attributes as reasons",
                               _campaign.INCLUDE_PROTECTED, "score",
                               help="Protected / sensitive attributes (gender, age, "
                                    "geography, ...; edit the list on the Data page) are "
                                    "never call reasons unless you turn this on.")
    with c2:
        context_cols = [c for c in scores.scored.columns if c not in bundle.schema.id_columns
                        and c not in (wb.PROBA, wb.PRED, wb.TIER)]
        extra = st.multiselect("Contact / context columns to add", context_cols,
                               default=[c for c in bundle.schema.personal_columns
                                        if c in context_cols], key="list_extra_columns")
    # ---------------------------------------------------------------- suggested change
    suggest = _ui.synced(st.toggle, "Add a suggested change column", "list_suggested_change",
                         "score", help="For each listed customer, the one change of a column "
                         "your team can act on that lowers the churn probability most, as the "
                         "model predicts it (not a causal effect; e.g. IsActiveMember 0 → 1). "
                         "Takes about 1 s per 2,000 listed customers on this 2-core machine "
                         "(benchmarks/bench_whatif.py: 0.8 s for 2,000).")
    # ---------------------------------------------------------------- control group
    control = _campaign.control_group_settings("score", list_ids)
    try:
        pre = wb.rule_preview(bundle, scores, rule, value_assumed,
                              p_validation=None if ev is None else ev.p_val,
                              control_share=control[1] if control[0] else 0.0,
                              control_seed=control[2])
    except Exception as exc:
        with preview_slot:
            _ui.show_error(exc, "This campaign rule cannot be applied")
        return
    with preview_slot:
        st.markdown(f"**{_ui.esc(pre['description'])}**")
        how = (f"Applied to the {n_ok:,} scored customers of {_ui.esc(data.name)} (budgets "
               "count customers of this file, not of the model's validation split)")
        if pre["validation_threshold"] is not None:
            how += (f"; on the model's validation split the same rule contacts customers from "
                    f"a churn probability of **{pre['validation_threshold']:.3f}**")
        how += f". {_calls_text(pre['calls'], currency)}"
        if pre["expected_net_value"] is not None:
            how += _campaign.assumed_values_note()
        st.caption(how + f". Not listed: {n_ok - pre['listed']:,} scored customers and "
                   f"{n_bad:,} rejected rows (counted in the decision log).")
    key = (bundle.name, data.sha256, repr(rule.to_dict()),
           repr(value_assumed.to_dict() if value_assumed is not None else None),
           bool(protected), tuple(extra), repr(sorted(actions.items())), bool(suggest))
    held = st.session_state.get(_campaign.TARGET_LIST)
    result = held[1] if held and held[0] == key else None
    if result is None:
        if pre["listed"] == 0:
            st.warning("Nobody is listed by this rule.")
            return
        b1, b2 = st.columns([3, 1])
        go = b1.button(f"Build the list ({pre['listed']:,} customers; reason codes are "
                       "computed for them only)", type="primary", key="build_list")
        if not go:
            return
        b2.button("Cancel", key="cancel_list",
                  help="Stops building at the next block of 250 customers.")
        bar = st.progress(0.0, text="Reason codes…")

        def progress(done: int, total: int, message: str = "") -> None:
            what = ("Suggested changes" if "chang" in str(message) else "Reason codes")
            bar.progress(min(done / max(total, 1), 1.0),
                         text=f"{what}: {done:,} of {total:,} listed customers")

        try:
            ctx = _ui.get_reason_context(data)
            result = wb.build_list(bundle, data, scores, rule, ctx, value=value_assumed,
                                   include_protected=bool(protected), extra_columns=extra,
                                   actions=dict(actions), progress=progress,
                                   suggested_change=bool(suggest))
        except Exception as exc:
            _ui.show_error(exc, "The list could not be built")
            return
        bar.empty()
        st.session_state[_campaign.TARGET_LIST] = (key, result)
    # ---------------------------------------------------------------- control group
    result = _campaign.with_control_group(result, list_ids, key, control)
    camp = result.log.get("campaign")
    if camp:
        st.caption(f"Control group: **{camp['control']:,}** of {camp['customers']:,} listed "
                   f"customers are not to be called (campaign {_ui.esc(camp['campaign_id'])}, "
                   f"seed {camp['seed']}).")
    calls = wb.list_calls(result)
    st.markdown(f"**{wb.calls_sentence(calls, _ui.esc(currency))}**")
    if wb.listed_actions_note(result):  # e.g. a budget larger than the High + Medium tiers
        st.info(f"{_ui.esc(wb.listed_actions_note(result))}.")
    if calls["customers_in_control_group"] and \
            calls["expected_net_value_of_control_group_if_called"] is not None:
        st.caption("Holding the control group back forgoes an expected net value of "
                   f"{_campaign.money(calls['expected_net_value_of_control_group_if_called'], currency)}"
                   " (the calls not made): the price of measuring the campaign. The decision "
                   "log records both figures.")
    frame = result.frame
    if "expected_value" in frame.columns and _campaign.assumed_values_note():
        st.caption("Expected value of each contact" + _campaign.assumed_values_note() + ".")
    st.dataframe(frame.head(2000), hide_index=True, key="target_list_table", column_config={
        "churn_probability": st.column_config.NumberColumn("churn probability",
                                                           format="%.3f"),
        "expected_value": st.column_config.NumberColumn(f"expected value {currency}".strip(),
                                                        format="%.0f"),
        **{f"reason_{i}": st.column_config.TextColumn(f"reason {i}", width="large")
           for i in (1, 2, 3)},
        "suggested_change": st.column_config.TextColumn(
            "suggested change", width="large",
            help="The model's prediction after that one change, not a causal effect.")})
    log = result.log
    st.caption(f"{log['rows_in']:,} rows in = {log['rows_listed']:,} listed + "
               f"{log['rows_excluded'] - n_bad:,} not selected + {n_bad:,} rejected.")
    names = {k: wb.list_name(bundle, rule, k) for k in ("csv", "xlsx", "json")}
    d1, d2, d3 = st.columns(3)
    d1.download_button("Download target list (CSV)", wb.list_bytes(result, "csv"),
                       file_name=names["csv"], mime="text/csv", on_click="ignore",
                       type="primary", key="dl_csv")
    d2.download_button("Download target list (Excel)", wb.list_bytes(result, "xlsx"),
                       file_name=names["xlsx"],
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore", key="dl_xlsx")
    d3.download_button("Download decision log (JSON)", wb.list_bytes(result, "json"),
                       file_name=names["json"], mime="application/json", on_click="ignore",
                       key="dl_log")
    st.caption(f"File name: `{names['csv']}` (states the rule). Rejected rows are "
               "downloadable above.")

    # ---------------------------------------------------------------- fairness check
    st.markdown("**Fairness check of the list** (informs; does not block)")
    if result.fairness.empty:
        st.caption("No protected attribute in this file.")
        return
    st.caption("For each protected attribute: the share of each group on the list vs in "
               "the file (selection rate) and, on labelled files, the share of the group's "
               "churners reached (recall). Flagged when one group's selection rate is below "
               "0.8 × the highest (the four-fifths rule, a rule of thumb: churn itself can "
               "differ between groups). Computed with fairlearn.")
    for _, r in result.fairness_summary.iterrows():
        (st.warning if r["flag"] else st.caption)(f"{_ui.esc(r['attribute'])}: "
                                                  f"{_ui.esc(r['note'])}.")
    _display.show_table(
        result.fairness, hide_index=True, key="fairness_table",
        counts=("customers", "listed", "churners"),
        percents=("share_of_file", "share_of_list", "selection_rate", "recall"),
        labels={"share_of_file": "share of file", "share_of_list": "share of list",
                "selection_rate": "selection rate"},
        column_config={
            "ratio_to_highest": st.column_config.NumberColumn("ratio to highest", format="%.2f"),
            "selection_rate_ratio": None})
    st.plotly_chart(wb.figures.fairness_figure(result.fairness), key="fairness_fig")


target_list_view()
