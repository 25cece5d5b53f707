"""The campaign rule and the value assumptions: one set per session, drawn on several pages.

Each choice lives under a persistent session key (``rule_*``, ``value_*``; initialised once
by :func:`init_campaign_session`, called from ``_ui.init_session``), so the rule chosen on
Performance is the one on Score & segment, the list, its file name and its decision log.
"""
from __future__ import annotations

import streamlit as st

from churn_core import workbench as wb
from pages import _ui

CAMPAIGN_RULE = "campaign_rule"          # CampaignRule.to_dict() of the session
VALUE_ASSUMPTIONS = "value_assumptions"  # ValueAssumptions.to_dict() of the session
INCLUDE_PROTECTED = "reasons_include_protected"  # protected attributes allowed as reasons
TARGET_LIST = "target_list_result"       # (key, TargetList) of the last built list
CONTROL_LIST = "target_list_control"     # (key, TargetList with its control group)

RULE_LABELS = {
    "budget": "Contact budget (N customers)",
    "budget_share": "Share of this file (N %)",
    "threshold": "Churn-probability threshold",
    "tiers": "Risk tiers",
    "max_value": "Maximum expected net value",
}
#: "one amount", "a column × margin", "not used" (the same words travel in the page URL)
VALUE_KINDS = list(wb.VALUE_KINDS.values())
_LIMITS = wb.VALUE_LIMITS  # a value from a link is checked against the same bounds
_DEFAULTS = {
    "rule_kind": "tiers", "rule_budget": 500, "rule_share": 10.0, "rule_threshold": 0.5,
    "rule_tiers": ["High"],
    "value_kind": "one amount", "value_amount": 500.0, "value_column": None,
    "value_margin": 0.01, "value_success": 0.3, "value_cost": 20.0, "value_currency": "EUR",
    INCLUDE_PROTECTED: False,
    # the list's random hold-out control group (as the CLI's --control-share / --control-seed)
    "control_on": True, "control_share": 10.0, "control_seed": 42,
    "list_suggested_change": True,  # the suggested_change column (about 1 s per 2,000)
}


def init_campaign_session() -> None:
    """Set the campaign keys once per session."""
    ss = st.session_state
    for k, v in _DEFAULTS.items():
        ss.setdefault(k, v)
    ss.setdefault(CAMPAIGN_RULE, wb.campaign_rule(None).to_dict())
    ss.setdefault(VALUE_ASSUMPTIONS, wb.value_assumptions(None).to_dict())
    ss.setdefault(TARGET_LIST, None)
    ss.setdefault(CONTROL_LIST, None)


def rule_editor(page: str, n_customers: int | None = None):
    """Draw the campaign-rule controls and return the session's ``CampaignRule``.

    Parameters
    ----------
    page : str
        Widget-key suffix (each page has its own widgets bound to the same session keys).
    n_customers : int, optional
        Customers of the scored file (upper bound of the budget).
    """
    init_campaign_session()
    kind = _ui.synced(st.radio, "Cut the retention target list by", "rule_kind", page,
                      options=list(RULE_LABELS), format_func=RULE_LABELS.get,
                      horizontal=True,
                      help="One rule for every page, the list, its file name and its "
                           "decision log. Budgets count customers of the file you score.")
    if kind == "budget":
        top = max(1, int(n_customers or 10_000_000))
        # no max_value: a budget above the file's size (typed, from a link, a smaller file)
        # is capped here with a note, not refused by the browser ("outside the allowed range")
        if int(st.session_state["rule_budget"]) > top:
            st.session_state["rule_budget"] = top
        _ui.synced(st.number_input, "Customers to contact", "rule_budget", page,
                   min_value=1, step=50)
        if n_customers and int(st.session_state["rule_budget"]) >= top:
            st.caption(f"The file has {top:,} customers: everyone is listed.")
    elif kind == "budget_share":
        _ui.synced(st.number_input, "Share of the scored file to contact (%)", "rule_share",
                   page, min_value=0.1, max_value=100.0, step=1.0)
    elif kind == "threshold":
        _ui.synced(st.number_input, "Contact customers with churn probability at or above",
                   "rule_threshold", page, min_value=0.0, max_value=1.0, step=0.01,
                   format="%.2f")
    elif kind == "tiers":
        _ui.synced(st.multiselect, "Risk tiers to contact", "rule_tiers", page,
                   options=list(wb.TIERS))
    ss = st.session_state
    try:
        rule = wb.campaign_rule({"kind": kind, "budget": int(ss["rule_budget"]),
                                 "share": float(ss["rule_share"]),
                                 "threshold": float(ss["rule_threshold"]),
                                 "tiers": tuple(ss["rule_tiers"] or ())})
    except Exception as exc:
        _ui.show_error(exc, "This campaign rule cannot be used")
        rule = wb.campaign_rule(ss.get(CAMPAIGN_RULE))
    ss[CAMPAIGN_RULE] = rule.to_dict()
    _ui.sync_url()  # the rule travels in the page URL (also when only a fragment reruns)
    return rule


