"""The retention target list a call centre opens: one rule, reasons, value, fairness, log.

:func:`make_target_list` is the whole recipe, shared by the app (through
``churn_core.workbench``) and the ``target-list`` command:

1. the campaign rule (:class:`churn_core.campaign.rule.CampaignRule`) picks the customers
   of the *scored file*, in rank order;
2. reason codes are computed **for the listed customers only** (SHAP, fast method), in
   blocks, with progress and a cancel between blocks;
3. the list frame: ``rank``, ``source_row``, ID columns (each customer ID listed once),
   chosen contact/context columns,
   ``churn_probability`` (3 decimals), ``risk_tier``, ``expected_value`` (2 decimals, in the
   analyst's currency), ``reason_1..3``, ``recommended_action`` (every listed customer is
   contacted: a tier whose action contacts nobody, the Low tier's "No action" by default,
   gets a contact action, counted in the log's ``listed_tier_actions``);
4. the fairness check (:mod:`churn_core.campaign.fairness`) of the list against the file;
5. the decision log (rule, counts with ``rows_in = listed + excluded + rejected``, value
   assumptions, fairness table, model, data SHA-256).

A later step (control groups) takes the finished list frame and adds a ``group`` column;
:func:`list_frame` is kept free of everything else for that.
"""
from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.campaign.fairness import fairness_summary, fairness_table
from churn_core.campaign.rule import CampaignRule, RuleSelection
from churn_core.campaign.tiers import (DEFAULT_ACTIONS, assign_tiers, listed_actions,
                                      listed_tier_actions)
from churn_core.campaign.value import ValueAssumptions
from churn_core.errors import ChurnError
from churn_core.io.report import ROW_INDEX

__all__ = ["PROBA_DECIMALS", "ListCancelled", "TargetList", "reference_rows",
           "reason_profile", "list_reasons", "list_frame", "make_target_list", "list_filename",
           "reason_settings", "call_summary", "calls_sentence", "record_calls",
           "listed_actions_note"]

#: Decimals of churn probabilities in every export.
PROBA_DECIMALS = 3
#: Customers explained per block (progress and cancel points between blocks).
REASON_BLOCK = 250
#: Background rows and column orders of the SHAP estimate behind list reasons (the "reasons"
#: estimate of ``config.SHAP_ESTIMATES``; agreement of ``reason_1`` with exact SHAP values is
#: measured in ``benchmarks/bench_reasons.py``).
LIST_BACKGROUND = config.REASON_BACKGROUND_SIZE
LIST_PERMUTATIONS = config.REASON_PERMUTATIONS


class ListCancelled(ChurnError):
    """The analyst cancelled building the list (nothing was written)."""


@dataclass
class TargetList:
    """A built retention target list and everything needed to export it.

    Attributes
    ----------
    frame : DataFrame
        The list, sorted by ``rank``; ``attrs["rows_in"]``, ``attrs["excluded"]``.
    selection : RuleSelection
    rule : CampaignRule
    value : ValueAssumptions or None
    fairness : DataFrame
        :func:`churn_core.campaign.fairness.fairness_table`.
    fairness_summary : DataFrame
    log : dict
        The decision log (JSON-ready).
    expected_values : ndarray of shape (n_listed,) or None
        Expected net value of calling each listed customer, unrounded, in list order (the
        ``expected_value`` column holds it rounded to cents); None without value
        assumptions. The decision log's value of the calls is its sum over the customers
        to call (:func:`record_calls`).
    """

    frame: pd.DataFrame
    selection: RuleSelection
    rule: CampaignRule
    value: ValueAssumptions | None
    fairness: pd.DataFrame
    fairness_summary: pd.DataFrame
    log: dict
    expected_values: np.ndarray | None = None


def reason_settings(bundle):
    """The bundle's reason settings (``card["reason_settings"]``, else name-matched
    defaults for its feature columns): :class:`churn_core.explain.reasons.ReasonSettings`."""
    from churn_core.explain.reasons import ReasonSettings

    card = getattr(bundle, "card", {}) or {}
    return ReasonSettings.from_dict(card.get("reason_settings"), bundle.schema.features)


