"""Downloads: retention target list, decision log, rejected rows (glue over ``export``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_core.campaign import export as E
from churn_core.campaign.export import (build_target_list, decision_log, export_filename)
from churn_core.columns import TIER
from churn_core.errors import ChurnError
from churn_core.io.writer import csv_bytes
from churn_core.workbench.drift import batch_drift, drift_log
from churn_core.workbench.scores import Scores


def rejected_csv_bytes(rejected: pd.DataFrame) -> bytes:
    """Rejected rows (original cells, ``source_row``, ``reason``) as UTF-8 CSV bytes, through
    the shared writer (spreadsheet formulas neutralised, cells with line breaks quoted)."""
    return csv_bytes(rejected, excel_bom=False)


@dataclass
class ExportContext:
    """Everything one retention-target-list download needs (built once per render; the
    bytes are produced only when the analyst clicks).

    Attributes
    ----------
    bundle : ModelBundle
    scores : Scores
    tiers : ndarray of shape (n_scored,)
    reasons : DataFrame of shape (n_scored, 3) or None
    chosen_tiers : list of str
    threshold : float
    cutoffs : dict
    actions : dict
    mode : str
        How tiers were made ("probability cutoffs" / "capacity (top N)").
    strategy : dict or None
        The threshold strategy (``ThresholdChoice.to_dict()``) when one was applied.
    """

    bundle: Any
    scores: Scores
    tiers: np.ndarray
    reasons: pd.DataFrame | None
    chosen_tiers: list
    threshold: float
    cutoffs: dict
    actions: dict
    mode: str = "probability cutoffs"
    strategy: dict | None = None
    value: Any = None
    success_rate: float = 1.0
    cost_per_contact: float = 0.0
    capacity: dict | None = None


def target_list(ctx: ExportContext) -> pd.DataFrame:
    """The retention target list of ``ctx`` (``export.build_target_list``).

    Returns
    -------
    DataFrame
        ID columns, personal columns, ``churn_probability``, ``risk_tier``, ``rank``,
        ``reason_1..3`` (blank when ``ctx.reasons`` is None), ``expected_value`` (when a
        value is set), ``recommended_action``;
        ``attrs["rows_in"] == len(list) + sum(attrs["excluded"].values())``.
    """

    schema = ctx.bundle.schema
    scored = ctx.scores.scored.copy()
    scored[TIER] = np.asarray(ctx.tiers, dtype=object)
    ids = [c for c in schema.id_columns if c in scored.columns]
    extra = [c for c in schema.personal_columns if c in scored.columns]
    # reason columns are always in the file (blank until reason codes are computed), so
    # the list has the same columns whether or not SHAP has run
    reasons = ctx.reasons if ctx.reasons is not None else pd.DataFrame(index=scored.index)
    return build_target_list(scored, ids, ctx.chosen_tiers, actions=ctx.actions,
                             reasons=reasons, value=ctx.value,
                             success_rate=ctx.success_rate,
                             cost_per_contact=ctx.cost_per_contact, extra_columns=extra,
                             rejected=ctx.scores.rejected)


def _strategy(ctx: ExportContext) -> tuple[str, str | None, dict]:
    """(strategy name, explanation, cost assumptions) of the threshold in use."""
    s = ctx.strategy or {}
    if s and abs(float(s.get("threshold", -1)) - float(ctx.threshold)) < 1e-6:
        params = dict(s.get("params") or {})
        return str(s.get("strategy", "manual")), s.get("explanation"), params
    return "manual", "Set with the decision-threshold slider.", {}


def export_log(ctx: ExportContext, listed: pd.DataFrame) -> dict:
    """Decision log of one target list (``export.decision_log``)."""

    name, why, costs = _strategy(ctx)
    if ctx.value is not None:
        costs.update({"value_of_retained_customer": ctx.value if np.ndim(ctx.value) == 0
                      and not isinstance(ctx.value, str) else str(ctx.value),
                      "offer_success_rate": ctx.success_rate,
                      "cost_per_contact": ctx.cost_per_contact})
    tiers = dict(ctx.cutoffs) if not ctx.mode.startswith("capacity") else \
        {"by": "capacity", **(ctx.capacity or {})}
    card = getattr(ctx.bundle, "card", {}) or {}
    return decision_log(ctx.bundle.name, card.get("data_sha256"), name, ctx.threshold,
                        costs, tiers, listed.attrs["rows_in"], len(listed),
                        listed.attrs["excluded"], tiers_included=ctx.chosen_tiers,
                        actions=ctx.actions, threshold_explanation=why,
                        synthetic=_is_synthetic(card), training_data_name=card.get("source"),
                        drift=drift_log(batch_drift(ctx.bundle, ctx.scores)),
                        extra={"scored_file_sha256": ctx.scores.data_sha256,
                               "rows_scored": int(len(ctx.scores.scored)),
                               "rows_rejected": int(len(ctx.scores.rejected))})


def _is_synthetic(card: dict) -> bool:
    from churn_core.model.registry import is_synthetic

    return is_synthetic(card)


def export_bytes(ctx: ExportContext, kind: str) -> bytes:
    """File content of a download: ``"csv"`` (target list), ``"xlsx"`` (target list plus a
    decision_log sheet) or ``"json"`` (decision log).

    Raises
    ------
    ChurnError
        Unknown ``kind`` or an accounting mismatch (``export.decision_log``).
    """

    listed = target_list(ctx)
    if kind == "csv":
        return E.to_csv_bytes(listed)
    log = export_log(ctx, listed)
    if kind == "xlsx":
        return E.to_xlsx_bytes(listed, log)
    if kind == "json":
        return E.decision_log_json(log)
    raise ChurnError(f"unknown export format {kind!r}")


def export_name(ctx: ExportContext, kind: str) -> str:
    """File name carrying model name, date and threshold (``export.export_filename``);
    the decision log gets ``decision_log`` in front."""

    name = export_filename(ctx.bundle.name, ctx.threshold, ext=kind)
    return name.replace("retention_targets_", "decision_log_") if kind == "json" else name
