"""App-facing facade: the few calls the dashboard makes, with expensive results kept.

The Streamlit pages (``app.py``, ``pages/*.py``) only read widgets, call this package and
render. This package never imports streamlit; it wires the engine modules together
(``io -> infer -> validate -> bundle/scoring -> metrics/tiers/export``) and precomputes
what a rerun needs so that moving the decision threshold costs a binary search, not a
re-prediction. One module per concept:

* :mod:`.data` -- :class:`ActiveData`: one file read, typed and validated, keyed by the
  SHA-256 of its bytes; :mod:`.quality` -- its data-quality report.
* :class:`ThresholdCurve` (from :mod:`churn_core.evaluate.curve`): probabilities sorted
  once; :class:`ThresholdMetrics` at any threshold is then ``O(log n)``.
* :mod:`.evaluation` -- the validation/test arrays a bundle recorded;
  :mod:`.compare` -- the gradient-boosting challenger.
* :mod:`.scores` -- :class:`Scores`: the scored rows of one (model, data) pair.
* :mod:`.segments` -- risk tiers and the on-screen customer table.
* :mod:`.explain` -- SHAP glue; :mod:`.training` -- training guard and train-and-save;
  :mod:`.exports` -- downloads; :mod:`.values` -- per-customer value.
* :mod:`.file_quality` -- the active model measured on the active file, "trained on other
  data"; :mod:`.registry` -- every saved model in one table, champion, deletion;
  :mod:`.roles` -- the column-role form without traps.
  :mod:`.exports` -- downloads; :mod:`.values` -- per-customer value;
  :mod:`.target_lists` -- the retention target list by one campaign rule.
* :mod:`.drift` -- batch health: is a scored file like the model's training data (verdict,
  per-column PSI and charts), and the model's drift history.
  :mod:`.exports` -- downloads; :mod:`.values` -- per-customer value;
  :mod:`.whatif` -- one customer edited and re-scored, changes that lower the risk.

* :mod:`.workspace` -- :class:`Workspace` (one session's active model and data) over a
  process-wide :class:`ResultStore` (every result above, computed once, keyed by hashes);
  :mod:`.uploads` -- the local folder that keeps uploads for reloads; :mod:`.url_state` --
  the session's choices (campaign rule, value assumptions, label) as URL parameters.
* :mod:`.figures` -- every figure builder, ``wb.figures.roc_figure(...)``.

The front door of the pages: ``app.py`` and ``pages/*.py`` import ``churn_core.workbench``
and no other ``churn_core`` module (``tests/test_imports.py``), so the few engine names a
page needs (``config``, errors, threshold strategies, training options, label helpers) are
re-exported here too. ``from churn_core import workbench; workbench.X`` and
``from churn_core.workbench import X`` both work for every public name below.

Convention used everywhere: a customer is a predicted churner when
``churn_probability >= decision_threshold``.
"""
from __future__ import annotations

import importlib

from churn_core import config
from churn_core.columns import (EXPECTED_VALUE, PRED, PROBA, RANK, REASON, REASON_COLUMNS,
                                SCORE_COLUMNS, SOURCE_ROW, TIER, TIERS, reason_column)
from churn_core.errors import ChurnError, MissingColumnsError

