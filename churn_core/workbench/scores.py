"""Scored customers of one (model, data) pair (:class:`Scores`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_core.campaign.scoring import score_frame
from churn_core.columns import PROBA
from churn_core.data.validate import validate
from churn_core.evaluate.curve import ThresholdCurve
from churn_core.workbench.data import ActiveData, labels_from_text


@dataclass
class Scores:
    """Scored customers of one (model, data) pair.

    Attributes
    ----------
    model_name : str
    data_sha256 : str
    scored : DataFrame
        One row per scored customer: passthrough columns, features, ``churn_probability``
        in [0, 1] (and ``predicted_churn`` at the bundle's default threshold).
    rejected : DataFrame
        Rows that could not be scored: original cells, ``source_row``, ``reason``.
    rows_in : int
        Rows in the file (``rows_in == len(scored) + len(rejected)``).
    y : ndarray of shape (n_scored,) or None
        Labels of the scored rows (1/0/NaN) when the file has the target.
    curve : ThresholdCurve
    """

    model_name: str
    data_sha256: str
    scored: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int
    y: np.ndarray | None
    curve: ThresholdCurve
    report: Any = None
    valid: pd.DataFrame | None = None
    #: the result-store key these scores are kept under (model, stamp, data SHA-256, schema);
    #: empty outside the app's :class:`~churn_core.workbench.workspace.Workspace`
    key: tuple = ()

    @property
    def p(self) -> np.ndarray:
        """ndarray of shape (n_scored,): churn probabilities in [0, 1]."""
        return self.scored[PROBA].to_numpy(dtype=float)


def score_data(bundle, data: ActiveData) -> Scores:
    """Score every row of ``data`` with ``bundle`` (``scoring.score_frame``).

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData

    Returns
    -------
    Scores
        ``rows_in == len(scored) + len(rejected)``.
    """

    result = score_frame(bundle, data.frame, source_name=data.name)
    scored = result.scored
    # the typed rows behind ``scored`` (same order), for explanations
    valid = validate(data.frame, bundle.schema, require_target=False,
                     source_name=data.name).valid.reset_index(drop=True)
    y = None
    target = bundle.schema.target or data.schema.target
    same = data.schema.target == target
    pos = data.schema.positive_label if same else bundle.schema.positive_label
    neg = data.schema.negative_label if same else bundle.schema.negative_label
    if target and target in scored.columns and pos is not None:
        y = labels_from_text(scored[target], pos, neg)
    return Scores(getattr(bundle, "name", "model"), data.sha256, scored, result.rejected,
                  data.rows_in, y, ThresholdCurve(scored[PROBA].to_numpy(float), y),
                  getattr(result, "report", None), valid if len(valid) == len(scored) else None)
