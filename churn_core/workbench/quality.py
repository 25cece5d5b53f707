"""Data-quality summary of one file: blanks per column, duplicate IDs, class balance."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.data.cells import blank_mask
from churn_core.io.reader import ROW_INDEX
from churn_core.workbench.data import ActiveData


@dataclass
class QualityReport:
    """Data-quality summary of one file.

    Attributes
    ----------
    rows : int
        Rows read.
    missing : DataFrame
        Columns ``column``, ``missing`` (count of blank cells), ``missing_pct`` in [0, 100].
    duplicate_ids : int
        Rows whose value in some ID column occurs on another row (blank IDs ignored; 0
        when there is no ID column).
    class_balance : DataFrame or None
        Columns ``label``, ``customers``, ``share`` in [0, 1]; None without a target.
    rows_valid, rows_rejected : int
        Row accounting of validation (``rows == rows_valid + rows_rejected``).
    duplicate_examples : list of str
        Up to three shared IDs with their rows (:func:`duplicate_id_examples`).
    """

    rows: int
    missing: pd.DataFrame
    duplicate_ids: int
    class_balance: pd.DataFrame | None
    rows_valid: int
    rows_rejected: int
    duplicate_examples: list = field(default_factory=list)


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: True where a cell is missing (:func:`churn_core.data.cells.blank_mask`:
    null, whitespace or a missing marker such as ``NA``), as validation counts blanks."""
    return pd.DataFrame({c: blank_mask(frame[c]) for c in frame.columns}, index=frame.index)


def quality_report(data: ActiveData) -> QualityReport:
    """Compute rows, blanks per column, duplicate IDs and class balance.

    Parameters
    ----------
    data : ActiveData

    Returns
    -------
    QualityReport
    """
    frame = data.frame
    blank = _blank(frame)
    n = max(len(frame), 1)
    missing = pd.DataFrame({"column": frame.columns,
                            "missing": np.asarray(blank.sum(), dtype=np.int64)})
    missing["missing_pct"] = 100.0 * missing["missing"] / n
    dup = 0
    ids = [c for c in data.schema.id_columns if c in frame.columns]
    if ids:  # a row counts when any of its ID cells (non-blank) occurs on another row
        mask = np.zeros(len(frame), dtype=bool)
        for c in ids:
            mask |= (frame[c].duplicated(keep=False) & ~blank[c]).to_numpy()
        dup = int(mask.sum())
    balance = None
    y = data.labels
    t = data.schema.target
    if y is not None and data.schema.positive_label is None:
        # no churn value chosen yet: count the target's own values, not 'blank' for all
        cells = data.validation.valid[t].astype("string").str.strip()
        counts = cells.mask(cells.eq("")).fillna("blank").value_counts()
        balance = pd.DataFrame({"label": [f"{t} = {v}" if v != "blank" else v
                                          for v in counts.index],
                                "customers": counts.to_numpy()})
        balance["share"] = balance["customers"] / max(len(y), 1)
    elif y is not None:
        s = pd.Series(np.where(np.isnan(y), "blank", np.where(y == 1, "churned", "stayed")))
        counts = s.value_counts()
        balance = pd.DataFrame({"label": counts.index, "customers": counts.to_numpy()})
        balance["share"] = balance["customers"] / max(len(y), 1)
    valid = getattr(data.validation, "valid", frame)
    rejected = getattr(data.validation, "rejected", frame.iloc[:0])
    return QualityReport(int(len(frame)), missing, dup, balance, int(len(valid)),
                         int(len(rejected)),
                         duplicate_id_examples(frame, ids) if dup else [])


def duplicate_id_examples(frame: pd.DataFrame, id_columns, limit: int = 3) -> list[str]:
    """Shared customer IDs, each with the rows that hold it, for a warning an analyst can act on.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
        A file as read; when its index is the reader's ``source_row`` the rows are the file's
        own (header = row 1), else position + 2.
    id_columns : sequence of str
        ID columns (those absent from ``frame`` are skipped).
    limit : int, default 3
        Most IDs named in all.

    Returns
    -------
    list of str
        E.g. ``["CustomerId 15634602 (rows 2, 3, 7)"]``; at most five rows named per ID;
        blank IDs are never counted as shared.
    """
    rows = (np.asarray(frame.index, dtype=np.int64) if frame.index.name == ROW_INDEX
            else np.arange(2, len(frame) + 2, dtype=np.int64))
    out: list[str] = []
    for col in (c for c in id_columns if c in frame.columns):
        cells = frame[col].astype("string")  # as counted above: " 7" and "7" differ
        shared = cells.duplicated(keep=False).to_numpy() & ~np.asarray(blank_mask(frame[col]))
        if not shared.any():
            continue
        where = pd.Series(rows[shared]).groupby(cells[shared].to_numpy(), sort=False)
        for value, at in where:
            if len(out) == limit:
                return out
            listed = ", ".join(f"{r:,}" for r in at.iloc[:5]) + (", …" if len(at) > 5 else "")
            out.append(f"{col} {value} (rows {listed})")
    return out


def churn_label_series(data: ActiveData) -> pd.Series | None:
    """Return the label of every valid row as text ('churned' / 'stayed' / 'blank'), or None
    (no target, or no value chosen as *churned* yet)."""
    y = data.labels
    if y is None or data.schema.positive_label is None:
        return None
    return pd.Series(np.where(np.isnan(y), "blank", np.where(y == 1, "churned", "stayed")),
                     index=data.validation.valid.index, name="outcome")
