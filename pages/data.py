"""Data: upload a customer file (or keep the sample), check the column roles, check quality."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from churn_core import workbench as wb
from churn_core.workbench import config
from pages import _display, _ui

_ui.bootstrap(__file__)

st.title("Data")
st.caption("Upload this month's customers or your churn history. Every file is read as "
           "text first and checked row by row: nothing is silently dropped.")

# ------------------------------------------------------------------ upload
up_col, sample_col = st.columns([3, 1])
with up_col:
    upload = st.file_uploader("Customer file", type=_ui.UPLOAD_TYPES, key="data_upload",
                              help=_ui.upload_help())
    st.caption(f"Upload limit: **{config.max_upload_mb()} MB** per file (CSV, Parquet or XLSX).")
with sample_col:
    st.write("")
    # enabled as soon as a file is in the uploader (it is read further down this same run)
    if st.button("Use the shipped sample", help="Go back to data/sample_customers.csv",
                 disabled=st.session_state.get(_ui.DATA) is None and upload is None):
        _ui.workspace().set_data(None)
        st.session_state.pop("data_upload_sha", None)
        # the file still in the uploader is not read again until the analyst uploads one
        st.session_state["data_upload_dismissed"] = getattr(upload, "file_id", None)
        st.rerun()

if upload is not None and upload.file_id == st.session_state.get("data_upload_dismissed"):
    with up_col:
        st.info(f"{_ui.esc(upload.name)} is not in use: the shipped sample is active. Upload "
                "a file again to use it.")
elif upload is not None:
    raw = upload.getvalue()
    with up_col:  # an XLSX workbook with several sheets: the analyst picks one
        sheet = _ui.upload_sheet(upload.name, raw, "data")
    sha = wb.data_sha256(raw, sheet)
    if st.session_state.get("data_upload_sha") != sha:  # a new file or sheet: read it once
        try:
            with st.spinner(f"Reading {upload.name}…"):
                loaded = _ui.workspace().read_upload(upload.name, raw, sheet=sheet)
        except Exception as exc:
            _ui.show_error(exc, "This file cannot be used")
            st.session_state["data_upload_sha"] = sha  # do not retry the same bad file
            st.session_state["data_upload_failed"] = True
        else:
            _ui.workspace().set_data(loaded)
            st.session_state["data_upload_sha"] = sha
            st.session_state["data_upload_failed"] = False
            _ui.refresh_sidebar()  # the sidebar was drawn before this upload was read
    elif st.session_state.get("data_upload_failed"):
        st.error(f"{upload.name} could not be used (see the message above after re-uploading). "
                 "The previous data set stays active.")

data = _ui.get_data()
if data is None:
    st.info("No customer file yet: upload one above.")
    st.stop()

st.success(f"Active data: **{_ui.esc(data.name)}**", icon=":material/check_circle:")

# ------------------------------------------------------------------ read report
rep = data.read_report
# duplicate / blank headers are shown here, not only in the expander: a renamed copy
# ("Age.1") would otherwise become a model feature unnoticed
for note in wb.header_notes(getattr(rep, "warnings", None)):
    st.warning(f"{_ui.esc(data.name)}: {_ui.esc(note)}. Rename the column in the file if it "
               "is not a copy, or exclude it in the column roles below.")
with (_read_box := _ui.lazy_expander("How the file was read", key="data_read_open")):
    if _read_box.open:
        cols = st.columns(5)
        cols[0].metric("Format", str(getattr(rep, "format", "?")).upper())
        cols[1].metric("Encoding", str(getattr(rep, "encoding", None) or "—"))
        delim = getattr(rep, "delimiter", None)
        cols[2].metric("Delimiter", {"\t": "tab", ",": "comma ,", ";": "semicolon ;",
                                      "|": "pipe |"}.get(delim, delim or "—"))
        cols[3].metric("Decimal / thousands", f"{getattr(rep, 'decimal', '.')} / "
                                              f"{getattr(rep, 'thousands', None) or 'none'}")
        cols[4].metric("Rows read", f"{data.rows_in:,}")
        for w in getattr(rep, "warnings", []) or []:
            st.warning(w)
        st.dataframe(data.frame.head(20), hide_index=False)
        st.caption("First 20 rows as read; the index is the row number Excel shows "
                   "(header = row 1).")

# ------------------------------------------------------------------ schema overrides
st.subheader("Column roles")
st.caption("The roles below were inferred from the file. Correct them if needed, then press "
           "**Apply**. The *target* is the column that records whether a customer left; the "
           "value that means churned is listed as soon as you pick it.")
schema = data.schema
columns = list(data.frame.columns)
k = data.sha256[:12]  # widget keys per file, so a new upload starts from its own inference
ROLE_KEYS = {"id_columns": f"ids_{k}", "personal_columns": f"personal_{k}",
             "excluded": f"excluded_{k}", "numeric": f"numeric_{k}",
             "categorical": f"categorical_{k}"}
none = "(no target: scoring only)"


def _target_changed() -> None:
    """Take the new target out of every role list in this same rerun."""
    chosen = st.session_state[f"target_{k}"]
    for key in ROLE_KEYS.values():
        if key in st.session_state:
            st.session_state[key] = [c for c in st.session_state[key] if c != chosen]


# outside the form: choosing the target reruns at once, so its labels and the other lists
# follow it before Apply
c1, c2 = st.columns(2)
target = c1.selectbox("Target column (churned or not)", [none, *columns],
                      index=(columns.index(schema.target) + 1) if schema.target in columns
                      else 0, key=f"target_{k}", on_change=_target_changed,
                      help="Suggested from the column names, else from values that read like "
                           "churn (Churned/Stayed, cancelled/active).")
chosen_target = None if target == none else target
values = wb.target_labels(data, chosen_target)
pos_default = wb.suggested_label(data, chosen_target)
# nothing preselected when no value names churn (never the first or most frequent value)
positive = c2.selectbox("Value that means *churned*", values or ["—"],
                        index=values.index(pos_default) if pos_default in values else
                        (None if values else 0), placeholder="Choose the churned value",
                        key=f"positive_{k}_{chosen_target}", disabled=not values,
                        help="Preselected only when a value names churn (Yes, 1, true, "
                             "churned, left, exited...); never a value naming staying, never "
                             "guessed from alphabetical order: please check it.")
_mixed = wb.other_labels_warning(data, chosen_target, positive if values else None)
if _mixed:  # e.g. Yes / Y / churned / 1: only the chosen value counts as churned
    st.warning(f"{_ui.esc(_mixed[0].upper() + _mixed[1:])}. Check the churned value, or clean "
               "the column so that churned customers share one value: rows rejected as "
               "neither are left out of training and evaluation, each with that reason.")
others = [c for c in columns if c != chosen_target]


for role, key in ROLE_KEYS.items():  # set once per file (and after Apply), then the analyst's
    st.session_state.setdefault(key, [c for c in getattr(schema, role) if c in others])

with st.form(f"schema_form_{k}"):
    c1, c2 = st.columns(2)
    picks = {
        "id_columns": c1.multiselect(
            "Customer ID columns (kept in outputs, never used by the model)", others,
            key=ROLE_KEYS["id_columns"]),
        "personal_columns": c2.multiselect(
            "Personal data (names, e-mails: kept, never used by the model)", others,
            key=ROLE_KEYS["personal_columns"]),
        "excluded": c1.multiselect(
            "Excluded columns (ignored by the model)", others, key=ROLE_KEYS["excluded"]),
        "numeric": c2.multiselect(
            "Numeric features", others, key=ROLE_KEYS["numeric"]),
        "categorical": c2.multiselect(
            "Categorical features", others, key=ROLE_KEYS["categorical"]),
    }
    st.caption("A column picked for two roles keeps the first one in this order: ID, "
               "personal, excluded, numeric, categorical.")
    applied = st.form_submit_button("Apply column roles", type="primary")

if applied:
    try:
        new, notes = wb.apply_roles(data, chosen_target, positive if values else None, picks)
    except Exception as exc:  # noqa: BLE001 - never expected; shown, not raised
        _ui.show_error(exc, "These column roles cannot work")
    else:
        _ui.workspace().set_data(new)
        st.session_state.pop("label_confirmed", None)
        st.session_state["roles_notes"] = notes
        for key in ROLE_KEYS.values():  # drawn again from the schema just applied
            st.session_state.pop(key, None)
        st.rerun()
for note in st.session_state.pop("roles_notes", None) or []:
    st.info(f"Column roles: {_ui.esc(note)}.")

if schema.target:
    distinct = [str(v) for v in wb.target_values(data.frame[schema.target])]
    if len(distinct) < 2:
        st.warning(f"**{_ui.esc(schema.target)}** has "
                   f"{'one value only (' + _ui.esc(distinct[0]) + ')' if distinct else 'no value'}"
                   " in this file: training needs both churners and stayers, so this file "
                   "cannot train a model. It can still be scored.")
if schema.target and schema.positive_label is None:
    st.warning(f"Choose the value of **{_ui.esc(schema.target)}** that means *churned* above "
               "and press **Apply column roles**: it could not be recognised from the values.")
elif schema.target:
    confirmed = st.session_state.get("label_confirmed") == (data.sha256, schema.target,
                                                            schema.positive_label)
    # the shipped sample documents its label (Exited = 1): no warning on first open
    confirmed = confirmed or (st.session_state.get(_ui.DATA) is None and
                              "label_confirmed" not in st.session_state)
    ok = st.checkbox(f"I confirm that **{_ui.esc(schema.target)} = {_ui.esc(schema.positive_label)}** means the "
                     "customer churned", value=confirmed, key=f"confirm_{k}",
                     help="Training is blocked until the churn label is confirmed: an "
                          "inverted label would rank your most loyal customers first.")
    st.session_state["label_confirmed"] = (data.sha256, schema.target,
                                           schema.positive_label) if ok else None
    _ui.sync_url()  # the confirmation travels in the page URL: F5 keeps it (``label``)
    if not ok:
        st.warning("Please confirm the churn label before training a model on this file.")
for note in wb.date_notes(schema):  # a date per category would become a call reason
    st.info(f"{_ui.esc(note)}.", icon=":material/event:")
st.caption(f"Model features: {len(schema.numeric)} numeric "
           f"({_ui.esc(', '.join(schema.numeric) or 'none')}); {len(schema.categorical)} "
           f"categorical ({_ui.esc(', '.join(schema.categorical) or 'none')}).")

# ------------------------------------------------------------------ reasons: protected / labels
_model = _ui.get_bundle()
_rf = wb.file_reason_settings(_model, data)
_REASONS_HELP = ("**Protected / sensitive attributes** (gender, age, nationality, geography such "
                 "as state, city or postal code, marital status, ...; found by column name) "
                 "are never given as a call reason unless the analyst allows it. **Columns "
                 "your team cannot act on** (e.g. tenure) are only used, marked, when nothing "
                 "else raises a customer's risk. **Labels** are the words agents read in the "
                 "reasons.")
if _rf.fits:
    # an editor: built while closed too (a lazily built panel would drop unsaved edits)
    with st.expander(f"Call reasons: protected attributes and business labels (saved with "
                     f"model {_model.name})", expanded=False):
        rs = _rf.settings
        feats = _rf.columns
        st.caption(_REASONS_HELP)
        prot = st.multiselect("Protected attributes", feats, default=[c for c in rs.protected
                                                                      if c in feats],
                              key=f"rs_protected_{_model.name}")
        non_act = st.multiselect("Columns your team cannot act on",
                                 [c for c in feats if c not in prot],
                                 default=[c for c in rs.non_actionable
                                          if c in feats and c not in prot],
                                 key=f"rs_non_actionable_{_model.name}")
        labels = st.data_editor(pd.DataFrame({"column": feats,
                                              "business label": [rs.label(c) for c in feats]}),
                                hide_index=True, disabled=["column"],
                                key=f"rs_labels_{_model.name}")
        if st.button("Save with the model", key="rs_save"):
            try:
                wb.save_reason_settings(_model, prot, non_act,
                                        dict(zip(labels["column"], labels["business label"])),
                                        models_dir=config.MODELS_DIR)
                st.success("Saved: the next target list uses these settings.")
            except Exception as exc:
                _ui.show_error(exc, "The reason settings could not be saved")
else:  # the active model was trained on other columns: show this file's columns, read-only
    with (rf_box := _ui.lazy_expander("Call reasons: protected attributes and business "
                                      "labels (this file)", key="data_reasons_file_open")):
        if rf_box.open:
            if _rf.model is not None:
                gone = ", ".join(_rf.missing[:6]) + (", ..." if len(_rf.missing) > 6 else "")
                st.info(f"The active model **{_ui.esc(_rf.model)}** was trained on other columns "
                        f"({_ui.esc(gone)} are not in {_ui.esc(data.name)}): its reason settings "
                        "belong to that model and are not shown or changed here.")
            st.caption(_REASONS_HELP)
            rs = _rf.settings
            st.markdown("Found in this file by column name: **protected attributes**: "
                        f"{_ui.esc(', '.join(rs.protected) or 'none')}; **columns your team "
                        f"cannot act on**: {_ui.esc(', '.join(rs.non_actionable) or 'none')}.")
            if _rf.columns:
                st.dataframe(pd.DataFrame({"column": _rf.columns,
                                           "business label": [rs.label(c) for c in _rf.columns]}),
                             hide_index=True)
            st.caption("A model trained on this file (Model page) starts with these settings; "
                       "with that model active, this panel lets you change them and save them "
                       "with it.")

# ------------------------------------------------------------------ data quality
st.subheader("Data quality")
q = _ui.derived("quality", data, lambda: wb.quality_report(data))
m = st.columns(4)
m[0].metric("Rows", f"{q.rows:,}", border=True)
m[1].metric("Valid rows", f"{q.rows_valid:,}", border=True,
            help="Rows whose cells could be typed (numbers parsed, target known or blank).")
m[2].metric("Rejected rows", f"{q.rows_rejected:,}", border=True,
            help="Rows that cannot be used; download them below with the reason.")
m[3].metric("Duplicate customer IDs", f"{q.duplicate_ids:,}", border=True,
            help="Rows whose ID appears more than once (0 when there is no ID column).")
st.caption(f"Rows in = valid + rejected: {q.rows:,} = {q.rows_valid:,} + {q.rows_rejected:,}.")
if q.duplicate_ids:
    st.warning(f"{q.duplicate_ids:,} rows share a customer ID with another row. Check for "
               "double exports before sending a target list."
               + (" For example: " + _ui.esc("; ".join(q.duplicate_examples)) + "."
                  if q.duplicate_examples else ""))

rejected = getattr(data.validation, "rejected", None)
if rejected is not None and len(rejected):
    st.dataframe(rejected.head(200), hide_index=True)
    st.download_button("Download rejected rows with reasons (CSV)",
                       lambda: wb.rejected_csv_bytes(rejected),
                       file_name=f"rejected_rows_{_ui.safe_file_stem(data.name)}.csv",
                       mime="text/csv", on_click="ignore")

qa, qb = st.columns(2)
with qa:
    st.markdown("**Missing values per column**")
    # most blanks first: a column with blanks must not hide below the table's fold
    _display.show_table(q.missing.sort_values("missing", ascending=False, kind="stable"),
                        hide_index=True, counts=("missing",),
                        column_config={"missing_pct": st.column_config.ProgressColumn(
                            "missing %", format=_display.PCT_FORMAT, min_value=0,
                            max_value=100)})
with qb:
    st.markdown("**Class balance**")
    if q.class_balance is None:
        st.info("No target column: this file can be scored but not used for training.")
    else:
        _display.show_table(q.class_balance, hide_index=True, counts=("customers",),
                            percents=("share",))
        st.caption("Churn is usually the minority class; the model compensates during "
                   "training (see imbalance handling on the Model page).")
        blank = q.class_balance.loc[q.class_balance["label"].eq("blank"), "customers"]
        if len(blank) and int(blank.sum()):
            st.caption(f"**{int(blank.sum()):,}** customers have a blank churn value: they "
                       "are scored, but left out of training and of the performance figures.")

# ------------------------------------------------------------------ distributions
st.markdown("**Distribution of a column, split by churn**")
valid = data.validation.valid
feat = schema.features
if feat:
    col = st.selectbox("Column", feat, key=f"dist_col_{k}")
    outcome = wb.churn_label_series(data)
    frame = pd.DataFrame({col: valid[col].to_numpy()})
    if outcome is not None:
        frame["outcome"] = outcome.to_numpy()
    fig = _ui.derived("figure", data, lambda: wb.figures.distribution_figure(
        frame, col, numeric=col in schema.numeric), "distribution", col)
    if col in schema.numeric:
        st.caption("Each colour sums to 100 %: where the red bars are taller, churners are "
                   "over-represented.")
    elif outcome is not None:
        st.caption("Churn rate per value (hover for the number of customers).")
    st.plotly_chart(fig)
else:
    st.info("No feature columns: set numeric or categorical columns above.")

# ------------------------------------------------------------------ batch health (drift)
from pages import _drift_ui  # noqa: E402

try:
    _drift_bundle = _ui.get_bundle()
    _drift_scores = _ui.get_scores(data) if _drift_bundle is not None else None
except Exception as exc:  # a file without the model's columns: say so, keep the page
    st.subheader("Is this file like the training data?")
    st.info(f"This file cannot be compared with the active model's training data "
            f"({_ui.esc(exc)}).")
else:
    if _drift_scores is not None:
        for _note in wb.blank_feature_notes(_drift_bundle, _drift_scores):  # an empty column
            st.warning(_ui.esc(_note) + ".")
        _drift_ui.drift_section(_drift_bundle, _drift_scores, key="data")
