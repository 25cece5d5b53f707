"""Shared Streamlit widgets for every page: session keys, the shared decision-threshold and
tier-cutoff sliders, the sidebar status and error display.

Not a page itself (``st.navigation`` in ``app.py`` lists the pages explicitly). Pages import
it as ``from pages import _ui``. Everything a page computes comes from the session's
:class:`churn_core.workbench.Workspace` (:func:`workspace`): the model of the app, which
computes each result once (keyed by model, data and schema hashes) and is kept for every
session in one ``st.cache_resource``; the helpers here only draw. Like the pages, this module
imports ``churn_core.workbench`` and no other ``churn_core`` module, and no keras / sklearn /
shap.
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path

import streamlit as st
# Private Streamlit APIs, each used because no public one does the job (and guarded by
# tests/test_streamlit_private.py, which fails when Streamlit moves or changes them):
# * PagesManager.uses_pages_directory: the app keeps its pages in ``pages/`` (the promised
#   layout) and routes them with ``st.navigation``; Streamlit 1.67 still runs a file of
#   ``pages/`` alone (legacy discovery) on a direct URL until ``st.navigation`` has run once,
#   and only this flag tells a page that it runs without app.py (see :func:`bootstrap`).
# * RerunException / get_script_run_ctx: a click during a training must not abandon the
#   training half-way (:func:`hold_reruns`, :func:`replay_held_rerun`).
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

from churn_core import workbench as wb
from churn_core.workbench import config
from pages._display import fmt_pct  # noqa: F401 - the one percentage rule, as _ui.fmt_pct
from pages._display import on_threshold_grid

# ------------------------------------------------------------------ session keys (one place)
THRESHOLD = wb.THRESHOLD_KEY          # "decision_threshold": float in [0, 1], every page
CUTOFFS = wb.CUTOFFS_KEY              # "tier_cutoffs": {"high": float, "medium": float}
MODEL = wb.MODEL_KEY                  # "active_model": bundle name under models/
DATA = wb.DATA_KEY                    # "active_data": ActiveData of an upload, or None
TRAINING = "training_running"         # session flag: a training runs in this session
SCORE_UPLOAD = "score_upload"         # ActiveData of a file uploaded on Score & segment
EXPLAIN_REQUEST = "explain_request"   # (data sha256, scored position) picked in a table
EXPLAIN_SOURCE = "explain_source"     # "active data" or "scored upload" on the Explain page

UPLOAD_TYPES = ["csv", "parquet", "xlsx", "gz"]


def upload_help() -> str:
    """The sentence stated next to every uploader."""
    return (f"CSV (also gzip-compressed, .csv.gz), Parquet or Excel (.xlsx), up to "
            f"{config.max_upload_mb()} MB "
            "(set by server.maxUploadSize in .streamlit/config.toml).")


def upload_sheet(name: str, raw: bytes, page: str) -> str | None:
    """For an uploaded XLSX workbook with several sheets, draw the sheet picker and return
    the sheet chosen (None: not a workbook, one sheet, or not chosen yet, when the reader
    takes the workbook's only customer table and names the other sheets).

    Used by every customer-file upload (Data, Score & segment) before reading the file.
    """
    sheets = workspace().workbook_sheets(name, raw)
    if len(sheets) < 2:
        return None
    return st.selectbox(
        "Sheet to read", sheets, index=None, key=f"upload_sheet_{page}_{wb.sha256_of(raw)[:12]}",
        placeholder="automatic: the sheet that holds customers (pick one if several do)",
        help=f"{esc(name)} has {len(sheets)} sheets. Without a choice the sheet holding the "
             "customer table is read (and the others are named); when several sheets hold "
             "customer tables with the same columns, pick the one to use.")


# ------------------------------------------------------------------ the workspace
@st.cache_resource
def _store() -> wb.ResultStore:
    """The one process-wide store of computed results, shared by every session."""
    return wb.ResultStore()


def workspace() -> wb.Workspace:
    """This session's workspace (active model and data over the shared result store)."""
    return wb.Workspace(st.session_state, _store())


# Thin accessors kept for the pages (each is one workspace call, with a spinner while a
# result is computed for the first time).
def get_bundle(name: str | None = None):
    """The loaded bundle ``name`` (default: the active model), loaded once per process."""
    with st.spinner("Loading the model…"):
        return workspace().bundle(name)


def list_models() -> list[str]:
    """Names of the bundles saved under models/ (the default first)."""
    return wb.list_models()


def get_data() -> wb.ActiveData | None:
    """The active data set: the analyst's upload, else the shipped sample."""
    with st.spinner("Reading the shipped sample…"):
        return workspace().data()


def get_scores(data: wb.ActiveData | None = None, model: str | None = None) -> wb.Scores | None:
    """Scores of ``data`` (default: active data) by ``model`` (default: active model)."""
    with st.spinner("Scoring customers…"):
        return workspace().scores(data, model)


def get_eval(model: str | None = None) -> wb.EvalArrays | None:
    """Validation/test arrays of the model (sorted once for fast threshold metrics)."""
    return workspace().evaluation(model)


def get_sweep():
    """Metrics at thresholds 0.00..1.00 on the test split of the active model."""
    return workspace().sweep()


def get_challenger():
    """The challenger's test-split curves for the active model (trained once)."""
    with st.spinner("Training the gradient-boosting challenger on the same split…"):
        return workspace().challenger()


def derived(kind: str, source, compute, *extra):
    """A result of ``source`` (Scores, ActiveData with its roles, or None for the active
    model) alone - a figure, a quality report - computed once per server
    (``Workspace.derived``)."""
    return workspace().derived(kind, source, compute, *extra)


def get_split_values(column: str, margin: float):
    """Validation customers' value (column x margin) for the net-value strategy."""
    return workspace().split_values(column, margin)


def get_explainer(data: wb.ActiveData | None = None):
    """RawColumnExplainer of the active model with its background sample (built once)."""
    with st.spinner("Preparing the SHAP explainer…"):
        return workspace().explainer(data)


GLOBAL_VIEW_ROWS = 500  # customers behind the Explain page's overall charts (a seeded sample:
# mean |SHAP value| per column is stable at this size, and the first visit stays near
# 1 CPU-s of SHAP instead of ~5 with 2,000; issue 18)


def get_explanation(data: wb.ActiveData | None = None, compute: bool = True,
                    max_rows: int = config.SHAP_MAX_ROWS, estimate: str = "precise"):
    """SHAP explanation of the scored customers, with a progress bar while it is computed
    (once per model, data, ``max_rows`` and ``estimate``: "precise" for the Explain charts,
    "reasons" for reason codes); None when not yet computed and not ``compute``."""
    bar = None

    def progress(done: int, total: int, message: str = "") -> None:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text="Explaining customers with SHAP…")
        bar.progress(min(done / max(total, 1), 1.0),
                     text=f"Explaining customers with SHAP: {done:,} of {total:,}")

    ws = workspace()
    if compute:
        ws.explainer(data, estimate)  # drawn with its own spinner the first time
    expl = ws.explanation(data, compute=compute, max_rows=max_rows, progress=progress,
                          estimate=estimate)
    if bar is not None:
        bar.empty()
    return expl


