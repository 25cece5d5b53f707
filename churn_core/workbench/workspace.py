"""The analyst's workspace: what one session works on, and every result computed for it.

Like explainerdashboard's explainer object, the workspace is the model of the app: it
computes a result once, and the pages only read it. Two objects:

* :class:`ResultStore` -- one per process (the app keeps it with ``st.cache_resource``):
  loaded bundles, read files, scores, evaluation arrays, sweeps, challengers, SHAP
  explainers, explanations and reason codes, each kept under a key made of the hashes it
  depends on (model name + the modification time of its card, data SHA-256, schema). Two
  sessions on the same model and file share the results; nothing is recomputed on a rerun,
  a page switch or a reload.
* :class:`Workspace` -- one session's view: the *active model* and *active data* (held in a
  mapping the caller owns, e.g. ``st.session_state``, under :data:`MODEL_KEY` /
  :data:`DATA_KEY`) and accessors that fetch their results from the store.

This module never imports streamlit. Results are not copied: callers must not modify them.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

from churn_core import config
from churn_core.model.bundle import ModelBundle, list_bundles, load_bundle
from churn_core.model.registry import champion
from churn_core.workbench.data import (ActiveData, apply_schema, data_sha256, load_data,
                                       sha256_of, workbook_sheets)
from churn_core.workbench.evaluation import (EvalArrays, default_threshold, default_tier_cutoffs,
                                             eval_arrays)
from churn_core.workbench.scores import Scores, score_data
from churn_core.workbench.store import ResultStore
from churn_core.workbench.uploads import UploadFolder, is_sha256
from churn_core.workbench.url_state import (  # noqa: F401 (RULE_KEY, URL_KEYS: re-exported)
    LABEL_KEY, RULE_KEY, URL_KEYS, label_digest, label_of, restore_rule, restore_value,
    rule_param, unit_float, value_param)

if TYPE_CHECKING:  # imported when used (scikit-learn)
    from churn_core.workbench.compare import ChallengerView

#: Session keys the workspace reads (the caller's mapping holds them).
MODEL_KEY = "active_model"      # bundle name under models/
DATA_KEY = "active_data"        # ActiveData of an upload, or None for the shipped sample
THRESHOLD_KEY = "decision_threshold"  # float in [0, 1], shared by every page
CUTOFFS_KEY = "tier_cutoffs"          # {"high": float, "medium": float}
# RULE_KEY, LABEL_KEY and the campaign-rule / value-assumption control keys: url_state.py


def model_stamp(name: str | None) -> float:
    """Modification time of a bundle's ``card.json`` (changes when the bundle is re-saved);
    0.0 when there is no such bundle."""
    if not name:
        return 0.0
    try:
        return (Path(config.MODELS_DIR) / name / "card.json").stat().st_mtime
    except OSError:
        return 0.0


def schema_key(data: ActiveData) -> str:
    """Text key of the schema applied to ``data`` (changes when the analyst edits roles)."""
    return json.dumps(data.schema.to_dict(), sort_keys=True, default=str)


def list_models() -> list[str]:
    """Names of the bundles saved under ``config.MODELS_DIR``, the default first."""
    names = [str(n) for n in list_bundles()]
    if config.DEFAULT_MODEL_NAME in names:
        names.remove(config.DEFAULT_MODEL_NAME)
        names.insert(0, config.DEFAULT_MODEL_NAME)
    return names


def _fallbacks(*first: str) -> list[str]:
    """Saved models in the order a session falls back to them: ``first``, the shipped
    default, then the most recently saved (each once)."""
    saved = list_models()
    order = [*first, config.DEFAULT_MODEL_NAME, *sorted(saved, key=model_stamp, reverse=True)]
    return [m for m in dict.fromkeys(order) if m in saved]


class Workspace:
    """One session's active model and data, with their results from a shared store.

    Parameters
    ----------
    state : MutableMapping
        The session's own values (``st.session_state`` in the app, a dict in tests); the
        workspace reads and writes :data:`MODEL_KEY` and :data:`DATA_KEY` there.
    store : ResultStore
        The process-wide store.
    uploads : UploadFolder, optional
        Where uploaded files are kept for reloads (default: ``config.UPLOADS_DIR``).
    """

    def __init__(self, state: MutableMapping, store: ResultStore,
                 uploads: UploadFolder | None = None):
        self.state = state
        self.store = store
        self.uploads = uploads or UploadFolder()

    # ------------------------------------------------------------------ active model
    @property
    def model_name(self) -> str | None:
        """Name of the active bundle (None when no model exists)."""
        return self.state.get(MODEL_KEY)

    def bundle(self, name: str | None = None) -> ModelBundle | None:
        """The loaded bundle ``name`` (default: the active model); loaded once per process
        and loaded again only when its files change.

        Raises
        ------
        BundleError
            When the bundle folder cannot be loaded.
        """
        name = name or self.model_name
        if not name:
            return None
        return self.store.get("bundle", (name, model_stamp(name)), lambda: load_bundle(name))

    # ------------------------------------------------------------------ active data
    def sample(self) -> ActiveData | None:
        """The shipped sample file, read once (None when it is missing)."""
        if not config.SAMPLE_CSV.exists():
            return None
        sha = sha256_of(config.SAMPLE_CSV)
        return self.store.get("data", (sha, "{}"),
                              lambda: load_data(config.SAMPLE_CSV, name=config.SAMPLE_CSV.name))

    def data(self) -> ActiveData | None:
        """The active data: the analyst's upload, else the shipped sample."""
        data = self.state.get(DATA_KEY)
        return data if data is not None else self.sample()

    @property
    def data_is_upload(self) -> bool:
        """True when the active data is an upload (not the shipped sample)."""
        return self.state.get(DATA_KEY) is not None

    def read_upload(self, name: str, raw: bytes, sheet: str | None = None) -> ActiveData:
        """Read, infer and validate an uploaded file (once per distinct bytes and sheet) and
        keep its bytes in the upload folder so a reload can bring it back.

        Parameters
        ----------
        name : str
        raw : bytes
        sheet : str, optional
            XLSX: the sheet picked by the analyst (None: the reader's own choice).

        Raises
        ------
        DataFileError, SchemaError
            When the file cannot be read as a customer table.
        """
        sha = data_sha256(raw, sheet)
        data = self.store.get("data", (sha, "{}"),
                              lambda: load_data(raw, name=name, sheet=sheet))
        try:
            self.uploads.save(sha, name, raw, sheet=sheet)
        except OSError:  # a full or read-only disk: the session still has the data
            pass
        return data

    def workbook_sheets(self, name: str, raw: bytes) -> list[str]:
        """Sheet names of an uploaded XLSX workbook (empty for other files), read once per
        file (:func:`workbench.data.workbook_sheets`)."""
        return self.store.get("sheets", (sha256_of(raw),), lambda: workbook_sheets(raw, name))

    def set_data(self, data: ActiveData | None) -> None:
        """Make ``data`` the active data (None: back to the shipped sample) and remember its
        column-role overrides for a reload."""
        self.state[DATA_KEY] = data
        if data is not None:
            try:
                self.uploads.remember(data.sha256, data.name, data.overrides)
            except (OSError, ValueError):
                pass

    def restore_upload(self, sha: str) -> ActiveData | None:
        """The kept upload with this SHA-256, read again with its last column roles, or None
        when the folder does not hold it (unknown, cleaned or malformed key)."""
        sample = self.sample()
        if sample is not None and sample.sha256 == sha:  # the shipped sample, with roles edited
            return sample
        kept = self.uploads.load(sha)
        if kept is None:
            return None
        name, raw, overrides = kept
        sheet = self.uploads.sheet_of(sha)
        data = self.store.get("data", (sha, "{}"),
                              lambda: load_data(raw, name=name, sheet=sheet))
        if overrides:
            key = (sha, json.dumps(overrides, sort_keys=True, default=str))
            data = self.store.get("data", key, lambda: apply_schema(data, overrides))
        return data

    # ------------------------------------------------------------------ results
    def _model_key(self, model: str | None) -> tuple:
        model = model or self.model_name
        return (model, model_stamp(model))

    def scores(self, data: ActiveData | None = None, model: str | None = None) -> Scores | None:
        """Scores of ``data`` (default: active data) by ``model`` (default: active model)."""
        data = data or self.data()
        bundle = self.bundle(model)
        if data is None or bundle is None:
            return None
        key = self._model_key(model) + (data.sha256, schema_key(data))

        def compute():
            scores = score_data(bundle, data)
            scores.key = key
            return scores

        return self.store.get("scores", key, compute)

    def derived(self, kind: str, source: Scores | ActiveData, compute: Callable[[], object],
                *extra):
        """A result that depends only on ``source`` and ``extra``, computed once per server
        for every session instead of once per session and page run.

        Parameters
        ----------
        kind : str
            Result kind (its own least-recently-used limit in :data:`STORE_LIMITS`), e.g.
            ``"figure"`` or ``"quality"``.
        source : Scores, ActiveData or None
            Scores from :meth:`scores` (keyed by model, file hash and column roles), a file
            (keyed by its SHA-256 and column roles), or None for the active model alone
            (e.g. a chart of its test split). Scores made outside a workspace have no
            ``key``: their result is computed on every call.
        compute : callable
            ``compute()`` returns the result (a drift chart, a data-quality report...).
        *extra : hashable
            More key parts (a chart's name, a column).
        """
        if source is None:
            base = ("model",) + self._model_key(None)
        elif isinstance(source, ActiveData):
            base = ("data", source.sha256, schema_key(source))
        elif source.key:
            base = tuple(source.key)
        else:
            return compute()
        return self.store.get(kind, base + tuple(extra), compute)

    def evaluation(self, model: str | None = None) -> EvalArrays | None:
        """Validation/test arrays the model recorded (sorted once for threshold metrics)."""
        bundle = self.bundle(model)
        if bundle is None:
            return None
        return self.store.get("eval", self._model_key(model), lambda: eval_arrays(bundle))

    def sweep(self, model: str | None = None):
        """Metrics at thresholds 0.00..1.00 on the model's test split (computed once)."""
        ev = self.evaluation(model)
        if ev is None:
            return None
        return self.store.get("sweep", self._model_key(model), lambda: ev.curve.sweep())

    def challenger(self) -> ChallengerView | None:
        """The gradient-boosting challenger on the active model's split (trained once)."""
        bundle, data = self.bundle(), self.data()
        if bundle is None or data is None:
            return None
        key = self._model_key(None) + (data.sha256,)
        from churn_core.workbench.compare import challenger_view  # scikit-learn: on first use

        return self.store.get("challenger", key, lambda: challenger_view(bundle, data))

    def split_values(self, column: str, margin: float):
        """Validation customers' value (column x margin) for the net-value strategy."""
        bundle, data = self.bundle(), self.data()
        key = self._model_key(None) + (data.sha256 if data else "", column, float(margin))
        from churn_core.workbench.values import split_values

        return self.store.get("values", key,
                              lambda: split_values(bundle, data, column, float(margin)))

    def explainer(self, data: ActiveData | None = None, estimate: str = "precise"):
        """SHAP explainer of the active model with its background sample (built once per
        ``estimate`` of ``config.SHAP_ESTIMATES``: it sets the background size).

        The background comes from the model's training split when the active data is the
        training file, even when ``data`` is another file being scored.
        """
        active = self.data()
        data = data or active
        size = config.SHAP_ESTIMATES[estimate][0]
        key = self._model_key(None) + (data.sha256, schema_key(data),
                                       active.sha256 if active is not None else "", size)
        bundle = self.bundle()
        from churn_core.workbench.explain import make_explainer  # SHAP code: on first use

        return self.store.get("explainer", key,
                              lambda: make_explainer(bundle, data, active, background_size=size))

    def explanation_key(self, data: ActiveData) -> tuple:
        """Key of the explanations of ``data`` by the active model."""
        return self._model_key(None) + (data.sha256, schema_key(data))

    def explanation(self, data: ActiveData | None = None, compute: bool = True,
                    max_rows: int = config.SHAP_MAX_ROWS, progress: Callable | None = None,
                    estimate: str = "precise"):
        """SHAP explanation of the scored customers (a stated random sample above
        ``max_rows``), computed once per (model, data, max_rows, estimate).

        ``estimate`` names a setting of ``config.SHAP_ESTIMATES``: "precise" (the Explain
        page's charts) or "reasons" (reason codes for every customer: a quarter of the walks).
        An explanation already computed that covers the request (at least ``max_rows`` rows,
        or every row), whatever its estimate, serves it: its ``method_description`` says
        which. Returns None when not yet computed and ``compute`` is False.
        """
        data = data or self.data()
        key = self.explanation_key(data)
        scores = self.scores(data)
        for k, expl in self.store.items("explanation"):
            if k[:len(key)] == key and (k[len(key)] >= max_rows or len(expl) >= len(scores.scored)):
                return expl
        if not compute:
            return None
        explainer = self.explainer(data, estimate)
        n_perm = config.SHAP_ESTIMATES[estimate][1]
        from churn_core.workbench.explain import explain_scores

        def compute():
            t0 = time.perf_counter()
            expl = explain_scores(explainer, scores, progress=progress, max_rows=max_rows,
                                  n_permutations=n_perm)
            if len(expl):  # the rate the next promise quotes (explain_seconds)
                self.store.put("explain_rate", self._model_key(None) + (estimate,),
                               (time.perf_counter() - t0) / len(expl))
            return expl

        return self.store.get("explanation", key + (int(max_rows), estimate), compute)

    def explain_seconds(self, data: ActiveData | None = None,
                        max_rows: int = config.SHAP_MAX_ROWS, estimate: str = "precise") -> float:
        """Wall seconds the SHAP values of ``data``'s scored customers (at most ``max_rows``)
        are expected to take on this server with ``estimate`` (as :meth:`explanation`), for
        the page to promise before it computes.

        The rate is the one measured on this server for the active model and estimate: the
        last explanation computed, else :func:`churn_core.workbench.explain.shap_rate` on a
        few hundred customers of the file (once per model and estimate; about 0.3 s). It
        follows the machine's load, as the real computation will.
        """
        data = data or self.data()
        n = min(len(self.scores(data).scored), int(max_rows))
        key = self._model_key(None) + (estimate,)
        rate = self.store.peek("explain_rate", key)
        if rate is None:
            explainer = self.explainer(data, estimate)
            scores = self.scores(data)
            valid = scores.valid if scores.valid is not None else scores.scored
            from churn_core.workbench.explain import shap_rate

            rate = shap_rate(explainer, valid, config.SHAP_ESTIMATES[estimate][1])
            self.store.put("explain_rate", key, rate)
        return float(rate * n)

    def reasons(self, data: ActiveData, explanation, actionable_only: bool,
                include_protected: bool = False):
        """reason_1..3 for every scored row of ``data`` (blank where not explained); the
        model's protected attributes are never reasons unless ``include_protected``."""
        n_rows = len(self.scores(data).scored)
        key = self.explanation_key(data) + (len(explanation), bool(actionable_only),
                                            bool(include_protected))

        def compute():
            from churn_core.workbench.explain import reasons_for
            from churn_core.workbench.target_lists import reason_exclusions

            exclude = reason_exclusions(self.bundle(), actionable_only,
                                        include_protected=include_protected)
            return reasons_for(explanation, n_rows, exclude=exclude)

        return self.store.get("reasons", key, compute)

    # ------------------------------------------------------------------ decisions and the URL
    def reset_model_defaults(self) -> None:
        """Take the decision threshold and tier cutoffs from the active bundle's card
        (project defaults when no model loads; the page that needs it shows why)."""
        try:
            bundle = self.bundle()
        except Exception:  # shown by the page that needs the model
            bundle = None
        # the card's value as it is (not rounded to the slider's 0.01 grid): the app then
        # flags the same customers as ``python -m churn_core score`` with this model
        self.state[THRESHOLD_KEY] = (default_threshold(bundle) if bundle
                                     else float(config.DEFAULT_THRESHOLD))
        self.state[CUTOFFS_KEY] = (default_tier_cutoffs(bundle) if bundle
                                   else dict(config.DEFAULT_TIER_CUTOFFS))

    def set_model(self, name: str) -> None:
        """Make ``name`` the active model and take its default threshold and cutoffs."""
        self.state[MODEL_KEY] = name
        self.reset_model_defaults()

    def restore(self, params: Mapping) -> list[str]:
        """Apply the parameters of a page URL (a reload or a bookmark) to this session.

        Parameters
        ----------
        params : Mapping of str to str
            ``model`` (a saved model), ``threshold``, ``high`` / ``medium`` (tier cutoffs in
            [0, 1], medium <= high), ``rule`` (the campaign rule, ``<kind>[:<number>]``),
            ``value`` (the value assumptions, :func:`url_state.value_param`), ``data``
            (SHA-256 of a kept upload), ``label`` (the churn-label confirmation digest).

        Returns
        -------
        list of str
            A note per value that could not be applied (unknown model, threshold or cutoffs
            that are not probabilities, invalid campaign rule or value assumptions, unknown
            or cleaned file).
        """
        notes = []
        name = params.get("model")
        if name:
            if name in list_models():
                if name != self.model_name:
                    self.set_model(name)
            else:
                notes.append(f"The model {name!r} of this link no longer exists; showing "
                             f"{self.model_name or 'none'}.")
        t = unit_float(params.get("threshold"))
        if t is not None:
            try:  # the link keeps 6 decimals: the model's own threshold comes back exactly
                own = default_threshold(self.bundle()) if self.model_name else None
            except Exception:  # the page that needs the model shows why
                own = None
            self.state[THRESHOLD_KEY] = own if own is not None and round(own, 6) == t else t
        elif params.get("threshold") not in (None, ""):
            notes.append(f"The decision threshold of this link ({params['threshold']!r}) is not "
                         "a probability in [0, 1]; showing the model's default.")
        hi, med = unit_float(params.get("high")), unit_float(params.get("medium"))
        if hi is not None and med is not None and med <= hi:
            self.state[CUTOFFS_KEY] = {"high": hi, "medium": med}
        elif params.get("high") not in (None, "") or params.get("medium") not in (None, ""):
            notes.append(f"The risk-tier cutoffs of this link (high {params.get('high')!r}, "
                         f"medium {params.get('medium')!r}) are not probabilities in [0, 1] with "
                         "medium <= high; showing the model's defaults.")
        rule = params.get("rule")
        if rule and not restore_rule(self.state, str(rule)):
            notes.append(f"The campaign rule of this link ({rule!r}) is not valid; "
                         "showing the default rule (risk tier High).")
        value = params.get("value")
        if value and not restore_value(self.state, str(value)):
            from churn_core.campaign.value import ValueAssumptions

            d = ValueAssumptions()  # the engine's defaults, as the page's
            notes.append(f"The value assumptions of this link ({value!r}) are not valid; "
                         f"showing the defaults ({d.amount:,.0f} {d.currency} per saved "
                         f"customer, {100 * d.success_rate:.0f} % offer success, "
                         f"{d.cost_per_contact:,.0f} {d.currency} per contact).")
        sha = params.get("data")
        if sha:
            try:
                data = self.restore_upload(sha) if is_sha256(sha) else None
            except Exception:  # an unreadable kept file: same as an unknown one
                data = None
            if data is None:
                notes.append("The data file of this link is not kept on this computer "
                             "(unknown, or cleaned after a while): showing the shipped "
                             "sample. Upload it again on the Data page.")
            else:
                self.state[DATA_KEY] = data
                # the churn label confirmed for this file (and these roles) stays confirmed
                if params.get("label") and params.get("label") == label_digest(data):
                    self.state[LABEL_KEY] = label_of(data)
        return notes

    def fits(self, data: ActiveData | None, model: str | None = None) -> bool:
        """Whether ``model`` (default: the active model) loads and finds every feature
        column it needs in ``data`` (False without a model or data)."""
        try:
            bundle = self.bundle(model)
            if bundle is None or data is None:
                return False
            bundle.check_columns(data.frame)
        except Exception:  # a bundle that does not load, or missing columns
            return False
        return True

    def replace_deleted_model(self) -> list[str]:
        """Replace an active model deleted since it was chosen (in another tab, or with
        ``python -m churn_core models --delete``) by a saved one that scores the active data:
        the champion, else the shipped default, else the most recently saved model.

        Returns
        -------
        list of str
            One note naming the deleted model and the one shown instead; empty when the
            active model still exists or no model was active.
        """
        name = self.model_name
        if not name or name in list_models():
            return []
        candidates = _fallbacks(champion())
        data = self.data()
        pick = next((m for m in candidates if self.fits(data, m)), None)
        deleted = f"The model {name!r} was deleted (in another tab or from the command line)"
        if pick is None:
            self.state[MODEL_KEY] = candidates[0] if candidates else None
            self.reset_model_defaults()
            return [f"{deleted}; no saved model can score "
                    f"{data.name if data is not None else 'the active data'}: train one on "
                    "the Model page."]
        self.set_model(pick)
        return [f"{deleted}; showing {pick}, with its own decision threshold and tiers."]

    def open_fitting(self) -> list[str]:
        """Make a new session's start model fit the shipped sample it opens on.

        A session without a ``data=`` link always works on the shipped sample: it never
        opens an upload it was not linked to, not even the champion's own training file
        (another analyst's customers). When the active model (the champion, or the model
        of a link) cannot score the sample, the session opens the shipped default model
        when that one fits, else the most recently saved model that fits, with a note.

        Returns
        -------
        list of str
            One note when the model was replaced or none fits the sample (which model
            needs which kind of file); empty otherwise.
        """
        sample = self.sample()
        if self.data_is_upload or sample is None or not self.model_name:
            return []
        if self.fits(sample):
            return []
        name = self.model_name
        try:
            card = self.bundle().card
        except Exception:  # the page that needs the model shows why it does not load
            card = {}
        who = "The champion" if name == champion() else "The model"
        source = card.get("source") or "another kind of file"
        note = (f"{who} {name} was trained on other columns ({source}): upload such a file "
                "on the Data page, then make it the active model on the Model page.")
        others = [m for m in _fallbacks() if m != name]
        fallback = next((m for m in others if self.fits(sample, m)), None)
        if fallback is None:
            return [f"{note} No saved model can score {sample.name}."]
        self.set_model(fallback)
        return [f"{note} Showing {fallback} on {sample.name}."]

    def url_params(self) -> dict[str, str]:
        """The session's state as page-URL parameters: ``model``, ``threshold``, ``high``,
        ``medium``, ``rule`` (the campaign rule), ``value`` (the value assumptions) and, for
        an upload, ``data`` (its SHA-256; never a name or a path) and ``label``."""
        out = {}
        if self.model_name:
            out["model"] = str(self.model_name)
        if self.state.get(THRESHOLD_KEY) is not None:
            out["threshold"] = repr(round(float(self.state[THRESHOLD_KEY]), 6))
        cut = self.state.get(CUTOFFS_KEY)
        if cut:
            out["high"] = repr(round(float(cut["high"]), 6))
            out["medium"] = repr(round(float(cut["medium"]), 6))
        for key, param in (("rule", rule_param(self.state)),
                           ("value", value_param(self.state))):
            if param:
                out[key] = param
        data = self.state.get(DATA_KEY)
        if data is not None:
            out["data"] = data.sha256
            if self.state.get(LABEL_KEY) == label_of(data):
                out["label"] = label_digest(data)
        return out

    def _restore_rule(self, text: str) -> bool:
        """Apply a ``rule`` URL parameter (:func:`url_state.restore_rule`); False when it is
        not a valid campaign rule (nothing is changed then)."""
        return restore_rule(self.state, text)
