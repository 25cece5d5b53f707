"""Training from the dashboard: model-name slug, one-training-at-a-time guard, train and save."""
from __future__ import annotations

import re
import threading
import time
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


class TrainingJob:
    """One training run on a server-side thread: it finishes and saves its model even when
    the page that started it is reloaded or closed (Streamlit stops a session's script at
    its next ``st`` call when the browser goes away; the training is not in that script).

    Attributes
    ----------
    source : str
        Name of the training file (e.g. ``"Churn_Modelling.csv"``).
    data_sha256 : str
        SHA-256 of the training data.
    started : float
        ``time.time()`` at the start.
    progress : dict
        The last progress report: ``epoch``, ``max_epochs``, ``logs`` (plain values), and
        ``history`` (``{"loss": [...], "val_loss": [...]}``); written by the training thread.
    name : str or None
        The name the model was saved under, once finished.
    bundle : ModelBundle or None
        The trained bundle, once finished.
    error : BaseException or None
        Why the training failed, once finished.
    watched : bool
        True once the page that started the training has shown its end; False when that
        page went away (reload, closed tab) before the end: the Model page then tells every
        session what became of it.
    """

    def __init__(self, source: str, data_sha256: str):
        self.source = source
        self.data_sha256 = data_sha256
        self.started = time.time()
        self.progress: dict = {"epoch": 0, "max_epochs": 0, "logs": {},
                               "history": {"loss": [], "val_loss": []}}
        self.name: str | None = None
        self.bundle = None
        self.error: BaseException | None = None
        self.watched = False
        self.done = threading.Event()

    def on_epoch(self, epoch: int, max_epochs: int, logs: dict | None = None) -> None:
        """The training's progress callback: keep the latest report (no drawing here)."""
        logs = dict(logs or {})
        for key, values in self.progress["history"].items():
            if key in logs:
                values.append(float(logs[key]))
        self.progress.update(epoch=epoch, max_epochs=max_epochs, logs=logs)

    @property
    def running(self) -> bool:
        """True until the model is saved or the training failed."""
        return not self.done.is_set()


class TrainingGuard:
    """Process-wide guard: one training at a time for every session of the app.

    ``acquire()`` returns False immediately (never waits) when another training runs;
    :meth:`start` runs a training on a thread of its own and keeps it as :attr:`job`.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.owner: str | None = None
        self.job: TrainingJob | None = None

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

    def start(self, data: ActiveData, cfg, name: str | None = None,
              make_champion: bool = False, models_dir: Path | None = None,
              train: Callable | None = None) -> TrainingJob | None:
        """Train and save on a server-side thread (:func:`train_model`); None when another
        training runs.

        Parameters
        ----------
        data, cfg, name, models_dir
            As :func:`train_model`.
        make_champion : bool
            Make the saved model the champion (done by the thread, so also when the page
            that started the training is gone).
        train : callable, optional
            Replaces :func:`train_model` (tests).

        Returns
        -------
        TrainingJob or None
            The running job (its ``done`` event is set when the model is saved or the
            training failed).
        """
        if not self.acquire(owner=name or data.name):
            return None
        job = TrainingJob(data.name, data.sha256)
        self.job = job
        run = train or train_model

        def work() -> None:
            try:
                job.bundle, job.name = run(data, cfg, name, progress=job.on_epoch,
                                           models_dir=models_dir)
                if make_champion:
                    from churn_core.workbench.registry import set_champion

                    set_champion(job.name, models_dir)
            except BaseException as exc:  # noqa: BLE001 - kept for the page to show
                job.error = exc
            finally:
                self.release()
                job.done.set()

        try:
            threading.Thread(target=work, name="churn-training", daemon=True).start()
        except BaseException:
            self.release()
            raise
        return job


_SHARED_GUARD = TrainingGuard()


def shared_training_guard() -> TrainingGuard:
    """The one training guard of this process (every session of the app shares it)."""
    return _SHARED_GUARD


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