def explain_seconds(data: wb.ActiveData | None = None,
                    max_rows: int = config.SHAP_MAX_ROWS, estimate: str = "precise") -> float:
    """Seconds the SHAP values of ``data`` are expected to take on this server (the rate
    measured here for the active model and ``estimate``), for a page to promise before
    computing."""
    with st.spinner("Timing the SHAP explainer on a few customers…"):
        return workspace().explain_seconds(data, max_rows=max_rows, estimate=estimate)


def training_guard() -> wb.TrainingGuard:
    """The one process-wide training lock shared by every session (it also keeps the last
    training, which runs on a server-side thread: ``TrainingGuard.start``)."""
    return wb.shared_training_guard()


# ------------------------------------------------------------------ session defaults
def init_session() -> None:
    """Set every session key once (later runs keep the analyst's choices)."""
    ss = st.session_state
    if MODEL not in ss:  # the champion (models/champion.json), else default
        ss[MODEL] = wb.champion()
    else:  # deleted meanwhile (another tab, the command line): another model, with a note
        gone = workspace().replace_deleted_model()
        if gone:
            ss[RESTORE_NOTES] = [*(ss.get(RESTORE_NOTES) or ()), *gone]
    if THRESHOLD not in ss or CUTOFFS not in ss:
        reset_model_defaults()
    ss.setdefault(DATA, None)
    ss.setdefault(TRAINING, False)
    ss.setdefault(SCORE_UPLOAD, None)
    if not ss.get(RESTORED):
        ss[RESTORED] = True
        restore_from_url()
    ss.setdefault(EXPLAIN_SOURCE, "active data")
    from pages._campaign import init_campaign_session  # lazy: pages._campaign imports this module

    init_campaign_session()
    ss["_app_frame_seen"] = True
    # no sync_url() here: app.py (and bootstrap) write the URL once the page is known; a
    # write here, before it, was one more browser-history entry on every page switch