def value_editor(page: str, numeric_columns: list[str]):
    """Draw the value assumptions and return the session's ``ValueAssumptions`` (or None
    when the value is not used)."""
    init_campaign_session()
    st.caption("Expected net value of a contact = churn probability × offer success rate × "
               "value of a saved customer − cost per contact, in your currency.")
    kinds = VALUE_KINDS if numeric_columns else [k for k in VALUE_KINDS if "column" not in k]
    if st.session_state["value_kind"] not in kinds:
        st.session_state["value_kind"] = kinds[0]
    kind = _ui.synced(st.radio, "Value of a saved customer", "value_kind", page,
                      options=kinds, horizontal=True)
    a, b, c, d = st.columns(4)
    with a:
        if kind == "one amount":
            _ui.synced(st.number_input, "Amount", "value_amount", page,
                       min_value=_LIMITS["amount"][0], max_value=_LIMITS["amount"][1],
                       step=50.0)
        elif kind == "a column × margin":
            if st.session_state["value_column"] not in numeric_columns:
                st.session_state["value_column"] = numeric_columns[0]
            _ui.synced(st.selectbox, "Column", "value_column", page, options=numeric_columns)
            _ui.synced(st.number_input, "Margin (share of the column)", "value_margin", page,
                       min_value=_LIMITS["margin"][0], max_value=_LIMITS["margin"][1],
                       step=0.005, format="%.3f")
    with b:
        _ui.synced(st.slider, "Offer success rate", "value_success", page,
                   min_value=_LIMITS["success"][0], max_value=_LIMITS["success"][1], step=0.05,
                   disabled=kind == "not used",
                   help="Share of would-be churners the offer keeps.")
    with c:
        _ui.synced(st.number_input, "Cost per contact", "value_cost", page,
                   min_value=_LIMITS["cost"][0], max_value=_LIMITS["cost"][1], step=5.0,
                   disabled=kind == "not used")
    with d:
        _ui.synced(st.text_input, "Currency", "value_currency", page,
                   max_chars=_LIMITS["currency"])
    ss = st.session_state
    _ui.sync_url()  # the value assumptions travel in the page URL (also in a fragment rerun)
    if kind == "not used":
        ss[VALUE_ASSUMPTIONS] = None
        return None
    try:
        value = wb.value_assumptions({
            "amount": float(ss["value_amount"]) if kind == "one amount" else None,
            "column": ss["value_column"] if kind != "one amount" else None,
            "margin": float(ss["value_margin"]), "success_rate": float(ss["value_success"]),
            "cost_per_contact": float(ss["value_cost"]),
            "currency": str(ss["value_currency"] or "").strip() or "EUR"})
    except Exception as exc:
        _ui.show_error(exc, "Value assumptions")
        return None
    ss[VALUE_ASSUMPTIONS] = value.to_dict()
    return value


#: Why a list has no control group (the decision log's ``control_group.reason`` too).
NO_ID_REASON = ("the list has no customer ID column to match outcomes later (mark one on the "
                "Data page)")


