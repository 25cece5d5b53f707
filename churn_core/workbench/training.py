"""Training from the dashboard: model-name slug, one-training-at-a-time guard, train and save."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Callable

from churn_core.errors import SchemaError
from churn_core.model.bundle import sanitize_model_name, save_bundle
from churn_core.model.train import train_bundle
from churn_core.workbench.data import ActiveData


def slug_model_name(text: str) -> str:
    """Turn free text into a bundle folder name: runs of characters other than letters,
    digits, ``.``, ``_`` and ``-`` become ``_``; at most 64 characters.

    Parameters
    ----------
    text : str
        What the analyst typed (e.g. ``"Bank model Nov 2026"``).

    Returns
    -------
    str
        E.g. ``"Bank_model_Nov_2026"``; checked again by ``bundle.sanitize_model_name``.
    """

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text).strip()).replace("..", "_")
    return slug.strip("._-")[:64]


class TrainingGuard:
    """Process-wide guard: one training at a time for every session of the app.

    ``acquire()`` returns False immediately (never waits) when another training runs.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.owner: str | None = None

    def acquire(self, owner: str) -> bool:
        """Try to start a training; True when the caller may train."""
        if self._lock.acquire(blocking=False):
            self.owner = owner
            return True
        return False

    def release(self) -> None:
        """Mark the training finished."""
        self.owner = None
        if self._lock.locked():
            self._lock.release()

    @property
    def busy(self) -> bool:
        """True while a training runs."""
        return self._lock.locked()


def train_model(data: ActiveData, cfg, name: str | None = None, progress: Callable | None = None,
                models_dir: Path | None = None):
    """Train on the valid rows of ``data``, save the bundle as ``name`` and return it.

    Parameters
    ----------
    data : ActiveData
        Must have a target column and positive label.
    cfg : TrainConfig
        Hyperparameters (``churn_core.model.network.TrainConfig``).
    name : str, optional
        Bundle name; sanitised by ``bundle.sanitize_model_name``. Default (None or blank):
        the file stem + the time training ended, unique
        (:func:`churn_core.model.registry.default_model_name`).
    progress : callable, optional
        Passed to ``train.train_bundle`` (called once per epoch).
    models_dir : Path, optional
        Defaults to ``config.MODELS_DIR``.

    Returns
    -------
    (ModelBundle, str)
        The trained bundle and the sanitised name it was saved under.

    Raises
    ------
    SchemaError, TrainingDataError
        When the data cannot train a model (no target, one class, too few rows...).
    """

    if not data.schema.target or data.schema.positive_label is None:
        raise SchemaError(f"{data.name}: choose the target column and the value that means "
                          "'churned' on the Data page before training")
    safe = sanitize_model_name(slug_model_name(name)) if name and slug_model_name(name) else None
    bundle = train_bundle(data.frame, data.schema, cfg=cfg, name=safe or "model",
                          progress=progress, data_sha256=data.sha256, source_name=data.name)
    if safe is None:
        from churn_core.model.registry import default_model_name

        safe = default_model_name(data.name, bundle.card.get("trained_at"), models_dir)
    save_bundle(bundle, safe, **({"models_dir": models_dir} if models_dir else {}))
    return bundle, safe


def recipe_summary(card: dict):
    """How a model's recipe was chosen, for the model card on the Model page.

    Parameters
    ----------
    card : dict
        A model card (``train.train_bundle``); its ``recipe`` entry is absent in bundles
        trained before the adaptive recipe existed.

    Returns
    -------
    sentence : str
        E.g. "Adaptive recipe: 4 variants tried on the 1500 validation customers (never the
        test customers) within 60 s; 'regularised' won: ...".
    table : DataFrame or None
        One row per candidate: variant, what it changes, validation PR-AUC, validation
        ROC-AUC, seconds, status; ``None`` for a quick (single-recipe) model.
    """
    import pandas as pd

    sel = (card or {}).get("recipe") or {}
    if sel.get("recipe") != "adaptive":
        return "Quick recipe: the settings above, trained once.", None
    rows = sel.get("candidates", [])
    fitted = sum(r.get("status") == "fitted" for r in rows)
    sentence = (f"Adaptive recipe: {fitted} of {len(rows)} variants trained and compared on the "
                f"{sel.get('validation_rows', '?')} validation customers (never the test customers) "
                f"within a {sel.get('time_budget_s', 0):.0f} s budget ({sel.get('seconds', 0):.0f} s used). "
                f"{sel.get('why', '')}")
    table = pd.DataFrame([{
        "variant": r.get("name"), "chosen": r.get("name") == sel.get("winner"),
        "what it changes": r.get("description"),
        "validation PR-AUC": r.get("val_pr_auc"), "validation ROC-AUC": r.get("val_roc_auc"),
        "seconds": r.get("seconds"), "status": r.get("status") if r.get("status") == "fitted"
        else r.get("reason", r.get("status"))} for r in rows])
    return sentence, table
