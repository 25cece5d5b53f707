"""Campaigns: measure a retention campaign against its control group, and target by uplift."""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from pages import _campaign, _display, _ui

_ui.bootstrap(__file__)
num = st.column_config.NumberColumn

st.title("Campaigns")
st.caption("Close the loop. A target list built with a **control group** (customers on the list "
           "who are deliberately *not* called) lets you measure later whether the calls kept "
           "customers. An **uplift model** learned from such a campaign then targets the customers "
           "a call can change, instead of those most likely to leave.")

# ------------------------------------------------------------------ 1. measure
st.subheader("1. Measure a campaign", divider="gray")
st.markdown("Upload the list's **decision log** (`…_decision_log.json`, written with the list) and "
            "the **outcomes file** your team sends back: the customer ID and whether the customer "
            "churned (yes/no) after the follow-up period; a `contacted` column is optional.")
left, right = st.columns(2)
log_file = left.file_uploader("Decision log of the list", type=["json"], key="campaign_log_upload")
out_file = right.file_uploader("Outcomes file", type=_ui.UPLOAD_TYPES, key="campaign_outcomes_upload",
                               help=_ui.upload_help())
_VALUE_KEYS = ("campaign_value", "campaign_cost", "campaign_currency")
_PREFILL = "campaign_value_source"  # where the value inputs were last filled from


def prefill_values(log: dict | None, log_key: str | None) -> str:
    """Fill the value, cost and currency inputs from the uploaded decision log (the
    assumptions the list was made with) or, without one, from the session's one set of value
    assumptions (``_campaign.value_editor``); again only when that source changes, so the
    analyst's own edits stay. Returns a caption saying where the figures come from."""
    ss = st.session_state
    _campaign.init_campaign_session()
    session = _campaign.current_value()
    mine = {"campaign_value": float(session.amount if session is not None and
                                    session.amount is not None else ss["value_amount"]),
            "campaign_cost": float(ss["value_cost"] if session is None
                                   else session.cost_per_contact),
            "campaign_currency": str(ss["value_currency"] if session is None
                                     else session.currency)}
    if log is not None:
        known = wb.log_value_assumptions(log)
        wanted = {"campaign_value": known["value_per_customer"],
                  "campaign_cost": known["cost_per_contact"],
                  "campaign_currency": known["currency"]}
        wanted = {k: mine[k] if v is None else v for k, v in wanted.items()}
        source = f"log:{log_key}"
        note = (f"Pre-filled from the decision log: {known['note']}"
                + ("; the rest from your value assumptions" if None in (
                    known["value_per_customer"], known["cost_per_contact"],
                    known["currency"]) else "") + ".")
    else:
        wanted, source = mine, "session"
        note = ("Pre-filled from your value assumptions (the same on every page); a decision "
                "log uploaded above fills in the ones its list was made with.")
    stale = ss.get(_PREFILL) != source
    for k, v in wanted.items():
        if stale or k not in ss:
            ss[k] = float(v) if k != "campaign_currency" else str(v)
    ss[_PREFILL] = source
    return note


log, log_error = None, None
if log_file is not None:
    try:
        log = wb.read_decision_log(log_file.getvalue(), log_file.name)
    except Exception as exc:  # shown below, with the outcomes
        log_error = exc
value_note = prefill_values(log, wb.sha256_of(log_file.getvalue()) if log is not None else None)
c1, c2, c3 = st.columns(3)
value = c1.number_input("Value of keeping one customer", min_value=0.0, step=50.0,
                        key="campaign_value")
cost = c2.number_input("Cost of one call", min_value=0.0, step=1.0, key="campaign_cost")
currency = c3.text_input("Currency", max_chars=8, key="campaign_currency")
st.caption(_ui.esc(value_note))