def reference_rows(bundle, valid_with_target: pd.DataFrame | None, data_sha256: str | None,
                   fallback: pd.DataFrame, name: str = "the scored file"):
    """The rows to compare customers with: the model's training split when this file is its
    training file, else ``fallback`` (the scored file's valid rows).

    Parameters
    ----------
    bundle : ModelBundle
    valid_with_target : DataFrame or None
        Valid rows of the file validated *with* the target (train positions index these),
        or None when the file has no target.
    data_sha256 : str or None
        SHA-256 of the file's bytes.
    fallback : DataFrame
    name : str
        The file's name, for the ``source`` words.

    Returns
    -------
    (DataFrame, str)
        The rows and words naming them.
    """
    card = getattr(bundle, "card", {}) or {}
    pos = ((getattr(bundle, "evaluation", {}) or {}).get("train") or {}).get("position")
    if (valid_with_target is not None and pos and data_sha256
            and card.get("data_sha256") == data_sha256):
        pos = np.asarray(pos, dtype=int)
        if len(pos) and pos.max() < len(valid_with_target):
            return valid_with_target.iloc[pos], f"the model's training split of {name}"
    return fallback, f"the customers of {name}"


def reason_profile(bundle, reference: pd.DataFrame, source: str):
    """:class:`churn_core.explain.reasons.ReferenceProfile` of ``reference`` for ``bundle``."""
    from churn_core import config
    from churn_core.explain.reasons import ReferenceProfile

    s = bundle.schema
    return ReferenceProfile.fit(reference, s.numeric, s.categorical, source=source,
                                seed=config.SEED)


def _progress(progress, done, total, message):
    if progress is not None:
        progress(int(done), int(total), message)


def list_reasons(explainer, rows: pd.DataFrame, settings, profile,
                 include_protected: bool = False, progress: Callable | None = None,
                 cancel: Callable[[], bool] | None = None,
                 block: int = REASON_BLOCK,
                 n_permutations: int = LIST_PERMUTATIONS) -> pd.DataFrame:
    """Reason codes for the listed customers (fast SHAP in blocks, then sentences).

    Parameters
    ----------
    explainer : churn_core.explain.shap_values.RawColumnExplainer
    rows : DataFrame of shape (n_listed, ...)
        Valid (typed) rows of the listed customers.
    settings : ReasonSettings
    profile : ReferenceProfile
    include_protected : bool, default False
    progress : callable, optional
        ``progress(done, total, message)`` after each block.
    cancel : callable, optional
        Returns True to stop; checked before each block.
    block : int, default 250
        Customers per block.
    n_permutations : int, default LIST_PERMUTATIONS (2)
        Column orders per customer and background row of the fast SHAP method.

    Returns
    -------
    DataFrame of shape (n_listed, 3)
        ``reason_1..3``, index = ``rows.index``.

    Raises
    ------
    ListCancelled
        When ``cancel()`` returned True.
    """
    from churn_core.explain.reasons import reason_sentences

    n = len(rows)
    if n == 0:
        return pd.DataFrame({c: [] for c in ("reason_1", "reason_2", "reason_3")},
                            index=rows.index, dtype=object)
    parts = []
    for s in range(0, n, block):
        if cancel is not None and cancel():
            raise ListCancelled(f"cancelled after reason codes for {s:,} of {n:,} customers; "
                                "no list was made")
        part = rows.iloc[s:s + block]
        expl = explainer.explain(part, method="fast", n_permutations=n_permutations)
        parts.append(reason_sentences(expl.values, expl.data, expl.columns, settings, profile,
                                      binary=expl.binary, include_protected=include_protected))
        _progress(progress, min(s + block, n), n, "reason codes")
    return pd.concat(parts)


