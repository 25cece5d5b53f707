"""One customer file as read, typed and validated (:class:`ActiveData`), keyed by the
SHA-256 of its bytes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churn_core.data.cells import label_text
from churn_core.data.infer import infer_schema, label_class
from churn_core.data.schema import FeatureSchema
from churn_core.io.report import header_notes  # noqa: F401 - duplicate/blank headers, for the pages
from churn_core.data.validate import validate
from churn_core.errors import ChurnError, DataFileError
from churn_core.io import reader as cio


def sha256_of(source: bytes | str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    source : bytes or path-like
        The uploaded bytes, or a path to read.

    Returns
    -------
    str
        64 hex characters; the cache key of everything computed from this file.
    """
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        h.update(source)
    else:
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def data_sha256(source: bytes | str | Path, sheet: str | int | None = None) -> str:
    """The cache key of one customer table: :func:`sha256_of` the file's bytes, or, for one
    sheet picked from a workbook, the SHA-256 of that digest and the sheet name (two sheets of
    one workbook are two tables, so they never share scores or explanations).

    Parameters
    ----------
    source : bytes or path-like
    sheet : str or int, optional
        The sheet read (None: the reader's own choice, the key is the bytes' digest).

    Returns
    -------
    str
        64 hex characters.
    """
    digest = sha256_of(source)
    if sheet is None:
        return digest
    return hashlib.sha256(f"{digest}\x1fsheet\x1f{sheet}".encode("utf-8", "surrogatepass")
                          ).hexdigest()


def workbook_sheets(raw: bytes, name: str = "") -> list[str]:
    """The sheets of an uploaded .xlsx workbook, for the app's sheet picker.

    Parameters
    ----------
    raw : bytes
        The uploaded file.
    name : str, optional
        Its name (only the bytes decide whether it is a workbook).

    Returns
    -------
    list of str
        Sheet names in workbook order; empty for other formats and for a workbook that
        cannot be opened (reading it then reports the problem).
    """
    from churn_core.io.excel import sheet_names

    if bytes(raw[:4]) != b"PK\x03\x04":
        return []
    try:
        return sheet_names(bytes(raw))
    except ChurnError:
        return []


# --------------------------------------------------------------------------- data
@dataclass
class ActiveData:
    """One customer file as read, typed and validated.

    Attributes
    ----------
    name : str
        File name shown to the analyst.
    sha256 : str
        Digest of the file's bytes, with the sheet name for a sheet picked from a workbook
        (cache key; :func:`data_sha256`).
    frame : DataFrame
        Every cell as read (text), one row per data line.
    read_report : object
        ``io.ReadReport`` (format, encoding, delimiter, rows).
    schema : FeatureSchema
        Inferred schema with the analyst's overrides applied.
    validation : object
        ``validate.ValidationResult`` (``valid``, ``rejected``, ``y``, ``report``).
    overrides : dict
        The keyword overrides passed to ``infer_schema``.
    """

    name: str
    sha256: str
    frame: pd.DataFrame
    read_report: Any
    schema: FeatureSchema
    validation: Any
    overrides: dict = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        """Number of data rows in the file."""
        return int(len(self.frame))

    @property
    def has_labels(self) -> bool:
        """True when the schema has a target and at least one valid row carries a label."""
        y = self.labels
        return y is not None and len(y) > 0 and np.isfinite(y).any()

    @property
    def labels(self) -> np.ndarray | None:
        """ndarray of shape (n_valid,) with 1 = churned, 0 = stayed, NaN = blank or unknown
        label; None without a target column."""
        t = self.schema.target
        valid = getattr(self.validation, "valid", None)
        if t is None or valid is None or t not in valid.columns:
            return None
        return labels_from_text(valid[t], self.schema.positive_label,
                                self.schema.negative_label)


def labels_from_text(series: pd.Series, positive: str | None,
                     negative: str | None = None) -> np.ndarray:
    """Churn labels from target cells, with the rules of ``validate.label_text``.

    Parameters
    ----------
    series : Series of shape (n_samples,)
        Target cells (text as read, or numbers).
    positive : str
        The value meaning *churned* (compared case-insensitively after canonicalising,
        so ``"1.0"`` equals ``"1"``).
    negative : str, optional
        The value meaning *stayed*; when given, other values are unknown (NaN); without
        it, values naming the opposite of ``positive`` are stayed and others unknown
        (:func:`churn_core.data.infer.label_class`, the rule of validation).

    Returns
    -------
    ndarray of shape (n_samples,), float
        1.0 churned, 0.0 stayed, NaN for blank (or unknown) labels.
    """

    codes, uniques = pd.factorize(series, use_na_sentinel=True)

    def cls(v):
        c = label_class(label_text(v), None if positive is None else str(positive),
                        None if negative is None else str(negative))
        return 1.0 if c == 1 else 0.0 if c == 0 else np.nan

    table = np.array([cls(u) for u in uniques] + [np.nan], dtype=float)
    return table[np.where(codes < 0, len(uniques), codes)]


def load_data(source: bytes | str | Path, name: str | None = None,
              overrides: dict | None = None, sheet: str | int | None = None) -> ActiveData:
    """Read, infer and validate one customer file.

    Parameters
    ----------
    source : bytes or path-like
        Uploaded bytes or a path (CSV, Parquet or XLSX).
    name : str, optional
        File name used in messages (defaults to the path's name).
    overrides : dict, optional
        Keyword arguments of ``infer.infer_schema`` (``target``, ``positive_label``,
        ``id_columns``, ``excluded``, ``numeric``, ``categorical``...).
    sheet : str or int, optional
        XLSX: the sheet to read when several sheets hold customer tables with the same
        columns (the error then lists them). The data's ``sha256`` then includes the sheet
        (:func:`data_sha256`).

    Returns
    -------
    ActiveData

    Raises
    ------
    DataFileError, SchemaError
        With a message naming the file, column and row (shown by the page as ``st.error``);
        DataFileError also for a file with a header row but no data rows.
    """

    if name is None:
        name = Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload"
    src = bytes(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        frame, report = cio.read_table(src, name=name, sheet=sheet)
    except ChurnError:
        raise
    except Exception as exc:  # a reader fault must still reach the analyst as a message
        raise DataFileError(f"{name}: could not be read as a customer table ({exc})") from exc
    if len(frame) == 0:
        raise DataFileError(f"{name}: has a header row ({len(frame.columns)} columns) but no "
                            "customer rows: export the file again with its data lines")
    return apply_schema(ActiveData(name, data_sha256(source, sheet), frame, report, None, None),
                        overrides)


def apply_schema(data: ActiveData, overrides: dict | None = None) -> ActiveData:
    """Infer the schema with ``overrides`` and validate the already-read frame again.

    Parameters
    ----------
    data : ActiveData
        A file already read (its ``frame`` is reused; the file is not read again).
    overrides : dict, optional
        Keyword arguments of ``infer.infer_schema``; ``None`` values are dropped.

    Returns
    -------
    ActiveData
        A new object (the input is not modified).
    """

    overrides = dict(overrides or {})
    no_target = "target" in overrides and overrides["target"] is None
    clean = {k: v for k, v in overrides.items() if v is not None}
    schema = infer_schema(data.frame, **clean)
    if no_target:  # the analyst says: this file has no churn label (scoring only)
        schema.target = None
        schema.positive_label = None
        schema.negative_label = None
    result = validate(data.frame, schema, require_target=False, source_name=data.name)
    return ActiveData(data.name, data.sha256, data.frame, data.read_report, schema, result,
                      overrides)
