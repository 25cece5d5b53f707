"""Explain: why does the model rank a customer high? SHAP values in the customer's own columns."""
from __future__ import annotations

import numpy as np
import streamlit as st

from churn_core import workbench as wb
from pages import _model_views as _mv, _ui

_ui.bootstrap(__file__)

st.title("Explain")
st.caption("A **SHAP value** is how much one column moves one customer's churn probability "
           "away from the average customer's (the **base value**). Positive values raise "
           "risk, negative values lower it; the base value plus all of a customer's SHAP "
           "values equals the model's probability for that customer.")

bundle, data = _ui.need_model_and_data()
_mv.model_file_notice("explain")
# a customer picked in the table of a scored upload (Score & segment) opens here without
# that file becoming the active data set
upload = st.session_state.get(_ui.SCORE_UPLOAD)
if upload is not None and upload.sha256 != data.sha256:
    request = st.session_state.get(_ui.EXPLAIN_REQUEST)
    if request and request[0] == upload.sha256:
        st.session_state[_ui.EXPLAIN_SOURCE] = "scored upload"
    source = _ui.synced(st.radio, "Customers to explain", _ui.EXPLAIN_SOURCE, "explain",
                        options=["active data", "scored upload"], horizontal=True,
                        format_func=lambda o: (f"the active data ({data.name})"
                                               if o == "active data" else
                                               f"the scored file ({upload.name})"))
    if source == "scored upload":
        data = upload
        st.caption(f"Explaining customers of the scored file **{_ui.esc(upload.name)}**; "
                   "the active data set (Data page) is unchanged.")
try:
    scores = _ui.get_scores(data)
except Exception as exc:
    _ui.show_error(exc, f"Scoring {data.name}")
    st.stop()
if len(scores.scored) == 0:
    st.warning("No row of this file could be scored, so there is nothing to explain.")
    st.stop()

try:
    explainer = _ui.get_explainer(data)
    expl = _ui.get_explanation(data, max_rows=_ui.GLOBAL_VIEW_ROWS)
except Exception as exc:
    _ui.show_error(exc, "The explanations could not be computed")
    st.stop()

exact_one = explainer.n_columns <= wb.EXACT_MAX_COLUMNS
st.info(f"**Method** (charts): {_ui.esc(expl.method_description)}. Background: "
        f"{_ui.esc(getattr(explainer, 'background_source', 'valid rows'))}. The one-customer "
        "view below uses " + ("the exact method (all column coalitions)." if exact_one else
                             f"permutation sampling ({explainer.n_columns} columns are too many "
                             f"for the exact method, limit {wb.EXACT_MAX_COLUMNS})."),
        icon=":material/info:")

# ------------------------------------------------------------------ reason codes option
only = _ui.synced(st.toggle, "Reason codes: only columns your team can act on",
                 _ui.ACTIONABLE, "explain", default=True,
                 help="Leaves out columns your team cannot change (e.g. tenure) from the "
                      "reason codes. Protected attributes (gender, age, geography ...) are "
                      "never reasons unless allowed on Score & segment. The charts on this "
                      "page always keep every column.")
excluded = wb.reason_exclusions(bundle, only, include_protected=bool(
    st.session_state.get("reasons_include_protected", False)))
st.caption(f"Left out of reason codes: {_ui.esc(', '.join(excluded)) or 'none of the columns'}.")

# ------------------------------------------------------------------ global views
st.subheader("What drives churn overall")
imp = wb.global_importance(expl)
tab_imp, tab_swarm, tab_dep = st.tabs(["Importance", "Summary (beeswarm)", "Dependence"])
with tab_imp:
    st.plotly_chart(wb.figures.importance_figure(expl), key="ex_importance")
    st.caption("Average size of each column's effect on the churn probability, over "
               f"{len(expl):,} customers. Bigger = the model relies on it more.")
