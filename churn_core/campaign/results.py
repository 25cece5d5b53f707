"""Campaign results: did the calls keep customers? Called group vs control group, per risk tier.

Input: the campaign record of a target list (``campaign`` in its decision log, see
:func:`churn_core.campaign.control.assign_control_group`) and the outcomes file the team sends
back (customer ID, churned yes/no after N days; optionally contacted yes/no and offer
accepted). Every outcome row is accounted for: rows in = matched + unmatched + rejected.

Analysis is *intent to treat*: a customer counts in the group the list assigned, whether or
not the call got through (the ``contacted`` column is reported, not used to regroup), because
regrouping by who answered compares different kinds of customers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.campaign.tiers import TIERS
from churn_core.data.flags import binary_codes
from churn_core.data.validate import match_columns
from churn_core.errors import ChurnError, SchemaError
from churn_core.evaluate.uplift import rate_difference
from churn_core.io.reader import ROW_INDEX

OUTCOME_NAMES = ("churned", "churn", "exited", "left", "attrition", "outcome")
CONTACTED_NAMES = ("contacted", "called", "reached")
ACCEPTED_NAMES = ("offer_accepted", "accepted")
METHOD = ("95 % interval of the difference of two churn rates: Newcombe's hybrid score "
          "interval (method 10, Newcombe 1998), via statsmodels")


@dataclass
class CampaignResults:
    """What a campaign achieved.

    Attributes
    ----------
    table : DataFrame
        One row per risk tier and one ``All`` row: ``called``, ``control``,
        ``churn_rate_called``, ``churn_rate_control``, ``uplift`` (control minus called rate:
        churn prevented per called customer), ``ci_low``, ``ci_high`` (95 %),
        ``customers_saved`` (uplift x called), ``value_saved``, ``cost``, ``net_value``.
    report : dict
        Row accounting (``rows_in``, ``matched``, ``unmatched``, ``rejected``,
        ``rejected_reasons``), ``listed_without_outcome``, contact counts, method, assumptions.
    unmatched, rejected : DataFrame
        Outcome rows whose ID is on no list, and rows that could not be used (with ``reason``).
    """

    table: pd.DataFrame
    report: dict
    unmatched: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)


def _find(columns, wanted, given, what) -> str | None:
    if given:
        found = match_columns(columns, [given])
        if given not in found:
            raise SchemaError(f"the outcomes file has no column {given!r} ({what}); it has "
                              f"{', '.join(map(str, columns))}")
        return found[given]
    found = match_columns(columns, list(wanted))
    return next((found[w] for w in wanted if w in found), None)


def campaign_results(campaign: dict, outcomes: pd.DataFrame, *, id_column: str | None = None,
                     outcome_column: str | None = None, contacted_column: str | None = None,
                     value_per_customer: float = 0.0, cost_per_contact: float = 0.0,
                     currency: str = "", source_name: str | None = None) -> CampaignResults:
    """Measure a campaign against its control group.

    Parameters
    ----------
    campaign : dict
        The ``campaign`` record of the list's decision log (needs ``members`` with
        ``id_column``, ``ids``, ``group`` and ``stratum``).
    outcomes : DataFrame of shape (n_rows, n_columns)
        As read by :func:`churn_core.io.reader.read_table`: an ID column, an outcome column
        (churned yes/no, 1/0, true/false), optionally ``contacted``.
    id_column, outcome_column, contacted_column : str, optional
        Column names; default the campaign's ID column and the first of
        :data:`OUTCOME_NAMES` / :data:`CONTACTED_NAMES` found.
    value_per_customer : float, default 0.0
        Value of keeping one customer, in ``currency``.
    cost_per_contact : float, default 0.0
        Cost of one call (counted for every called customer, or for those marked contacted
        when the file says so).
    currency : str, default ""
    source_name : str, optional
        File name for messages.

    Returns
    -------
    CampaignResults

    Raises
    ------
    ChurnError
        The campaign record has no members (a list made without a control group).
    SchemaError
        When the ID or outcome column cannot be found.
    """
    members = (campaign or {}).get("members")
    if not members or not members.get("ids"):
        raise ChurnError("this decision log has no campaign record: build the list with a "
                         "control group to measure it later")
    source = source_name or "the outcomes file"
    id_col = _find(outcomes.columns, [members["id_column"]], id_column, "customer ID")
    if id_col is None:
        raise SchemaError(f"{source}: no column {members['id_column']!r} (the list's customer ID); "
                          f"columns are {', '.join(map(str, outcomes.columns))}")
    y_col = _find(outcomes.columns, OUTCOME_NAMES, outcome_column, "churned yes/no")
    if y_col is None:
        raise SchemaError(f"{source}: no outcome column (one of {', '.join(OUTCOME_NAMES)}); "
                          "name it with --outcome-column")
    c_col = _find(outcomes.columns, CONTACTED_NAMES, contacted_column, "contacted yes/no")

    listed = pd.DataFrame({"id": [str(v).strip() for v in members["ids"]],
                           "group": members["group"], "stratum": members["stratum"]})
    groups_per_id = listed.groupby("id")["group"].nunique()
    both = set(groups_per_id.index[groups_per_id > 1])
    listed = listed.drop_duplicates("id")

    rows = outcomes.copy()
    if ROW_INDEX not in rows.columns:
        rows.insert(0, ROW_INDEX, rows.index if rows.index.name == ROW_INDEX
                    else np.arange(2, len(rows) + 2))
    ids = rows[id_col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                           else str(v).strip())
    ids, zeros = restore_leading_zeros(ids, listed["id"])
    y, y_bad = binary_codes(rows[y_col])
    reason = pd.Series("", index=rows.index, dtype=object)
    reason[ids == ""] = f"blank customer ID ({id_col})"
    counts = ids[ids != ""].value_counts()
    dup = ids.isin(counts.index[counts > 1]) & (reason == "")
    reason[dup] = "customer ID appears more than once in the outcomes file"
    reason[ids.isin(both) & (reason == "")] = "customer is in both the called and the control group"
    reason[y_bad & (reason == "")] = f"outcome ({y_col}) is not yes/no, 1/0 or true/false"
    on_list = ids.isin(set(listed["id"]))
    is_rejected = (reason != "").to_numpy()
    is_unmatched = (~is_rejected) & (~on_list.to_numpy())
    matched = ~is_rejected & ~is_unmatched

    m = pd.DataFrame({"id": ids[matched].to_numpy(), "y": y[matched]}).merge(listed, on="id", how="left")
    contacted = None
    if c_col is not None:
        c, c_bad = binary_codes(rows[c_col])
        contacted = pd.Series(c[matched], index=m.index)
    seen = list(dict.fromkeys(members["stratum"]))  # risk tiers High, Medium, Low first
    strata = [s for s in TIERS if s in seen] + [s for s in seen if s not in TIERS]
    table = [_row(str(s), m[m["stratum"] == s], contacted, value_per_customer, cost_per_contact)
             for s in strata]
    table.append(_row("All", m, contacted, value_per_customer, cost_per_contact))
    table = pd.DataFrame(table)

    got = set(m["id"])
    missing = listed[~listed["id"].isin(got)]
    rej = rows[is_rejected].assign(reason=reason[is_rejected].to_numpy())
    report = {
        "campaign_id": campaign.get("campaign_id"), "source": source_name,
        "rows_in": int(len(rows)), "matched": int(matched.sum()),
        "unmatched": int(is_unmatched.sum()), "rejected": int(is_rejected.sum()),
        "rejected_reasons": {str(k): int(v) for k, v in rej["reason"].value_counts().items()},
        "listed_without_outcome": {g: int((missing["group"] == g).sum())
                                   for g in ("treatment", "control")},
        "customers_in_both_groups": len(both),
        "ids_matched_by_leading_zeros": zeros["count"],
        "notes": [zeros["note"]] if zeros["count"] else [],
        "analysis": "intent to treat: each customer counts in the group the list assigned",
        "method": METHOD,
        "assumptions": {"value_per_customer": float(value_per_customer),
                        "cost_per_contact": float(cost_per_contact), "currency": currency},
    }
    if contacted is not None:
        g = m["group"].to_numpy()
        cv = contacted.to_numpy()
        report["control_contacted"] = int(((g == "control") & (cv == 1)).sum())
        report["called_not_reached"] = int(((g == "treatment") & (cv == 0)).sum())
    assert report["rows_in"] == report["matched"] + report["unmatched"] + report["rejected"]
    return CampaignResults(table, report, rows[is_unmatched], rej)


def restore_leading_zeros(ids: pd.Series, listed_ids) -> tuple[pd.Series, dict]:
    """Give outcome IDs that lost their leading zeros (Excel re-saved ``00036`` as ``36``)
    the list's spelling.

    Only IDs of digits that match no list ID exactly are changed, and only when they equal
    exactly one list ID once leading zeros are stripped on both sides.

    Parameters
    ----------
    ids : Series of str
        The outcome file's customer IDs (stripped text, ``""`` for blank).
    listed_ids : iterable of str
        The list's customer IDs.

    Returns
    -------
    ids : Series of str
        ``ids`` with the restored ones replaced by the list's ID.
    zeros : dict
        ``count`` (IDs changed), ``example`` (``(outcome ID, list ID)`` or None) and ``note``,
        e.g. ``"300 outcome IDs matched once leading zeros were restored (36 -> 00036): the
        file was probably re-saved by Excel"`` (empty when none).
    """
    listed = pd.Series(list(listed_ids), dtype=object).astype(str)
    known = set(listed)
    digits = listed[listed.str.fullmatch(r"\d+")]
    stripped = digits.str.lstrip("0").replace("", "0")
    unique = stripped.value_counts()
    by_key = dict(zip(stripped[stripped.isin(unique.index[unique == 1])],
                      digits[stripped.isin(unique.index[unique == 1])]))
    candidates = ids[ids.str.fullmatch(r"\d+") & ~ids.isin(known)]
    keys = candidates.str.lstrip("0").replace("", "0")
    found = keys.map(by_key).dropna()
    if found.empty:
        return ids, {"count": 0, "example": None, "note": ""}
    out = ids.copy()
    out.loc[found.index] = found
    first = found.index[0]
    before, after = str(ids.loc[first]), str(found.loc[first])
    how = "restored" if len(after) > len(before) else "ignored"
    note = (f"{len(found):,} outcome IDs matched once leading zeros were {how} ({before} -> "
            f"{after}): the file was probably re-saved by Excel")
    return out, {"count": int(len(found)), "example": (before, after), "note": note}


def _row(label: str, m: pd.DataFrame, contacted, value: float, cost: float) -> dict:
    t = m["group"] == "treatment"
    c = m["group"] == "control"
    d = rate_difference(int(m.loc[t, "y"].sum()), int(t.sum()), int(m.loc[c, "y"].sum()), int(c.sum()))
    called = int(t.sum())
    if contacted is not None:
        n_cost = int(((contacted.loc[m.index] == 1) & t).sum())
    else:
        n_cost = called
    saved = d.uplift * called if np.isfinite(d.uplift) else float("nan")
    return {"risk_tier": label, "called": called, "control": int(c.sum()),
            "churn_rate_called": d.rate_called, "churn_rate_control": d.rate_control,
            "uplift": d.uplift, "ci_low": d.low, "ci_high": d.high,
            "customers_saved": saved, "value_saved": saved * float(value),
            "cost": n_cost * float(cost), "net_value": saved * float(value) - n_cost * float(cost)}


#: A tier (or the whole campaign) without called or control customers with an outcome.
NOT_MEASURABLE = "not measurable (no called or no control customer with an outcome)"
#: What a 95 % interval of the customers saved that includes 0 means, in the CLI and the app.
NO_EFFECT = "not distinguishable from no effect"
#: ... and one entirely below 0 (the called group churned more than the control group).
HARM = "the calls increased churn"


def _count(x: float) -> str:
    """54.3 -> '54', 4.25 -> '4.2' (one decimal below 10, never '-0')."""
    text = f"{x:,.0f}" if abs(x) >= 9.95 else f"{x:,.1f}"
    return text[1:] if text.lstrip("-0.,") == "" and text.startswith("-") else text


def saved_sentence(row) -> str:
    """The customers a campaign saved, with its 95 % interval and what the interval means.

    Parameters
    ----------
    row : mapping
        One row of :attr:`CampaignResults.table` (``called``, ``customers_saved``,
        ``ci_low``, ``ci_high``).

    Returns
    -------
    str
        ``"Customers saved 54 (95 % CI 12 to 120)"`` when the whole interval is above 0;
        ``"Customers saved 54 (95 % CI -12 to 120: not distinguishable from no effect)"``
        when it includes 0; ``"...: the calls increased churn)"`` when it is below 0; and
        ``"Customers saved: not measurable (...)"`` without called or control customers with
        an outcome. The interval is the uplift's (Newcombe) times the customers called.
    """
    called = float(row["called"])
    saved, low, high = (float(row[k]) for k in ("customers_saved", "ci_low", "ci_high"))
    if not all(np.isfinite(v) for v in (saved, low, high)):
        return f"Customers saved: {NOT_MEASURABLE}"
    text = (f"Customers saved {_count(saved)} (95 % CI {_count(low * called)} to "
            f"{_count(high * called)}")
    if low <= 0 <= high:
        return f"{text}: {NO_EFFECT})"
    return f"{text}: {HARM})" if high < 0 else f"{text})"


def log_value_assumptions(log: dict | None) -> dict:
    """The value assumptions a target list's decision log recorded, as the campaign
    results read them (one value per kept customer, cost per call, currency).

    Parameters
    ----------
    log : dict or None
        A decision log (``cost_assumptions`` as written by
        :meth:`churn_core.campaign.value.ValueAssumptions.to_dict`).

    Returns
    -------
    dict
        ``value_per_customer`` (the list's one amount; None when the log has none, or
        valued customers by a column x margin, which a results table per tier cannot use),
        ``cost_per_contact`` (None when absent), ``currency`` (None when absent) and
        ``note`` (one sentence saying what was found, e.g. ``"the list's decision log
        records 500 EUR per saved customer and 20 EUR per contact"``).
    """
    costs = (log or {}).get("cost_assumptions") or {}

    def number(key):
        try:
            v = float(costs.get(key))
        except (TypeError, ValueError):
            return None
        return v if np.isfinite(v) and v >= 0 else None

    currency = costs.get("currency")
    currency = str(currency).strip() or None if currency is not None else None
    value = number("amount") if not costs.get("column") else None
    cost = number("cost_per_contact")
    cur = f" {currency}" if currency else ""
    parts = []
    if value is not None:
        parts.append(f"{value:,.2f}{cur} per saved customer")
    elif costs.get("column"):
        parts.append(f"a value per customer of {costs['column']} x "
                     f"{costs.get('margin', 1):g} (not one amount)")
    if cost is not None:
        parts.append(f"{cost:,.2f}{cur} per contact")
    note = ("the list's decision log records " + " and ".join(parts) if parts
            else "the list's decision log records no value assumptions")
    return {"value_per_customer": value, "cost_per_contact": cost, "currency": currency,
            "note": note}
