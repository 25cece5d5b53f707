"""The local workspace folder of uploaded files, keyed by their SHA-256.

A reload (F5) or a bookmark starts a new Streamlit session; the page URL keeps only the
file's SHA-256 (``?data=<sha>``), and the bytes are read back from this folder. A session can
reach a file only through its SHA-256, which it knows only by uploading the same bytes or by
being given the URL: two analysts never see each other's files unless they upload the same
file. The folder lives outside the repository (``config.UPLOADS_DIR``), is never served by
Streamlit (static serving is off and the folder is not under ``static/``) and files unused for
``config.UPLOAD_MAX_AGE_HOURS`` are deleted.

Layout: ``<folder>/<sha256>.bin`` (the bytes as uploaded) and ``<sha256>.json`` (the file
name shown to the analyst, the column-role overrides last applied to it and, for one sheet
picked from a workbook, the sheet; the key is then ``workbench.data_sha256(bytes, sheet)``).
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

from churn_core import config
from churn_core.workbench.data import data_sha256

_SHA = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(text) -> bool:
    """Whether ``text`` is a lower-case SHA-256 hex digest (the only key accepted)."""
    return isinstance(text, str) and bool(_SHA.match(text))


class UploadFolder:
    """Uploaded files on local disk, keyed by SHA-256.

    Parameters
    ----------
    folder : path-like, optional
        Default ``config.UPLOADS_DIR`` (read at call time, so tests can point it elsewhere).
    max_age_hours : float, optional
        Default ``config.UPLOAD_MAX_AGE_HOURS``.
    """

    def __init__(self, folder=None, max_age_hours: float | None = None):
        self._folder = Path(folder) if folder is not None else None
        self._max_age = max_age_hours

    @property
    def folder(self) -> Path:
        """The folder (created on first write)."""
        return self._folder if self._folder is not None else Path(config.UPLOADS_DIR)

    @property
    def max_age_hours(self) -> float:
        """Hours after which an unused file is deleted."""
        return float(self._max_age if self._max_age is not None else config.UPLOAD_MAX_AGE_HOURS)

    def _paths(self, sha: str) -> tuple[Path, Path]:
        if not is_sha256(sha):
            raise ValueError(f"not a SHA-256 digest: {sha!r}")
        return self.folder / f"{sha}.bin", self.folder / f"{sha}.json"

    def save(self, sha: str, name: str, raw: bytes, overrides: dict | None = None,
             sheet: str | None = None) -> None:
        """Keep ``raw`` under ``sha`` (atomic write: a temporary file renamed into place).

        Parameters
        ----------
        sha : str
            SHA-256 of ``raw`` (``workbench.sha256_of``), or ``workbench.data_sha256(raw,
            sheet)`` for one sheet of a workbook.
        name : str
            File name shown to the analyst.
        raw : bytes
        overrides : dict, optional
            Column-role overrides (``infer_schema`` keyword arguments).
        sheet : str, optional
            The workbook sheet read (kept so that a reload reads the same sheet).

        Raises
        ------
        OSError
            When the folder cannot be written (the caller shows it; the session keeps the
            data in memory).
        """
        data_path, _ = self._paths(sha)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # customer data: owner only
        if self.folder.stat().st_mode & 0o077:
            os.chmod(self.folder, 0o700)  # a folder made by an older version
        if not data_path.exists():
            tmp = self.folder / f".{sha}.{uuid.uuid4().hex}.tmp"
            try:
                tmp.touch(mode=0o600)
                tmp.write_bytes(raw)
                os.replace(tmp, data_path)
            finally:
                tmp.unlink(missing_ok=True)
        self.remember(sha, name, overrides, sheet=sheet)
        self.clean()

    def remember(self, sha: str, name: str, overrides: dict | None = None,
                 sheet: str | None = None) -> None:
        """Record the shown name and the column-role overrides of a kept file (and keep its
        sheet: given here, else the one recorded before)."""
        data_path, meta_path = self._paths(sha)
        if not data_path.exists():
            return
        sheet = sheet if sheet is not None else self.sheet_of(sha)
        tmp = self.folder / f".{sha}.{uuid.uuid4().hex}.json.tmp"
        try:
            tmp.touch(mode=0o600)
            tmp.write_text(json.dumps({"name": str(name), "overrides": overrides or {},
                                       **({"sheet": str(sheet)} if sheet is not None else {})},
                                      default=str))
            os.replace(tmp, meta_path)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, sha: str) -> tuple[str, bytes, dict] | None:
        """Return ``(name, bytes, overrides)`` of a kept file, or None when unknown.

        An unknown or malformed key, or a file whose bytes no longer match their SHA-256,
        gives None. Reading marks the file as used (its age restarts).
        """
        if not is_sha256(sha):
            return None
        data_path, meta_path = self._paths(sha)
        try:
            raw = data_path.read_bytes()
        except OSError:
            return None
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = {}
        if data_sha256(raw, meta.get("sheet")) != sha:  # damaged or substituted: not the analyst's
            return None
        now = time.time()
        for p in (data_path, meta_path):
            try:
                os.utime(p, (now, now))
            except OSError:
                pass
        return str(meta.get("name") or "upload"), raw, dict(meta.get("overrides") or {})

    def sheet_of(self, sha: str) -> str | None:
        """The workbook sheet recorded for a kept file (None: the reader's own choice)."""
        if not is_sha256(sha):
            return None
        try:
            sheet = json.loads(self._paths(sha)[1].read_text()).get("sheet")
        except (OSError, ValueError, AttributeError):
            return None
        return None if sheet is None else str(sheet)

    def clean(self, now: float | None = None) -> list[str]:
        """Delete kept files unused for longer than :attr:`max_age_hours`.

        Returns
        -------
        list of str
            The SHA-256 keys deleted.
        """
        now = time.time() if now is None else now
        limit = now - self.max_age_hours * 3600.0
        gone = []
        try:
            entries = list(self.folder.glob("*.bin"))
        except OSError:
            return gone
        for data_path in entries:
            try:
                if data_path.stat().st_mtime < limit:
                    data_path.unlink(missing_ok=True)
                    data_path.with_suffix(".json").unlink(missing_ok=True)
                    gone.append(data_path.stem)
            except OSError:
                continue
        return gone
