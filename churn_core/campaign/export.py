"""The retention target list (CSV / XLSX) and the decision log that goes with it.

Accounting rule: ``rows_in = rows_listed + sum(excluded.values())``, where ``excluded`` maps
a plain-words reason (tier not selected, beyond the contact budget, could not be scored: ...)
to a count. :func:`decision_log` refuses numbers that do not add up.

Files are written by the shared writer :mod:`churn_core.io.writer` (formula injection
screened, cells with line breaks quoted); columns whose every filled cell is a plain number
are written as numbers (:func:`coerce_numeric_text`).
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from collections import Counter

import numpy as np
import pandas as pd

from churn_core.campaign.tiers import DEFAULT_ACTIONS, TIERS, assign_tiers
from churn_core.columns import EXPECTED_VALUE, PROBA, RANK, REASON_COLUMNS, TIER
from churn_core.errors import ChurnError, MissingColumnsError
from churn_core.io.writer import NUMBER_BODY, csv_bytes, is_text_column, xlsx_bytes
from churn_core.evaluate.metrics import check_scores
from churn_core.evaluate.thresholds import rank_order

__all__ = [
    "REASON_COLUMNS",
    "build_target_list",
    "coerce_numeric_text",
    "to_csv_bytes",
    "to_xlsx_bytes",
    "decision_log",
    "decision_log_json",
    "export_filename",
]



def coerce_numeric_text(df: pd.DataFrame, columns=None) -> pd.DataFrame:
    """Turn text columns whose every filled cell is a plain number into numeric columns.

    Customer files are read as text (``dtype=str``), so a ``Balance`` of ``"-12.5"`` would
    otherwise be written as text. Blank cells become NaN. Columns holding codes with a
    leading zero (``"0123"``) or more than 15 digits stay text (they are identifiers, and a
    spreadsheet would drop the zero or the precision).

    Parameters
    ----------
    df : DataFrame
    columns : iterable of str, optional
        Columns to consider (default: all text columns).

    Returns
    -------
    DataFrame
        A copy; other columns untouched.
    """
    out = df.copy()
    for c in (out.columns if columns is None else columns):
        s = out[c]
        if not is_text_column(s):
            continue
        text = s.astype("str").str.strip().where(s.notna(), "")
        filled = text[text != ""]
        if not len(filled):
            continue
        nums = pd.to_numeric(filled, errors="coerce")
        if nums.isna().any() or not np.isfinite(nums.to_numpy(dtype=float)).all():
            continue  # some cell is not a number: a text column
        if not filled.str.fullmatch(NUMBER_BODY).all():
            continue  # e.g. "1_000" parsed by Python but not a plain number
        codes = filled.str.match(r"[+-]?0\d") | (filled.str.count(r"\d") > 15)
        if codes.any():
            continue  # "0123", long IDs: identifiers, keep as text
        out[c] = pd.to_numeric(text.where(text != ""), errors="coerce")
    return out


def _aligned(frame_or_values, scored: pd.DataFrame, what: str):
    """Align reasons/values to the scored rows: by index when it matches, else by position."""
    if isinstance(frame_or_values, (pd.DataFrame, pd.Series)):
        if frame_or_values.index.equals(scored.index):
            return frame_or_values
        if len(frame_or_values) == len(scored):
            return frame_or_values.set_axis(scored.index)
        if scored.index.isin(frame_or_values.index).all():
            return frame_or_values.loc[scored.index]
        raise ChurnError(f"{what} has {len(frame_or_values)} rows for {len(scored)} customers")
    arr = np.asarray(frame_or_values)
    if arr.ndim and arr.shape[0] != len(scored):
        raise ChurnError(f"{what} has {arr.shape[0]} rows for {len(scored)} customers")
    return arr


def build_target_list(scored: pd.DataFrame, id_columns, tiers_to_include=("High", "Medium"),
                      actions: dict | None = None, reasons: pd.DataFrame | None = None,
                      value=None, *, success_rate: float = 1.0, cost_per_contact: float = 0.0,
                      cutoffs: dict | None = None, extra_columns=(), max_rows: int | None = None,
                      rejected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build the retention target list: whom to contact, in which order, and why.

    Parameters
    ----------
    scored : DataFrame of shape (n_scored, ...)
        Scored customers with ``churn_probability`` (and ``risk_tier``; computed from
        ``cutoffs`` when absent).
    id_columns : sequence of str
        Customer identifier columns, copied first.
    tiers_to_include : sequence of str, default ("High", "Medium")
        Tiers on the list; customers of other tiers are excluded ("risk tier Low not selected").
    actions : dict, optional
        Recommended action per tier (defaults: :data:`churn_core.campaign.tiers.DEFAULT_ACTIONS`).
    reasons : DataFrame, optional
        ``reason_1..3`` per scored customer (from :func:`churn_core.explain.reasons.reason_codes`),
        aligned by index (or by position when the index differs but lengths match).
    value : float, str or array-like of shape (n_scored,), optional
        Value of keeping each customer: one amount, a column name of ``scored`` (e.g.
        ``"Balance"``) or an array. Adds ``expected_value`` =
        ``churn_probability * success_rate * value - cost_per_contact`` (with the defaults,
        ``churn_probability * value``, the value at risk). Omitted when ``value`` is None.
    success_rate, cost_per_contact : float
        See ``value``.
    cutoffs : dict, optional
        Tier cutoffs when ``scored`` has no ``risk_tier``.
    extra_columns : sequence of str, default ()
        Other columns to carry (e.g. ``Surname`` for the call centre).
    max_rows : int, optional
        Contact budget: customers beyond it are excluded ("beyond the contact budget of N").
    rejected : DataFrame, optional
        Rows that could not be scored (with a ``reason`` column); counted as excluded with
        ``"could not be scored: <reason>"``.

    Returns
    -------
    DataFrame
        Columns: ``id_columns``, ``extra_columns``, ``churn_probability``, ``risk_tier``,
        ``rank`` (1 = highest churn probability; ties by row order), ``reason_1..3`` (when
        ``reasons`` is given), ``expected_value`` (when ``value`` is given),
        ``recommended_action``; sorted by ``rank``.
        ``attrs["rows_in"]`` and ``attrs["excluded"]`` (dict reason -> count) hold the
        accounting for :func:`decision_log`.

    Raises
    ------
    MissingColumnsError
        ID / extra / value columns absent from ``scored``.
    ChurnError
        Unknown tier names, missing probabilities, misaligned reasons or values.
    """

    id_columns = list(id_columns or [])
    extra_columns = [c for c in (extra_columns or []) if c not in id_columns]
    need = id_columns + extra_columns + [PROBA]
    if isinstance(value, str):
        need.append(value)
    missing = [c for c in need if c not in scored.columns]
    if missing:
        raise MissingColumnsError(missing, "the scored customers")
    include = [str(t) for t in tiers_to_include]
    bad = [t for t in include if t not in TIERS]
    if bad:
        raise ChurnError(f"unknown risk tier(s) {bad}; use {', '.join(TIERS)}")
    p = check_scores(scored[PROBA].to_numpy())
    tiers = (scored[TIER].to_numpy(dtype=object) if TIER in scored.columns
             else assign_tiers(p, cutoffs))
    acts = {**DEFAULT_ACTIONS, **(actions or {})}

    out = scored[id_columns + extra_columns].copy()
    out[PROBA] = np.round(p, 3)  # 3 decimals in every export
    out[TIER] = tiers
    if reasons is not None:
        r = _aligned(reasons, scored, "reasons")
        for c in REASON_COLUMNS:
            out[c] = r[c].to_numpy(dtype=object) if c in r.columns else ""
    if value is not None:
        if isinstance(value, str):
            v = scored[value]
        elif np.ndim(value) == 0:
            v = np.full(len(scored), value, dtype=object)
        else:
            v = _aligned(value, scored, "value")
        v = pd.to_numeric(pd.Series(np.asarray(v, dtype=object)), errors="coerce"
                          ).to_numpy(dtype=float)
        if not np.isfinite(v).all():
            first = int(np.flatnonzero(~np.isfinite(v))[0])
            raise ChurnError(f"customer value is missing or not a number for "
                             f"{int((~np.isfinite(v)).sum())} customer(s) (first at row {first})")
        out[EXPECTED_VALUE] = p * float(success_rate) * v - float(cost_per_contact)
    out["recommended_action"] = [acts.get(t, "") for t in tiers]

    order = rank_order(p)
    out = out.iloc[order]
    excluded: Counter = Counter()
    keep = out[TIER].isin(include).to_numpy()
    for t, n in Counter(out[TIER][~keep]).items():
        excluded[f"risk tier {t} not selected"] += int(n)
    out = out[keep]
    if max_rows is not None and len(out) > int(max_rows):
        excluded[f"beyond the contact budget of {int(max_rows)}"] += len(out) - int(max_rows)
        out = out.iloc[: int(max_rows)]
    rows_in = len(scored)
    if rejected is not None and len(rejected):
        reasons_r = (rejected["reason"].astype(str) if "reason" in rejected.columns
                     else pd.Series(["unknown"] * len(rejected)))
        for r, n in Counter(reasons_r).items():
            excluded[f"could not be scored: {r}"] += int(n)
        rows_in += len(rejected)
    out.insert(out.columns.get_loc(TIER) + 1, RANK, np.arange(1, len(out) + 1))
    out = out.reset_index(drop=True)
    out.attrs["rows_in"] = int(rows_in)
    out.attrs["excluded"] = dict(excluded)
    return out


