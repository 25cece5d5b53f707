"""Column names and tier labels shared by the workbench modules."""
from __future__ import annotations

PROBA = "churn_probability"
PRED = "predicted_churn"
TIER = "risk_tier"
TIERS = ("High", "Medium", "Low")
