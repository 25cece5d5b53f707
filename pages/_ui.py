"""Shared Streamlit plumbing for every page: session keys, cached loaders, the shared
decision-threshold slider and error display.

Not a page itself (``st.navigation`` in ``app.py`` lists the pages explicitly). Pages import
it as ``from pages._ui import ...``. No keras / sklearn / shap imports here either: all
compute goes through :mod:`churn_core.workbench`.
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path

import numpy as np
import streamlit as st

from churn_core import config, workbench as wb
from churn_core.errors import ChurnError

# ------------------------------------------------------------------ session keys (one place)
THRESHOLD = "decision_threshold"      # float in [0, 1], shared by every page
CUTOFFS = "tier_cutoffs"              # {"high": float, "medium": float}
MODEL = "active_model"                # bundle name under models/
DATA = "active_data"                  # ActiveData of an upload, or None for the sample
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


# ------------------------------------------------------------------ cached loaders
def _model_stamp(name: str) -> float:
    """Modification time of a bundle folder's card (changes when a bundle is re-saved)."""
    card = config.MODELS_DIR / name / "card.json"
    try:
        return card.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _load_bundle(name: str, stamp: float):
    from churn_core.model.bundle import load_bundle

    return load_bundle(name)


def get_bundle(name: str | None = None):
    """Return the loaded bundle ``name`` (default: the active model), loaded once per
    process and re-loaded only when its files change."""
    name = name or st.session_state.get(MODEL)
    if not name:
        return None
    return _load_bundle(name, _model_stamp(name))


def list_models() -> list[str]:
    """Names of the bundles saved under models/ (the default first)."""
    try:
        from churn_core.model.bundle import list_bundles

        names = [getattr(b, "name", b) if not isinstance(b, str) else b for b in list_bundles()]
    except Exception:  # bundle module not there yet, or an unreadable folder
        names = sorted(p.name for p in config.MODELS_DIR.glob("*") if (p / "card.json").exists())
    names = [str(n) for n in names]
    if config.DEFAULT_MODEL_NAME in names:
        names.remove(config.DEFAULT_MODEL_NAME)
        names.insert(0, config.DEFAULT_MODEL_NAME)
    return names


@st.cache_resource(show_spinner="Reading the shipped sample…", max_entries=2)
def _load_sample(sha: str):
    return wb.load_data(config.SAMPLE_CSV, name=config.SAMPLE_CSV.name)


def get_data() -> wb.ActiveData | None:
    """The active data set: the analyst's upload, else the shipped sample."""
    data = st.session_state.get(DATA)
    if data is not None:
        return data
    if not config.SAMPLE_CSV.exists():
        return None
    return _load_sample(wb.sha256_of(config.SAMPLE_CSV))


def _schema_key(data: wb.ActiveData) -> str:
    import json

    return json.dumps(data.schema.to_dict(), sort_keys=True, default=str)


@st.cache_resource(show_spinner="Scoring customers…", max_entries=6)
def _score(model: str, stamp: float, data_sha: str, schema_key: str, _bundle, _data):
    return wb.score_data(_bundle, _data)


def get_scores(data: wb.ActiveData | None = None, model: str | None = None) -> wb.Scores | None:
    """Scores of ``data`` (default: active data) by ``model`` (default: active model),
    computed once per (model files, file hash, schema) and kept for every session."""
    data = data or get_data()
    model = model or st.session_state.get(MODEL)
    bundle = get_bundle(model)
    if data is None or bundle is None:
        return None
    return _score(model, _model_stamp(model), data.sha256, _schema_key(data), bundle, data)


@st.cache_resource(max_entries=4)
def _eval(model: str, stamp: float, _bundle):
    return wb.eval_arrays(_bundle)


def get_eval(model: str | None = None) -> wb.EvalArrays | None:
    """Validation/test arrays of the model (sorted once for fast threshold metrics)."""
    model = model or st.session_state.get(MODEL)
    bundle = get_bundle(model)
    if bundle is None:
        return None
    return _eval(model, _model_stamp(model), bundle)


@st.cache_resource
def training_guard() -> wb.TrainingGuard:
    """The one process-wide training lock shared by every session."""
    return wb.TrainingGuard()


# ------------------------------------------------------------------ session defaults
def init_session() -> None:
    """Set every session key once (later runs keep the analyst's choices)."""
    ss = st.session_state
    if MODEL not in ss:
        names = list_models()
        ss[MODEL] = names[0] if names else None
    if THRESHOLD not in ss or CUTOFFS not in ss:
        reset_model_defaults()
    ss.setdefault(DATA, None)
    ss.setdefault(TRAINING, False)
    ss.setdefault(SCORE_UPLOAD, None)
    ss.setdefault(EXPLAIN_SOURCE, "active data")
    from pages._campaign import init_campaign_session

    init_campaign_session()
    ss["_app_frame_seen"] = True


