"""Summaries of SHAP explanations for people: global importance and per-customer reason
codes (``reason_1..3``), with the columns a bank cannot act on left out on request."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from churn_core.columns import reason_column
from churn_core.explain.explanation import Explanation

#: Columns a bank usually cannot act on; excluded from reason codes when "actionable only"
#: is chosen (matched case-insensitively). Analysis views keep every column.
NON_ACTIONABLE_COLUMNS = (
    "Age", "Gender", "Geography", "SeniorCitizen", "Partner", "Dependents",
    "Customer_Age", "Marital_Status", "Education_Level",
)


def global_importance(explanation: Explanation) -> pd.Series:
    """Mean absolute SHAP value per raw column, largest first.

    Returns
    -------
    Series indexed by column name, float64 (probability units)
    """
    imp = np.abs(explanation.values).mean(axis=0)
    return pd.Series(imp, index=explanation.columns, name="mean_abs_shap").sort_values(ascending=False)


def _format_value(col: str, values: pd.Series, numeric: bool, binary: bool) -> pd.Series:
    """Plain-words ``"Age 57"`` / ``"Geography = Germany"`` / ``"Balance missing"`` per row."""
    if numeric:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

        def one(v):
            if not np.isfinite(v):
                return f"{col} missing"
            text = f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"
            return f"{col} = {text}" if binary else f"{col} {text}"

        return pd.Series([one(v) for v in x], index=values.index)
    s = values.astype("string").str.strip()
    return pd.Series(np.where(s.isna() | (s == ""), f"{col} missing", f"{col} = " + s.fillna("")),
                     index=values.index)


def reason_codes(explanation: Explanation, top: int = 3, exclude: Sequence[str] = (),
                 min_value: float = 0.0) -> pd.DataFrame:
    """The columns pushing each customer's risk up, in plain words.

    Only positive contributions count as reasons, largest first; a customer with fewer than
    ``top`` positive contributions gets empty strings for the rest.

    Parameters
    ----------
    explanation : Explanation
    top : int, default 3
        Number of reason columns (``reason_1`` .. ``reason_<top>``).
    exclude : sequence of str, default ()
        Columns never given as reasons, e.g. :data:`NON_ACTIONABLE_COLUMNS` for "columns the
        bank can act on" (matched case-insensitively).
    min_value : float, default 0.0
        A contribution must exceed this (probability units) to be a reason.

    Returns
    -------
    DataFrame of shape (n_samples, top)
        Columns ``reason_1`` .. ``reason_<top>``, index = the explained rows' index; texts like
        ``"Age 57 raises risk"`` or ``"IsActiveMember = 0 raises risk"``.
    """
    cols = explanation.columns
    excl = {str(c).casefold() for c in exclude}
    vals = np.array(explanation.values, dtype=np.float64, copy=True)
    for j, c in enumerate(cols):
        if c.casefold() in excl:
            vals[:, j] = -np.inf
    vals[~(vals > min_value)] = -np.inf
    k = min(top, len(cols))
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    words = np.column_stack([
        _format_value(c, explanation.data[c], c in set(explanation.numeric),
                      c in set(explanation.binary)).to_numpy(dtype=object) + " raises risk"
        for c in cols
    ]) if len(cols) else np.empty((len(explanation), 0), dtype=object)
    rows = np.arange(len(explanation))[:, None]
    picked = words[rows, order]
    ok = np.isfinite(vals[rows, order])
    picked = np.where(ok, picked, "")
    out = pd.DataFrame(index=explanation.index)
    for i in range(top):
        out[reason_column(i + 1)] = picked[:, i] if i < k else ""
    return out


def non_actionable_present(columns: Sequence[str],
                           candidates: Sequence[str] = NON_ACTIONABLE_COLUMNS) -> list[str]:
    """Which of ``columns`` are in the non-actionable list (case-insensitive).

    Parameters
    ----------
    columns : sequence of str
    candidates : sequence of str, default NON_ACTIONABLE_COLUMNS

    Returns
    -------
    list of str
        In the order of ``columns``; pass as ``exclude`` to :func:`reason_codes`.
    """
    cand = {c.casefold() for c in candidates}
    return [c for c in columns if c.casefold() in cand]