def list_frame(scored: pd.DataFrame, selection: RuleSelection, reasons: pd.DataFrame,
               id_columns: Sequence[str], extra_columns: Sequence[str] = (),
               expected_value=None, cutoffs: dict | None = None,
               actions: dict | None = None) -> pd.DataFrame:
    """The list an agent opens (no accounting, no side columns).

    Parameters
    ----------
    scored : DataFrame of shape (n_scored, ...)
        Scored customers with ``churn_probability``.
    selection : RuleSelection
    reasons : DataFrame of shape (n_listed, 3)
        In the order of ``selection.positions``.
    id_columns, extra_columns : sequence of str
        Copied after ``rank`` and ``source_row`` (absent ones skipped).
    expected_value : ndarray of shape (n_scored,), optional
    cutoffs : dict, optional
        Tier cutoffs for ``risk_tier``.
    actions : dict, optional
        Recommended action per tier; a tier whose action contacts nobody gets a contact
        action (:func:`churn_core.campaign.tiers.listed_actions`): a listed customer is
        contacted.

    Returns
    -------
    DataFrame of shape (n_listed, ...)
        ``rank``, ``source_row`` (the customer's row in the scored file, as a spreadsheet
        numbers it; so a file without an ID column still says who), IDs, extra columns,
        ``churn_probability`` (rounded to 3 decimals),
        ``risk_tier``, ``expected_value`` (2 decimals; when given), ``reason_1..3``,
        ``recommended_action``.
    """
    pos = selection.positions
    sub = scored.iloc[pos]
    p = scored["churn_probability"].to_numpy(dtype=float)
    tiers = assign_tiers(p, cutoffs)[pos]
    acts, _ = listed_actions(actions)
    out = pd.DataFrame({"rank": np.arange(1, len(pos) + 1)})
    for c in list(dict.fromkeys([ROW_INDEX, *id_columns, *extra_columns])):
        if c in sub.columns:
            out[c] = sub[c].to_numpy()
    out["churn_probability"] = np.round(p[pos], PROBA_DECIMALS)
    out["risk_tier"] = tiers
    if expected_value is not None:
        out["expected_value"] = np.round(np.asarray(expected_value, dtype=float)[pos], 2)
    for c in ("reason_1", "reason_2", "reason_3"):
        out[c] = reasons[c].to_numpy(dtype=object) if len(reasons) else np.array([], object)
    out["recommended_action"] = [acts.get(t, "") for t in tiers]
    return out


#: Why a repeated customer ID is left off the list (it is listed once).
DUPLICATE_ID = "customer ID already listed (a customer is listed once, at their highest churn probability)"


def select_once_per_id(rule: CampaignRule, p: np.ndarray, scored: pd.DataFrame,
                       id_columns: Sequence[str], cutoffs: dict | None = None,
                       expected_value=None) -> RuleSelection:
    """Apply ``rule`` with each customer ID counted once: an agent should not call a customer twice.

    A customer whose ID (the first of ``id_columns`` present in ``scored``) appears on
    several rows keeps only its row with the highest churn probability (the first in file
    order on ties); the others are excluded with :data:`DUPLICATE_ID`, so a budget of N still
    lists N different customers.

    Parameters
    ----------
    rule : CampaignRule
    p : ndarray of shape (n_scored,)
        Churn probabilities in [0, 1].
    scored : DataFrame of shape (n_scored, ...)
    id_columns : sequence of str
    cutoffs : dict, optional
    expected_value : ndarray of shape (n_scored,), optional

    Returns
    -------
    RuleSelection
        Positions into ``scored``; ``len(positions) + sum(excluded.values()) == n_scored``.
    """
    col = next((c for c in id_columns if c in scored.columns), None)
    dup = np.zeros(len(p), dtype=bool)
    if col is not None and len(p):
        key = scored[col].astype("string").str.strip()
        order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
        dup[order] = key.iloc[order].duplicated(keep="first").to_numpy() & key.iloc[order].notna().to_numpy()
    if not dup.any():
        return rule.select(p, cutoffs=cutoffs, expected_value=expected_value)
    keep = np.flatnonzero(~dup)
    ev = None if expected_value is None else np.asarray(expected_value, dtype=float)[keep]
    sel = rule.select(np.asarray(p)[keep], cutoffs=cutoffs, expected_value=ev)
    return RuleSelection(keep[sel.positions], {**sel.excluded, DUPLICATE_ID: int(dup.sum())},
                         sel.lowest_probability, sel.description + f" ({int(dup.sum()):,} rows "
                         f"repeat a {col} already listed: each customer is listed once)")


