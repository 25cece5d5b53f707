"""The model seen from the analyst's side (issue 14): the active model measured on the active
file with the "trained on other data" notice, and the registry of saved models (Model page).

Shared by the pages like :mod:`pages._ui` (kept apart to keep that module small); reaches the
core only through :mod:`churn_core.workbench`.
"""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from churn_core.workbench import config
from pages._display import show_table
from pages._ui import (MODEL, _model_stamp, _schema_key, esc, get_bundle, get_data,
                       set_active_model, show_error)

# ------------------------------------------------------------------ the model on the active file
TRAIN_REQUEST = "train_on_active_data"  # set by the notice's button, read by the Model page


@st.cache_resource(show_spinner="Measuring the model on your file…", max_entries=16)
def _model_on_file(model: str, stamp: float, data_sha: str, schema_key: str, measure: bool,
                   _bundle, _data):
    return wb.model_on_file(_bundle, _data, measure=measure)


def get_model_on_file(model: str | None = None, data: wb.ActiveData | None = None,
                      measure: bool = True):
    """:class:`workbench.ModelOnFile` of ``model`` (default: active) on ``data`` (default:
    active), computed once per (model files, file hash, column roles, ``measure``); without
    ``measure`` only the description the notice needs (no scoring of the file's labels)."""
    data = data or get_data()
    model = model or st.session_state.get(MODEL)
    bundle = get_bundle(model)
    if data is None or bundle is None:
        return None
    return _model_on_file(model, _model_stamp(model), data.sha256, _schema_key(data),
                          bool(measure), bundle, data)


def model_file_notice(page: str, scored: wb.ActiveData | None = None, measure: bool = False):
    """On a page that uses the model: say when it was trained on other data, with one button
    *Train a model on this file* (opens the Model page, which starts the training on the
    active data). With ``scored`` (a file uploaded on Score & segment, not the active data)
    the notice speaks of that file and has no button: training uses the active data, so the
    caption says to open the file on the Data page instead. Returns the
    :class:`workbench.ModelOnFile` (None without model or data), measured on the file's
    labels only with ``measure``."""
    try:
        view = get_model_on_file(data=scored, measure=measure)
    except Exception as exc:  # noqa: BLE001 - the page shows its own model errors
        show_error(exc, "The model could not be measured on "
                   + (esc(scored.name) if scored is not None else "the active data"))
        return None
    if view is None or not view.other_data:
        return view
    with st.container(border=True):
        st.warning(view.notice(esc, scored=scored is not None), icon=":material/warning:")
        if scored is not None:
            st.caption(f"To train a model on {esc(scored.name)}, upload it on the **Data** "
                       "page (it becomes the active data), then train on the **Model** page.")
        elif view.cannot_train:
            st.caption(f"This file cannot train a model: {esc(view.cannot_train)}.")
        elif st.button("Train a model on this file", key=f"train_on_file_{page}",
                       icon=":material/model_training:"):
            st.session_state[TRAIN_REQUEST] = True
            st.switch_page("pages/model.py")
    return view


def render_model_on_file(page: str) -> None:
    """The notice (:func:`model_file_notice`) and, when the active file has labels, the
    model's quality on it next to its own test figures, saying which is which."""
    view = model_file_notice(page, measure=True)
    if view is None:
        return
    if view.measure is None:
        if view.error:
            st.info(f"The model could not be measured on this file's labels: {esc(view.error)}")
        return
    m = view.measure
    with st.container(border=True):
        st.markdown(f"**Model {esc(view.model)}: its own test figures and measured on your file**")
        c = st.columns(4)
        nan = float("nan")
        c[0].metric("Test ROC-AUC (model's own test split)",
                    f"{view.test_roc_auc if view.test_roc_auc is not None else nan:.3f}",
                    help=f"Measured when the model was trained, on {view.test_n or '?'} held-out "
                         f"customers of {view.trained_on}.")
        gone = view.not_measurable
        c[1].metric("ROC-AUC on your file", "not measurable" if gone else f"{m.roc_auc:.3f}",
                    help=f"The same model measured on the {m.n_evaluated:,} customers of "
                         f"{view.data_name} with a known outcome (column {m.target}, churned = "
                         f"{m.positive_label}). Equals `python -m churn_core evaluate`.")
        c[2].metric("Test PR-AUC (model's own test split)",
                    f"{view.test_pr_auc if view.test_pr_auc is not None else nan:.3f}")
        c[3].metric("PR-AUC on your file", "not measurable" if gone else f"{m.pr_auc:.3f}",
                    help=f"Average precision on your file; a random ranking scores its churn "
                         f"rate ({m.report.get('base_rate', nan):.3f}).")
        if gone:
            st.info(f"ROC-AUC and PR-AUC on {esc(view.data_name)}: {esc(gone)}.",
                    icon=":material/info:")
        st.caption(view.summary(esc))
        warn = view.overlap_warning(esc)
        if warn:
            st.warning(warn, icon=":material/warning:")


