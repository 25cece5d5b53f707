"""A model measured on a labelled customer file: ONE function for the CLI and the app.

``python -m churn_core evaluate --model M --data F`` and the dashboard's "measured on your
file" figures both call :func:`measure_frame`, so they cannot disagree. Besides the metrics it
says whether the file overlaps the customers the model learned from (same file bytes, or
customer IDs of the model's training / validation rows): figures on such customers are
optimistic.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError


@dataclass
class FileMeasure:
    """Quality of one model on one labelled file.

    Attributes
    ----------
    source : str
        File name.
    model : str
        Model name.
    rows_in, n_evaluated, n_rejected : int
        Rows in the file = rows evaluated + rows rejected (blank or unknown label, bad cells).
    report : dict
        :meth:`churn_core.evaluate.metrics.EvaluationReport.to_dict` (``n``, ``base_rate``,
        ``roc_auc``, ``pr_auc``, ``brier``, ``at_threshold``).
    target, positive_label : str
        The column and value counted as churned in this file.
    y, p : ndarray of shape (n_evaluated,)
        Labels (0/1) and calibrated churn probabilities in [0, 1].
    same_file : bool
        The file's SHA-256 equals the model's training file's.
    shared_ids : int
        Evaluated customers whose ID is one of the model's training or validation customers
        (0 when the model recorded no IDs).
    id_column : str or None
        The ID column compared.
    duplicate_ids : dict
        ``{column: rows}`` sharing an ID value in this file.
    rejected : DataFrame
        The rejected rows: their cells as read, ``source_row`` and ``reason``.
    rejected_reasons : dict
        ``{kind: rows}`` of the rejected rows (``"Churn: unknown label": 72``).
    """

    source: str
    model: str
    rows_in: int
    n_evaluated: int
    n_rejected: int
    report: dict
    target: str
    positive_label: str
    y: np.ndarray = field(repr=False, default=None)
    p: np.ndarray = field(repr=False, default=None)
    same_file: bool = False
    shared_ids: int = 0
    id_column: str | None = None
    duplicate_ids: dict = field(default_factory=dict)
    rejected: pd.DataFrame | None = field(repr=False, default=None)
    rejected_reasons: dict = field(default_factory=dict)

    @property
    def overlaps_training(self) -> bool:
        """True when some evaluated customers were used to fit the model (optimistic figures)."""
        return bool(self.same_file or self.shared_ids)

    @property
    def roc_auc(self) -> float:
        """ROC-AUC on this file (NaN with one class)."""
        v = self.report.get("roc_auc")
        return float("nan") if v is None else float(v)

    @property
    def pr_auc(self) -> float:
        """PR-AUC (average precision) on this file (NaN with one class)."""
        v = self.report.get("pr_auc")
        return float("nan") if v is None else float(v)


def with_positive_label(df: pd.DataFrame, schema, label: str, source: str):
    """A copy of ``schema`` whose churned value is ``label``, checked against the file's target.

    The other value becomes the negative label when the column holds exactly two; with more,
    the one value naming the opposite (``No`` next to ``Yes``), and rows with a value that is
    neither churned nor not churned are rejected with that reason, as in training
    (:func:`churn_core.data.infer.negative_label_for`).

    Raises
    ------
    ChurnError
        When ``label`` is not a value of the file's target column.
    """
    from churn_core.data.infer import column_labels, negative_label_for
    from churn_core.data.validate import label_text, match_columns

    col = match_columns(df.columns, [schema.target]).get(schema.target)
    if col is None:  # validate() names the missing target column with the file's columns
        return dataclasses.replace(schema, positive_label=label_text(label) or label, negative_label=None)
    want = label_text(label)
    values = column_labels(df, col)
    match = [v for v in values if want is not None and v.casefold() == want.casefold()]
    if not match:
        found = (f"values found: {', '.join(map(repr, values[:10]))}{', ...' if len(values) > 10 else ''}"
                 if values else "the column is blank in every row")
        raise ChurnError(f"{source}: --positive-label {label!r} is not a value of column "
                         f"{schema.target!r} ({found})")
    return dataclasses.replace(schema, positive_label=match[0],
                               negative_label=negative_label_for(values, match[0]))


def training_ids(bundle) -> tuple[str | None, set]:
    """(ID column, ID texts) of the customers a bundle was fitted on (training + validation).

    Returns
    -------
    (str or None, set of str)
        ``(None, set())`` when the bundle recorded no IDs (bundles saved before they were
        recorded, or a file without an ID column) or recorded a row counter such as
        ``RowNumber`` (two files numbered 1, 2, 3 ... share no customers).
    """
    from churn_core.model.ranges import row_number_like

    ev = getattr(bundle, "evaluation", None) or {}
    col = (getattr(bundle, "card", None) or {}).get("id_column")
    if col is None or row_number_like(col):  # older bundles recorded a row counter
        return None, set()
    ids = set()
    for part in ("train", "validation"):
        ids.update(str(v) for v in (ev.get(part) or {}).get("ids") or [])
    return (col, ids) if col and ids else (None, set())


def measure_frame(bundle, df: pd.DataFrame, source: str, threshold: float | None = None,
                  positive_label: str | None = None, data_sha256: str | None = None) -> FileMeasure:
    """Measure ``bundle`` on the labelled rows of a customer table.

    Parameters
    ----------
    bundle : ModelBundle
    df : DataFrame of shape (n_rows, n_columns)
        As read by :func:`churn_core.io.reader.read_table` (text cells).
    source : str
        File name for messages.
    threshold : float in [0, 1], optional
        Decision threshold of ``report["at_threshold"]`` (default: the bundle's).
    positive_label : str, optional
        Value of the model's target column meaning churned in this file (default: the
        model's); see :func:`with_positive_label`.
    data_sha256 : str, optional
        SHA-256 of the file's bytes, compared with the model card's ``data_sha256``.

    Returns
    -------
    FileMeasure
        ``report`` from :func:`churn_core.evaluate.metrics.evaluate` on the valid rows
        (sklearn ``roc_auc_score`` and ``average_precision_score``).

    Raises
    ------
    ChurnError
        No target in the model, a file without rows or without valid labelled rows, a
        positive label that is not a value of the column, or missing columns
        (``MissingColumnsError``).
    """
    from churn_core.data.validate import validate
    from churn_core.evaluate.metrics import evaluate

    name = getattr(bundle, "name", "model")
    if bundle.schema.target is None:
        raise ChurnError(f"model {name!r} has no target column to evaluate against")
    if len(df) == 0:
        raise ChurnError(f"{source}: the file has a header but no customer rows; metrics "
                         f"need labelled customers")
    schema = bundle.schema
    if positive_label is not None:
        schema = with_positive_label(df, schema, positive_label, source)
    res = validate(df, schema, require_target=True, source_name=source)
    if len(res.valid) == 0:
        why = f"; first: {res.rejected['reason'].iloc[0]}" if len(res.rejected) else ""
        hint = ("; if another value means churned in this file, name it with --positive-label"
                if positive_label is None and any(k.endswith("unknown label")
                                                  for k in res.report.rejected_reasons) else "")
        raise ChurnError(f"{source}: no valid rows to evaluate ({len(res.rejected)} of {len(df)} "
                         f"rows rejected{why}){hint}")
    thr = bundle.default_threshold if threshold is None else float(threshold)
    p = bundle.predict_proba(res.valid)
    y = np.asarray(res.y, dtype=np.int64)
    card = getattr(bundle, "card", None) or {}
    same = data_sha256 is not None and data_sha256 == card.get("data_sha256")
    id_col, ids = training_ids(bundle)
    shared = 0
    if ids and id_col in res.valid.columns:
        from churn_core.data.validate import label_text

        keys = res.valid[id_col].map(lambda v: label_text(v) or "")
        shared = int(keys.isin(ids).sum())
    return FileMeasure(source=source, model=name, rows_in=int(len(df)),
                       n_evaluated=int(len(res.valid)), n_rejected=int(len(res.rejected)),
                       report=evaluate(y, p, thr).to_dict(), target=schema.target,
                       positive_label=schema.positive_label, y=y, p=np.asarray(p, float),
                       same_file=bool(same), shared_ids=shared, id_column=id_col if ids else None,
                       duplicate_ids=dict(res.report.duplicate_ids), rejected=res.rejected,
                       rejected_reasons=dict(res.report.rejected_reasons))