# Every other public name is imported on first use (PEP 562 module ``__getattr__``): the
# first page needs a few of them, and importing them all up front (scikit-learn, SciPy,
# plotly, the SHAP and training code) cost about 2 s of the app's start-up.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "churn_core.campaign.target_list": ("listed_actions_note",),
    "churn_core.data.dates": ("date_notes",),
    "churn_core.data.infer": ("suggest_positive_label", "target_values",),
    "churn_core.evaluate.curve": ("ThresholdCurve", "ThresholdMetrics",),
    "churn_core.evaluate.net_value": ("net_value_curve",),
    "churn_core.evaluate.strategies": ("STRATEGIES", "choose_on_validation",),
    "churn_core.explain.reason_codes": (
        "global_importance", "non_actionable_present", "reason_codes",
    ),
    "churn_core.explain.shap_values": ("EXACT_MAX_COLUMNS",),
    "churn_core.model.network": ("IMBALANCE_MODES", "TrainConfig",),
    "churn_core.model.registry": ("card_counts",),
    "churn_core.workbench.compare": ("ChallengerView", "challenger_view",),
    "churn_core.workbench.data": (
        "ActiveData", "apply_schema", "data_sha256", "header_notes", "labels_from_text",
        "load_data", "sha256_of", "workbook_sheets",
    ),
    "churn_core.workbench.evaluation": (
        "EvalArrays", "LiftView", "calibration_view", "default_threshold", "default_tier_cutoffs",
        "eval_arrays", "lift_view", "test_roc_auc",
    ),
    "churn_core.workbench.explain": (
        "explain_one", "explain_scores", "make_explainer", "reasons_for",
    ),
    "churn_core.workbench.training": (
        "recipe_summary", "TrainingGuard", "TrainingJob", "shared_training_guard",
        "slug_model_name", "train_model",
    ),
    "churn_core.workbench.exports": (
        "ExportContext", "export_bytes", "export_log", "export_name", "rejected_csv_bytes",
        "target_list",
    ),
    "churn_core.workbench.quality": ("QualityReport", "churn_label_series",
                                     "duplicate_id_examples", "quality_report",),
    "churn_core.workbench.scores": ("Scores", "score_data",),
    "churn_core.workbench.segments": (
        "SegmentView", "customer_table", "default_actions", "rank_positions", "segment",
        "tier_counts",
    ),
    "churn_core.workbench.uploads": ("UploadFolder", "is_sha256",),
    "churn_core.workbench.values": ("column_value", "split_values",),
    "churn_core.workbench.campaigns": (
        "NO_EFFECT", "NOT_MEASURABLE", "campaign_effects", "campaign_measurable",
        "campaign_sample_csv", "list_uplift_models",
        "load_uplift_model", "log_value_assumptions", "measure_campaign", "read_decision_log",
        "saved_sentence", "train_uplift_model", "uplift_ranking",
    ),
    "churn_core.workbench.workspace": (
        "CUTOFFS_KEY", "DATA_KEY", "MODEL_KEY", "THRESHOLD_KEY", "URL_KEYS", "ResultStore",
        "Workspace", "list_models", "model_stamp",
    ),
    "churn_core.workbench.url_state": ("VALUE_KINDS", "VALUE_LIMITS",),
    "churn_core.workbench.file_quality": (
        "ModelOnFile", "blank_feature_notes", "model_label", "model_on_file", "outside_range_notes",
        "trained_on_text",
    ),
    "churn_core.workbench.roles": (
        "apply_roles", "other_labels_warning", "resolve_roles", "suggested_label", "target_labels",
        "without_target",
    ),
    "churn_core.workbench.registry": (
        "champion", "champion_is_synthetic", "default_model_name", "delete_model", "is_synthetic",
        "label_of", "registry_table", "set_champion",
    ),
    "churn_core.workbench.target_lists": (
        "FileReasonSettings", "ReasonContext", "add_suggested_change", "build_list", "campaign_rule",
        "file_reason_settings", "list_bytes", "list_name",
        "listed_positions", "protected_present", "reason_context", "reason_exclusions",
        "reason_settings_of", "rule_preview", "save_reason_settings", "value_assumptions",
        "with_control_group", "list_calls", "calls_sentence", "control_group_skipped",
    ),
    "churn_core.workbench.drift": (
        "BANDS_TEXT", "NO_PROFILE", "SCORE_LABEL", "DriftView", "batch_drift", "drift_figure",
        "drift_history", "drift_log", "history_chart", "psi_overview_figure", "record_batch",
    ),
    "churn_core.workbench.whatif": (
        "WhatIfView", "customer_row", "row_position", "source_rows", "suggested_change_column",
        "suggestion_table", "what_if_view", "whatif_space",
    ),
}
#: public names that are a submodule (``module``) or a renamed attribute (``module:attr``)
_ALIASES = {
    "figures": "churn_core.workbench.figures",
    "campaign_figures": "churn_core.figures.campaign",
    "REGISTRY_TITLES": "churn_core.workbench.registry:TITLES",
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    """Import a public name's module on first use and keep the name in this module."""
    if name in _ALIASES:
        target = _ALIASES[name]
        if ":" in target:
            mod, attr = target.split(":")
            value = getattr(importlib.import_module(mod), attr)
        else:
            value = importlib.import_module(target)
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "config", "figures", "ChurnError", "MissingColumnsError",
    "EXPECTED_VALUE", "PRED", "PROBA", "RANK", "REASON", "REASON_COLUMNS", "SCORE_COLUMNS",
    "SOURCE_ROW", "TIER", "TIERS", "reason_column",
    "listed_actions_note", "date_notes", "suggest_positive_label", "target_values",
    "ThresholdCurve", "ThresholdMetrics",
    "STRATEGIES", "choose_on_validation", "net_value_curve",
    "EXACT_MAX_COLUMNS", "global_importance", "non_actionable_present", "reason_codes",
    "IMBALANCE_MODES", "TrainConfig",
    "ActiveData", "apply_schema", "data_sha256", "header_notes", "labels_from_text", "load_data",
    "sha256_of",
    "workbook_sheets",
    "QualityReport", "churn_label_series", "duplicate_id_examples", "quality_report",
    "EvalArrays", "LiftView", "calibration_view", "default_threshold", "default_tier_cutoffs",
    "eval_arrays", "lift_view", "test_roc_auc",
    "Scores", "score_data",
    "ChallengerView", "challenger_view",
    "explain_one", "explain_scores", "make_explainer", "reasons_for",
    "TrainingGuard", "TrainingJob", "shared_training_guard", "recipe_summary",
    "slug_model_name", "train_model",
    "SegmentView", "customer_table", "default_actions", "rank_positions", "segment",
    "tier_counts",
    "ExportContext", "export_bytes", "export_log", "export_name", "rejected_csv_bytes",
    "target_list",
    "column_value", "split_values",
    "NO_EFFECT", "NOT_MEASURABLE", "campaign_effects", "campaign_measurable",
    "campaign_sample_csv", "list_uplift_models",
    "load_uplift_model", "measure_campaign", "read_decision_log", "saved_sentence",
    "uplift_ranking", "campaign_figures", "train_uplift_model", "log_value_assumptions",
    "UploadFolder", "is_sha256", "VALUE_KINDS", "VALUE_LIMITS",
    "CUTOFFS_KEY", "DATA_KEY", "MODEL_KEY", "THRESHOLD_KEY", "URL_KEYS", "ResultStore", "Workspace", "list_models", "model_stamp",
    "ModelOnFile", "blank_feature_notes", "model_label", "model_on_file", "outside_range_notes",
    "trained_on_text", "other_labels_warning",
    "apply_roles", "resolve_roles", "suggested_label", "target_labels", "without_target",
    "REGISTRY_TITLES", "champion", "champion_is_synthetic", "default_model_name", "delete_model", "is_synthetic",
    "label_of", "registry_table", "set_champion",
    "FileReasonSettings", "ReasonContext", "add_suggested_change", "build_list", "campaign_rule",
    "file_reason_settings", "list_bytes", "list_name", "listed_positions", "protected_present", "reason_context", "reason_exclusions",
    "reason_settings_of", "rule_preview", "save_reason_settings",
    "value_assumptions", "with_control_group", "list_calls", "calls_sentence",
    "control_group_skipped",
    "BANDS_TEXT", "NO_PROFILE", "SCORE_LABEL", "DriftView", "batch_drift", "drift_figure", "drift_history", "drift_log",
    "history_chart", "psi_overview_figure", "record_batch",
    "WhatIfView", "customer_row", "row_position", "source_rows", "suggested_change_column",
    "suggestion_table", "what_if_view", "whatif_space", "card_counts",
]
