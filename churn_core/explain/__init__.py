"""Stage 5, *explain*: SHAP values per raw column and reason codes.

May import: ``churn_core.model`` and every stage before it.
"""
