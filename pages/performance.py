"""Performance: how good is the model, and where should the decision threshold be?

Every number here is measured on the model's **test split** (customers held out from
training); thresholds chosen by a strategy are chosen on the **validation split**.
"""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from pages import _campaign, _display, _model_views as _mv, _ui

_ui.bootstrap(__file__)

st.title("Performance")
st.caption("Measured on the model's **test split**: customers the model never saw during "
           "training, so these numbers estimate how it will do on new customers.")

try:
    bundle = _ui.get_bundle()
    ev = _ui.get_eval() if bundle is not None else None
except Exception as exc:
    _ui.show_error(exc, "The model's evaluation could not be read")
    st.stop()
if bundle is None or ev is None:
    st.warning("No model yet: train one on the **Model** page.")
    st.stop()
if _ui.get_data() is not None:
    _mv.render_model_on_file("performance")
    st.markdown(f"**Below: model {_ui.esc(wb.model_label(bundle))} on its own test split**")

rep = ev.report
c = st.columns(4)
c[0].metric("ROC-AUC", f"{rep.roc_auc:.3f}", border=True,
            help="Chance that a random churner gets a higher probability than a random loyal "
                 "customer. 0.5 = guessing, 1 = perfect. Does not depend on the threshold.")
c[1].metric("PR-AUC (average precision)", f"{rep.pr_auc:.3f}", border=True,
            help=f"How clean the top of the ranking is. A random ranking scores the churn "
                 f"rate ({rep.base_rate:.3f}); 1 = perfect.")
c[2].metric("Brier score", f"{rep.brier:.3f}", border=True,
            help="Mean squared error of the probabilities (lower is better); rewards "
                 "probabilities that mean what they say.")
c[3].metric("Test customers", f"{rep.n:,}", f"{_ui.fmt_pct(rep.base_rate)} churned",
            delta_color="off", delta_arrow="off", border=True,
            help="Customers held out from training (the test split): every number on this "
                 "page is measured on them. Below: the share of them who churned.")

# ------------------------------------------------------------------ challenger (optional)
challenger = None
with st.expander("Compare with a gradient-boosting challenger", expanded=False):
    st.caption("A HistGradientBoosting model (scikit-learn) trained on exactly the same "
               "training split and scored on the same test customers. If it beats the neural "
               "network clearly, the MLP has to earn its place.")
    # kept for the session: a visit to another page no longer switches the overlay off
    show = _ui.synced(st.toggle, "Overlay the challenger on the curves", "perf_challenger",
                      "performance", default=False)
    if show:
        try:
            challenger = _ui.get_challenger()
        except Exception as exc:
            _ui.show_error(exc, "The challenger could not be trained")
        if challenger is not None:
            st.dataframe(challenger.table, hide_index=True)
            verdict = getattr(challenger, "verdict", None)
            if verdict is not None:
                (st.warning if verdict.challenger_wins else st.info)(
                    f"{verdict.sentence} {verdict.advice}".strip())

# ------------------------------------------------------------------ the campaign rule
with st.container(border=True):
    st.markdown("**Campaign rule**: how the retention target list is cut. The same rule is "
                "used on Score & segment, for the list, its file name and its decision log.")
    try:
        active_scores = _ui.get_scores(_ui.get_data())
    except Exception:  # no data yet: the rule is still chosen here
        active_scores = None
    n_file = len(active_scores.scored) if active_scores is not None else None
    rule = _campaign.rule_editor("performance", n_file)
    with st.expander("Value assumptions (the same on every page)", expanded=False):
        value_assumed = _campaign.value_editor(
            "performance", [c for c in bundle.schema.numeric
                            if active_scores is None or c in active_scores.scored.columns])
    if active_scores is not None and len(active_scores.scored):
        try:
            pre = wb.rule_preview(bundle, active_scores, rule, value_assumed,
                                  p_validation=ev.p_val)
        except Exception as exc:
            _ui.show_error(exc, "This campaign rule cannot be applied")
            pre = None
        if pre is not None:
            vt = pre["validation_threshold"]
            st.caption(f"On the active data ({n_file:,} scored customers) this rule lists "
                       f"**{pre['listed']:,}** customers: budgets count customers of the file "
                       "you score, not of the model's validation split"
                       + (f"; on the {len(ev.p_val):,} validation customers it amounts to a "
                          f"decision threshold of **{vt:.3f}**" if vt is not None else "")
                       + ".")
            if vt is not None and st.button("Mark this rule on every curve (use it as the "
                                            "decision threshold)", key="perf_rule_apply"):
                st.session_state[_ui.THRESHOLD] = float(vt)
                st.session_state["threshold_strategy"] = {
                    "strategy": f"rule: {rule.kind}", "threshold": float(vt), "params": {},
                    "explanation": f"{rule.describe()} (threshold on the validation split)"}
                st.rerun()

