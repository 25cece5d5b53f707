"""The model registry: every saved bundle described from its card, the champion, deletion.

Reads only ``card.json`` (and ``metrics.json`` when the card lacks test figures): listing the
models never loads a network. The champion is the model the app opens with; it is stored in
``models/champion.json`` (``{"name": ...}``), so every session and the command line agree on it.
The shipped ``default`` bundle is the champion while none is set, and it cannot be deleted.

A model is *synthetic* when its card says ``"synthetic": true`` (written by
:func:`churn_core.model.train.train_bundle` when the training file is the shipped synthetic
sample, see :func:`churn_core.data.synthetic.is_synthetic_sample`), or, for cards written
before that flag existed, when the card's ``data_sha256`` is the SHA-256 of the shipped sample.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from churn_core import config
from churn_core.errors import BundleError
from churn_core.model.bundle import is_bundle_folder, list_bundles, sanitize_model_name

CHAMPION_FILE = "champion.json"

#: Keys of one registry row, in display order.
FIELDS = ("name", "trained_at", "data_name", "data_sha256", "rows", "churn_rate", "recipe",
          "test_roc_auc", "test_pr_auc", "synthetic", "champion")


def _models_dir(models_dir) -> Path:
    return Path(models_dir if models_dir is not None else config.MODELS_DIR)


def read_card(name: str, models_dir=None) -> dict:
    """The ``card.json`` of bundle ``name`` as a dict (``{}`` when unreadable).

    Parameters
    ----------
    name : str
        Bundle folder name.
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    dict
    """
    path = _models_dir(models_dir) / sanitize_model_name(name) / "card.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return card if isinstance(card, dict) else {}


def is_synthetic(card: dict) -> bool:
    """Whether a model was trained on the shipped synthetic sample.

    Parameters
    ----------
    card : dict
        A model card.

    Returns
    -------
    bool
        ``card["synthetic"]`` when the card records it; else whether ``card["data_sha256"]``
        is the SHA-256 of a shipped synthetic sample.
    """
    flag = (card or {}).get("synthetic")
    if isinstance(flag, bool):
        return flag
    from churn_core.data.synthetic import sample_sha256s

    return (card or {}).get("data_sha256") in sample_sha256s()


def trained_at(card: dict) -> str | None:
    """The time training ended (ISO 8601, UTC) recorded in a card (``created`` for old cards)."""
    return (card or {}).get("trained_at") or (card or {}).get("created")


def recipe_text(card: dict) -> str:
    """The training recipe in one line, e.g. ``"tabm-mini x8, hidden 32-16, ple, imbalance none"``.

    Parameters
    ----------
    card : dict
        A model card (its ``hyperparameters``).

    Returns
    -------
    str
        ``"?"`` when the card records no hyperparameters.
    """
    hp = (card or {}).get("hyperparameters") or {}
    if not hp:
        return "?"
    parts = []
    members = hp.get("members")
    if hp.get("ensemble") and members and int(members) > 1:
        parts.append(f"{hp['ensemble']} x{members}")
    else:
        parts.append("MLP")
    if hp.get("hidden"):
        parts.append("hidden " + "-".join(str(h) for h in hp["hidden"]))
    if hp.get("numeric_encoding"):
        parts.append(str(hp["numeric_encoding"]))
    if hp.get("imbalance"):
        parts.append(f"imbalance {hp['imbalance']}")
    return ", ".join(parts)


def champion(models_dir=None) -> str | None:
    """The champion model: the one the app opens with.

    Parameters
    ----------
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    str or None
        The name in ``champion.json`` when that bundle exists; else ``default`` when it
        exists; else the first saved bundle; None without any bundle.
    """
    folder = _models_dir(models_dir)
    names = list_bundles(folder)
    try:
        name = json.loads((folder / CHAMPION_FILE).read_text(encoding="utf-8")).get("name")
    except (OSError, json.JSONDecodeError, AttributeError):
        name = None
    if name in names:
        return name
    return names[0] if names else None  # list_bundles puts ``default`` first


def set_champion(name: str, models_dir=None) -> Path:
    """Mark bundle ``name`` as the champion (written atomically to ``champion.json``).

    Parameters
    ----------
    name : str
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    Path
        The champion file.

    Raises
    ------
    BundleError
        When no bundle of that name exists.
    """
    folder = _models_dir(models_dir)
    name = sanitize_model_name(name)
    if name not in list_bundles(folder):
        raise BundleError(f"no model named {name!r} in {folder}: cannot make it the champion")
    path = folder / CHAMPION_FILE
    tmp = folder / f".{CHAMPION_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps({"name": name, "since": _now()}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def delete_model(name: str, models_dir=None) -> None:
    """Delete the bundle folder ``name``; the champion falls back to ``default``.

    Parameters
    ----------
    name : str
    models_dir : path-like, default ``config.MODELS_DIR``

    Raises
    ------
    BundleError
        For the shipped ``default`` model, a name that is not a saved bundle, or a folder
        that holds anything but bundle files (never removed).
    """
    folder = _models_dir(models_dir)
    name = sanitize_model_name(name)
    if name == config.DEFAULT_MODEL_NAME:
        raise BundleError(f"the shipped model {name!r} cannot be deleted")
    target = folder / name
    if not is_bundle_folder(target):
        raise BundleError(f"no model bundle named {name!r} in {folder}")
    was_champion = champion(folder) == name
    trash = folder / f".tmp-del-{name}-{uuid.uuid4().hex[:8]}"
    os.replace(target, trash)  # gone from listings at once, removed below
    shutil.rmtree(trash, ignore_errors=True)
    if was_champion:
        (folder / CHAMPION_FILE).unlink(missing_ok=True)


def model_row(name: str, models_dir=None, card: dict | None = None) -> dict:
    """One registry row of bundle ``name`` (keys :data:`FIELDS`).

    Parameters
    ----------
    name : str
    models_dir : path-like, default ``config.MODELS_DIR``
    card : dict, optional
        The card, when already read.

    Returns
    -------
    dict
        ``rows`` is the number of valid training rows; ``churn_rate`` in [0, 1];
        ``test_roc_auc`` / ``test_pr_auc`` in [0, 1] or None; ``champion`` is False here
        (set by :func:`list_models`).
    """
    card = read_card(name, models_dir) if card is None else card
    roc, pr = card.get("test_roc_auc"), card.get("test_pr_auc")
    if roc is None or pr is None:
        try:
            test = json.loads((_models_dir(models_dir) / name / "metrics.json")
                              .read_text(encoding="utf-8")).get("test") or {}
        except (OSError, json.JSONDecodeError, AttributeError):
            test = {}
        roc = test.get("roc_auc") if roc is None else roc
        pr = test.get("pr_auc") if pr is None else pr
    rows = card.get("rows") or {}
    return {
        "name": name,
        "trained_at": trained_at(card),
        "data_name": card.get("source"),
        "data_sha256": card.get("data_sha256"),
        "rows": rows.get("valid") if isinstance(rows, dict) else rows,
        "churn_rate": card.get("churn_rate"),
        "recipe": recipe_text(card),
        "test_roc_auc": roc,
        "test_pr_auc": pr,
        "synthetic": is_synthetic(card),
        "champion": False,
    }


def list_models(models_dir=None) -> list[dict]:
    """Every saved bundle as a registry row (:func:`model_row`), ``default`` first.

    Parameters
    ----------
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    list of dict
        One row per bundle folder; exactly one row has ``champion`` True when any exists.
    """
    folder = _models_dir(models_dir)
    champ = champion(folder)
    rows = [model_row(n, folder) for n in list_bundles(folder)]
    for r in rows:
        r["champion"] = r["name"] == champ
    return rows


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_model_name(data_name: str | None, when: datetime | str | None = None,
                       models_dir=None) -> str:
    """A model name saying what was trained: file stem + training end time, unique.

    Parameters
    ----------
    data_name : str or None
        Training file name (``Churn_Modelling.csv`` -> stem ``Churn_Modelling``).
    when : datetime or ISO 8601 str, optional
        Training end time (default now, UTC).
    models_dir : path-like, default ``config.MODELS_DIR``
        A suffix ``_2``, ``_3``... is added while the name is taken there.

    Returns
    -------
    str
        E.g. ``"Churn_Modelling_20261205_101530"``; a valid bundle name (at most 64 characters).
    """
    if when is None:
        when = datetime.now(timezone.utc)
    elif isinstance(when, str):
        when = datetime.fromisoformat(when)
    name = str(data_name or "model")
    for ext in (".gz", ".csv", ".parquet", ".pq", ".xlsx", ".xls"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).replace("..", "_").strip("._-")[:40] or "model"
    base = f"{stem}_{when:%Y%m%d_%H%M%S}"
    taken = set(list_bundles(_models_dir(models_dir)))
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    return out


def card_counts(card: dict) -> dict[str, str]:
    """A model card's row and split counts as shown (thousands separators), one source for
    the Model page's card and ``train``'s output.

    Parameters
    ----------
    card : dict
        A bundle's ``card.json`` (``rows``: ``input``, ``valid``, ``rejected``;
        ``split_sizes``: ``train``, ``validation``, ``test``).

    Returns
    -------
    dict of str to str
        Keys ``input``, ``valid``, ``rejected``, ``train``, ``validation``, ``test``; e.g.
        ``{"valid": "10,000", "input": "10,000", "train": "6,500", ...}``; ``"?"`` for a
        count the card lacks.
    """
    def text(value) -> str:
        try:
            return f"{int(value):,}"
        except (TypeError, ValueError):
            return "?"

    rows, split = card.get("rows") or {}, card.get("split_sizes") or {}
    return {**{k: text(rows.get(k)) for k in ("input", "valid", "rejected")},
            **{k: text(split.get(k)) for k in ("train", "validation", "test")}}