def reset_model_defaults() -> None:
    """Take the decision threshold and tier cutoffs from the active bundle's card."""
    workspace().reset_model_defaults()


def set_active_model(name: str) -> None:
    """Make ``name`` the active model and take its default threshold and cutoffs."""
    workspace().set_model(name)
    sync_url()


# ------------------------------------------------------------------ state in the URL
# F5 or a bookmark starts a new session: the page URL carries the active model, decision
# threshold, tier cutoffs, campaign rule, value assumptions, page and the SHA-256 of the
# active upload (never the file or a path); Workspace.restore / Workspace.url_params own the rules, these two only move them.
RESTORED = "_url_state_restored"
RESTORE_NOTES = "_url_restore_notes"
PAGE_PARAM = "page"


def restore_from_url() -> None:
    """Apply the page URL's parameters to a new session (once; notes go to the sidebar)."""
    ws = workspace()
    notes = ws.restore(st.query_params)
    shown = ws.model_name
    fitting = ws.open_fitting()  # never open with a model that cannot score the start data
    if fitting and ws.model_name != shown:  # its note names the model shown: say it once
        notes = [n.replace(f"; showing {shown}.", ".") for n in notes]
    notes += fitting
    if ws.data_is_upload:
        st.session_state["data_upload_sha"] = ws.data().sha256
    st.session_state[RESTORE_NOTES] = notes


def sync_url(page: str | None = None) -> None:
    """Write the session's model, threshold, cutoffs, upload SHA-256 (and ``page``) into the
    page URL, so that F5 or a bookmark brings them back."""
    qp = st.query_params
    want = workspace().url_params()
    if page:
        want[PAGE_PARAM] = page
    elif qp.get(PAGE_PARAM):
        want[PAGE_PARAM] = qp[PAGE_PARAM]
    current = qp.to_dict()
    new = {k: v for k, v in current.items() if k not in wb.URL_KEYS or k in want}
    new.update(want)
    if new != current:  # one message to the browser (an item assignment sends one each)
        qp.from_dict(new)


# ------------------------------------------------------------------ shared threshold slider
THRESHOLD_HELP = ("A customer is flagged as a predicted churner when the churn probability "
                  "is at or above this value. Lower it to catch more churners (higher recall) "
                  "at the cost of more false alarms (lower precision). The same value is used "
                  "on every page.")


def _copy_threshold(widget_key: str) -> None:
    st.session_state[THRESHOLD] = float(st.session_state[widget_key])
    sync_url()