def list_filename(model_name: str, rule: CampaignRule, ext: str = "csv", date=None) -> str:
    """``retention_targets_<model>_<date>_<rule tag>.<ext>`` (e.g. ``..._budget500.csv``,
    ``..._high-tier.csv``, ``..._t0.35.csv``); see
    :func:`churn_core.campaign.export.export_filename`."""
    from churn_core.campaign.export import export_filename

    return export_filename(model_name, 0.0, date=date, ext=ext, tag=rule.file_tag())


def make_target_list(bundle, scored: pd.DataFrame, valid: pd.DataFrame,
                     rejected: pd.DataFrame | None, rule: CampaignRule, *, explainer,
                     profile, settings=None, value: ValueAssumptions | None = None,
                     id_columns: Sequence[str] | None = None,
                     extra_columns: Sequence[str] = (), include_protected: bool = False,
                     y=None, data_sha256: str | None = None, data_name: str = "",
                     actions: dict | None = None, progress: Callable | None = None,
                     cancel: Callable[[], bool] | None = None, drift: dict | None = None) -> TargetList:
    """Build the retention target list of a scored file.

    Parameters
    ----------
    bundle : ModelBundle
    scored : DataFrame of shape (n_scored, ...)
        Scored customers (``churn_probability``; passthrough columns).
    valid : DataFrame of shape (n_scored, ...)
        The typed rows behind ``scored``, same order (explained and valued).
    rejected : DataFrame or None
        Rows that could not be scored (``reason`` column).
    rule : CampaignRule
    explainer : RawColumnExplainer
    profile : ReferenceProfile
    settings : ReasonSettings, optional
        Default: :func:`reason_settings` of the bundle.
    value : ValueAssumptions, optional
        Adds ``expected_value``; required by the ``max_value`` rule.
    id_columns : sequence of str, optional
        Default: the schema's ID columns.
    extra_columns : sequence of str
        Contact / context columns to carry (name, phone, balance ...).
    include_protected : bool, default False
        Allow protected attributes as reasons.
    y : ndarray of shape (n_scored,), optional
        Observed churn (adds recall per group to the fairness table).
    data_sha256, data_name : str
        Recorded in the decision log.
    actions : dict, optional
        Recommended action per tier.
    progress, cancel : callable, optional
        See :func:`list_reasons`.
    drift : dict, optional
        The scored file's drift summary, recorded in the decision log.

    Returns
    -------
    TargetList

    Raises
    ------
    ListCancelled
        When cancelled.
    ChurnError
        Misaligned inputs, a ``max_value`` rule without value assumptions, or accounting
        that does not add up.
    """
    from churn_core.campaign.export import decision_log
    from churn_core.explain.reasons import protected_columns
    from churn_core.model.registry import is_synthetic

    if len(valid) != len(scored):
        raise ChurnError(f"{len(valid)} typed rows for {len(scored)} scored customers")
    settings = settings if settings is not None else reason_settings(bundle)
    schema = bundle.schema
    cutoffs = getattr(bundle, "tier_cutoffs", None)
    p = scored["churn_probability"].to_numpy(dtype=float)
    ev = value.expected(p, valid if value.column in valid.columns or value.column is None
                        else scored) if value is not None and value.used else None
    ids = list(id_columns) if id_columns is not None else list(schema.id_columns)
    missing = [c for c in [*ids, *extra_columns] if c not in scored.columns]
    if missing:
        from churn_core.errors import MissingColumnsError

        raise MissingColumnsError(missing, data_name or "the scored file")
    selection = select_once_per_id(rule, p, scored, ids, cutoffs, ev)
    rows = valid.iloc[selection.positions]
    reasons = list_reasons(explainer, rows, settings, profile, include_protected,
                           progress=progress, cancel=cancel)
    frame = list_frame(scored, selection, reasons, ids, extra_columns, ev, cutoffs, actions)

    excluded = Counter(selection.excluded)
    n_rej = 0 if rejected is None else len(rejected)
    if n_rej:
        why = (rejected["reason"].astype(str) if "reason" in rejected.columns
               else pd.Series(["unknown"] * n_rej))
        for r, k in Counter(why).items():
            excluded[f"could not be scored: {r}"] += int(k)
    rows_in = len(scored) + n_rej
    frame.attrs["rows_in"] = int(rows_in)
    frame.attrs["excluded"] = dict(excluded)

    listed_mask = np.zeros(len(scored), dtype=bool)
    listed_mask[selection.positions] = True
    attrs = list(dict.fromkeys([c for c in settings.protected if c in valid.columns]
                               + protected_columns([c for c in scored.columns
                                                    if c in valid.columns])))
    ftab = fairness_table(valid, listed_mask, attrs, y=y)
    fsum = fairness_summary(ftab)

    card = getattr(bundle, "card", {}) or {}
    thr = (float(rule.threshold) if rule.kind == "threshold" else
           selection.lowest_probability if selection.lowest_probability is not None else 1.0)
    costs = value.to_dict() if value is not None else {}
    log = decision_log(
        getattr(bundle, "name", "model"), card.get("data_sha256"), f"rule: {rule.kind}", thr,
        costs, cutoffs, rows_in, len(frame), dict(excluded),
        tiers_included=list(rule.tiers) if rule.kind == "tiers" else None,
        actions={**DEFAULT_ACTIONS, **(actions or {})},
        threshold_explanation=(selection.description + ". The decision threshold recorded "
                               "is the churn probability of the last listed customer."),
        synthetic=is_synthetic(card), training_data_name=card.get("source"), drift=drift,
        extra={
            "rule": rule.to_dict(),
            "scored_file": data_name,
            "scored_file_sha256": data_sha256,
            "rows_scored": int(len(scored)),
            "rows_rejected": int(n_rej),
            "rows_in_equals": "listed + excluded + rejected",
            "probability_decimals": PROBA_DECIMALS,
            "reasons": {"computed_for": "the listed customers only",
                        "protected_attributes": list(settings.protected),
                        "protected_used_as_reasons": bool(include_protected),
                        "non_actionable_columns": list(settings.non_actionable),
                        "context_from": profile.source if profile is not None else None,
                        "grouped_columns": profile.groups if profile is not None else [],
                        "method": "interventional SHAP, antithetic permutation sampling"},
            "listed_tier_actions": listed_tier_actions(frame["risk_tier"], actions),
            "fairness": {"rule_of_thumb": "four-fifths: flagged when the lowest selection "
                                          "rate is below 0.8 x the highest (informs, never "
                                          "blocks)",
                         "summary": _records(fsum), "table": _records(ftab)},
        })
    listed_ev = None if ev is None else np.asarray(ev, dtype=float)[selection.positions]
    return record_calls(TargetList(frame, selection, rule, value, ftab, fsum, log, listed_ev))