with tab_swarm:
    st.plotly_chart(wb.figures.beeswarm_figure(expl), key="ex_swarm")
    st.caption("One dot per customer and column: right of 0 raises that customer's risk, "
               "left lowers it.")
with tab_dep:
    cols = list(imp.index)
    a, b = st.columns(2)
    col = a.selectbox("Column", cols, key="ex_dep_col")
    others = [c for c in cols if c != col]
    color = b.selectbox("Colour by", others or [col], key="ex_dep_color")
    st.plotly_chart(wb.figures.dependence_figure(expl, col, color), key="ex_dep")
    st.caption(f"How the value of {_ui.esc(col)} moves the churn probability, coloured by "
               f"{_ui.esc(color)}.")

# ------------------------------------------------------------------ one customer
st.subheader("One customer")
scored = scores.scored
id_cols = sorted((c for c in bundle.schema.id_columns if c in scored.columns),
                 key=lambda c: "customer" not in c.casefold())  # CustomerId before RowNumber
order = np.argsort(-scores.p, kind="stable")
if id_cols:
    idc = id_cols[0]
    options = scored[idc].astype(str).to_numpy()[order]
    request = st.session_state.pop(_ui.EXPLAIN_REQUEST, None)
    if request and request[0] == data.sha256 and 0 <= request[1] < len(scored):
        st.session_state["ex_customer"] = str(scored[idc].astype(str).iloc[request[1]])
    pick = st.selectbox(f"Customer ({_ui.esc(idc)}; highest risk first)", options, key="ex_customer",
                        help="Type to search. The list is sorted by churn probability.")
    position = int(order[list(options).index(pick)])
    st.caption(f"Spreadsheet row {int(wb.source_rows(scores)[position])} of "
               f"{_ui.esc(data.name)} (source_row in the target list).")
else:
    # the spreadsheet row (header = row 1): source_row of the target list, what-if --row
    rows = wb.source_rows(scores)
    request = st.session_state.pop(_ui.EXPLAIN_REQUEST, None)
    if request and request[0] == data.sha256 and 0 <= request[1] < len(scored):
        st.session_state["ex_row"] = int(rows[request[1]])
    if st.session_state.get("ex_row_file") != data.sha256:  # another file: its riskiest row
        st.session_state["ex_row_file"] = data.sha256
        st.session_state["ex_row"] = int(rows[order[0]])
    row = int(st.number_input("Spreadsheet row (as source_row in the target list)",
                              int(rows.min()), int(rows.max()), key="ex_row",
                              help="The row a spreadsheet shows for the customer (the header is "
                                   "row 1): the target list's source_row and the command "
                                   "line's what-if --row. Starts at the highest-risk customer."))
    found, why = wb.row_position(scores, row)
    if found is None:
        st.warning(_ui.esc(why))
        st.stop()
    position = found
one = wb.explain_one(explainer, scores, position)
a, b = st.columns([3, 2])
with a:
    st.plotly_chart(wb.figures.waterfall_figure(one), key="ex_waterfall")
    st.caption(f"Starts at the base value {one.base_value:.3f} (average customer) and adds each "
               f"column's SHAP value to reach this customer's raw model probability "
               f"{float(one.output[0]):.3f}. Calibrated churn probability shown in the table: "
               f"{scores.p[position]:.3f}.")
with b:
    st.markdown("**This customer's values**")
    vals = wb.figures.customer_table(one, 0).set_index("column").rename(
        columns={"shap_value": "SHAP value"})
    st.dataframe(vals, column_config={
        "SHAP value": st.column_config.NumberColumn(format="%+.4f",
                                                    help="Change in churn probability.")})
    reasons = wb.reason_codes(one, top=3, exclude=excluded).iloc[0]
    st.markdown("**Reason codes**")
    for r in reasons:
        if r:
            st.text(f"• {r}")

from pages import _whatif  # noqa: E402 - the what-if section (editor and suggestions)
_whatif.render(bundle, data, scores, explainer, position)