def reset_model_defaults() -> None:
    """Take the decision threshold and tier cutoffs from the active bundle's card."""
    bundle = None
    try:
        bundle = get_bundle()
    except Exception:  # shown by the page that needs the model
        bundle = None
    st.session_state[THRESHOLD] = round(wb.default_threshold(bundle), 2) if bundle else \
        float(config.DEFAULT_THRESHOLD)
    st.session_state[CUTOFFS] = wb.default_tier_cutoffs(bundle) if bundle else \
        dict(config.DEFAULT_TIER_CUTOFFS)


def set_active_model(name: str) -> None:
    """Make ``name`` the active model and take its default threshold and cutoffs."""
    st.session_state[MODEL] = name
    reset_model_defaults()


# ------------------------------------------------------------------ shared threshold slider
THRESHOLD_HELP = ("A customer is flagged as a predicted churner when the churn probability "
                  "is at or above this value. Lower it to catch more churners (higher recall) "
                  "at the cost of more false alarms (lower precision). The same value is used "
                  "on every page.")


def _copy_threshold(widget_key: str) -> None:
    st.session_state[THRESHOLD] = float(st.session_state[widget_key])


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
    if abs(value * 100 - round(value * 100)) > 1e-6:  # a strategy's threshold, off the grid
        st.caption(f"Threshold in use: **{value:.4f}** (set by a threshold strategy; the "
                   "slider shows it rounded to 2 decimals, moving it sets a rounded value).")
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
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

    while True:
        try:
            return fn()
        except RerunException as exc:
            held.append(exc)


def replay_held_rerun(held: list) -> None:
    """Rerun the page; when the last held click opened another page, go there instead."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

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


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a problem as a readable message (never a raw traceback for input errors).

    The message may quote the analyst's data, so it is escaped (rendered as text).
    """
    from churn_core.errors import MissingColumnsError

    prefix = f"{esc(what)}: " if what else ""
    if isinstance(exc, ChurnError):
        st.error(prefix + esc(exc), icon=":material/error:")
        if isinstance(exc, MissingColumnsError):
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


def fmt_pct(x: float, digits: int = 1) -> str:
    """0.1234 -> '12.3 %' (em dash for NaN)."""
    return "—" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


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
    st.session_state[_SIDEBAR_SLOTS] = (model_slot, data_slot)
    refresh_sidebar()


def refresh_sidebar() -> None:
    """Redraw the active model and data names in the sidebar placeholders of this run."""
    slots = st.session_state.get(_SIDEBAR_SLOTS)
    if not slots:
        return
    data = get_data()
    slots[0].text(st.session_state.get(MODEL) or "none")
    slots[1].text(data.name if data is not None else "none")


def root() -> Path:
    """Repository root."""
    return config.ROOT


# ------------------------------------------------------------------ cached derived views
@st.cache_resource(max_entries=4)
def _sweep(model: str, stamp: float, _ev):
    return _ev.curve.sweep()


def get_sweep():
    """Metrics at thresholds 0.00..1.00 on the test split of the active model (computed once)."""
    model = st.session_state.get(MODEL)
    return _sweep(model, _model_stamp(model), get_eval(model))


def render_lift(lf, ev) -> None:
    """Lift per decile, cumulative gains and top-decile lift on the test split."""
    from churn_core.figures import performance as F

    table = lf.lift_table(ev.y_test, ev.p_test, n_bins=10)
    share, caught, _ = lf.cumulative_gains(ev.y_test, ev.p_test)
    tdl = lf.top_decile_lift(ev.y_test, ev.p_test)
    st.metric("Top-decile lift", f"{tdl:.2f}×",
              help="Churn rate among the 10 % highest-risk customers divided by the overall "
                   "churn rate.")
    a, b = st.columns(2)
    a.plotly_chart(F.lift_figure(table), key="perf_lift")
    b.plotly_chart(F.cumulative_gains_figure(share, caught), key="perf_gains")
    with st.expander("Lift table"):
        st.dataframe(table, hide_index=True)


@st.cache_resource(show_spinner="Training the gradient-boosting challenger on the same split…",
                   max_entries=2)
def _challenger(model: str, stamp: float, data_sha: str, _bundle, _data):
    return wb.challenger_view(_bundle, _data)


def get_challenger():
    """The challenger's test-split curves for the active model (trained once, cached)."""
    model = st.session_state.get(MODEL)
    bundle = get_bundle(model)
    data = get_data()
    return _challenger(model, _model_stamp(model), data.sha256 if data else "", bundle, data)


def challenger_table(view) -> "object":
    """Metrics of the MLP and the challenger side by side (one row per model)."""
    return view.table


# ------------------------------------------------------------------ explanations (SHAP)
@st.cache_resource
def _explanation_store() -> dict:
    """Process-wide store of explanations keyed by (model, files, data, schema, options)."""
    return {}


def explanation_key(data: wb.ActiveData, model: str | None = None) -> tuple:
    model = model or st.session_state.get(MODEL)
    return (model, _model_stamp(model), data.sha256, _schema_key(data))


