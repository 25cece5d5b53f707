"""Overview: what the workbench does, the active data and model, and the headline numbers."""
from __future__ import annotations

import numpy as np
import streamlit as st

from churn_core import workbench as wb
from pages import _display, _model_views as _mv, _ui

_ui.bootstrap(__file__)

st.title("Churn analyst's workbench")
st.markdown(
    "This workbench scores each customer's **probability of leaving** (churn) with a neural "
    "network trained on your customer history, and turns the scores into a **retention "
    "target list**: whom to call first, and why. Check the model's quality, set the decision "
    "threshold and risk tiers, then download the list."
)

data = _ui.get_data()
try:
    bundle = _ui.get_bundle()
except Exception as exc:  # a damaged bundle is a message, not a traceback
    _ui.show_error(exc, "The active model could not be loaded")
    bundle = None

left, right = st.columns(2)
with left, st.container(border=True):
    st.subheader("Active data", divider="gray")
    if data is None:
        st.warning("No data loaded: upload a customer file on the **Data** page.")
    else:
        st.text(data.name)
        st.caption(f"{data.rows_in:,} rows · target column: "
                   f"{_ui.esc(data.schema.target or 'none (scoring only)')}")
with right, st.container(border=True):
    st.subheader("Active model", divider="gray")
    if bundle is None:
        st.warning("No model yet: train one on the **Model** page.")
    else:
        card = bundle.card or {}
        st.text(wb.model_label(bundle))
        auc = float("nan")
        try:
            auc = wb.test_roc_auc(bundle)  # recorded at training: no evaluation recomputed here
        except Exception as exc:
            _ui.show_error(exc, "The model's evaluation could not be read")
        created = str(card.get("created") or card.get("created_at") or "unknown")[:19]
        st.caption(f"Trained {created.replace('T', ' ')} on "
                   f"{_ui.esc(wb.trained_on_text(card))} · test ROC-AUC "
                   f"{auc:.3f} · default decision threshold {wb.default_threshold(bundle):.3f}")
        st.caption("ROC-AUC is the chance that the model ranks a random churner above a "
                   "random loyal customer (0.5 = guessing, 1 = perfect), measured on customers "
                   "held out from training.")

if data is not None and bundle is not None:
    _mv.render_model_on_file("overview")

if data is not None and bundle is not None and data.has_labels:
    # an inverted label makes the observed churn rate and the model disagree: say so
    mt, mp = bundle.schema.target, bundle.schema.positive_label
    dt, dp = data.schema.target, data.schema.positive_label
    if (mt and dt and str(mt).casefold() == str(dt).casefold() and mp is not None and
            dp is not None and str(mp).casefold() != str(dp).casefold()):
        st.warning(f"The model was trained with **{_ui.esc(mt)} = {_ui.esc(mp)}** meaning "
                   f"churned, but the active data says **{_ui.esc(dt)} = {_ui.esc(dp)}**: "
                   "the observed churn rate counts the other group. Check the value that "
                   "means churned on the **Data** page.")


@st.fragment
def headline() -> None:
    """KPI cards that depend on the decision threshold (re-run alone when it moves)."""
    threshold = _ui.threshold_slider("overview")
    st.caption("Customers at or above this churn probability count as **predicted churners**. "
               "The same threshold is used on every page.")
    if bundle is None or data is None:
        return
    try:
        scores = _ui.get_scores(data)
    except Exception as exc:
        _ui.show_error(exc, f"Scoring {data.name}")
        return
    at = scores.curve.at(threshold)
    cut = st.session_state[_ui.CUTOFFS]
    tiers = wb.tier_counts(scores.p, cut)
    c = st.columns(4)
    c[0].metric("Customers scored", f"{len(scores.scored):,}",
                help=f"{scores.rows_in:,} rows in the file = {len(scores.scored):,} scored + "
                     f"{len(scores.rejected):,} rejected (see the Score & segment page).",
                border=True)
    if scores.y is not None and np.isfinite(scores.y).any():
        rate = float(np.nanmean(scores.y))
        c[1].metric("Observed churn rate", _ui.fmt_pct(rate),
                    help="Share of customers in this file who actually left (from the "
                         "target column).", border=True)
    else:
        c[1].metric("Observed churn rate", "—", help="The file has no churn labels.",
                    border=True)
    c[2].metric("Predicted churners", f"{at.flagged:,}",
                help=f"Customers whose churn probability is at least the decision threshold "
                     f"({_display.fmt_threshold(threshold)}).", border=True)
    c[3].metric("Expected churners", f"{scores.p.sum():,.0f}",
                help="Sum of the churn probabilities: how many of these customers the model "
                     "expects to leave.", border=True)
    st.caption(f"**Risk tiers** (High: probability ≥ {cut['high']:.2f}; Medium: ≥ "
               f"{cut['medium']:.2f}; Low: below). Change the cutoffs on Score & segment.")
    t = st.columns(3)
    for col, name in zip(t, wb.TIERS):
        share = tiers[name] / max(len(scores.scored), 1)
        col.metric(f"{name} risk", f"{tiers[name]:,}", f"{_ui.fmt_pct(share)} of customers",
                   delta_color="off", delta_arrow="off", border=True)
    from pages._campaign import current_rule

    rule = current_rule()
    try:
        listed = wb.rule_preview(bundle, scores, rule)["listed"] if rule.kind != "max_value" \
            else None
    except Exception:  # shown on Score & segment, where the rule is applied
        listed = None
    st.caption(f"**Campaign rule**: {_ui.esc(rule.describe())}"
               + (f" → {listed:,} customers on the retention target list" if listed is not None
                  else "") + ". Choose it on Performance or Score & segment.")


headline()

st.subheader("Where to go next")
for target, label, icon in [
    ("pages/data.py", "**Data**: upload this month's customers or your churn history, check "
                      "the column roles and data quality", ":material/table:"),
    ("pages/model.py", "**Model**: read the model card, pick a saved model or train a new one",
     ":material/neurology:"),
    ("pages/performance.py", "**Performance**: how good is the model, and where to put the "
                             "decision threshold", ":material/monitoring:"),
    ("pages/explain.py", "**Explain**: which columns drive churn, and why one customer scores "
                         "high", ":material/lightbulb:"),
    ("pages/score_segment.py", "**Score & segment**: risk tiers and the retention target list "
                               "to download", ":material/groups:"),
]:
    st.page_link(target, label=label, icon=icon)
