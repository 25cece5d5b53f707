"""The retention target list (CSV / XLSX) and the decision log that goes with it.

Accounting rule: ``rows_in = rows_listed + sum(excluded.values())``, where ``excluded`` maps
a plain-words reason (tier not selected, beyond the contact budget, could not be scored: ...)
to a count. :func:`decision_log` refuses numbers that do not add up.

Formula injection: text cells beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage
return get a leading apostrophe so spreadsheet programs show them as text (OWASP "CSV
Injection" guidance). Cells that are plain numbers (``-12.5``) are not formulas and stay
numbers; columns whose every filled cell is a plain number are written as numbers.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import re
from collections import Counter

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import check_scores
from churn_core.evaluate.thresholds import rank_order
from churn_core.campaign.tiers import DEFAULT_ACTIONS, TIERS, assign_tiers

__all__ = [
    "REASON_COLUMNS",
    "build_target_list",
    "neutralise_formulas",
    "neutralise_arrow_table",
    "coerce_numeric_text",
    "to_csv_bytes",
    "to_xlsx_bytes",
    "decision_log",
    "decision_log_json",
    "export_filename",
]

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_BODY = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_NUMBER = re.compile(r"^\s*" + _NUMBER_BODY + r"\s*$")


def _is_text_column(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


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
        if not _is_text_column(s):
            continue
        text = s.astype("str").str.strip().where(s.notna(), "")
        filled = text[text != ""]
        if not len(filled):
            continue
        nums = pd.to_numeric(filled, errors="coerce")
        if nums.isna().any() or not np.isfinite(nums.to_numpy(dtype=float)).all():
            continue  # some cell is not a number: a text column
        if not filled.str.fullmatch(_NUMBER_BODY).all():
            continue  # e.g. "1_000" parsed by Python but not a plain number
        codes = filled.str.match(r"[+-]?0\d") | (filled.str.count(r"\d") > 15)
        if codes.any():
            continue  # "0123", long IDs: identifiers, keep as text
        out[c] = pd.to_numeric(text.where(text != ""), errors="coerce")
    return out


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame
        A copy where every text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
        return (and not a plain number such as ``-12.5``) becomes ``"'" + cell``; numeric
        columns and all other cells are unchanged. Column names are treated the same way.

    Notes
    -----
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).
    """
    fix = _neutralise_text
    out = df.copy()
    for c in out.columns:
        if _is_text_column(out[c]):
            out[c] = out[c].map(fix, na_action="ignore").astype(object)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def neutralise_arrow_table(table, skip=()):
    """Arrow twin of :func:`neutralise_formulas`, for CSV files written in a stream.

    Parameters
    ----------
    table : pyarrow.Table
    skip : collection of str, default ()
        Columns known to hold only numbers or blanks (e.g. numeric features of validated,
        scored rows): not scanned (a number is never neutralised).

    Returns
    -------
    pyarrow.Table
        The same table where every text cell (and column name) starting with ``=``, ``+``,
        ``-``, ``@``, tab or carriage return, and not a plain number, gets a leading
        apostrophe; other columns (including dictionary-encoded ones) are untouched.

    Notes
    -----
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).

    A text column is first screened by the first byte of each cell, read from the Arrow
    buffers with NumPy (:func:`_may_start_formula`, about 0.1 ms per 100,000 cells); only a
    column where some cell starts with one of those characters goes through the exact
    ``pyarrow.compute`` regex checks (which spare plain numbers such as ``-12.5``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, col in zip(table.column_names, table.columns):
        if name not in skip and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            if not _may_start_formula(col):  # the usual case: no cell starts with = + - @ TAB CR
                columns.append(col)
                continue
            starts = pc.match_substring_regex(col, r"^[=+\-@\t\r]")
            if not pc.any(starts).as_py():  # (the screen above already said some cell does)
                columns.append(col)
                continue
            risky = pc.and_(starts, pc.invert(pc.match_substring_regex(col, _NUMBER.pattern)))
            if pc.any(risky).as_py():
                quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)
                col = pc.if_else(risky, pc.binary_join_element_wise(quote, col, empty), col)
        columns.append(col)
    names = [_neutralise_text(str(c)) for c in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


#: ``_FORMULA_START`` as UTF-8 bytes (all ASCII).
_FORMULA_BYTES = tuple(ord(c) for c in _FORMULA_START)


def _may_start_formula(col) -> bool:
    """Whether some non-null cell of a string / large_string Array or ChunkedArray starts
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return.

    Reads the first byte of every non-empty cell straight from the Arrow buffers (offsets:
    int32 for string, int64 for large_string, from the array's ``offset``; data: UTF-8
    bytes). An ASCII byte never occurs inside a multi-byte UTF-8 character, so a cell starts
    with one of those characters exactly when its first byte is that character. Null cells
    are masked out with the validity bitmap (only when a candidate is found).

    Returns
    -------
    bool
        True exactly when some non-null cell starts with one of them (as the regex check in
        :func:`neutralise_arrow_table` would find).
    """
    for chunk in getattr(col, "chunks", (col,)):
        n = len(chunk)
        if n == 0 or chunk.null_count == n:
            continue
        buffers = arrow_string_buffers(chunk)
        if buffers is None:
            continue  # every cell empty (or null)
        offsets, data = buffers
        starts = offsets[:-1]
        # mode="clip": an empty cell at the very end may start at len(data); it is masked below
        first = data.take(starts, mode="clip")
        hit = first == _FORMULA_BYTES[0]  # six SIMD compares: faster than a lookup table
        for b in _FORMULA_BYTES[1:]:
            hit |= first == b
        if not hit.any():
            continue
        hit &= offsets[1:] > starts  # empty cells have no first character
        if chunk.null_count:
            hit &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if hit.any():
            return True
    return False


def arrow_string_buffers(chunk) -> tuple[np.ndarray, np.ndarray] | None:
    """NumPy views of a string / large_string Arrow array's offsets and UTF-8 bytes.

    Parameters
    ----------
    chunk : pyarrow.Array
        One string or large_string array (a chunk of a ChunkedArray), possibly sliced.

    Returns
    -------
    offsets : ndarray of shape (len(chunk) + 1,), int32 or int64
        Cell ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (the array's ``offset`` applied).
    data : ndarray of uint8
        The whole data buffer (zero-copy).
    None
        When the array holds no bytes (every cell empty or null).
    """
    import pyarrow as pa

    _, offsets_buf, data_buf = chunk.buffers()[:3]
    if offsets_buf is None or data_buf is None or data_buf.size == 0:
        return None
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width, count=chunk.offset + len(chunk) + 1)[chunk.offset:]
    return offsets, np.frombuffer(data_buf, dtype=np.uint8)


def _neutralise_text(v):
    """``"'" + v`` when ``v`` is text a spreadsheet would run as a formula, else ``v``."""
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.match(v):
        return "'" + v
    return v


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
        ``reason_1..3`` per scored customer (from :func:`churn_core.explain.shap_values.reason_codes`),
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
    from churn_core.errors import MissingColumnsError

    id_columns = list(id_columns or [])
    extra_columns = [c for c in (extra_columns or []) if c not in id_columns]
    need = id_columns + extra_columns + ["churn_probability"]
    if isinstance(value, str):
        need.append(value)
    missing = [c for c in need if c not in scored.columns]
    if missing:
        raise MissingColumnsError(missing, "the scored customers")
    include = [str(t) for t in tiers_to_include]
    bad = [t for t in include if t not in TIERS]
    if bad:
        raise ChurnError(f"unknown risk tier(s) {bad}; use {', '.join(TIERS)}")
    p = check_scores(scored["churn_probability"].to_numpy())
    tiers = (scored["risk_tier"].to_numpy(dtype=object) if "risk_tier" in scored.columns
             else assign_tiers(p, cutoffs))
    acts = {**DEFAULT_ACTIONS, **(actions or {})}

    out = scored[id_columns + extra_columns].copy()
    out["churn_probability"] = p
    out["risk_tier"] = tiers
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
        out["expected_value"] = p * float(success_rate) * v - float(cost_per_contact)
    out["recommended_action"] = [acts.get(t, "") for t in tiers]

    order = rank_order(p)
    out = out.iloc[order]
    excluded: Counter = Counter()
    keep = out["risk_tier"].isin(include).to_numpy()
    for t, n in Counter(out["risk_tier"][~keep]).items():
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
    out.insert(out.columns.get_loc("risk_tier") + 1, "rank", np.arange(1, len(out) + 1))
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
        Apply :func:`coerce_numeric_text` then :func:`neutralise_formulas`.
    excel_bom : bool, default True
        Start with a UTF-8 byte-order mark so Excel shows accents right (pandas and most
        readers ignore it).

    Returns
    -------
    bytes
    """
    out = neutralise_formulas(coerce_numeric_text(df)) if neutralise else df
    text = out.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig" if excel_bom else "utf-8")


def _log_rows(log: dict) -> pd.DataFrame:
    """Flatten a decision log into (item, value) rows for a sheet."""
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
    return pd.DataFrame(rows, columns=["item", "value"])


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
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        neutralise_formulas(coerce_numeric_text(df)).to_excel(xw, sheet_name=sheet_name,
                                                              index=False)
        if decision_log is not None:
            neutralise_formulas(_log_rows(decision_log)).to_excel(
                xw, sheet_name="decision_log", index=False)
    return buf.getvalue()


def decision_log(model_name: str, fingerprint: str | None, strategy: str, threshold: float,
                 cost_assumptions: dict | None, tier_cutoffs: dict | None, rows_in: int,
                 rows_listed: int, excluded: dict, *, tiers_included=None,
                 actions: dict | None = None, threshold_explanation: str | None = None,
                 created_at: str | None = None, extra: dict | None = None,
                 drift: dict | None = None) -> dict:
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
    json.dumps(log)  # fail here, not at download time, if something is not JSON-ready
    return log


def decision_log_json(log: dict) -> bytes:
    """The decision log as a companion ``.json`` file (UTF-8, indented)."""
    return json.dumps(log, indent=2, ensure_ascii=False).encode("utf-8")


def export_filename(model_name: str, threshold: float, date=None, ext: str = "csv") -> str:
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
    return f"retention_targets_{name}_{d}_t{float(threshold):.2f}.{ext}"
