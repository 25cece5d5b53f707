"""Helpers shared by the command-line modules (``cli.py`` and its command groups)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from churn_core import config
from churn_core.errors import BundleError, ChurnError
from churn_core.model.bundle import sanitize_model_name


def _split_model_path(text: str) -> tuple[Path, str]:
    """``models/NAME`` or ``/any/dir/NAME`` -> (models folder, bundle name)."""

    path = Path(text)
    if ".." in path.parts:

        raise BundleError(f"model path {text!r}: '..' is not allowed; give models/NAME or an absolute folder")
    if path.parent == Path(".") or str(path.parent) == "models":
        return config.MODELS_DIR, sanitize_model_name(path.name)
    return path.parent.resolve(), sanitize_model_name(path.name)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _need_file(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ChurnError(f"{path}: file not found")
    return p
