"""Names of the columns the product adds to a customer table, and the risk-tier labels.

The one place these strings are written: scoring, tiers, explanations, exports, the
workbench and the pages use these constants (``churn_core.workbench`` re-exports them for
the pages). Top level, so every stage may import it.
"""
from __future__ import annotations

#: Calibrated churn probability in [0, 1].
PROBA = "churn_probability"
#: 1 when ``churn_probability >= decision_threshold``, else 0.
PRED = "predicted_churn"
#: High / Medium / Low (see :data:`TIERS`).
TIER = "risk_tier"
#: The risk-tier labels, highest risk first (values of the ``risk_tier`` column).
TIERS = ("High", "Medium", "Low")


def reason_column(i: int) -> str:
    """Name of the ``i``-th reason column (1-based): ``reason_column(1) == "reason_1"``."""
    return f"reason_{int(i)}"


#: Top reasons (SHAP value, strongest first) for one customer's score.
REASON_COLUMNS = tuple(reason_column(i) for i in (1, 2, 3))
#: Expected net value of contacting a customer (retention target list).
EXPECTED_VALUE = "expected_value"
#: Position in the retention target list (1 = contact first).
RANK = "rank"
#: Why a row was rejected (rejected-rows files).
REASON = "reason"
#: The spreadsheet row of the input file a customer came from (``io.reader.ROW_INDEX``).
SOURCE_ROW = "source_row"
#: The columns scoring adds to every scored row.
SCORE_COLUMNS = (PROBA, PRED)
