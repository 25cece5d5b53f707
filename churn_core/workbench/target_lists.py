"""The retention target list for the app and the command line (glue over
``churn_core.campaign.target_list``): one campaign rule, one set of value assumptions,
reason codes for the listed customers only, the fairness check and the decision log."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from churn_core.workbench.data import ActiveData
from churn_core.workbench.scores import Scores


@dataclass
class ReasonContext:
    """What reason codes of one (model, file) pair need, built once.

    Attributes
    ----------
    explainer : RawColumnExplainer
        Background of ``target_list.LIST_BACKGROUND`` rows drawn from the model's training
        split when this file is its training file, else from the file's valid rows.
    profile : ReferenceProfile
        Reference customers for "where the value sits" and correlated groups.
    settings : ReasonSettings
        Protected / non-actionable columns and business labels saved with the model.
    """

    explainer: Any
    profile: Any
    settings: Any


def reason_context(bundle, data: ActiveData, scores: Scores,
                   training: ActiveData | None = None) -> ReasonContext:
    """Build the :class:`ReasonContext` of ``bundle`` on ``data``.

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
        The scored file.
    scores : Scores
        Its scores (``scores.valid`` holds the typed rows).
    training : ActiveData, optional
        Another loaded file that may be the model's training file (the app's active data).

    Returns
    -------
    ReasonContext
    """
    from churn_core.campaign.target_list import (LIST_BACKGROUND, reason_profile,
                                                 reason_settings, reference_rows)
    from churn_core.data.validate import validate
    from churn_core.explain.shap_values import RawColumnExplainer

    card = getattr(bundle, "card", {}) or {}
    src = data
    if training is not None and card.get("data_sha256") == training.sha256:
        src = training
    valid = scores.valid if scores.valid is not None else scores.scored
    full = None
    if card.get("data_sha256") == src.sha256 and bundle.schema.target in src.frame.columns:
        try:
            full = validate(src.frame, bundle.schema, require_target=True,
                            source_name=src.name).valid
        except Exception:  # noqa: BLE001 - fall back to the scored file's rows
            full = None
    ref, source = reference_rows(bundle, full, src.sha256, valid, src.name)
    explainer = RawColumnExplainer(bundle, ref, background_size=LIST_BACKGROUND)
    explainer.background_source = source
    return ReasonContext(explainer, reason_profile(bundle, ref, source),
                         reason_settings(bundle))


def campaign_rule(data: dict | None):
    """The session's campaign rule (``CampaignRule.from_dict``; None gives High tier)."""
    from churn_core.campaign.rule import CampaignRule

    return CampaignRule.from_dict(data)


def value_assumptions(data: dict | None):
    """The session's value assumptions (``ValueAssumptions.from_dict``)."""
    from churn_core.campaign.value import ValueAssumptions

    return ValueAssumptions.from_dict(data)


def rule_preview(bundle, scores: Scores, rule, value=None, p_validation=None,
                 control_share: float = 0.0, control_seed: int = 42) -> dict:
    """What a rule does on the scored file, without reason codes (cheap; for every rerun).

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    rule : CampaignRule
    value : ValueAssumptions, optional
    p_validation : ndarray of shape (n_val,), optional
        Validation probabilities: adds the threshold the rule amounts to there.
    control_share : float in [0, 1), default 0.0
        Share held back as the control group (0 = none); the same tier-stratified, seeded
        draw as :func:`with_control_group` (it depends only on the listed customers' risk
        tiers, the share and the seed).
    control_seed : int, default 42

    Returns
    -------
    dict
        ``listed`` (int), ``excluded`` (dict), ``lowest_probability``, ``description``,
        ``calls`` (:func:`churn_core.campaign.target_list.call_summary`: customers to call,
        held back, expected net value of the calls and of the control group if called),
        ``expected_net_value`` (of the calls only, currency; None without value),
        ``validation_threshold``, ``positions`` (ndarray, rank order).
    """
    from churn_core.campaign.control import control_mask
    from churn_core.campaign.rule import threshold_on
    from churn_core.campaign.target_list import call_summary
    from churn_core.campaign.tiers import assign_tiers

    p = scores.p
    valid = scores.valid if scores.valid is not None else scores.scored
    ev = value.expected(p, valid) if value is not None and value.used else None
    sel = rule.select(p, cutoffs=bundle.tier_cutoffs, expected_value=ev)
    vt = None
    if p_validation is not None and len(p_validation):
        vt = threshold_on(rule, p_validation, len(p), p_scored=p[sel.positions],
                          cutoffs=bundle.tier_cutoffs)
    pos = sel.positions
    control = (control_mask(assign_tiers(p, bundle.tier_cutoffs)[pos], control_share,
                            control_seed) if control_share else np.zeros(pos.size, dtype=bool))
    calls = call_summary(control, None if ev is None else np.asarray(ev, dtype=float)[pos])
    return {"listed": int(pos.size), "excluded": sel.excluded,
            "lowest_probability": sel.lowest_probability, "description": sel.description,
            "calls": calls, "expected_net_value": calls["expected_net_value_of_calls"],
            "validation_threshold": vt, "positions": pos}