def listed_actions_note(result) -> str | None:
    """The list's note on listed customers of a no-contact tier (the CLI's and Score &
    segment's wording), or None: ``"2,854 listed customers of the Low tier, whose action is
    'No action; keep in regular communication', get 'Contact: listed by the campaign rule
    (low risk tier); ...': every listed customer is contacted, and each is charged the
    contact cost"``."""
    rec = (result.log.get("extra") or {}).get("listed_tier_actions")
    return rec["note"] if rec else None


#: What the control group's figure in the decision log means.
CONTROL_VALUE_NOTE = ("expected_net_value_of_calls counts the customers to call only: the "
                      "control group is listed but not called (no contact cost, no saved "
                      "value). expected_net_value_of_control_group_if_called is what calling "
                      "the control group too would have been expected to add: what holding it "
                      "back to measure the campaign costs.")


def call_summary(control, expected_value=None) -> dict:
    """Customers to call and the expected net value of their calls.

    Parameters
    ----------
    control : array-like of bool, shape (n_listed,)
        True for a customer held back in the control group (listed, not called).
    expected_value : array-like of shape (n_listed,), optional
        Expected net value of calling each listed customer (currency units).

    Returns
    -------
    dict
        ``customers_listed``, ``customers_to_call``, ``customers_in_control_group`` (int);
        ``expected_net_value_of_calls`` (sum over the customers to call) and
        ``expected_net_value_of_control_group_if_called`` (sum over the control group), both
        rounded to cents, or None without ``expected_value``.
    """
    control = np.asarray(control, dtype=bool)
    out = {"customers_listed": int(control.size),
           "customers_to_call": int((~control).sum()),
           "customers_in_control_group": int(control.sum()),
           "expected_net_value_of_calls": None,
           "expected_net_value_of_control_group_if_called": None}
    if expected_value is not None:
        ev = np.asarray(expected_value, dtype=float)
        if ev.shape != control.shape:
            raise ChurnError(f"{ev.size} expected values for {control.size} listed customers")
        out["expected_net_value_of_calls"] = round(float(ev[~control].sum()), 2)
        out["expected_net_value_of_control_group_if_called"] = round(float(ev[control].sum()), 2)
    return out


