"""Train one model bundle: validate -> split -> preprocess -> fit -> calibrate -> threshold -> test.

Leakage rules (the reference tutorial broke the first one):

* the test split is never seen until the final evaluation: early stopping, the calibrator
  and the default decision threshold all use the validation split;
* preprocessing statistics and SMOTE use the training split only.

Splits are stratified (scikit-learn ``train_test_split``) with ``cfg.seed``: first the test
split (``cfg.test_size`` of all valid rows), then the validation split (``cfg.val_size`` of
all valid rows) out of the remainder.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from churn_core import config
from churn_core.data.schema import FeatureSchema
from churn_core.data.validate import check_trainable, reason_summary, validate
from churn_core.errors import SchemaError, TrainingDataError
from churn_core.evaluate import metrics as M
from churn_core.evaluate.calibration import fit_calibrator
from churn_core.evaluate.thresholds import max_f1
from churn_core.model.bundle import ModelBundle, library_versions
from churn_core.model.network import TrainConfig
from churn_core.model.recipe import fit_adaptive, fit_pipeline  # noqa: F401 - fit_pipeline re-exported


def frame_sha256(df: pd.DataFrame) -> str:
    """SHA-256 fingerprint of a table's header and cells (order-sensitive).

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    str
        64 hex digits; equal frames give equal fingerprints.
    """
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, df.columns)).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def split_positions(y: np.ndarray, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train/validation/test positions.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) in {0, 1}
    cfg : TrainConfig
        ``test_size``, ``val_size`` (fractions of all rows) and ``seed``.

    Returns
    -------
    train, val, test : sorted int ndarrays partitioning ``range(n_samples)``

    Raises
    ------
    TrainingDataError
        When a split would hold too few rows of a class to stratify.
    """

    pos = np.arange(len(y))
    try:
        rest, test = train_test_split(pos, test_size=cfg.test_size, stratify=y, random_state=cfg.seed)
        train, val = train_test_split(rest, test_size=cfg.val_size / (1 - cfg.test_size),
                                      stratify=y[rest], random_state=cfg.seed)
    except ValueError as exc:
        raise TrainingDataError(f"cannot split the data into train/validation/test: {exc}") from None
    return np.sort(train), np.sort(val), np.sort(test)


def fit_recipe(train_df: pd.DataFrame, y_train, val_df: pd.DataFrame, y_val,
               schema: FeatureSchema, cfg: TrainConfig, progress: Callable | None = None):
    """Fit by ``cfg.recipe``: one fit (``"quick"``) or the adaptive candidate search.

    Parameters
    ----------
    train_df, val_df, y_train, y_val, schema, cfg, progress
        As for :func:`fit_pipeline`. With ``cfg.recipe == "adaptive"``,
        :func:`churn_core.model.recipe.fit_adaptive` fits its candidates (``cfg`` first) within
        ``cfg.time_budget`` seconds and keeps the best on the validation rows.

    Returns
    -------
    preprocessor : Preprocessor
    model : keras.Model
    history : dict of str to list of float
    selection : dict
        ``{"recipe": "quick", "config": ...}`` or the adaptive search's record (every
        candidate's validation scores, the winner and why it won).
    """
    if cfg.recipe == "adaptive":

        return fit_adaptive(train_df, y_train, val_df, y_val, schema, cfg, progress=progress)
    pre, model, history = fit_pipeline(train_df, y_train, val_df, y_val, schema, cfg, progress=progress)
    return pre, model, history, {"recipe": "quick", "config": cfg.to_dict()}


def _best_epoch(history: dict, monitor: str) -> int | None:
    """1-based epoch whose weights were kept (highest AUC-like score, lowest loss)."""
    vals = history.get(monitor)
    if not vals:
        return None
    return int(np.argmax(vals) if "auc" in monitor else np.argmin(vals)) + 1


def _validate(df, schema, source_name):

    result = validate(df, schema, require_target=True, source_name=source_name)
    try:
        check_trainable(result.valid, result.y, schema)
    except TrainingDataError as exc:
        rep = result.report
        if not rep.rows_rejected:
            raise
        kinds = reason_summary(rep.rejected_reasons, rep.rows_rejected)
        first = str(result.rejected["reason"].iloc[0])
        raise TrainingDataError(f"{exc} {rep.rows_rejected} of {rep.rows_in} rows of {rep.source} were "
                                f"rejected: {kinds}; first: {first}") from None
    return result


