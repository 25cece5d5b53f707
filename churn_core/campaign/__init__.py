"""Stage 6, *act*: scoring files for a campaign, risk tiers, the retention target list and its
decision log (and what later work adds: fairness, drift, uplift).

May import: ``churn_core.explain`` and every stage before it.
"""