# ------------------------------------------------------------------ model registry (Model page)
DELETE_PENDING = "registry_delete_pending"


def render_registry() -> None:
    """Every saved model in one sortable table (click a column header to sort), the
    champion, and deletion with confirmation (the shipped ``default`` cannot be deleted)."""
    st.subheader("Saved models")
    data = get_data()
    labelled = data is not None and data.has_labels

    def on_file(name):
        view = get_model_on_file(name, data)
        return view.measure if view is not None else None

    measure = on_file if labelled else None
    table = wb.registry_table(measure=measure)
    if table.empty:
        st.info("No saved model yet.")
        return
    cols = {k: v for k, v in wb.REGISTRY_TITLES.items() if k in table.columns}
    show_table(
        table.rename(columns=cols), hide_index=True, key="registry_table",
        counts=[cols[k] for k in ("rows",) if k in cols],
        percents=[cols[k] for k in ("churn_rate",) if k in cols],
        column_config={
            cols["data_sha256"]: st.column_config.TextColumn(width="small"),
            **{cols[k]: st.column_config.NumberColumn(format="%.3f")
               for k in ("test_roc_auc", "test_pr_auc", "file_roc_auc", "file_pr_auc")
               if k in cols},
        })
    note = ("test ROC-AUC / PR-AUC: each model on its own held-out test customers (not "
            "comparable across training files).")
    if measure is not None:
        note += (f" On active file: every model measured on the customers of "
                 f"{esc(data.name)} with a known outcome (blank when a model lacks its columns).")
    st.caption(note + " Click a column header to sort.")
    champ = wb.champion()
    names = table["name"].tolist()
    a, b = st.columns(2)
    with a:
        st.markdown(f"Champion (the model the app opens with): **{esc(wb.label_of(champ))}**")
        active = st.session_state.get(MODEL)
        if active and active != champ and active in names:
            if st.button(f"Make the active model {active} the champion", key="make_champion"):
                wb.set_champion(active)
                st.rerun()
    with b:
        deletable = [n for n in names if n != config.DEFAULT_MODEL_NAME]
        if not deletable:
            st.caption("The shipped default model cannot be deleted.")
            return
        victim = st.selectbox("Delete a model", deletable, index=None, key="delete_choice",
                              placeholder="choose a model to delete",
                              help="The shipped default model cannot be deleted.")
        if victim and st.button(f"Delete {victim}…", key="delete_model"):
            st.session_state[DELETE_PENDING] = victim
        pending = st.session_state.get(DELETE_PENDING)
        if pending and pending in deletable:
            st.warning(f"Delete model **{esc(pending)}** and its files for good?")
            yes, no = st.columns(2)
            if yes.button("Yes, delete it", type="primary", key="delete_confirm"):
                try:
                    wb.delete_model(pending)
                except Exception as exc:  # noqa: BLE001
                    show_error(exc, f"Model {pending} could not be deleted")
                else:
                    st.session_state.pop(DELETE_PENDING, None)
                    st.session_state.pop("delete_choice", None)
                    if st.session_state.get(MODEL) == pending:
                        set_active_model(wb.champion())
                    st.session_state["trained_message"] = f"Model **{pending}** deleted."
                    st.rerun()
            if no.button("Cancel", key="delete_cancel"):
                st.session_state.pop(DELETE_PENDING, None)
                st.rerun()