def build_list(bundle, data: ActiveData, scores: Scores, rule, context: ReasonContext,
               value=None, include_protected: bool = False, extra_columns=(),
               id_columns=None, actions: dict | None = None,
               progress: Callable | None = None, cancel: Callable | None = None,
               suggested_change: bool = False):
    """The retention target list of ``data`` (``target_list.make_target_list``).

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
    scores : Scores
    rule : CampaignRule
    context : ReasonContext
    value : ValueAssumptions, optional
    include_protected : bool, default False
    extra_columns : sequence of str
        Contact / context columns ticked by the analyst.
    id_columns : sequence of str, optional
        Default: the model's ID columns present in the file.
    actions : dict, optional
    progress, cancel : callable, optional
        ``progress(done, total, message)``; ``cancel() -> bool`` (checked between blocks).
    suggested_change : bool, default False
        Add the ``suggested_change`` column (:func:`add_suggested_change`).

    Returns
    -------
    churn_core.campaign.target_list.TargetList
    """
    from churn_core.campaign.target_list import make_target_list
    from churn_core.workbench.drift import batch_drift, drift_log

    valid = scores.valid if scores.valid is not None else scores.scored
    ids = (list(id_columns) if id_columns is not None
           else [c for c in bundle.schema.id_columns if c in scores.scored.columns])
    result = make_target_list(bundle, scores.scored, valid.reset_index(drop=True),
                              scores.rejected, rule, explainer=context.explainer,
                              profile=context.profile, settings=context.settings, value=value,
                              id_columns=ids, extra_columns=list(extra_columns),
                              include_protected=include_protected, y=scores.y,
                              data_sha256=data.sha256, data_name=data.name, actions=actions,
                              progress=progress, cancel=cancel,
                              drift=drift_log(batch_drift(bundle, scores)))
    if suggested_change:
        add_suggested_change(result, bundle, scores, context, progress=progress)
    return result


SUGGESTED_CHANGE = "suggested_change"


def add_suggested_change(result, bundle, scores: Scores, context: ReasonContext,
                         progress: Callable | None = None):
    """Add the ``suggested_change`` column to a built list (in place; also returned).

    For each listed customer: the single change of one column the team can act on that
    lowers the model's churn probability most, with the probability after it (e.g.
    ``"IsActiveMember: 0 → 1 (churn probability 0.412)"``; empty when no single change
    lowers it); :func:`churn_core.explain.suggest.suggest_for_frame`, about 1 s per 2,000
    customers (``benchmarks/bench_whatif.py``). Searched: the actionable features
    (:func:`churn_core.explain.whatif.actionable_columns`) that the model's reason settings
    mark neither protected nor non-actionable. The column goes before
    ``recommended_action``; the decision log records the columns searched and that these
    are model predictions, not causal effects.

    Parameters
    ----------
    result : TargetList
    bundle : ModelBundle
    scores : Scores
        The scored file the list was cut from (``result.selection.positions`` index it).
    context : ReasonContext
        Its explainer's background rows give the candidate values (:func:`whatif_space`).
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    TargetList
    """
    from churn_core.explain.suggest import NOT_CAUSAL
    from churn_core.explain.whatif import actionable_columns
    from churn_core.workbench.whatif import suggested_change_column, whatif_space

    space = whatif_space(bundle, context.explainer, scores)
    columns = actionable_columns(list(space), context.settings)
    positions = result.selection.positions
    frame = result.frame
    if columns and len(positions):
        text = suggested_change_column(bundle, scores, positions, space, progress=progress,
                                       columns=columns).to_numpy()
    else:
        text = np.full(len(frame), "", dtype=object)
    at = (frame.columns.get_loc("recommended_action")
          if "recommended_action" in frame.columns else len(frame.columns))
    frame.insert(int(at), SUGGESTED_CHANGE, text)
    result.log["suggested_change"] = {"columns_searched": columns, "note": NOT_CAUSAL}
    return result