def to_csv_bytes(df: pd.DataFrame, neutralise: bool = True, excel_bom: bool = True) -> bytes:
    """CSV file content for a download button.

    Parameters
    ----------
    df : DataFrame
    neutralise : bool, default True
        Apply :func:`coerce_numeric_text` then
        :func:`churn_core.io.writer.neutralise_formulas`.
    excel_bom : bool, default True
        Start with a UTF-8 byte-order mark so Excel shows accents right (pandas and most
        readers ignore it).

    Returns
    -------
    bytes
    """
    return csv_bytes(coerce_numeric_text(df) if neutralise else df, neutralise=neutralise, excel_bom=excel_bom)


#: Characters one Excel cell holds (Excel specifications and limits).
EXCEL_CELL_CHARS = 32767


def _fit_cell(value):
    """A decision-log value that fits one Excel cell: longer text (e.g. a control group's
    member IDs) is cut, saying where the whole value is."""
    if isinstance(value, str) and len(value) > EXCEL_CELL_CHARS:
        return (f"{value[:1000]} ... ({len(value):,} characters, more than an Excel cell holds: "
                "the whole value is in the decision log JSON)")
    return value


def _log_rows(log: dict) -> pd.DataFrame:
    """Flatten a decision log into (item, value) rows for a sheet (values longer than an
    Excel cell are cut with a note, :func:`_fit_cell`)."""
    rows = []
    for k, v in log.items():
        if isinstance(v, dict):
            if not v:
                rows.append((k, ""))
            for k2, v2 in v.items():
                rows.append((f"{k}: {k2}", v2 if isinstance(v2, (int, float, str)) or v2 is None
                             else json.dumps(v2)))
        elif isinstance(v, (list, tuple)):
            rows.append((k, ", ".join(map(str, v))))
        else:
            rows.append((k, v))
    return pd.DataFrame([(k, _fit_cell(v)) for k, v in rows], columns=["item", "value"])


