"""What-if glue for the Explain page and the target list: one customer edited and re-scored
(probability, risk tier, SHAP waterfall), the changes that lower their risk most, and the
``suggested_change`` column (:mod:`churn_core.explain.whatif` and :mod:`.suggest` do the work)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from churn_core.workbench.scores import Scores


def whatif_space(bundle, explainer=None, scores: Scores | None = None) -> dict:
    """Allowed and candidate values of every feature (:func:`explain.whatif.feature_space`).

    Parameters
    ----------
    bundle : ModelBundle
    explainer : explain.RawColumnExplainer, optional
        Its background rows (the model's training split when known) are the reference.
    scores : Scores, optional
        Otherwise the scored rows are.

    Returns
    -------
    dict of str to explain.whatif.ColumnSpace
    """
    from churn_core.explain.whatif import feature_space

    reference = getattr(explainer, "background", None)
    if reference is None and scores is not None:
        reference = _valid(scores)
    return feature_space(bundle, reference)


def _valid(scores: Scores) -> pd.DataFrame:
    return scores.valid if scores.valid is not None else scores.scored


def customer_row(scores: Scores, position: int) -> pd.DataFrame:
    """The validated row of one scored customer.

    Parameters
    ----------
    scores : Scores
    position : int
        Row position in ``scores.scored``.

    Returns
    -------
    DataFrame of shape (1, n_columns)
    """
    return _valid(scores).iloc[[int(position)]]


def source_rows(scores: Scores) -> np.ndarray:
    """Spreadsheet row (``source_row``, header = row 1) of every scored customer.

    Parameters
    ----------
    scores : Scores

    Returns
    -------
    ndarray of int, shape (n_scored,)
        In the order of ``scores.scored``; the numbers the target list and ``what-if --row``
        use. Rejected rows leave gaps, so they differ from the positions.
    """
    from churn_core.columns import SOURCE_ROW

    if SOURCE_ROW in scores.scored.columns:
        return scores.scored[SOURCE_ROW].to_numpy(dtype=int)
    return np.arange(2, 2 + len(scores.scored))


def row_position(scores: Scores, source_row: int) -> tuple[int | None, str]:
    """Position in ``scores.scored`` of the customer on spreadsheet row ``source_row``.

    Parameters
    ----------
    scores : Scores
    source_row : int
        The row a spreadsheet shows (header = row 1), as ``source_row`` in the target list.

    Returns
    -------
    position : int or None
        None when no scored customer is on that row.
    why : str
        Empty when found; otherwise why not (the row was rejected, with its reason, or the
        file has no such row), in one sentence.
    """
    from churn_core.columns import SOURCE_ROW

    rows = source_rows(scores)
    hit = np.flatnonzero(rows == int(source_row))
    if len(hit):
        return int(hit[0]), ""
    rej = scores.rejected
    if rej is not None and SOURCE_ROW in rej.columns and "reason" in rej.columns:
        bad = rej[rej[SOURCE_ROW].astype(int) == int(source_row)]
        if len(bad):
            return None, (f"Row {int(source_row)} was rejected, so it has no score: "
                          f"{bad['reason'].iloc[0]}")
    return None, (f"There is no customer on row {int(source_row)}: customers are on rows "
                  f"{int(rows.min())} to {int(rows.max())} (the header is row 1).")


@dataclass
class WhatIfView:
    """One customer before and after an edit, as the page shows it.

    Attributes
    ----------
    probability_before, probability_after : float
        Calibrated churn probabilities in [0, 1].
    tier_before, tier_after : str
        Risk tiers (High / Medium / Low) at the cutoffs given.
    changes : dict
        The edits that change a value.
    row : DataFrame of shape (1, n_columns)
        The edited validated row.
    explanation : explain.Explanation or None
        SHAP values of the edited customer (raw model output), when an explainer was given.
    """

    probability_before: float
    probability_after: float
    tier_before: str
    tier_after: str
    changes: dict
    row: pd.DataFrame
    explanation: object = None


def what_if_view(bundle, scores: Scores, position: int, changes: Mapping[str, object],
                 cutoffs: dict | None = None, explainer=None, space: dict | None = None) -> WhatIfView:
    """Re-score one scored customer with some feature values edited.

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    position : int
        Row position in ``scores.scored``.
    changes : dict of str to object
        Column -> new value (number or category; see :func:`explain.whatif.parse_value`).
    cutoffs : dict, optional
        Risk-tier cutoffs ``{"high": h, "medium": m}`` (default the bundle's).
    explainer : explain.RawColumnExplainer, optional
        Gives the SHAP values of the edited customer (exact method for up to 16 columns).
    space : dict, optional
        From :func:`whatif_space`.

    Returns
    -------
    WhatIfView

    Raises
    ------
    explain.whatif.WhatIfError
        For a value outside the allowed ones.
    """
    from churn_core.campaign.tiers import assign_tiers
    from churn_core.explain.whatif import what_if

    space = space if space is not None else whatif_space(bundle, explainer, scores)
    res = what_if(bundle, customer_row(scores, position), changes, space)
    cut = cutoffs if cutoffs is not None else bundle.tier_cutoffs
    tiers = assign_tiers(np.array([res.probability_before, res.probability_after]), cut)
    expl = explainer.explain(res.row_after, method="auto") if explainer is not None else None
    return WhatIfView(res.probability_before, res.probability_after, str(tiers[0]),
                      str(tiers[1]), res.changes, res.row_after, expl)


def suggestion_table(bundle, scores: Scores, position: int,
                     changes: Mapping[str, object] | None = None, space: dict | None = None,
                     cutoffs: dict | None = None, top: int = 5):
    """The best single changes and the best pair for one customer (after ``changes``).

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    position : int
        Row position in ``scores.scored``.
    changes : dict, optional
        Edits applied first (the customer as edited on the page).
    space : dict, optional
        From :func:`whatif_space`.
    cutoffs : dict, optional
        Risk-tier cutoffs (default the bundle's).
    top : int, default 5

    Returns
    -------
    suggestions : explain.suggest.Suggestions
        Searched: the actionable features that the model's reason settings mark neither
        protected nor non-actionable (:func:`explain.whatif.actionable_columns`), as the
        list's ``suggested_change``.
    table : DataFrame
        One row per suggestion, single changes first then the best pair: ``change``,
        ``churn_probability`` (after), ``difference`` (after - before, probability points),
        ``risk_tier`` (after).
    """
    from churn_core.campaign.tiers import assign_tiers
    from churn_core.explain.suggest import suggest_changes
    from churn_core.campaign.target_list import reason_settings
    from churn_core.explain.whatif import actionable_columns, apply_changes, parse_value

    space = space if space is not None else whatif_space(bundle, None, scores)
    row = customer_row(scores, position)
    if changes:
        row = apply_changes(row, dict(parse_value(space, c, v) for c, v in changes.items()))
    columns = actionable_columns(list(space), reason_settings(bundle))
    sug = suggest_changes(bundle, row, space, columns=columns, top=top)
    parts = [sug.singles[["change", "probability_after", "difference"]]]
    if sug.best_pair is not None:
        pair = sug.best_pair
        parts.append(pd.DataFrame([{"change": f"best pair: {pair['change']}",
                                    "probability_after": pair["probability_after"],
                                    "difference": pair["difference"]}]))
    table = pd.concat(parts, ignore_index=True).rename(
        columns={"probability_after": "churn_probability"})
    cut = cutoffs if cutoffs is not None else bundle.tier_cutoffs
    table["risk_tier"] = (assign_tiers(table["churn_probability"].to_numpy(float), cut)
                          if len(table) else pd.Series(dtype=object))
    return sug, table


def suggested_change_column(bundle, scores: Scores, positions, space: dict | None = None,
                            progress: Callable[[int, int, str], None] | None = None,
                            columns=None) -> pd.Series:
    """``suggested_change`` for some scored customers (e.g. the listed ones only).

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    positions : array-like of int
        Row positions in ``scores.scored``.
    space : dict, optional
        From :func:`whatif_space`.
    progress : callable, optional
        ``progress(done, total, message)``.
    columns : sequence of str, optional
        Columns a change may be suggested for (default: the actionable features,
        :func:`explain.whatif.actionable_columns`).

    Returns
    -------
    Series of str, index = ``positions``
        See :func:`explain.suggest.suggest_for_frame`.
    """
    from churn_core.explain.suggest import suggest_for_frame

    rows = _valid(scores).iloc[np.asarray(positions, dtype=int)]
    space = space if space is not None else whatif_space(bundle, None, scores)
    out = suggest_for_frame(bundle, rows, space, columns=columns, progress=progress)
    out.index = pd.Index(np.asarray(positions, dtype=int))
    return out