def list_bytes(result, kind: str) -> bytes:
    """File content of a built list: ``"csv"``, ``"xlsx"`` (list + decision_log sheet) or
    ``"json"`` (decision log). Formulas are neutralised (``campaign.export``)."""
    from churn_core.campaign import export as E
    from churn_core.errors import ChurnError

    if kind == "csv":
        return E.to_csv_bytes(result.frame)
    if kind == "xlsx":
        return E.to_xlsx_bytes(result.frame, result.log)
    if kind == "json":
        return E.decision_log_json(result.log)
    raise ChurnError(f"unknown export format {kind!r}")


def list_name(bundle, rule, kind: str) -> str:
    """``retention_targets_<model>_<date>_<rule tag>.<kind>``; the decision log gets
    ``decision_log_`` in front instead."""
    from churn_core.campaign.target_list import list_filename

    name = list_filename(getattr(bundle, "name", "model"), rule, ext=kind)
    return name.replace("retention_targets_", "decision_log_") if kind == "json" else name


def protected_present(bundle, frame: pd.DataFrame) -> list[str]:
    """Protected attributes of the model's settings present in ``frame``."""
    from churn_core.campaign.target_list import reason_settings

    return [c for c in reason_settings(bundle).protected if c in frame.columns]


def reason_exclusions(bundle, actionable_only: bool = True,
                      include_protected: bool = False) -> list[str]:
    """Columns never given as reasons in the all-customers reason codes: the model's
    protected attributes (unless ``include_protected``) plus, with ``actionable_only``, its
    non-actionable columns (``ReasonSettings`` saved with the model, else name-matched)."""
    from churn_core.campaign.target_list import reason_settings

    s = reason_settings(bundle)
    return list(dict.fromkeys(([] if include_protected else list(s.protected))
                              + (list(s.non_actionable) if actionable_only else [])))


def reason_settings_of(bundle):
    """The model's reason settings (protected, non-actionable columns, business labels)."""
    from churn_core.campaign.target_list import reason_settings

    return reason_settings(bundle)


@dataclass
class FileReasonSettings:
    """Which reason settings the Data page shows next to the file on screen.

    Attributes
    ----------
    model : str or None
        The active model's name.
    fits : bool
        The active model finds every feature column it needs in the file: its saved settings
        apply to this file and may be edited and saved with it.
    missing : list of str
        The model's feature columns absent from the file (empty when ``fits``).
    settings : ReasonSettings
        The model's saved settings when ``fits``; otherwise the name-matched defaults of the
        file's own feature columns, which a model trained on this file starts with.
    columns : list of str
        The feature columns ``settings`` speak of (the model's, or the file's).
    """

    model: str | None
    fits: bool
    missing: list
    settings: Any
    columns: list


def file_reason_settings(bundle, data: ActiveData) -> FileReasonSettings:
    """The reason settings that belong to the file on screen (breakit item 3).

    Parameters
    ----------
    bundle : ModelBundle or None
        The active model.
    data : ActiveData
        The file on the Data page (its schema's features are the columns a model trained on
        it would use).

    Returns
    -------
    FileReasonSettings
        ``fits`` False (and the file's name-matched defaults, never another model's columns)
        when the model lacks any of its feature columns in the file, e.g. a bank model and
        the Orange Telecom file: ``settings.protected == ["State", "Area code"]``.
    """
    from churn_core.data.cells import match_columns
    from churn_core.explain.reasons import ReasonSettings

    if bundle is not None:
        feats = list(bundle.schema.features)
        found = match_columns(data.frame.columns, feats)
        missing = [c for c in feats if c not in found]
        if not missing:
            return FileReasonSettings(bundle.name, True, [], reason_settings_of(bundle), feats)
    else:
        missing = []
    own = list(data.schema.features)
    return FileReasonSettings(getattr(bundle, "name", None), False, missing,
                              ReasonSettings.defaults(own), own)


