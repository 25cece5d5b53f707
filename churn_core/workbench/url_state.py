"""A session's choices as page-URL parameters, and back (F5 and bookmarks).

:class:`churn_core.workbench.workspace.Workspace` writes and reads the URL with the helpers
here: the campaign rule (``rule=<kind>[:<number>]``), the value assumptions
(``value=amount:800;success:0.3;cost:20;cur:EUR``), the churn-label confirmation digest
(``label=``) and the [0, 1] numbers (threshold, tier cutoffs). Each helper works on the
session's own mapping (``st.session_state`` in the app, a dict in tests) and never imports
streamlit. A value that does not parse or is out of range changes nothing: the caller adds
a note and the session keeps its defaults.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import MutableMapping
from urllib.parse import quote, unquote

from churn_core.workbench.data import ActiveData

__all__ = ["URL_KEYS", "VALUE_KINDS", "VALUE_LIMITS", "VALUE_STATE_KEYS", "label_digest",
           "label_of", "restore_rule", "restore_value", "rule_param", "unit_float",
           "value_param"]

#: Every URL parameter :meth:`Workspace.url_params` may write.
URL_KEYS = ("model", "threshold", "high", "medium", "rule", "value", "data", "label")

RULE_KEY = "campaign_rule"            # CampaignRule.to_dict() of the session
#: (data SHA-256, target, positive label) the analyst confirmed on the Data page, or None
LABEL_KEY = "label_confirmed"
#: Session keys of the campaign-rule controls (pages/_campaign.py): the kind, and the
#: number each kind reads (carried as ``rule=<kind>:<n>``).
RULE_KIND_KEY = "rule_kind"
RULE_NUMBER_KEYS = {"budget": "rule_budget", "budget_share": "rule_share",
                    "threshold": "rule_threshold", "tiers": "rule_tiers"}

#: Session key of the value assumptions in use (``ValueAssumptions.to_dict()``, None when the
#: value is not used) and the keys of the Value-assumptions controls (pages/_campaign.py).
VALUE_KEY = "value_assumptions"
VALUE_STATE_KEYS = {"kind": "value_kind", "amount": "value_amount", "column": "value_column",
                    "margin": "value_margin", "success": "value_success", "cost": "value_cost",
                    "currency": "value_currency"}
#: The choices of "Value of a saved customer" (the page's radio options), by URL word.
VALUE_KINDS = {"amount": "one amount", "column": "a column × margin", "none": "not used"}
#: Bounds of the value controls (the page's widgets use them: a link cannot exceed them).
VALUE_LIMITS = {"amount": (0.0, 1e9), "margin": (0.0, 10.0), "success": (0.0, 1.0),
                "cost": (0.0, 1e6), "currency": 8, "column": 200}


def label_of(data: ActiveData) -> tuple:
    """What the Data page's label confirmation records: (SHA-256, target, positive label)."""
    return (data.sha256, data.schema.target, data.schema.positive_label)


