"""The model registry as the Model page shows it: one sortable table of every saved model.

Thin glue over :mod:`churn_core.model.registry` (cards, champion, deletion, default names);
the ROC-AUC / PR-AUC of each model on the active labelled file come from
:func:`churn_core.workbench.file_quality.model_on_file` (the CLI ``evaluate`` figures).
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from churn_core.model.registry import (FIELDS, champion, default_model_name, delete_model,
                                       is_synthetic, list_models, set_champion)

#: Column titles of the registry table (keys of :data:`churn_core.model.registry.FIELDS`).
TITLES = {"name": "model", "trained_at": "trained at (UTC)", "data_name": "training file",
          "data_sha256": "file SHA-256", "rows": "rows", "churn_rate": "churn rate",
          "recipe": "recipe", "test_roc_auc": "test ROC-AUC", "test_pr_auc": "test PR-AUC",
          "synthetic": "synthetic", "champion": "champion",
          "file_roc_auc": "ROC-AUC on active file", "file_pr_auc": "PR-AUC on active file"}


def label_of(name: str | None, models_dir=None) -> str:
    """A saved model's name as shown everywhere (``"default (synthetic)"``), from its card.

    Parameters
    ----------
    name : str or None
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    str
        ``"none"`` for None.
    """
    if not name:
        return "none"
    from churn_core.model.registry import read_card

    card = read_card(name, models_dir)
    return f"{name} (synthetic)" if card and is_synthetic(card) else str(name)


def champion_is_synthetic(models_dir=None) -> bool:
    """True when the champion is a synthetic model, or there is no champion yet."""
    from churn_core.model.registry import read_card

    name = champion(models_dir)
    return name is None or is_synthetic(read_card(name, models_dir))


def registry_table(models_dir=None, measure: Callable[[str], object] | None = None) -> pd.DataFrame:
    """Every saved model as one row, ready for a sortable table.

    Parameters
    ----------
    models_dir : path-like, default ``config.MODELS_DIR``
    measure : callable, optional
        ``measure(name) -> FileMeasure or None``: the model measured on the active labelled
        file (e.g. cached by the page). With it, ``file_roc_auc`` and ``file_pr_auc``
        columns are added (NaN where a model cannot be measured on the file).

    Returns
    -------
    DataFrame
        Columns :data:`FIELDS` (+ ``file_roc_auc``, ``file_pr_auc``); ``trained_at`` as
        timezone-aware datetimes, scores as floats in [0, 1] (NaN when unknown).
    """
    rows = list_models(models_dir)
    df = pd.DataFrame(rows, columns=list(FIELDS))
    df["trained_at"] = pd.to_datetime(df["trained_at"], utc=True, errors="coerce")
    for col in ("churn_rate", "test_roc_auc", "test_pr_auc"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    if measure is not None:
        roc, pr = [], []
        for name in df["name"]:
            try:
                m = measure(name)
            except Exception:  # noqa: BLE001 - a model that cannot read this file: no figure
                m = None
            roc.append(m.roc_auc if m is not None else float("nan"))
            pr.append(m.pr_auc if m is not None else float("nan"))
        df["file_roc_auc"], df["file_pr_auc"] = roc, pr
    return df


__all__ = ["TITLES", "champion", "default_model_name", "delete_model", "is_synthetic",
           "champion_is_synthetic", "label_of", "registry_table", "set_champion"]