def threshold_slider(page: str, label: str = "Decision threshold") -> float:
    """Render the shared decision-threshold slider and return its value.

    One session key (``decision_threshold``) holds the value; each page has its own widget
    key, synchronised from it before the widget is drawn, so the value survives page
    switches (Streamlit drops the state of widgets that are not drawn).
    """
    wkey = f"threshold_slider_{page}"
    current = float(st.session_state.get(THRESHOLD, config.DEFAULT_THRESHOLD))
    # assigned on every run, not only when it differs: after a run that stopped before the
    # widget (e.g. Score & segment waiting for an upload) Streamlit still reports the old
    # value but the browser redraws the widget at its minimum unless the value is sent again
    st.session_state[wkey] = current
    st.slider(label, 0.0, 1.0, step=0.01, key=wkey, help=THRESHOLD_HELP,
              on_change=_copy_threshold, args=(wkey,))
    value = float(st.session_state[THRESHOLD])
    if not on_threshold_grid(value):
        try:
            own = abs(value - wb.default_threshold(workspace().bundle())) < 1e-9
        except Exception:  # no model: the page says why
            own = False
        source = ("the model's own decision threshold, chosen on its validation split"
                  if own else "set by a threshold strategy")
        st.caption(f"Threshold in use: **{value:.4f}** ({source}; the slider shows it rounded "
                   "to 2 decimals, moving it sets a rounded value).")
    return value



def hold_reruns(fn, held: list):
    """Call ``fn()`` and return its result; a click arriving meanwhile does not stop it.

    A click (or a second press of a button) during a long run makes Streamlit raise its
    rerun exception at the next ``st`` call, which would silently abandon e.g. a training
    half-way. Here the rerun request is appended to ``held`` and ``fn`` is called again
    (so ``fn`` must be safe to repeat: progress updates, session-state assignments); the
    caller decides after the long run what to do with the held requests
    (:func:`replay_held_rerun`). A Stop request still stops the run.
    """
    while True:
        try:
            return fn()
        except RerunException as exc:
            held.append(exc)


def replay_held_rerun(held: list) -> None:
    """Rerun the page; when the last held click opened another page, go there instead."""
    ctx = get_script_run_ctx()
    if held and ctx is not None:
        target = getattr(held[-1].rerun_data, "page_script_hash", "") or ""
        if target and target != ctx.page_script_hash:
            raise held[-1]
    st.rerun()

# ------------------------------------------------------------------ messages
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def esc(text) -> str:
    """Escape a user-supplied string (file name, column name, cell value) so Streamlit's
    markdown shows it as plain text: no links, images, HTML, colours or icons."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def safe_file_stem(name: str) -> str:
    """File-name part derived from an uploaded file's name: letters, digits, '-', '_'."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name).rsplit(".", 1)[0]).strip("_")
    return stem[:60] or "file"


