"""SHAP glue: the explainer of a bundle, explanations of scored customers, reason codes."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.data.validate import validate
from churn_core.explain.reason_codes import reason_codes
from churn_core.explain.shap_values import RawColumnExplainer, explain_sample
from churn_core.workbench.data import ActiveData
from churn_core.workbench.scores import Scores


def make_explainer(bundle, data: ActiveData, training: ActiveData | None = None,
                   background_size: int = config.SHAP_BACKGROUND_SIZE):
    """Build the SHAP explainer of ``bundle`` with a background drawn from training rows.

    The background is the bundle's own training split when ``training`` (or else ``data``)
    is the file the bundle was trained on (same SHA-256); otherwise the valid rows of
    ``data``. The choice is kept in the explainer's ``background_source`` attribute (shown
    in the UI).

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
        The customers to explain.
    training : ActiveData, optional
        Another loaded file that may be the model's training file.
    background_size : int, default config.SHAP_BACKGROUND_SIZE (100)
        Background rows (a seeded sample of the rows above when there are more).

    Returns
    -------
    explain.RawColumnExplainer
    """

    card = getattr(bundle, "card", {}) or {}
    if training is not None and card.get("data_sha256") == training.sha256:
        data = training
    valid = validate(data.frame, bundle.schema, require_target=False,
                     source_name=data.name).valid
    train_pos = ((getattr(bundle, "evaluation", {}) or {}).get("train") or {}).get("position")
    source = f"valid rows of {data.name}"
    background = valid
    if card.get("data_sha256") == data.sha256 and train_pos:
        try:
            # train positions index the validated training frame (target required there)
            full = validate(data.frame, bundle.schema, require_target=True,
                            source_name=data.name).valid
            background = full.iloc[np.asarray(train_pos, dtype=int)]
            source = f"the model's training split of {data.name}"
        except Exception:  # fall back to the file's rows
            background = valid
    explainer = RawColumnExplainer(bundle, background, background_size=int(background_size))
    explainer.background_source = source
    return explainer


def explain_scores(explainer, scores: Scores, progress: Callable | None = None,
                   max_rows: int = config.SHAP_MAX_ROWS, n_permutations: int | None = None):
    """SHAP values of every scored customer (fast method; a stated random sample above
    ``max_rows`` rows).

    Parameters
    ----------
    explainer : explain.RawColumnExplainer
    scores : Scores
    progress : callable, optional
        ``progress(done, total, message)``.
    max_rows : int, default config.SHAP_MAX_ROWS
        Larger files are explained on a random sample of this many rows (seeded).
    n_permutations : int, optional
        Column orders per customer and background row (default: the explainer's own).

    Returns
    -------
    explain.Explanation
        Index = positions of the explained rows in ``scores.scored``.
    """

    valid = scores.valid if scores.valid is not None else scores.scored
    return explain_sample(explainer, valid.reset_index(drop=True),
                          max_rows=max_rows, method="fast", n_permutations=n_permutations,
                          progress=progress)


#: Customers of the smaller timed sample of :func:`shap_rate` (the larger one is 4x).
RATE_SAMPLE_ROWS = 128


def shap_rate(explainer, valid: pd.DataFrame, n_permutations: int | None = None) -> float:
    """Seconds per customer the fast SHAP method takes on this machine now, to promise a time.

    The cost per customer falls as a run grows (the two worker threads overlap better over
    many chunks), so a small sample's plain rate over-promises: after an untimed warm-up on
    16 customers, :data:`RATE_SAMPLE_ROWS` and 4x as many are timed and the rate is the slope
    between them (the marginal cost of a large run), never below half the plain rate of the
    larger sample (a guard against timing noise on a shared machine). Measured on the bank
    model (Score & segment, 10,000 customers, quiet 2-core machine): the slope promised
    0.98-1.09x the page's real time; a plain 512-customer rate 2.0-2.2x, the slope from 16
    customers 2.0x, a plain 64-customer rate 1.5-2.5x. Files smaller than both samples are
    timed once whole.

    Parameters
    ----------
    explainer : explain.RawColumnExplainer
    valid : DataFrame of shape (n_samples, ...)
        Valid (typed) rows; the first ones are timed.
    n_permutations : int, optional
        Column orders per customer and background row (default: the explainer's own).

    Returns
    -------
    float
        Seconds per customer (> 0).
    """
    def timed(rows: pd.DataFrame) -> float:
        t0 = time.perf_counter()
        explainer.explain(rows, method="fast", n_permutations=n_permutations)
        return max(time.perf_counter() - t0, 1e-9)

    small, large = RATE_SAMPLE_ROWS, 4 * RATE_SAMPLE_ROWS
    timed(valid.iloc[:16])  # warm-up
    if len(valid) < small + large:
        part = valid.iloc[:large]
        return timed(part) / max(len(part), 1)
    t_small, t_large = timed(valid.iloc[:small]), timed(valid.iloc[small:small + large])
    return max((t_large - t_small) / (large - small), 0.5 * t_large / large)


def explain_one(explainer, scores: Scores, position: int):
    """Exact SHAP values of one scored customer (all coalitions).

    Parameters
    ----------
    explainer : explain.RawColumnExplainer
    scores : Scores
    position : int
        Row position in ``scores.scored``.

    Returns
    -------
    explain.Explanation
        One row; ``base_value + values.sum() == output`` (raw model probability).
    """
    valid = scores.valid if scores.valid is not None else scores.scored
    return explainer.explain(valid.iloc[[position]], method="auto")


def reasons_for(explanation, n_rows: int, exclude=()) -> pd.DataFrame:
    """Top-3 reason codes aligned to ``n_rows`` scored rows (blank where not explained).

    Parameters
    ----------
    explanation : explain.Explanation
        From :func:`explain_scores` (index = scored positions).
    n_rows : int
        Rows of the scored table.
    exclude : sequence of str
        Columns never given as reasons (e.g. non-actionable ones).

    Returns
    -------
    DataFrame of shape (n_rows, 3)
        ``reason_1``, ``reason_2``, ``reason_3`` with a RangeIndex.
    """

    codes = reason_codes(explanation, top=3, exclude=exclude)
    return codes.reindex(pd.RangeIndex(n_rows)).fillna("")
