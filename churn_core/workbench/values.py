"""Per-customer value (a numeric column x margin) for net-value thresholds and exports."""
from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core.data.validate import validate
from churn_core.errors import TrainingDataError
from churn_core.workbench.data import ActiveData
from churn_core.workbench.scores import Scores


def column_value(scores: Scores, column: str, margin: float) -> np.ndarray:
    """Per-customer value = a numeric column of the scored rows x ``margin``.

    Parameters
    ----------
    scores : Scores
    column : str
        Numeric feature column (e.g. ``Balance``); typed values are taken from the
        validated rows, blanks count as 0.
    margin : float
        Share of the column kept as value (e.g. 0.01).

    Returns
    -------
    ndarray of shape (n_scored,)
    """
    src = scores.valid if scores.valid is not None and column in scores.valid else scores.scored
    v = pd.to_numeric(src[column], errors="coerce").to_numpy(dtype=float)
    return np.nan_to_num(v, nan=0.0) * float(margin)


def split_values(bundle, data: ActiveData, column: str, margin: float,
                 split: str = "validation") -> np.ndarray:
    """Per-customer value (``column x margin``) of the rows of one of the bundle's splits.

    Used by the net-value threshold strategy, which is chosen on the validation split:
    the value of each validation customer comes from the training file's own column.

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
        Must be the file the bundle was trained on (split positions index its valid rows).
    column : str
        Numeric column (e.g. ``Balance``); blanks count as 0.
    margin : float
        Share of the column kept as value.
    split : {"validation", "test", "train"}

    Returns
    -------
    ndarray of shape (n_split,)

    Raises
    ------
    TrainingDataError
        When ``data`` is not the model's training file.
    """

    card = getattr(bundle, "card", {}) or {}
    pos = ((getattr(bundle, "evaluation", {}) or {}).get(split) or {}).get("position")
    if data is None or card.get("data_sha256") != data.sha256 or pos is None:
        raise TrainingDataError(
            "a per-customer value needs the file the model was trained on (its validation "
            f"customers): load {card.get('source') or 'the training file'} on the Data page, "
            "or use one amount for every customer")
    valid = validate(data.frame, bundle.schema, require_target=True, source_name=data.name).valid
    v = pd.to_numeric(valid[column].iloc[np.asarray(pos, dtype=int)], errors="coerce")
    return np.nan_to_num(v.to_numpy(dtype=float), nan=0.0) * float(margin)
