"""The model bundle: one folder ``models/<name>/`` and the ONE place a model is loaded.

Folder contents::

    model.keras         the Keras MLP. Read as data (``churn_core.model.numpy_net``: zip + JSON
                        + HDF5 arrays, no code run) into a NumPy forward pass when it is the
                        plain Dense chain the product saves; any other architecture is
                        loaded with Keras, safe_mode=True (no Lambda layers), with a note
    preprocessor.json   fitted preprocessing (plain JSON, never pickle)
    schema.json         the FeatureSchema
    calibration.json    the probability calibrator fitted on the validation split, or null
    metrics.json        {"test": EvaluationReport dict, "validation": ..., "threshold": t}
    evaluation.json     validation/test labels and probabilities, split positions
    card.json           model card (data SHA-256, rows, churn rate, split sizes, seed, hyper-
                        parameters, library versions, created, default threshold, tier cutoffs)
    profile.json        optional: reference profile of the training rows for drift checks
                        (:mod:`churn_core.data.profile`; aggregates only, no customer rows);
                        bundles saved without it load with ``profile=None``
    drift_history.jsonl optional: one line per scored batch (:mod:`churn_core.campaign.drift`)

Saving is atomic: everything is written to a hidden temporary folder inside ``models_dir``
which is then renamed into place, so an interrupted or concurrent save never leaves half a
bundle under the final name.

Scoring and explaining never need TensorFlow: :attr:`ModelBundle.network` (NumPy) computes
the probabilities. :attr:`ModelBundle.model`, the Keras model, is loaded from the saved bytes
(Keras safe mode) only when some code asks for it (training, the fallback above).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.data.cells import match_columns
from churn_core.errors import BundleError, MissingColumnsError
from churn_core.io.writer import write_error
from churn_core.model.fused import fused_first_layer
from churn_core.model.numpy_net import BATCH_ROWS, DenseNetwork, UnsupportedModel, read_keras_file
from churn_core.model.preprocess import Preprocessor
from churn_core.data.profile import PROFILE_FILE, ReferenceProfile
from churn_core.data.schema import FeatureSchema
from churn_core.evaluate.calibration import Calibrator
from churn_core.model.network import compiled_predict
from churn_core.model.versions import VERSIONED_LIBRARIES, library_versions  # noqa: F401 - re-exported

REQUIRED_FILES = ("model.keras", "preprocessor.json", "schema.json", "card.json")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
def sanitize_model_name(name: str) -> str:
    """Return ``name`` if it is a safe bundle folder name, else raise.

    Allowed: 1-64 characters of letters, digits, ``.``, ``_`` and ``-``, starting with a
    letter or digit, no ``..``. A leading ``models/`` (as typed on the command line) is
    accepted and removed.

    Parameters
    ----------
    name : str

    Returns
    -------
    str

    Raises
    ------
    BundleError
        For empty names, path separators, ``..`` or other characters.
    """
    raw = str(name).strip()
    if raw.startswith("models/"):
        raw = raw[len("models/"):]
    raw = raw.rstrip("/")
    if not _NAME_RE.match(raw) or ".." in raw:
        raise BundleError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '.', '_' or '-' "
            "(no folders, no '..')"
        )
    return raw


def is_bundle_folder(path) -> bool:
    """True when ``path`` is a real folder (not a symlink) holding only model-bundle files.

    :func:`save_bundle` replaces an existing folder only when this holds, so a mistyped
    ``--out`` (``/etc``, ``~/Documents``) can never delete someone's files.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    bool
        ``card.json`` and ``schema.json`` are present and every entry is a plain ``.json``,
        ``.jsonl`` (drift history) or ``.keras`` file (no sub-folders, no other files).
    """
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    entries = list(path.iterdir())
    names = {p.name for p in entries}
    return {"card.json", "schema.json"} <= names and all(
        p.is_file() and not p.is_symlink() and p.suffix in (".json", ".jsonl", ".keras") for p in entries)


def _bundle_dir(name: str, models_dir) -> Path:
    base = Path(models_dir).resolve()
    path = (base / sanitize_model_name(name)).resolve()
    if path.parent != base:
        raise BundleError(f"model {name!r} resolves outside the models folder {base}")
    return path


def _apply_calibrator(calibrator, p: np.ndarray) -> np.ndarray:
    for meth in ("transform", "predict", "__call__"):
        fn = getattr(calibrator, meth, None)
        if callable(fn):
            return np.clip(np.asarray(fn(p), dtype=np.float64).reshape(-1), 0.0, 1.0)
    raise BundleError("the calibrator has no predict/transform method")


def _calibrator_to_dict(calibrator):
    return None if calibrator is None else calibrator.to_dict()


def _calibrator_from_dict(data):
    if not data:
        return None

    return Calibrator.from_dict(data)


class _KerasModel:
    """The ``model`` field of :class:`ModelBundle`: the Keras model, loaded on first use.

    A bundle read by :func:`load_bundle` keeps the ``model.keras`` bytes and its NumPy
    network; TensorFlow is imported only when ``bundle.model`` is read (a dataclass
    descriptor-typed field, Python docs "dataclasses - Descriptor-typed fields").
    """

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError("model")  # no default: the field stays required
        model = obj.__dict__.get("_model")
        if model is None and obj.__dict__.get("_keras_bytes") is not None:
            model = obj.__dict__["_model"] = _load_keras(obj.__dict__["_keras_bytes"], obj.name)
        return model

    def __set__(self, obj, value):
        obj.__dict__["_model"] = value


def _load_keras(data: bytes, name: str):
    """A Keras model from ``.keras`` bytes, safe mode (TensorFlow is imported here)."""
    import tempfile

    from churn_core.model.tf_quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    with tempfile.TemporaryDirectory(prefix="churn-model-") as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001 - any Keras failure is a damaged bundle
            raise BundleError(f"model {name!r}: model.keras cannot be loaded safely ({exc})") from None


@dataclass(eq=False)
class ModelBundle:
    """A trained model with everything needed to score and explain it.

    Parameters
    ----------
    name : str
    model : keras.Model or None
        The Keras model. For a bundle from :func:`load_bundle` it is loaded (safe mode,
        TensorFlow imported) on first access; scoring and explaining use :attr:`network`.
    preprocessor : Preprocessor
    schema : FeatureSchema
    calibrator : object or None
        From :func:`churn_core.evaluate.calibration.fit_calibrator`; maps raw to calibrated
        probabilities.
    card : dict
        Model card (see module docstring).
    metrics : dict
        Test (and validation) evaluation reports at the default threshold.
    evaluation : dict
        ``{"validation": {"position", "y", "p", "p_raw"}, "test": {...}, "train":
        {"position"}}``; positions index rows of the validated frame the bundle was trained
        on (``ValidationResult.valid``).
    network : DenseNetwork or None
        The NumPy forward pass (:mod:`churn_core.model.numpy_net`); derived from ``model``'s
        weights on first use when not given; ``None`` when the model is not a plain Dense chain.
    notes : list of str
        Plain-words notes from loading (e.g. why Keras had to be loaded).
    profile : ReferenceProfile or None
        Reference profile of the training rows (``profile.json``) for drift checks; None for
        bundles saved before it existed.
    """

    name: str
    model: object = _KerasModel()
    preprocessor: Preprocessor
    schema: FeatureSchema
    calibrator: object = None
    card: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    network: DenseNetwork | None = field(default=None, repr=False)
    notes: list = field(default_factory=list)
    profile: object = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"ModelBundle(name={self.name!r}, features={self.schema.features!r})"

    @property
    def default_threshold(self) -> float:
        """Decision threshold chosen on the validation split (``config.DEFAULT_THRESHOLD`` if absent)."""
        return float(self.card.get("default_threshold", config.DEFAULT_THRESHOLD))

    @property
    def tier_cutoffs(self) -> dict:
        """Risk-tier cutoffs saved in the card."""
        return dict(self.card.get("tier_cutoffs", config.DEFAULT_TIER_CUTOFFS))

    @property
    def features(self) -> list[str]:
        """Raw feature columns the model needs."""
        return self.schema.features

    def check_columns(self, df: pd.DataFrame, source: str | None = None) -> None:
        """Raise :class:`MissingColumnsError` naming every feature column absent from ``df``.

        Columns match as in :func:`churn_core.data.validate.match_columns` (case and surrounding
        whitespace ignored), so a file with ``tenure`` or `` AGE `` scores like one with
        ``Tenure`` and ``Age``.
        """

        found = match_columns(df.columns, self.features)
        missing = [c for c in self.features if c not in found]
        if missing:
            raise MissingColumnsError(missing, source, found=list(df.columns))

    def light_network(self) -> DenseNetwork | None:
        """The NumPy forward pass (:attr:`network`, derived from the Keras weights when the
        bundle was built in memory), or ``None`` when the model is not a plain Dense chain."""
        if self.network is None and not self.__dict__.get("_not_light"):
            self.network = DenseNetwork.from_keras(self.model)
            self.__dict__["_not_light"] = self.network is None
        return self.network

    def predict_encoded(self, X: np.ndarray) -> np.ndarray:
        """Raw (uncalibrated) probabilities of encoded rows.

        The NumPy forward pass (:attr:`network`, float32, no TensorFlow) when the model is a
        plain Dense chain; otherwise Keras' compiled forward pass
        (``churn_core.model.network.compiled_predict``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        ndarray of shape (n_samples,), probabilities in [0, 1]
        """
        net = self.light_network()
        if net is not None:
            return net.predict(X)
        fn = self.__dict__.get("_predict_fn")
        if fn is None:

            fn = compiled_predict(self.model)
            self.__dict__["_predict_fn"] = fn
        return fn(X)

    def calibrate(self, p_raw: np.ndarray) -> np.ndarray:
        """Map raw probabilities through the calibrator (identity when there is none)."""
        p_raw = np.asarray(p_raw, dtype=np.float64)
        return p_raw if self.calibrator is None else _apply_calibrator(self.calibrator, p_raw)

    def predict_proba(self, valid_df: pd.DataFrame, calibrated: bool = True,
                      codes: dict | None = None) -> np.ndarray:
        """Churn probability of validated rows.

        The NumPy network scores the rows batch by batch, its first layer fed with the raw
        values (``churn_core.model.fused``), else with ``Preprocessor.transform_batches``.

        Parameters
        ----------
        valid_df : DataFrame of shape (n_samples, >= n_features)
            Rows holding every schema feature (``ValidationResult.valid``).
        calibrated : bool, default True
            Apply the validation-split calibrator when the bundle has one.
        codes : dict, optional
            ``preprocessor.category_codes(valid_df)``, when the caller has them.

        Returns
        -------
        ndarray of shape (n_samples,), probabilities in [0, 1]

        Raises
        ------
        MissingColumnsError
            Naming every absent feature column.
        """
        self.check_columns(valid_df)
        net = self.light_network()
        fused = fused_first_layer(net, self.preprocessor) if net is not None and len(valid_df) else None
        if fused is not None:  # the first layer from the raw values (churn_core.model.fused)
            p = net.predict_batches(fused.batches(valid_df, BATCH_ROWS, codes), len(valid_df), True)
        elif net is not None:
            batches = self.preprocessor.transform_batches(valid_df, BATCH_ROWS, codes)
            p = net.predict_batches(batches, len(valid_df))
        else:
            p = self.predict_encoded(self.preprocessor.transform(valid_df, codes))
        return self.calibrate(p) if calibrated else p


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _write_json(path: Path, data, indent: int | None = 1) -> None:
    path.write_text(json.dumps(data, indent=indent, default=_json_default, allow_nan=True), encoding="utf-8")


def _write_files(bundle: ModelBundle, folder: Path) -> None:
    """Write every bundle file into ``folder`` (split out so tests can make it fail)."""
    if bundle.__dict__.get("_model") is None and bundle.__dict__.get("_keras_bytes") is not None:
        (folder / "model.keras").write_bytes(bundle.__dict__["_keras_bytes"])  # Keras never loaded
    else:
        bundle.model.save(folder / "model.keras")
    bundle.preprocessor.save(folder / "preprocessor.json")
    bundle.schema.save(folder / "schema.json")
    _write_json(folder / "calibration.json", _calibrator_to_dict(bundle.calibrator))
    _write_json(folder / "metrics.json", bundle.metrics)
    _write_json(folder / "evaluation.json", bundle.evaluation, indent=None)  # long arrays: compact
    _write_json(folder / "card.json", bundle.card)
    if getattr(bundle, "profile", None) is not None:
        bundle.profile.save(folder / PROFILE_FILE)


def save_bundle(bundle: ModelBundle, name: str | None = None, models_dir=None) -> Path:
    """Save atomically to ``models_dir/<name>/``, replacing an existing bundle of that name.

    Files are written to a hidden temporary folder inside ``models_dir``, then renamed into
    place (``os.replace``); on any error the temporary folder is removed and no bundle folder
    appears.

    Parameters
    ----------
    bundle : ModelBundle
    name : str, optional
        Folder name (default ``bundle.name``), checked by :func:`sanitize_model_name`.
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    Path
        The bundle folder.

    Raises
    ------
    BundleError
        For an unsafe name.
    WriteError
        When a file cannot be written (disk full, no permission): one line naming the folder;
        the temporary folder is removed and an existing bundle of that name is kept.
    """
    models_dir = Path(models_dir if models_dir is not None else config.MODELS_DIR)
    name = sanitize_model_name(bundle.name if name is None else name)
    models_dir.mkdir(parents=True, exist_ok=True)
    final = _bundle_dir(name, models_dir)
    tmp = models_dir / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        bundle.name = name
        bundle.card = {**bundle.card, "name": name}
        _write_files(bundle, tmp)
        old = None
        if final.exists() or final.is_symlink():
            if not (is_bundle_folder(final) or (final.is_dir() and not final.is_symlink()
                                                and not any(final.iterdir()))):
                raise BundleError(
                    f"{final} already exists and is not a model bundle; refusing to replace it "
                    f"(choose another model name or folder)"
                )
            old = models_dir / f".tmp-old-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:  # disk full, no permission: one line, the old bundle untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(exc, final, "the model bundle") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def update_card(name: str, fields: dict, models_dir=None) -> dict:
    """Set top-level entries of a saved bundle's ``card.json`` (e.g. ``reason_settings``).

    The card is rewritten atomically (temporary file + ``os.replace``); the model and its
    other files are untouched.

    Parameters
    ----------
    name : str
        Bundle folder name (checked by :func:`sanitize_model_name`).
    fields : dict
        JSON-ready entries to set.
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    dict
        The new card.

    Raises
    ------
    BundleError
        When the bundle or its card is missing or damaged.
    """
    models_dir = Path(models_dir if models_dir is not None else config.MODELS_DIR)
    path = _bundle_dir(sanitize_model_name(name), models_dir) / "card.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"model {name!r}: card.json cannot be read ({exc})") from exc
    card.update(fields)
    tmp = path.with_name(f".card-{uuid.uuid4().hex[:8]}.json")
    try:
        _write_json(tmp, card)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return card


def _check_versions(card: dict, name: str) -> None:
    saved = card.get("versions", {})
    now = library_versions()
    diff = [f"{lib} {saved[lib]} -> {now.get(lib)}" for lib in VERSIONED_LIBRARIES
            if lib in saved and saved[lib] != now.get(lib)]
    if diff:
        warnings.warn(f"model {name!r} was saved with other library versions: {'; '.join(diff)}",
                      UserWarning, stacklevel=3)


def load_bundle(name: str, models_dir=None) -> ModelBundle:
    """Load ``models_dir/<name>/`` safely.

    Parameters
    ----------
    name : str
        Bundle folder name (``models/NAME`` accepted); names like ``../x`` are refused.
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    ModelBundle

    Raises
    ------
    BundleError
        Unsafe name, a path outside ``models_dir``, missing files, a damaged model, or a
        schema that does not match the preprocessing or the model's input width.

    Warns
    -----
    UserWarning
        When the bundle was saved with other library versions, or its optional
        ``profile.json`` is damaged (the bundle loads without drift checks).
    """
    models_dir = Path(models_dir if models_dir is not None else config.MODELS_DIR)
    folder = _bundle_dir(name, models_dir)
    name = folder.name
    if not folder.is_dir():
        raise BundleError(f"no model named {name!r} in {models_dir}")
    absent = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if absent:
        raise BundleError(f"model {name!r} is incomplete: missing {', '.join(absent)}")

    def read(fname, default=None):
        path = folder / fname
        if not path.is_file():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BundleError(f"model {name!r}: {fname} is unreadable ({exc})") from None

    card = read("card.json", {})
    for fname, content in (("card.json", card), ("metrics.json", read("metrics.json", {})),
                           ("evaluation.json", read("evaluation.json", {}))):
        if not isinstance(content, dict):
            raise BundleError(f"model {name!r}: {fname} is damaged (expected a JSON object)")
    thr = card.get("default_threshold", config.DEFAULT_THRESHOLD)
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 <= thr <= 1:
        raise BundleError(f"model {name!r}: card.json has an invalid default_threshold {thr!r} "
                          f"(expected a number in [0, 1])")
    _check_versions(card, name)
    try:
        schema = FeatureSchema.from_dict(read("schema.json"))
        pre = Preprocessor.from_dict(read("preprocessor.json"))
    except BundleError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise BundleError(f"model {name!r}: invalid schema or preprocessing ({exc})") from None
    if pre.features != schema.features:
        raise BundleError(f"model {name!r}: schema features {schema.features} do not match the "
                          f"preprocessing {pre.features}")
    if not zipfile.is_zipfile(folder / "model.keras"):  # Keras would call it "file not found"
        size = (folder / "model.keras").stat().st_size
        raise BundleError(f"model {name!r}: model.keras is damaged: it is not a Keras (zip) file "
                          f"({size:,} bytes); train the model again or restore its folder from a backup")
    keras_bytes = (folder / "model.keras").read_bytes()
    notes, model = [], None
    try:
        network = read_keras_file(keras_bytes)
    except UnsupportedModel as exc:
        network = None
        model = _load_keras(keras_bytes, name)
        network = DenseNetwork.from_keras(model)
        if network is None:
            notes.append(f"model {name!r} is not the plain Dense chain this product saves ({exc}); "
                         "it was loaded with Keras (TensorFlow), which makes scoring slower")
    except ValueError as exc:
        raise BundleError(f"model {name!r}: model.keras is damaged ({exc})") from None
    width = network.n_inputs if network is not None else int(model.inputs[0].shape[-1])
    if width != pre.n_features_out:
        raise BundleError(f"model {name!r}: the network expects {width} inputs but the "
                          f"preprocessing produces {pre.n_features_out}")
    cal_data = read("calibration.json")
    try:
        calibrator = _calibrator_from_dict(cal_data)
    except Exception as exc:  # noqa: BLE001 - any failure here is a damaged calibration.json
        raise BundleError(f"model {name!r}: calibration.json is damaged "
                          f"({type(exc).__name__}: {exc})") from None
    profile = None
    if (folder / PROFILE_FILE).is_file():  # optional part: older bundles have none
        try:
            profile = ReferenceProfile.from_dict(read(PROFILE_FILE))
        except (BundleError, ValueError, TypeError, KeyError) as exc:  # scoring still works
            warnings.warn(f"model {name!r}: {PROFILE_FILE} is damaged ({exc}); drift checks are "
                          "off for this model", UserWarning, stacklevel=2)
    bundle = ModelBundle(name=name, model=model, preprocessor=pre, schema=schema,
                         calibrator=calibrator, card=card, metrics=read("metrics.json", {}),
                         evaluation=read("evaluation.json", {}), network=network, notes=notes,
                         profile=profile)
    bundle.__dict__["_keras_bytes"] = keras_bytes
    bundle.__dict__["_not_light"] = network is None
    return bundle


def list_bundles(models_dir=None) -> list[str]:
    """Names of the bundle folders in ``models_dir`` (those holding ``card.json``), sorted.

    Parameters
    ----------
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    list of str
        ``"default"`` first when present, then alphabetical; hidden/temporary folders skipped.
    """
    models_dir = Path(models_dir if models_dir is not None else config.MODELS_DIR)
    if not models_dir.is_dir():
        return []
    names = sorted(p.name for p in models_dir.iterdir()
                   if p.is_dir() and not p.name.startswith((".", "_")) and (p / "card.json").is_file()
                   and _NAME_RE.match(p.name))
    if config.DEFAULT_MODEL_NAME in names:
        names.remove(config.DEFAULT_MODEL_NAME)
        names.insert(0, config.DEFAULT_MODEL_NAME)
    return names