def label_digest(data: ActiveData) -> str:
    """The ``label`` URL parameter: 16 hex digits of SHA-256 over the file's SHA-256, target
    and positive label, so a confirmation only comes back for the same file and label."""
    text = "\0".join(str(v) for v in label_of(data))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def unit_float(text) -> float | None:
    """``text`` as a float in [0, 1], else None."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if 0.0 <= v <= 1.0 else None


# ------------------------------------------------------------------ campaign rule
def rule_param(state: MutableMapping) -> str | None:
    """The session's campaign rule as ``<kind>`` or ``<kind>:<number>`` (``budget:250``,
    ``budget_share:12.5``, ``threshold:0.4``, ``tiers:High,Medium``, ``max_value``); None
    before the rule controls were set up."""
    kind = state.get(RULE_KIND_KEY)
    if not kind:
        return None
    held = state.get(RULE_NUMBER_KEYS.get(kind, ""))
    if kind == "tiers":
        return "tiers:" + ",".join(str(t) for t in held or ())
    if kind == "budget" and held is not None:
        return f"budget:{int(held)}"
    if held is not None:
        return f"{kind}:{float(held)!r}"
    return str(kind)


def restore_rule(state: MutableMapping, text: str) -> bool:
    """Apply a ``rule`` URL parameter (see :func:`rule_param`) to ``state``.

    Returns
    -------
    bool
        False when ``text`` is not a valid campaign rule (nothing is changed then).
    """
    from churn_core.workbench.target_lists import campaign_rule

    kind, _, number = text.partition(":")
    spec: dict = {"kind": kind}
    try:
        if kind == "budget":
            spec["budget"] = int(number)
        elif kind == "budget_share":
            spec["share"] = float(number)
            if not spec["share"] >= 0.1:  # the page's smallest share
                return False
        elif kind == "threshold":
            spec["threshold"] = float(number)
        elif kind == "tiers":
            spec["tiers"] = tuple(t for t in number.split(",") if t)
        if any(isinstance(v, float) and v != v for v in spec.values()):  # NaN
            return False
        rule = campaign_rule(spec)
    except Exception:  # not a number, unknown kind or tier, out of range
        return False
    state[RULE_KIND_KEY] = rule.kind
    key = RULE_NUMBER_KEYS.get(rule.kind)
    if key:
        state[key] = {"budget": lambda: int(rule.budget),
                      "budget_share": lambda: float(rule.share),
                      "threshold": lambda: float(rule.threshold),
                      "tiers": lambda: list(rule.tiers)}[rule.kind]()
    state[RULE_KEY] = rule.to_dict()
    return True


# ------------------------------------------------------------------ value assumptions
def _number(v) -> str:
    """``800.0`` -> ``"800"``, ``0.3`` -> ``"0.3"`` (exact: ``float()`` reads it back)."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def value_param(state: MutableMapping) -> str | None:
    """The session's value assumptions as one URL parameter; None before the value controls
    were set up.

    ``amount:800;success:0.3;cost:20;cur:EUR``, ``column:Balance;margin:0.01;success:0.3;
    cost:20;cur:EUR`` or ``none;success:0.3;cost:20;cur:EUR`` (value not used); the column
    name and the currency are percent-encoded, so ``;`` and ``:`` in them are kept.
    """
    keys = VALUE_STATE_KEYS
    kind = state.get(keys["kind"])
    word = {v: k for k, v in VALUE_KINDS.items()}.get(kind)
    if word is None:
        return None
    if word == "amount":
        parts = [f"amount:{_number(state.get(keys['amount']) or 0.0)}"]
    elif word == "column":
        parts = [f"column:{quote(str(state.get(keys['column']) or ''), safe='')}",
                 f"margin:{_number(state.get(keys['margin']) or 0.0)}"]
    else:
        parts = ["none"]
    parts += [f"success:{_number(state.get(keys['success']) or 0.0)}",
              f"cost:{_number(state.get(keys['cost']) or 0.0)}",
              # a blank currency box counts as EUR, as on the page
              f"cur:{quote(str(state.get(keys['currency']) or '').strip() or 'EUR', safe='')}"]
    return ";".join(parts)


def _bounded(text: str, name: str) -> float:
    """``text`` as a finite float within :data:`VALUE_LIMITS` ``name``, else ValueError."""
    v = float(text)
    low, high = VALUE_LIMITS[name]
    if not (math.isfinite(v) and low <= v <= high):
        raise ValueError(f"{name} {text!r} outside [{low:g}, {high:g}]")
    return v


def restore_value(state: MutableMapping, text: str) -> bool:
    """Apply a ``value`` URL parameter (see :func:`value_param`) to ``state``: the controls'
    keys and :data:`VALUE_KEY` (the ``ValueAssumptions`` in use).

    Returns
    -------
    bool
        False when ``text`` is not valid (unknown kind or part, a number that does not parse,
        is not finite or is outside :data:`VALUE_LIMITS`, a blank column, a currency longer
        than 8 characters); nothing is changed then.
    """
    from churn_core.campaign.value import ValueAssumptions

    items = str(text).split(";")
    word, _, head = items[0].partition(":")
    if word not in VALUE_KINDS or (word == "none") != (head == "" and ":" not in items[0]):
        return False
    parts: dict[str, str] = {}
    for item in items[1:]:
        key, sep, v = item.partition(":")
        if not sep or key in parts or key not in {"margin", "success", "cost", "cur"}:
            return False
        parts[key] = unquote(v)
    if set(parts) != {"success", "cost", "cur"} | ({"margin"} if word == "column" else set()):
        return False
    try:
        new = {"kind": VALUE_KINDS[word], "success": _bounded(parts["success"], "success"),
               "cost": _bounded(parts["cost"], "cost"), "currency": parts["cur"].strip()}
        if not new["currency"] or len(new["currency"]) > VALUE_LIMITS["currency"]:
            return False
        if word == "amount":
            new["amount"] = _bounded(head, "amount")
        elif word == "column":
            new["column"], new["margin"] = unquote(head), _bounded(parts["margin"], "margin")
            if not new["column"].strip() or len(new["column"]) > VALUE_LIMITS["column"]:
                return False
        value = ValueAssumptions(
            amount=new.get("amount") if word == "amount" else None,
            column=new.get("column"), margin=new.get("margin", 1.0),
            success_rate=new["success"], cost_per_contact=new["cost"],
            currency=new["currency"])
    except Exception:  # not a number, out of range, refused by ValueAssumptions
        return False
    for name, v in new.items():
        state[VALUE_STATE_KEYS[name]] = v
    state[VALUE_KEY] = None if word == "none" else value.to_dict()
    return True
