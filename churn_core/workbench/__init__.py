"""App-facing facade: the few calls the dashboard makes, with expensive results kept.

The Streamlit pages (``app.py``, ``pages/*.py``) only read widgets, call this package and
render. This package never imports streamlit; it wires the engine modules together
(``io -> infer -> validate -> bundle/scoring -> metrics/tiers/export``) and precomputes
what a rerun needs so that moving the decision threshold costs a binary search, not a
re-prediction. One module per concept:

* :mod:`.data` -- :class:`ActiveData`: one file read, typed and validated, keyed by the
  SHA-256 of its bytes; :mod:`.quality` -- its data-quality report.
* :mod:`.curve` -- :class:`ThresholdCurve`: probabilities sorted once; confusion counts at
  any threshold are then ``O(log n)`` (``numpy.searchsorted``) instead of ``O(n)``.
* :mod:`.evaluation` -- the validation/test arrays a bundle recorded;
  :mod:`.compare` -- the gradient-boosting challenger.
* :mod:`.scores` -- :class:`Scores`: the scored rows of one (model, data) pair.
* :mod:`.segments` -- risk tiers and the on-screen customer table.
* :mod:`.explain` -- SHAP glue; :mod:`.training` -- training guard and train-and-save;
  :mod:`.exports` -- downloads; :mod:`.values` -- per-customer value;
  :mod:`.whatif` -- one customer edited and re-scored, changes that lower the risk.

``from churn_core import workbench; workbench.X`` and ``from churn_core.workbench import X``
both work for every public name below.

Convention used everywhere: a customer is a predicted churner when
``churn_probability >= decision_threshold``.
"""
from __future__ import annotations

from churn_core.workbench.columns import PRED, PROBA, TIER, TIERS
from churn_core.workbench.data import (ActiveData, apply_schema, labels_from_text, load_data,
                                       sha256_of)
from churn_core.workbench.quality import QualityReport, churn_label_series, quality_report
from churn_core.workbench.curve import ThresholdCounts, ThresholdCurve
from churn_core.workbench.evaluation import (EvalArrays, default_threshold,
                                             default_tier_cutoffs, eval_arrays)
from churn_core.workbench.scores import Scores, score_data
from churn_core.workbench.compare import ChallengerView, challenger_view
from churn_core.workbench.explain import (explain_one, explain_scores, make_explainer,
                                          reasons_for)
from churn_core.workbench.training import TrainingGuard, slug_model_name, train_model
from churn_core.workbench.segments import (SegmentView, customer_table, default_actions,
                                           rank_positions, segment, tier_counts)
from churn_core.workbench.exports import (ExportContext, export_bytes, export_log, export_name,
                                          rejected_csv_bytes, target_list)
from churn_core.workbench.values import column_value, split_values
from churn_core.workbench.whatif import (WhatIfView, customer_row, suggested_change_column,
                                         suggestion_table, what_if_view, whatif_space)

__all__ = [
    "PRED", "PROBA", "TIER", "TIERS",
    "ActiveData", "apply_schema", "labels_from_text", "load_data", "sha256_of",
    "QualityReport", "churn_label_series", "quality_report",
    "ThresholdCounts", "ThresholdCurve",
    "EvalArrays", "default_threshold", "default_tier_cutoffs", "eval_arrays",
    "Scores", "score_data",
    "ChallengerView", "challenger_view",
    "explain_one", "explain_scores", "make_explainer", "reasons_for",
    "TrainingGuard", "slug_model_name", "train_model",
    "SegmentView", "customer_table", "default_actions", "rank_positions", "segment",
    "tier_counts",
    "ExportContext", "export_bytes", "export_log", "export_name", "rejected_csv_bytes",
    "target_list",
    "column_value", "split_values",
    "WhatIfView", "customer_row", "suggested_change_column", "suggestion_table", "what_if_view",
    "whatif_space",
]