def calls_sentence(summary: dict, currency: str = "", money: Callable | None = None) -> str:
    """The call count and value in words, for the page and the command line.

    Parameters
    ----------
    summary : dict
        From :func:`call_summary`.
    currency : str
    money : callable, optional
        ``money(value) -> str`` writes the value (the page's bold markdown); default
        ``"54,428 EUR"``.

    Returns
    -------
    str
        e.g. ``"500 listed = 450 to call + 50 held back as control group; expected net value
        of the 450 calls: 54,428 EUR"`` (``"20 listed, all to call; ..."`` without a control
        group; no value part without value assumptions).
    """
    n, call, held = (summary["customers_listed"], summary["customers_to_call"],
                     summary["customers_in_control_group"])
    text = (f"{n:,} listed = {call:,} to call + {held:,} held back as control group" if held
            else f"{n:,} listed, all to call")
    value = summary.get("expected_net_value_of_calls")
    if value is not None:
        cur = f" {currency}".rstrip() if currency else ""
        calls = f"the {call:,} calls" if call != 1 else "the 1 call"
        amount = money(value) if money is not None else f"{value:,.0f}{cur}"
        text += f"; expected net value of {calls}: {amount}"
    return text


def record_calls(result: TargetList) -> TargetList:
    """Write the customers to call and the value of their calls into the decision log.

    Customers whose ``group`` is ``"control"`` are listed but not called: they count in
    ``customers_in_control_group``, not in ``customers_to_call``, and their expected value
    goes to ``cost_assumptions.expected_net_value_of_control_group_if_called``, not to
    ``cost_assumptions.expected_net_value_of_calls``. Called again after a control group is
    drawn. The log's ``cost_assumptions`` dict is replaced, not changed, so a list copied with
    a shallow log copy keeps its own figures.

    Parameters
    ----------
    result : TargetList

    Returns
    -------
    TargetList
        ``result``, its ``log`` updated in place.
    """
    from churn_core.campaign.control import CONTROL_GROUP, GROUP

    frame = result.frame
    control = (frame[GROUP].astype(str).to_numpy() == CONTROL_GROUP if GROUP in frame.columns
               else np.zeros(len(frame), dtype=bool))
    summary = call_summary(control, result.expected_values)
    log = result.log
    log["customers_to_call"] = summary["customers_to_call"]
    log["customers_in_control_group"] = summary["customers_in_control_group"]
    costs = {k: v for k, v in (log.get("cost_assumptions") or {}).items()
             if k != "expected_net_value_of_list"}
    if summary["expected_net_value_of_calls"] is not None:
        costs["expected_net_value_of_calls"] = summary["expected_net_value_of_calls"]
        costs["expected_net_value_of_control_group_if_called"] = \
            summary["expected_net_value_of_control_group_if_called"]
        costs["expected_net_value_note"] = CONTROL_VALUE_NOTE
    log["cost_assumptions"] = costs
    return result


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready records (NaN -> None, numpy scalars -> Python)."""
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, (np.floating, float)):
                v = None if not np.isfinite(v) else round(float(v), 4)
            elif isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, np.bool_):
                v = bool(v)
            clean[k] = v
        out.append(clean)
    return out


def today() -> str:
    """Today's date (UTC) as ``YYYY-MM-DD``, for file names."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