#: Fewer churners than this in the test split make its metrics too uncertain to trust.
MIN_TEST_CHURNERS = 30
#: A test ROC-AUC below this is close to guessing (0.5).
WEAK_ROC_AUC = 0.6


def quality_warnings(card: dict) -> list[str]:
    """Plain-language warnings about a trained model an analyst should read before using it.

    Parameters
    ----------
    card : dict
        A model card as written by :func:`train_bundle` (``test_churners``,
        ``test_roc_auc``, ``scaling_outliers``).

    Returns
    -------
    list of str
        One sentence per problem: fewer than :data:`MIN_TEST_CHURNERS` churners in the test
        split (its metrics are uncertain; the standard error of an AUC grows as the smaller
        class shrinks, Hanley & McNeil, 1982), a test ROC-AUC below :data:`WEAK_ROC_AUC`, and
        gross outliers left out of a column's scaling. Empty when there is nothing to say.
    """
    out = []
    k = card.get("test_churners")
    if k is not None and k < MIN_TEST_CHURNERS:
        out.append(f"The test split holds only {k} churners, so its ROC-AUC, PR-AUC, precision and "
                   "recall are uncertain: train on more customers before trusting them.")
    auc = card.get("test_roc_auc")
    if auc is not None and np.isfinite(auc) and auc < WEAK_ROC_AUC:
        out.append(f"Test ROC-AUC {auc:.3f} is close to guessing (0.5): the model barely ranks "
                   "churners. Check the target column and its churn value, and the learning rate.")
    for col, n in sorted((card.get("scaling_outliers") or {}).items()):
        out.append(f"{n} value(s) of {col} in the training split are so far from the others (a typing "
                   "error or a code such as 9999999999?) that they were left out of its scaling and "
                   "clipped.")
    return out


def training_profile(train_valid: pd.DataFrame, schema: FeatureSchema, p_train: np.ndarray,
                     tier_cutoffs: dict, source_name: str | None = None):
    """Reference profile of the training rows for drift checks (``profile.json``).

    Parameters
    ----------
    train_valid : DataFrame of shape (n_train, >= n_features)
        Validated training rows.
    schema : FeatureSchema
    p_train : ndarray of shape (n_train,)
        Calibrated churn probabilities of those rows, in [0, 1].
    tier_cutoffs : dict
        The bundle's ``{"high", "medium"}`` cutoffs (expected tier shares).
    source_name : str, optional

    Returns
    -------
    churn_core.data.profile.ReferenceProfile
    """
    from churn_core.data.profile import build_profile

    return build_profile(train_valid, schema.numeric, schema.categorical, scores=p_train,
                         tier_cutoffs=tier_cutoffs,
                         source=f"training split of {source_name or 'the training file'}")


def _default_threshold(y_val, p_val) -> tuple[float, dict]:

    choice = max_f1(y_val, p_val)
    return float(choice.threshold), choice.to_dict()