if log_file is not None and out_file is not None:
    try:
        if log_error is not None:
            raise log_error
        outcomes = wb.load_data(out_file.getvalue(), name=out_file.name)
        res = wb.measure_campaign(log, outcomes, value, cost, currency)
    except Exception as exc:
        _ui.show_error(exc, "The campaign cannot be measured")
    else:
        rep = res.report
        st.markdown(f"Campaign **{_ui.esc(rep['campaign_id'])}**: {rep['rows_in']:,} outcome rows = "
                    f"**{rep['matched']:,} matched** + **{rep['unmatched']:,} not on the list** + "
                    f"**{rep['rejected']:,} rejected**.")
        miss = rep["listed_without_outcome"]
        if sum(miss.values()):
            st.warning(f"{miss['treatment']:,} called and {miss['control']:,} control customers of the "
                       "list have no outcome in this file: they are left out of the rates.")
        for note in rep.get("notes", []):
            st.info(_ui.esc(note) + ".", icon=":material/info:")
        for reason, n in rep["rejected_reasons"].items():
            st.warning(f"{n:,} row(s) rejected: {reason}.")
        table = res.table
        _display.show_table(
            table, hide_index=True, key="campaign_results_table",
            counts=("called", "control"), percents=("churn_rate_called", "churn_rate_control"),
            labels={"called": "Called", "control": "Control (not called)",
                    "churn_rate_called": "Churn rate, called",
                    "churn_rate_control": "Churn rate, control"},
            column_config={
                "risk_tier": "Risk tier", "uplift": num("Uplift", format="%+.3f"),
                "ci_low": num("95 % low", format="%+.3f"),
                "ci_high": num("95 % high", format="%+.3f"),
                "customers_saved": num("Customers saved", format="%,.1f"),
                "value_saved": num(f"Value saved ({currency})", format="%,.0f"),
                "cost": num(f"Cost ({currency})", format="%,.0f"),
                "net_value": num(f"Net value ({currency})", format="%,.0f")})
        st.markdown("\n".join(f"- **{_ui.esc(tier)}**: {text}"
                              for tier, text in wb.campaign_effects(res)))
        if wb.campaign_measurable(res):
            st.plotly_chart(wb.figures.campaign_results_figure(table), key="campaign_results_fig")
        else:
            st.warning(f"Uplift: {wb.NOT_MEASURABLE}: no chart to draw.")
        st.caption("**Uplift** = churn rate of the control group minus that of the called group: "
                   "churn the calls prevented, per called customer. The bars show the 95 % interval "
                   "(Newcombe's method): green when the whole interval is above 0 (the calls "
                   f"worked), grey when it includes 0 ({wb.NO_EFFECT}), purple when below 0. "
                   "**Customers saved** = uplift x customers called; **net value** = saved x value - "
                   "calls x cost. Analysis by intent to treat: every customer counts in the group "
                   "the list assigned.")
        d1, d2 = st.columns(2)
        d1.download_button("Download rejected rows", res.rejected.to_csv(index=False).encode(),
                           file_name="campaign_outcomes_rejected.csv", key="campaign_dl_rejected")
        d2.download_button("Download rows not on the list", res.unmatched.to_csv(index=False).encode(),
                           file_name="campaign_outcomes_unmatched.csv", key="campaign_dl_unmatched")

# ------------------------------------------------------------------ 2. uplift model
st.subheader("2. Uplift model: whom does a call change?", divider="gray")
st.markdown("Trained on a past campaign with a control group (one row per customer: the features, "
            "`treatment` 1 = called / 0 = control, `churned` 1/0). It predicts, for each customer, "
            "how much a call lowers the churn probability. **Persuadables** (a call helps) come "
            "first; **sure things** stay anyway, **lost causes** leave anyway, and **do not "
            "disturb** customers are pushed out by a call.")