def save_reason_settings(bundle, protected, non_actionable, labels: dict,
                         models_dir=None):
    """Save the reason settings with the model (``card.json`` entry ``reason_settings``).

    Parameters
    ----------
    bundle : ModelBundle
        Left unchanged (it may be shared by a cache): load the bundle again to use the
        new settings (its ``card.json`` changed, so the app's loader reloads it).
    protected, non_actionable : sequence of str
        Feature columns; others are refused.
    labels : dict of str to str
        Business label per feature column (blank labels fall back to the prettified name).
    models_dir : path-like, optional

    Returns
    -------
    ReasonSettings

    Raises
    ------
    ChurnError
        A column that is not one of the model's features.
    """
    from churn_core.errors import ChurnError
    from churn_core.explain.reasons import ReasonSettings, pretty_label
    from churn_core.model.bundle import update_card

    feats = list(bundle.schema.features)
    bad = [c for c in [*protected, *non_actionable, *labels] if c not in feats]
    if bad:
        raise ChurnError(f"not feature columns of model {bundle.name!r}: {bad}")
    settings = ReasonSettings(list(protected), [c for c in non_actionable
                                                if c not in set(protected)],
                              {c: (str(labels.get(c) or "").strip() or pretty_label(c))
                               for c in feats})
    update_card(bundle.name, {"reason_settings": settings.to_dict()}, models_dir)
    return settings


def listed_positions(result) -> np.ndarray:
    """Scored-row positions of a built list, in rank order."""
    return result.selection.positions


def with_control_group(result, id_columns, share: float = 0.10, seed: int = 42,
                       created: str | None = None, copy: bool = False):
    """Hold back a random, tier-stratified share of a built list as a control group.

    The list keeps every customer: ``group`` says ``"treatment"`` (call) or ``"control"``
    (do not call) and ``campaign_id`` names the campaign; the decision log gets the
    ``campaign`` record (seed, share, members) that ``campaign-results`` reads back later.
    ``share`` 0 leaves the list unchanged. See
    :func:`churn_core.campaign.control.assign_control_group`.

    Parameters
    ----------
    result : TargetList
        A built list (:func:`build_list`).
    id_columns : sequence of str
        Candidate customer ID columns (those in the list are used).
    share : float in [0, 1), default 0.10
    seed : int, default 42
    created : str, optional
        ISO time of the campaign (default now, UTC).
    copy : bool, default False
        False: ``result`` is changed in place (the command line). True: ``result`` is left
        as it is and a new ``TargetList`` is returned (the app keeps the list without a
        control group, so the share can change without building it again).

    Returns
    -------
    TargetList
        Its decision log counts the customers to call and the value of their calls without
        the control group (:func:`churn_core.campaign.target_list.record_calls`).

    Raises
    ------
    ChurnError
        ``share`` outside [0, 1) or no customer ID column in the list.
    """
    import dataclasses

    from churn_core.campaign.control import assign_control_group
    from churn_core.campaign.target_list import record_calls

    if not share:
        return result
    ids = [c for c in (id_columns or []) if c in result.frame.columns]
    # outcomes come back keyed by the customer ID, not by a file's row number
    ids.sort(key=lambda c: not any(w in str(c).casefold() for w in ("customer", "client", "account")))
    framed, record = assign_control_group(result.frame, ids, share=share, seed=seed,
                                          created=created)
    if copy:
        return record_calls(dataclasses.replace(result, frame=framed,
                                                log={**result.log, "campaign": record}))
    result.frame = framed
    result.log["campaign"] = record
    return record_calls(result)


def list_calls(result) -> dict:
    """Customers listed, to call and held back, and the expected net value of the calls
    (and of the control group, had it been called) of a built list:
    :func:`churn_core.campaign.target_list.call_summary` of its ``group`` column."""
    from churn_core.campaign.control import CONTROL_GROUP, GROUP
    from churn_core.campaign.target_list import call_summary

    frame = result.frame
    control = (frame[GROUP].astype(str).to_numpy() == CONTROL_GROUP if GROUP in frame.columns
               else np.zeros(len(frame), dtype=bool))
    return call_summary(control, result.expected_values)


def calls_sentence(calls: dict, currency: str = "", money=None) -> str:
    """``"500 listed = 450 to call + 50 held back as control group; expected net value of the
    450 calls: 54,428 EUR"`` (:func:`churn_core.campaign.target_list.calls_sentence`;
    ``money(value)`` writes the amount when given)."""
    from churn_core.campaign.target_list import calls_sentence as words

    return words(calls, currency, money)


def control_group_skipped(result, reason: str, share: float):
    """Record in the decision log that no control group was held back, and why (in place).

    Parameters
    ----------
    result : TargetList
    reason : str
        E.g. "the list has no customer ID column to match outcomes later".
    share : float
        The share that would have been held back.

    Returns
    -------
    TargetList
    """
    result.log["control_group"] = {"held_back": False, "share_asked": float(share),
                                   "reason": str(reason)}
    return result