def to_xlsx_bytes(df: pd.DataFrame, decision_log: dict | None = None,
                  sheet_name: str = "retention_targets") -> bytes:
    """Excel workbook content: the target list, plus a ``decision_log`` sheet.

    Parameters
    ----------
    df : DataFrame
        The target list.
    decision_log : dict, optional
        From :func:`decision_log`; written as item / value rows.
    sheet_name : str, default "retention_targets"

    Returns
    -------
    bytes
        An .xlsx file (openpyxl). Text cells are neutralised; numbers are real numbers.
    """
    sheets = {sheet_name: coerce_numeric_text(df)}
    if decision_log is not None:
        sheets["decision_log"] = _log_rows(decision_log)
    return xlsx_bytes(sheets)


def decision_log(model_name: str, fingerprint: str | None, strategy: str, threshold: float,
                 cost_assumptions: dict | None, tier_cutoffs: dict | None, rows_in: int,
                 rows_listed: int, excluded: dict, *, tiers_included=None,
                 actions: dict | None = None, threshold_explanation: str | None = None,
                 created_at: str | None = None, extra: dict | None = None,
                 campaign: dict | None = None, synthetic: bool | None = None,
                 training_data_name: str | None = None, drift: dict | None = None) -> dict:
    """The record of how a target list was made (JSON-ready).

    Parameters
    ----------
    model_name : str
    fingerprint : str or None
        Training-data SHA-256 from the model card.
    strategy : str
        Threshold strategy name (see :data:`churn_core.evaluate.thresholds.STRATEGIES`).
    threshold : float
        Decision threshold.
    cost_assumptions : dict or None
        e.g. ``{"value": ..., "cost_per_contact": ..., "success_rate": ..., "budget": ...}``.
    tier_cutoffs : dict or None
        ``{"high": .., "medium": ..}`` or a capacity description.
    rows_in, rows_listed : int
    excluded : dict of str to int
        Reason -> number of customers left off the list.
    tiers_included, actions, threshold_explanation, extra : optional
        Also recorded.
    created_at : str, optional
        ISO time; default now (UTC).
    campaign : dict, optional
        The control-group record of :func:`churn_core.campaign.control.assign_control_group`
        (campaign ID, seed, members), read back by ``campaign-results``.
    synthetic : bool, optional
        Whether the model was trained on the shipped synthetic sample (recorded as
        ``model_synthetic``; a list made by a synthetic model must say so).
    training_data_name : str, optional
        The model's training file name (from its card).
    drift : dict, optional
        The scored file's drift against the training data (e.g.
        ``DriftReport.summary()``: overall verdict, the columns behind it, PSI per column),
        recorded under ``"drift"`` so the list says whether its customers looked like the
        model's training data.

    Returns
    -------
    dict

    Raises
    ------
    ChurnError
        When ``rows_in != rows_listed + sum(excluded)``.
    """
    excluded = {str(k): int(v) for k, v in (excluded or {}).items()}
    if int(rows_in) != int(rows_listed) + sum(excluded.values()):
        raise ChurnError(
            f"row accounting does not add up: {rows_in} rows in, {rows_listed} listed, "
            f"{sum(excluded.values())} excluded")
    log = {
        "created_at": created_at or _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"),
        "model_name": str(model_name),
        "model_synthetic": None if synthetic is None else bool(synthetic),
        "training_data_name": training_data_name,
        "training_data_sha256": fingerprint,
        "threshold_strategy": str(strategy),
        "decision_threshold": float(threshold),
        "threshold_explanation": threshold_explanation,
        "cost_assumptions": dict(cost_assumptions or {}),
        "tier_cutoffs": dict(tier_cutoffs or {}),
        "tiers_included": list(tiers_included) if tiers_included is not None else None,
        "recommended_actions": dict(actions) if actions else None,
        "rows_in": int(rows_in),
        "rows_listed": int(rows_listed),
        "rows_excluded": int(sum(excluded.values())),
        "excluded": excluded,
    }
    if drift is not None:
        log["drift"] = dict(drift)
    if extra:
        log["extra"] = dict(extra)
    if campaign:
        log["campaign"] = dict(campaign)
    json.dumps(log)  # fail here, not at download time, if something is not JSON-ready
    return log