def lazy_expander(label: str, key: str, expanded: bool = False):
    """``st.expander`` whose content is built only while it is open.

    Streamlit sends the content of a collapsed expander to the browser, which builds it
    hidden: a table or chart in it costs the server and every browser as much as a visible
    one. With ``on_change`` set (Streamlit 1.67) opening or closing it reruns the page and
    the container's ``.open`` says whether it is open, so callers write
    ``with (box := lazy_expander(...)):`` then ``if box.open: ...``. The open state is kept
    for the session under ``key`` (the widget key is ``key + "__widget"``; Streamlit forgets
    a widget's state on a page that does not draw it), so a panel the analyst closed stays
    closed after a visit to another page. Widgets inside lose their state while it is
    closed: use it for read-only content, not for editors.

    Parameters
    ----------
    label : str
        The expander's label (Markdown).
    key : str
        Session key of its open state (unique on the page; vary it where a new file
        should start from ``expanded`` again). Setting it to True opens the panel.
    expanded : bool, default False
        Open on its first run.
    """
    if key not in st.session_state:
        st.session_state[key] = bool(expanded)
    wkey = f"{key}__widget"
    st.session_state[wkey] = bool(st.session_state[key])  # every run: see threshold_slider
    return st.expander(label, key=wkey, on_change=_copy_widget, args=(wkey, key))


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a problem as a readable message (never a raw traceback for input errors).

    The message may quote the analyst's data, so it is escaped (rendered as text).
    """
    prefix = f"{esc(what)}: " if what else ""
    if isinstance(exc, wb.ChurnError):
        st.error(prefix + esc(exc), icon=":material/error:")
        if isinstance(exc, wb.MissingColumnsError):
            st.info("The active model was trained on other columns. Pick a model trained on "
                    "this kind of file, or train one on the **Model** page.")
    else:
        st.error(f"{prefix}unexpected problem ({type(exc).__name__}: {esc(exc)}). "
                 "Please report it with the file that caused it.", icon=":material/error:")
        with st.expander("Technical details"):
            st.code("".join(traceback.format_exception(exc)), language=None)


def need_model_and_data() -> tuple:
    """Return (bundle, data), or stop the page with a clear hint when one is missing."""
    data = get_data()
    try:
        bundle = get_bundle()
    except Exception as exc:
        show_error(exc, "The active model could not be loaded")
        st.stop()
    if bundle is None:
        st.warning("No model is available yet. Train one on the **Model** page.")
        st.stop()
    if data is None:
        st.warning("No data is loaded. Upload a customer file on the **Data** page.")
        st.stop()
    return bundle, data


_SIDEBAR_SLOTS = "_sidebar_slots"


def sidebar_status() -> None:
    """Active model and data in the sidebar (drawn by app.py on every page).

    The two names are drawn into placeholders kept for the run, so a page that changes the
    active data during the run (an upload on Data) can redraw them with
    :func:`refresh_sidebar` instead of showing the previous file until the next rerun.
    """
    with st.sidebar:
        st.caption("**Active model**")
        model_slot = st.empty()
        st.caption("**Active data**")
        data_slot = st.empty()
        for note in st.session_state.pop(RESTORE_NOTES, None) or ():
            st.warning(esc(note), icon=":material/link_off:")
    st.session_state[_SIDEBAR_SLOTS] = (model_slot, data_slot)
    refresh_sidebar()


def refresh_sidebar() -> None:
    """Redraw the active model and data names in the sidebar placeholders of this run."""
    sync_url()
    slots = st.session_state.get(_SIDEBAR_SLOTS)
    if not slots:
        return
    data = get_data()
    slots[0].text(wb.label_of(st.session_state.get(MODEL)))
    slots[1].text(data.name if data is not None else "none")


def root() -> Path:
    """Repository root."""
    return config.ROOT


ACTIONABLE = "reasons_actionable_only"


def _copy_widget(widget_key: str, state_key: str) -> None:
    st.session_state[state_key] = st.session_state[widget_key]


def synced(widget, label: str, state_key: str, page: str, default=None, **kwargs):
    """Draw ``widget`` (e.g. ``st.toggle``) bound to a persistent session key.

    Streamlit forgets a widget's state when a page without it runs; the value is therefore
    kept under ``state_key`` (never a widget key) and copied into a per-page widget key
    before the widget is drawn.
    """
    if state_key not in st.session_state:
        st.session_state[state_key] = default
    wkey = f"{state_key}__{page}"
    st.session_state[wkey] = st.session_state[state_key]  # every run: see threshold_slider
    widget(label, key=wkey, on_change=_copy_widget, args=(wkey, state_key), **kwargs)
    return st.session_state[state_key]


def get_reasons(data: wb.ActiveData, expl, only: bool):
    """reason_1..3 for every scored row of ``data`` (blank where not explained), cached by
    model, data and explanation. Protected attributes are left out unless the analyst
    allowed them."""
    protected = bool(st.session_state.get("reasons_include_protected", False))
    return workspace().reasons(data, expl, only, include_protected=protected)


@st.cache_resource(show_spinner="Preparing reason codes…", max_entries=4)
def _reason_context(model: str, stamp: float, data_sha: str, schema_key: str,
                    training_sha: str, _bundle, _data, _scores, _training):
    return wb.reason_context(_bundle, _data, _scores, _training)


def get_reason_context(data: wb.ActiveData) -> wb.ReasonContext:
    """Explainer, reference profile and reason settings of the active model on ``data``
    (built once per model and file; the model's training split is the reference when the
    active data is its training file)."""
    import json

    active = get_data()
    model = st.session_state.get(MODEL)
    schema_key = json.dumps(data.schema.to_dict(), sort_keys=True, default=str)
    return _reason_context(model, wb.model_stamp(model), data.sha256, schema_key,
                           active.sha256 if active is not None else "", get_bundle(model),
                           data, get_scores(data), active)


def _copy_cutoffs(widget_key: str) -> None:
    lo, hi = st.session_state[widget_key]
    st.session_state[CUTOFFS] = {"high": float(hi), "medium": float(lo)}
    sync_url()


def cutoff_slider(page: str) -> dict:
    """Two-handle slider for the Medium and High tier cutoffs, bound to ``tier_cutoffs``."""
    wkey = f"tier_cutoff_slider_{page}"
    cut = st.session_state[CUTOFFS]
    current = (float(cut["medium"]), float(cut["high"]))
    st.session_state[wkey] = current  # every run: see threshold_slider
    st.slider("Medium and High cutoffs (churn probability)", 0.0, 1.0, step=0.01, key=wkey,
              on_change=_copy_cutoffs, args=(wkey,),
              help="Medium from the left handle, High from the right handle: High = "
                   "probability at or above the right handle.")
    return dict(st.session_state[CUTOFFS])


# ------------------------------------------------------------------ direct page URLs
INTENDED_PAGE = "_intended_page"
FRAME_SEEN = "_app_frame_seen"


def bootstrap(page_file: str) -> None:
    """Route a page opened by direct URL through ``app.py``.

    Streamlit 1.67 keeps its legacy ``pages/`` discovery (MPA v1) until some session has run
    ``st.navigation``; until then a direct URL such as ``/performance`` runs the page file
    alone, without the session defaults of ``app.py``. In that case remember the page, switch
    to ``app.py`` (which calls ``st.navigation``) and let it switch back.
    """
    if PagesManager.uses_pages_directory:
        if not st.session_state.get(FRAME_SEEN):
            st.session_state[INTENDED_PAGE] = f"pages/{Path(page_file).name}"
            st.switch_page("app.py")
        # app.py ran earlier in this session (e.g. AppTest, which re-enables the legacy
        # pages/ mode on every run): apply its frame in place instead of bouncing, so
        # widget state is kept.
        init_session()
        sync_url(Path(page_file).stem)
        sidebar_status()


def calibration_text(bundle) -> str:
    """How the probabilities were calibrated, in words."""
    cal = bundle.calibrator
    if cal is None:
        return "none (the raw network probabilities were already at least as well calibrated)"
    method = getattr(cal, "method", type(cal).__name__)
    words = {"platt": "Platt scaling (logistic)", "sigmoid": "Platt scaling (logistic)",
             "isotonic": "isotonic regression"}.get(str(method).lower(), str(method))
    before, after = getattr(cal, "brier_raw", None), getattr(cal, "brier_calibrated", None)
    extra = (f"; validation Brier score {before:.4f} → {after:.4f}"
             if before is not None and after is not None else "")
    return f"{words}, fitted on the validation split{extra}"


def _model_stamp(name: str | None) -> float:
    """Modification time of a bundle's card (a cache key that changes when it is re-saved)."""
    return wb.model_stamp(name)


def _schema_key(data: wb.ActiveData) -> str:
    """The active schema of ``data`` as text (a cache key)."""
    import json

    return json.dumps(data.schema.to_dict(), sort_keys=True, default=str)


def explanation_key(data: wb.ActiveData) -> tuple:
    """Key of the explanations of ``data`` by the active model (model, its files, data, schema)."""
    return workspace().explanation_key(data)