# ------------------------------------------------------------------ threshold strategies
with st.expander("Choose the threshold with a strategy", expanded=False):
    st.caption("Strategies pick the threshold on the **validation split** and the result is "
               "reported on the **test split**, so the choice is not tuned to the numbers you "
               "judge it by.")
    labels = {k: v for k, v in wb.STRATEGIES.items() if k != "manual"}
    strategy = st.radio("Strategy", list(labels), format_func=labels.get, horizontal=True,
                        key="perf_strategy")
    params: dict = {}
    n_val = len(ev.p_val)
    if strategy == "target_recall":
        params["recall"] = st.slider("Catch at least this share of churners (recall)", 0.05,
                                     1.0, 0.7, 0.05, key="perf_recall")
    elif strategy == "top_n":
        params["n"] = st.number_input(f"Contact the top N of the {n_val:,} validation "
                                      "customers", 1, max(n_val, 1), max(1, n_val // 10),
                                      key="perf_topn")
    elif strategy == "top_fraction":
        params["fraction"] = st.slider("Contact the top share of customers", 0.01, 1.0, 0.1,
                                       0.01, key="perf_topfrac", format="%.2f")
    elif strategy == "max_net_value":
        # the app's one set of value assumptions (campaign rule above, Score & segment)
        shared = _campaign.current_value()
        if shared is None:
            st.warning("The value of a saved customer is set to *not used*: choose one amount "
                       "or a column × margin under **Value assumptions** in the campaign rule "
                       "above (the same on Score & segment).")
        else:
            st.caption(f"Uses the app's value assumptions ({_ui.esc(shared.describe())}): "
                       "change them under **Value assumptions** in the campaign rule above "
                       "or on Score & segment; both pages use the same values.")
            if shared.column is None:
                params["value"] = float(shared.amount)
            else:
                try:
                    params["value"] = _ui.get_split_values(shared.column, shared.margin)
                except Exception as exc:  # no strategy without the validation values
                    _ui.show_error(exc, "Per-customer value")
            params["cost_per_contact"] = float(shared.cost_per_contact)
            params["success_rate"] = float(shared.success_rate)
        budget = st.number_input("Contact budget (0 = none)", 0, max(n_val, 1), 0,
                                 key="perf_budget")
        params["budget"] = int(budget) or None
    try:
        chosen = (wb.choose_on_validation(strategy, ev.y_val, ev.p_val, ev.y_test, ev.p_test,
                                          **params)
                  if strategy != "max_net_value" or "value" in params else None)
    except Exception as exc:
        _ui.show_error(exc, "This strategy cannot be applied")
        chosen = None
    if chosen is not None:
        ch_t = chosen.choice.threshold
        st.markdown(f"**{chosen.choice.explanation}**")
        t = chosen.test
        st.caption(f"On the test split at {min(ch_t, 1.0):.3f}: precision "
                   f"{t.precision:.3f}, recall {t.recall:.3f}, F1 {t.f1:.3f}, "
                   f"{t.predicted_positives:,} of {t.n:,} flagged.")
        if strategy == "max_net_value":
            curve = wb.net_value_curve(ev.p_val, params["value"], params["cost_per_contact"],
                                       params["success_rate"], budget=params["budget"])
            cur = shared.currency
            st.plotly_chart(wb.figures.net_value_figure(curve, st.session_state[_ui.THRESHOLD],
                                                        currency=f"{cur} "),
                            key="perf_net_value")
            st.caption("Expected net value = sum over contacted customers of (probability × "
                       "success rate × value − cost), on the validation split, in "
                       f"{_ui.esc(cur)}: **{_campaign.money(curve.best.value, cur)}** at the "
                       f"best threshold {min(ch_t, 1.0):.3f}. The shaded band holds thresholds "
                       "within 1 % of the best.")
        if st.button("Use this threshold on every page", type="primary",
                     disabled=ch_t > 1.0, key="perf_apply"):
            st.session_state[_ui.THRESHOLD] = float(ch_t)
            st.session_state["threshold_strategy"] = chosen.choice.to_dict()
            st.rerun()


# ------------------------------------------------------------------ threshold-dependent views
@st.fragment
def threshold_views() -> None:
    """Everything that depends on the threshold; re-runs alone when the slider moves."""
    threshold = _ui.threshold_slider("performance")
    at = ev.curve.at(threshold)
    m = [*st.columns(3), *st.columns(3)]  # two rows: the values stay readable on a laptop
    m[0].metric("Precision", f"{at.precision:.3f}" if at.flagged else "—", border=True,
                help="Of the customers flagged, the share who really churned."
                     + ("" if at.flagged else " No test customer is flagged at this "
                        "threshold: there is no precision to measure."))
    m[1].metric("Recall", f"{at.recall:.3f}", border=True,
                help="Of the customers who churned, the share the model flagged.")
    m[2].metric("F1", f"{at.f1:.3f}", border=True,
                help="Harmonic mean of precision and recall (balances the two).")
    m[3].metric("Accuracy", f"{at.accuracy:.3f}", border=True,
                help="Share of all customers classified correctly (misleading when churn is "
                     "rare: flagging nobody already scores the stay rate).")
    m[4].metric("Specificity", f"{at.specificity:.3f}", border=True,
                help="Of the customers who stayed, the share not flagged.")
    m[5].metric("Flagged", f"{at.flagged:,}", f"{_ui.fmt_pct(at.predicted_positive_rate)}",
                delta_color="off", delta_arrow="off", border=True,
                help="Test customers at or above the threshold. Below: their share of all "
                     "test customers.")
    # the charts depend on the model, the threshold and the challenger only: built once per
    # server for every session (analysts share thresholds), not on every slider move
    ch = (_ui.get_data().sha256 if challenger is not None else "",)

    def fig(name: str, build):
        return _ui.derived("figure", None, build, name, float(threshold), *ch)

    a, b = st.columns([2, 3])
    with a:
        st.markdown(f"**Confusion matrix** at threshold {_display.fmt_threshold(at.threshold)} (test split)")
        st.table(wb.figures.confusion_matrix_table(at))
        st.caption("Rows: what really happened. Columns: what the model says at this threshold.")
    with b:
        # one chart at a time: each chart drawn is redrawn by the browser on every move of the
        # slider (five charts made a move cost 3-4x the browser time of one; issue 18)
        # kept for the session (coming back to the page shows the chart last picked); the
        # options wrap onto a second row on narrow screens instead of scrolling out of sight
        view = _ui.synced(st.segmented_control, "Chart", "perf_view", "performance",
                          default=_VIEWS[0], options=list(_VIEWS), required=True, wrap=True,
                          help="Each chart marks the current decision threshold.")
        view = view if view in _VIEWS else _VIEWS[0]
        if view == "Score distribution":
            st.plotly_chart(fig("dist", lambda: wb.figures.score_distribution_figure(
                ev.p_test, ev.y_test, threshold)), key="perf_dist")
            st.caption("Good separation: churners pile up on the right, loyal customers on the "
                       "left. Customers right of the dashed line are flagged.")
        elif view == "Metrics vs threshold":
            st.plotly_chart(fig("sweep", lambda: wb.figures.metrics_vs_threshold_figure(
                _ui.get_sweep(), threshold)), key="perf_sweep")
        elif view == "ROC curve":
            st.plotly_chart(fig("roc", lambda: wb.figures.roc_figure(
                ev.roc_at(threshold), challenger=getattr(challenger, "roc", None), name="MLP",
                challenger_name="gradient boosting")), key="perf_roc")
        else:
            st.plotly_chart(fig("pr", lambda: wb.figures.pr_figure(
                ev.pr_at(threshold), challenger=getattr(challenger, "pr", None),
                base_rate=rep.base_rate, name="MLP", challenger_name="gradient boosting")),
                key="perf_pr")


#: The threshold charts, one shown at a time (the first by default).
_VIEWS = ("Score distribution", "Metrics vs threshold", "ROC curve", "Precision-recall curve")

threshold_views()

# ------------------------------------------------------------------ calibration
st.subheader("Calibration: do the probabilities mean what they say?")
st.caption("If the model says 30 % for a group of customers, about 30 % of them should churn. "
           "Calibration (Platt or isotonic, fitted on the validation split) corrects this "
           "when it lowers the Brier score; expected churners and tiers use the calibrated "
           "probability.")
curves, table = wb.calibration_view(ev, bundle.calibrator is not None)
a, b = st.columns([3, 2])
a.plotly_chart(wb.figures.reliability_figure(curves), key="perf_reliability")
b.dataframe(table, hide_index=True, column_config={
    "Brier": st.column_config.NumberColumn("Brier score", format="%.4f",
                                           help="Mean squared error of the probability."),
    "ECE": st.column_config.NumberColumn("ECE", format="%.4f",
                                         help="Expected calibration error.")})
b.caption(f"Calibration: {_ui.calibration_text(bundle)}. The table above is measured on the "
          "test split: for the Brier score and the ECE (expected calibration error: the "
          "average gap between predicted and observed churn rate over 10 probability bins), "
          "lower is better.")

# ------------------------------------------------------------------ lift
st.subheader("Lift and cumulative gains")
st.caption("Lift = how many times more churners you reach by calling the highest-risk "
           "customers first than by calling at random.")
try:
    lv = wb.lift_view(ev)
except Exception as exc:
    _ui.show_error(exc, "Lift could not be computed")
else:
    st.metric("Top-decile lift", f"{lv.top_decile_lift:.2f}×",
              help="Churn rate among the 10 % highest-risk customers divided by the overall "
                   "churn rate.")
    a, b = st.columns(2)
    a.plotly_chart(wb.figures.lift_figure(lv.table), key="perf_lift")
    b.plotly_chart(wb.figures.cumulative_gains_figure(lv.share, lv.caught), key="perf_gains")
    with (lift_box := _ui.lazy_expander("Lift table", key="perf_lift_open")):
        if lift_box.open:
            num = st.column_config.NumberColumn
            _display.show_table(
                lv.table, hide_index=True, key="lift_table",
                counts=("customers", "churners", "cumulative_customers", "cumulative_churners"),
                percents=("churn_rate", "cumulative_gain"),
                labels={"churn_rate": "churn rate", "cumulative_gain": "cumulative gain"},
                column_config={c: num(c.replace("_", " "), format="%.2f" if "lift" in c else "%.3f")
                               for c in ("lift", "cumulative_lift", "min_probability",
                                         "max_probability", "mean_probability")})