GLOBAL_VIEW_ROWS = 2000  # customers behind the Explain page's overall charts


def get_explanation(data: wb.ActiveData | None = None, compute: bool = True,
                    max_rows: int = config.SHAP_MAX_ROWS):
    """SHAP explanation of the scored customers (a stated random sample above ``max_rows``).

    Computed once per (model, data, max_rows) with a progress bar, then kept for every
    session. A full explanation already computed is reused for smaller requests. Returns
    None when not yet computed and ``compute`` is False.
    """
    data = data or get_data()
    store = _explanation_store()
    key = explanation_key(data)
    for k, expl in list(store.items()):
        # a larger request, or one that explained every row, serves this one
        if k[:-1] == key and (k[-1] >= max_rows or len(expl) >= len(get_scores(data).scored)):
            return expl
    key = key + (int(max_rows),)
    if not compute:
        return None
    bundle = get_bundle()
    scores = get_scores(data)
    bar = st.progress(0.0, text="Explaining customers with SHAP…")

    def progress(done: int, total: int, message: str = "") -> None:
        bar.progress(min(done / max(total, 1), 1.0),
                     text=f"Explaining customers with SHAP: {done:,} of {total:,}")

    explainer = get_explainer(data)
    expl = wb.explain_scores(explainer, scores, progress=progress, max_rows=max_rows)
    bar.empty()
    if len(store) > 8:
        store.pop(next(iter(store)))
    store[key] = expl
    return expl


@st.cache_resource(show_spinner="Preparing the SHAP explainer…", max_entries=4)
def _explainer(model: str, stamp: float, data_sha: str, schema_key: str, training_sha: str,
               _bundle, _data, _training):
    return wb.make_explainer(_bundle, _data, _training)


def get_explainer(data: wb.ActiveData | None = None):
    """RawColumnExplainer of the active model with its background sample (built once).

    The background comes from the model's training split when the active data is the
    training file, even when ``data`` is another file being scored.
    """
    active = get_data()
    data = data or active
    model = st.session_state.get(MODEL)
    return _explainer(model, _model_stamp(model), data.sha256, _schema_key(data),
                      active.sha256 if active is not None else "", get_bundle(model), data,
                      active)


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


@st.cache_resource(max_entries=8)
def _reasons(key: tuple, only: bool, protected: bool, _expl, n_rows: int, _bundle):
    exclude = wb.reason_exclusions(_bundle, only, include_protected=protected)
    return wb.reasons_for(_expl, n_rows, exclude=exclude)


def get_reasons(data: wb.ActiveData, expl, only: bool):
    """reason_1..3 for every scored row of ``data`` (blank where not explained), cached.
    Protected attributes are left out unless the analyst allowed them."""
    scores = get_scores(data)
    protected = bool(st.session_state.get("reasons_include_protected", False))
    return _reasons(explanation_key(data), bool(only), protected, expl, len(scores.scored),
                    get_bundle())


@st.cache_resource(show_spinner="Preparing reason codes…", max_entries=4)
def _reason_context(model: str, stamp: float, data_sha: str, schema_key: str,
                    training_sha: str, _bundle, _data, _scores, _training):
    return wb.reason_context(_bundle, _data, _scores, _training)


def get_reason_context(data: wb.ActiveData) -> wb.ReasonContext:
    """Explainer, reference profile and reason settings of the active model on ``data``
    (built once per model and file; the model's training split is the reference when the
    active data is its training file)."""
    active = get_data()
    model = st.session_state.get(MODEL)
    return _reason_context(model, _model_stamp(model), data.sha256, _schema_key(data),
                           active.sha256 if active is not None else "", get_bundle(model),
                           data, get_scores(data), active)


def _copy_cutoffs(widget_key: str) -> None:
    lo, hi = st.session_state[widget_key]
    st.session_state[CUTOFFS] = {"high": float(hi), "medium": float(lo)}


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
    from streamlit.runtime.pages_manager import PagesManager  # no public equivalent

    if PagesManager.uses_pages_directory:
        if not st.session_state.get(FRAME_SEEN):
            st.session_state[INTENDED_PAGE] = f"pages/{Path(page_file).name}"
            st.switch_page("app.py")
        # app.py ran earlier in this session (e.g. AppTest, which re-enables the legacy
        # pages/ mode on every run): apply its frame in place instead of bouncing, so
        # widget state is kept.
        init_session()
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


@st.cache_resource(max_entries=8)
def _split_values(model: str, stamp: float, data_sha: str, column: str, margin: float,
                  _bundle, _data):
    return wb.split_values(_bundle, _data, column, margin)


def get_split_values(column: str, margin: float):
    """Validation customers' value (column x margin) for the net-value strategy, cached."""
    model = st.session_state.get(MODEL)
    data = get_data()
    return _split_values(model, _model_stamp(model), data.sha256 if data else "", column,
                         float(margin), get_bundle(model), data)