def train_bundle(df: pd.DataFrame, schema: FeatureSchema, cfg: TrainConfig | None = None,
                 name: str = "model", progress: Callable | None = None,
                 data_sha256: str | None = None, source_name: str | None = None,
                 synthetic: bool | None = None) -> ModelBundle:
    """Train the MLP on a customer table and return a complete (unsaved) bundle.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        The table as read by :func:`churn_core.io.reader.read_table` (text cells are fine).
    schema : FeatureSchema
        Must name the target and its positive label.
    cfg : TrainConfig, optional
        Hyperparameters and seed (defaults: ``TrainConfig()``).
    name : str, default "model"
    progress : callable, optional
        ``progress(epoch, max_epochs, logs)`` after each epoch.
    data_sha256 : str, optional
        Fingerprint of the source file (e.g. the SHA-256 of its bytes); default: a SHA-256
        of the frame's cells (:func:`frame_sha256`).
    source_name : str, optional
        File name used in error messages.
    synthetic : bool, optional
        Whether ``df`` is the shipped synthetic sample (recorded as ``card["synthetic"]``);
        default :func:`churn_core.data.synthetic.is_synthetic_sample`.

    Returns
    -------
    ModelBundle
        ``metrics["test"]`` holds :func:`churn_core.evaluate.metrics.evaluate` on the test split at
        the default threshold (max F1 on the validation split); ``evaluation`` holds the
        validation/test labels and probabilities and the split positions into the validated
        frame.

    Raises
    ------
    SchemaError, TrainingDataError
        When the target is missing, too few rows or too few rows of a class are valid.
    """

    cfg = cfg or TrainConfig()
    if schema.target is None:

        raise SchemaError("no target column: choose the column that says whether a customer churned")
    result = _validate(df, schema, source_name)
    valid = result.valid
    y = np.asarray(result.y, dtype=np.int64)
    tr, va, te = split_positions(y, cfg)

    pre, model, history, selection = fit_recipe(valid.iloc[tr], y[tr], valid.iloc[va], y[va], schema,
                                                cfg, progress=progress)
    requested, cfg = cfg, TrainConfig.from_dict(selection["config"])  # the fitted configuration
    X = pre.transform(valid)

    bundle = ModelBundle(name=name, model=model, preprocessor=pre, schema=schema)
    p_raw = bundle.predict_encoded(X)

    calibrator = fit_calibrator(y[va], p_raw[va], method="auto", seed=cfg.seed)
    bundle.calibrator = calibrator
    p = bundle.calibrate(p_raw)
    threshold, choice = _default_threshold(y[va], p[va])

    test_report = M.evaluate(y[te], p[te], threshold)
    val_report = M.evaluate(y[va], p[va], threshold)
    bundle.metrics = {"threshold": threshold, "test": test_report.to_dict(),
                      "validation": val_report.to_dict()}

    def part(idx):
        return {"position": idx.tolist(), "y": y[idx].tolist(),
                "p": p[idx].tolist(), "p_raw": p_raw[idx].tolist()}

    bundle.evaluation = {"validation": part(va), "test": part(te),
                         "train": {"position": tr.tolist()}}
    from churn_core.model.ranges import row_number_like

    # a customer ID, not a row counter: files numbered 1, 2, 3 ... share no customers
    id_col = next((c for c in schema.id_columns if c in valid.columns and not row_number_like(c)), None)
    if id_col is not None:  # who the model learned from: overlap checks on other files
        from churn_core.data.validate import label_text

        keys = valid[id_col].map(lambda v: label_text(v) or "").to_numpy()
        bundle.evaluation["train"]["ids"] = keys[tr].tolist()
        bundle.evaluation["validation"]["ids"] = keys[va].tolist()
    n_epochs = len(history.get("loss", []))
    from churn_core.model.ranges import data_ranges

    if synthetic is None:
        from churn_core.data.synthetic import is_synthetic_sample

        synthetic = is_synthetic_sample(df, data_sha256)
    ended = datetime.now(timezone.utc).isoformat(timespec="seconds")  # training has ended
    bundle.card = {
        "name": name,
        "created": ended,
        "trained_at": ended,
        "synthetic": bool(synthetic),
        "source": source_name,
        "data_sha256": data_sha256 or frame_sha256(df),
        "rows": {"input": int(len(df)), "valid": int(len(valid)), "rejected": int(len(result.rejected))},
        "rejected_reasons": {str(k): int(v) for k, v in result.report.rejected_reasons.items()},
        "duplicate_ids": {str(k): int(v) for k, v in result.report.duplicate_ids.items()},
        "scaling_outliers": dict(pre.fit_outliers),
        "data_ranges": data_ranges(valid, schema.numeric),
        "churn_rate": float(y.mean()),
        "split_sizes": {"train": int(len(tr)), "validation": int(len(va)), "test": int(len(te))},
        "seed": int(cfg.seed),
        "hyperparameters": cfg.to_dict(),
        "recipe": {**selection, "requested": requested.to_dict()},
        "epochs_trained": n_epochs,
        "best_epoch": _best_epoch(history, cfg.monitor),
        "history": history,
        "versions": library_versions(),
        "default_threshold": threshold,
        "threshold_choice": choice,
        "tier_cutoffs": dict(config.DEFAULT_TIER_CUTOFFS),
        "calibration": None if calibrator is None else type(calibrator).__name__,
        "id_column": id_col,
        "target": schema.target,
        "positive_label": schema.positive_label,
        "features": schema.features,
        "n_encoded_features": pre.n_features_out,
        "test_roc_auc": test_report.to_dict().get("roc_auc"),
        "test_pr_auc": test_report.to_dict().get("pr_auc"),
        "test_churners": int(y[te].sum()),
    }
    bundle.card["warnings"] = quality_warnings(bundle.card)
    bundle.profile = training_profile(valid.iloc[tr], schema, p[tr], bundle.card["tier_cutoffs"],
                                      source_name)
    bundle.__dict__["validation"] = result  # rejected rows for the caller (not saved with the bundle)
    return bundle