def control_group_settings(page: str, id_columns) -> tuple[bool, float, int]:
    """Draw the list's control-group choice (checkbox, share in %, seed) and return
    ``(on, share in [0, 1), seed)``; off when the file has no customer ID column."""
    init_campaign_session()
    if not list(id_columns or []):
        st.caption(f"No control group: {NO_ID_REASON}.")
        return False, 0.0, 0
    a, b, c = st.columns([2, 1, 1])
    with a:
        on = _ui.synced(st.checkbox, "Hold back a random control group (not called)",
                        "control_on", page)
    with b:
        share = _ui.synced(st.number_input, "Control group share (%)", "control_share", page,
                           min_value=1.0, max_value=50.0, step=1.0, disabled=not on)
    with c:
        seed = _ui.synced(st.number_input, "Seed of the draw", "control_seed", page,
                          min_value=0, max_value=2**31 - 1, step=1, disabled=not on)
    st.caption("Control customers stay on the list (column `group` = control) and are not "
               "called, so the campaign's effect can be measured later on the **Campaigns** "
               "page; the draw is random, stratified by risk tier and seeded (same list and "
               "seed, same control group).")
    return bool(on), float(share) / 100.0, int(seed)


def with_control_group(result, id_columns, list_key, settings: tuple):
    """The list to show and download: ``result`` itself (control group off), or a copy with
    the ``group`` and ``campaign_id`` columns and the decision log's ``campaign`` record
    (``wb.with_control_group``, as the CLI's ``target-list --control-share``), drawn once
    per list, share and seed (so reruns keep the campaign ID)."""
    on, share, seed = settings
    if not on and not list(id_columns or []) and st.session_state.get("control_on", True):
        # the fallback of a file without an ID column is recorded in the decision log, as
        # the CLI's ``target-list`` does (``control_group.held_back`` = false and why)
        return wb.control_group_skipped(result, NO_ID_REASON,
                                        float(st.session_state.get("control_share", 10.0)) / 100)
    if not on:
        return result
    key = (list_key, share, seed)
    held = st.session_state.get(CONTROL_LIST)
    if held and held[0] == key:
        return held[1]
    try:
        out = wb.with_control_group(result, id_columns, share=share, seed=seed, copy=True)
    except Exception as exc:
        _ui.show_error(exc, "The control group could not be drawn")
        return result
    st.session_state[CONTROL_LIST] = (key, out)
    return out


def current_rule():
    """The session's rule without drawing widgets."""
    init_campaign_session()
    return wb.campaign_rule(st.session_state.get(CAMPAIGN_RULE))


def current_value():
    """The session's ``ValueAssumptions`` without drawing widgets (None when the analyst set
    the value to "not used"): the one set drawn by :func:`value_editor` on every page."""
    init_campaign_session()
    held = st.session_state.get(VALUE_ASSUMPTIONS)
    return None if held is None else wb.value_assumptions(held)


def assumed_values_note() -> str:
    """``" on assumed values (500 EUR per saved customer, 30 % offer success, 20 EUR per
    contact): set yours in Value assumptions"`` while the session's value assumptions are
    still the untouched defaults (an expected net value then rests on nobody's figures);
    empty otherwise."""
    init_campaign_session()
    ss = st.session_state
    keys = ("value_kind", "value_amount", "value_success", "value_cost", "value_currency")
    if any(ss.get(k) != _DEFAULTS[k] for k in keys):
        return ""
    cur = _DEFAULTS["value_currency"]
    return (f" on assumed values ({_DEFAULTS['value_amount']:,.0f} {cur} per saved customer, "
            f"{100 * _DEFAULTS['value_success']:.0f} % offer success, "
            f"{_DEFAULTS['value_cost']:,.0f} {cur} per contact): set yours in Value assumptions")


def money(x: float | None, currency: str) -> str:
    """``"12,345 EUR"`` (or an em dash for None)."""
    return "—" if x is None else f"{x:,.0f} {currency}"