def decision_log_json(log: dict) -> bytes:
    """The decision log as a companion ``.json`` file (UTF-8, indented)."""
    return json.dumps(log, indent=2, ensure_ascii=False).encode("utf-8")


def export_filename(model_name: str, threshold: float, date=None, ext: str = "csv",
                    tag: str | None = None) -> str:
    """A safe, descriptive file name for a target list.

    Parameters
    ----------
    model_name : str
        Sanitised: anything other than letters, digits, ``-`` and ``_`` becomes ``_``
        (no path separators, no ``..``), at most 40 characters; empty gives ``"model"``.
    threshold : float
        Written with two decimals.
    date : datetime.date or str, optional
        Default today.
    ext : {"csv", "xlsx", "json"}, default "csv"
    tag : str, optional
        The campaign rule's tag (``CampaignRule.file_tag()``: ``budget500``, ``high-tier``,
        ``t0.35`` ...), written instead of the threshold.

    Returns
    -------
    str
        e.g. ``retention_targets_default_2026-11-29_t0.42.csv``.
    """
    ext = str(ext).lstrip(".").lower()
    if ext not in ("csv", "xlsx", "json"):
        raise ChurnError(f"export format must be csv, xlsx or json, got {ext!r}")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(model_name)).strip("_-")[:40] or "model"
    if date is None:
        date = _dt.date.today()
    d = date if isinstance(date, str) else date.strftime("%Y-%m-%d")
    d = re.sub(r"[^0-9-]", "", d)[:10]
    rule = (re.sub(r"[^A-Za-z0-9.-]+", "_", str(tag)).strip("._-")[:40] if tag
            else f"t{float(threshold):.2f}")
    return f"retention_targets_{name}_{d}_{rule}.{ext}"
