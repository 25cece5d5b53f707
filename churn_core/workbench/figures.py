"""Every figure builder the pages draw, in one namespace: ``wb.figures.roc_figure(...)``.

The builders live in :mod:`churn_core.figures` (Plotly figures from precomputed arrays;
they never fit or predict); the pages reach them only through the workbench.
"""
from __future__ import annotations

from churn_core.figures.campaign import campaign_results_figure, qini_figure
from churn_core.figures.data import OUTCOME_COLORS, distribution_figure, loss_figure
from churn_core.figures.explain import (LOWERS, RAISES, beeswarm_figure, customer_table,
                                        dependence_figure, importance_figure, waterfall_figure)
from churn_core.figures.performance import (COLORS, TIER_COLORS, confusion_matrix_table,
                                            cumulative_gains_figure, fairness_figure, lift_figure,
                                            metrics_vs_threshold_figure, net_value_figure,
                                            pr_figure, reliability_figure, roc_figure,
                                            score_distribution_figure, tier_summary_figure)

__all__ = [
    "campaign_results_figure", "qini_figure",
    "OUTCOME_COLORS", "distribution_figure", "loss_figure",
    "LOWERS", "RAISES", "beeswarm_figure", "customer_table", "dependence_figure",
    "importance_figure", "waterfall_figure",
    "COLORS", "TIER_COLORS", "confusion_matrix_table",
    "cumulative_gains_figure", "fairness_figure",
    "lift_figure", "metrics_vs_threshold_figure", "net_value_figure", "pr_figure",
    "reliability_figure", "roc_figure", "score_distribution_figure", "tier_summary_figure",
]