with st.expander("Train an uplift model on a campaign file"):
    camp = st.file_uploader("Campaign file", type=_ui.UPLOAD_TYPES, key="uplift_train_upload")
    st.download_button("Or download a synthetic campaign to try (20,000 customers)",
                       wb.campaign_sample_csv(), file_name="sample_campaign.csv",
                       key="campaign_sample_dl")
    up_name = st.text_input("Model name", value="uplift", key="uplift_name")
    if st.button("Train the uplift model", key="uplift_train", disabled=camp is None):
        try:
            data = wb.load_data(camp.getvalue(), name=camp.name)
            with st.status("Training the uplift model…") as status:
                wb.train_uplift_model(data, up_name, progress=status.write)
            st.success(f"Saved as models/{up_name}.")
        except Exception as exc:
            _ui.show_error(exc, "The uplift model could not be trained")

models = wb.list_uplift_models()
if not models:
    st.info("No uplift model yet: train one above, or with `python -m churn_core train-uplift`.")
    st.stop()


@st.cache_resource(show_spinner="Loading the uplift model…", max_entries=2)
def _uplift(name: str, stamp: float):
    return wb.load_uplift_model(name)


name = st.selectbox("Uplift model", models, key="uplift_model_choice")
try:
    ub = _uplift(name, (wb.config.MODELS_DIR / name / "uplift.json").stat().st_mtime)
except Exception as exc:
    _ui.show_error(exc, f"The uplift model {name!r} cannot be loaded")
    st.stop()
card = ub.card
m1, m2, m3 = st.columns(3)
m1.metric("Qini, uplift model", f"{card['qini_model']:.4f}")
m2.metric("Qini, ranking by churn risk", f"{card['qini_risk_only']:.4f}")
m3.metric("Qini, random calls", f"{card['qini_random']:.4f}")
st.caption(f"Measured on {card['holdout_rows']:,} customers of the campaign held out from training. "
           "The **Qini coefficient** is the area between a ranking's curve (customers kept by calling "
           "the top of the list) and the line of calling at random: higher finds more of the "
           "customers a call keeps; 0 is no better than random (Radcliffe 2007). "
           f"Learner: {card['learner']}.")
if card.get("qini_curves"):
    st.plotly_chart(wb.figures.qini_figure(card["qini_curves"]), key="qini_fig")

st.markdown("**Rank the active data by the value a call saves**")
data = _ui.get_data()
if data is None:
    st.info("No active data: upload a customer file on the **Data** page.")
    st.stop()
ids = [c for c in data.schema.id_columns]
try:
    ranking = wb.uplift_ranking(ub, data, ids, value=value, cost_per_contact=cost)
except Exception as exc:
    _ui.show_error(exc, f"{data.name} cannot be ranked by uplift")
    st.stop()
seg = ranking["uplift_segment"].value_counts()
st.markdown(f"**{_ui.esc(data.name)}**: {len(ranking):,} customers ranked"
            + (f", {ranking.attrs['rejected']:,} could not be used" if ranking.attrs["rejected"] else "")
            + " · " + " · ".join(f"{k}: {v:,}" for k, v in seg.items()))
_display.show_table(ranking.head(200), hide_index=True, key="uplift_ranking_table",
                    counts=("rank",), labels={"rank": "Rank"}, column_config={
    "p_churn_if_not_called": num("Churn probability if not called", format="%.3f"),
    "p_churn_if_called": num("Churn probability if called", format="%.3f"),
    "uplift": num("Uplift", format="%+.3f"), "uplift_segment": "Segment",
    "expected_saved_value": num(f"Expected saved value ({currency})", format="%,.0f")})
st.caption(f"**Expected saved value** = uplift x value of keeping the customer ({value:,.0f} "
           f"{_ui.esc(currency)}) - cost of the call ({cost:,.0f}). These are the model's predictions "
           "from one past campaign, not guarantees: keep a control group in the next list to measure "
           "them.")
st.download_button("Download the uplift ranking (CSV)", ranking.round(4).to_csv(index=False).encode(),
                   file_name=f"uplift_ranking_{_ui.safe_file_stem(name)}.csv", key="uplift_ranking_dl")
