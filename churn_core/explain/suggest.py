"""The change that lowers one customer's churn probability most: a search over actionable
columns (:func:`churn_core.explain.whatif.actionable_columns`; protected attributes never),
within the values of :func:`churn_core.explain.whatif.feature_space`.

Candidates: every other training category; every training quantile of a numeric column;
one more and one fewer for whole-number columns. The single changes of one customer and all
pairs of them in two different columns are scored in ONE call of ``bundle.predict_proba``
(the scoring path); for a list, one call per block of customers.

What a suggestion means: what the model predicts for the edited customer, not a causal
effect. The model learnt associations in past data, and an intervention (giving a customer a
second product) need not move churn as the association does. Campaign results measure
effects.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from churn_core.explain.whatif import (ColumnSpace, WhatIfError, _category_index, _set_columns,
                                       actionable_columns, feature_space)
from churn_core.data.cells import category_key as _norm_key
from churn_core.model.preprocess import lookup_category

#: At most this many pairs of single changes are scored for one customer.
MAX_PAIRS = 5000
#: The wording shown with every suggestion.
NOT_CAUSAL = ("These are the model's predictions for the edited customer, not causal effects: "
              "the model learnt associations in past data. A campaign measures what a change "
              "really does.")


@dataclass
class _Candidate:
    """One single change for a block of customers: ``column`` set to ``values[i]`` for
    customer ``i``, a real change (different, within range) where ``ok[i]``."""

    column: str
    values: np.ndarray
    ok: np.ndarray
    step: int = 0  # +1 / -1 for "one more / one fewer", 0 for a fixed value


def _candidates(space: Mapping[str, ColumnSpace], columns: Sequence[str],
                rows: pd.DataFrame) -> list[_Candidate]:
    """Every single change of ``columns`` for every customer of ``rows``."""
    n = len(rows)
    out: list[_Candidate] = []
    for col in columns:
        spec = space[col]
        if spec.kind == "category":
            index = _category_index(spec)
            codes, uniques = pd.factorize(rows[col], use_na_sentinel=True)
            pos_u = np.array([lookup_category(index, _norm_key(u)) for u in uniques] + [-1])
            current = pos_u[np.where(codes < 0, len(uniques), codes)]
            for k, label in enumerate(spec.values):
                out.append(_Candidate(col, np.full(n, label, dtype=object), current != k))
            continue
        x = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        grid = np.asarray(spec.values, float)
        for v in grid:
            out.append(_Candidate(col, np.full(n, v), ~np.isclose(x, v, rtol=1e-12, atol=0)))
        if spec.integer:
            for step in (1, -1):
                v = x + step
                with np.errstate(invalid="ignore"):
                    ok = np.isfinite(v) & (v >= spec.low) & (v <= spec.high) & ~np.isin(v, grid)
                out.append(_Candidate(col, v, ok, step))
    return out


def _score_edits(bundle, rows: pd.DataFrame, cands: list[_Candidate],
                 edits: Sequence[Sequence[int]]) -> np.ndarray:
    """Probabilities of ``rows`` unchanged (row 0 of the result) and under each edit.

    One call of ``bundle.predict_proba`` on ``(len(edits) + 1) * len(rows)`` rows: block
    ``b`` holds every customer with edit ``b - 1`` applied (an edit = candidate indices).

    Returns
    -------
    ndarray of shape (len(edits) + 1, len(rows))
    """
    n = len(rows)
    feats = rows[list(bundle.features)].reset_index(drop=True)
    big = feats.iloc[np.tile(np.arange(n), len(edits) + 1)].reset_index(drop=True)
    by_col: dict[str, list] = defaultdict(list)
    for b, edit in enumerate(edits, start=1):
        for k in edit:
            by_col[cands[k].column].append((b, k))
    assign = {}
    for col, items in by_col.items():
        pos = np.concatenate([np.arange(b * n, (b + 1) * n) for b, _ in items])
        vals = np.concatenate([cands[k].values.astype(object) for _, k in items])
        assign[col] = (pos, vals)
    _set_columns(big, assign)
    return np.asarray(bundle.predict_proba(big), dtype=float).reshape(len(edits) + 1, n)


def _searched(space, columns) -> list[str]:
    cols = actionable_columns(list(space)) if columns is None else list(columns)
    unknown = [c for c in cols if c not in space]
    if unknown:
        raise WhatIfError(f"not features of the model: {', '.join(map(str, unknown))}")
    return cols


@dataclass
class Suggestions:
    """The changes that lower one customer's churn probability most (model predictions).

    Attributes
    ----------
    probability_before : float
        The customer's churn probability, in [0, 1].
    singles : DataFrame
        The best single changes, lowest probability first: ``column``, ``current``,
        ``value`` (float or category), ``change`` (text, e.g. ``"IsActiveMember: 0 -> 1"``),
        ``probability_after`` and ``difference`` (after - before, negative). Only changes
        that lower the probability.
    best_pair : dict or None
        ``{"columns": [a, b], "values": [va, vb], "change": text, "probability_after": p,
        "difference": d}`` for the pair of changes in two columns with the lowest
        probability, when it is lower than before.
    searched : list of str
        The columns searched.
    n_scored : int
        Edited rows scored (singles + pairs).
    note : str
        :data:`NOT_CAUSAL`.
    """

    probability_before: float
    singles: pd.DataFrame
    best_pair: dict | None
    searched: list
    n_scored: int
    note: str = field(default=NOT_CAUSAL)


def _change_text(spec: ColumnSpace, current, value) -> str:
    return f"{spec.column}: {spec.format(current)} → {spec.format(value)}"


def suggest_changes(bundle, row: pd.DataFrame, space: Mapping[str, ColumnSpace] | None = None,
                    columns: Sequence[str] | None = None, top: int = 5,
                    pairs: bool = True) -> Suggestions:
    """Search the single changes (and pairs) of actionable columns for one customer.

    Parameters
    ----------
    bundle : ModelBundle
    row : DataFrame of shape (1, >= n_features)
        The customer's validated row (e.g. already edited with :func:`apply_changes`).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``row`` as reference.
    columns : sequence of str, optional
        Columns to search; default :func:`actionable_columns` of the features (protected
        attributes are never searched by default).
    top : int, default 5
        Single changes returned.
    pairs : bool, default True
        Also score every pair of single changes in two different columns (at most
        :data:`MAX_PAIRS`, the first ones in column order).

    Returns
    -------
    Suggestions

    Raises
    ------
    WhatIfError
        When ``row`` is not one row or ``columns`` names a non-feature.

    Notes
    -----
    All candidates (the unchanged row, the singles and the pairs) are scored in one call of
    ``bundle.predict_proba``.
    """
    if len(row) != 1:
        raise WhatIfError(f"suggestions are for one customer; got {len(row)} rows")
    space = space if space is not None else feature_space(bundle, row)
    cols = _searched(space, columns)
    cands = [c for c in _candidates(space, cols, row) if c.ok[0]]
    singles = [(k,) for k in range(len(cands))]
    duo = [(i, j) for i, j in combinations(range(len(cands)), 2)
           if cands[i].column != cands[j].column][:MAX_PAIRS] if pairs else []
    p = _score_edits(bundle, row, cands, singles + duo)[:, 0]
    before = float(p[0])
    recs = []
    for k, c in enumerate(cands):
        spec = space[c.column]
        cur = row[c.column].iloc[0]
        recs.append({"column": c.column, "current": cur, "value": c.values[0],
                     "change": _change_text(spec, cur, c.values[0]),
                     "probability_after": float(p[1 + k]),
                     "difference": float(p[1 + k]) - before})
    table = pd.DataFrame(recs, columns=["column", "current", "value", "change",
                                        "probability_after", "difference"])
    table = table[table["difference"] < 0].sort_values("probability_after", kind="stable")
    best = None
    if duo:
        pp = p[1 + len(singles):]
        i = int(np.argmin(pp))
        if pp[i] < before:
            a, b = (cands[k] for k in duo[i])
            best = {"columns": [a.column, b.column], "values": [a.values[0], b.values[0]],
                    "change": "; ".join(_change_text(space[c.column], row[c.column].iloc[0],
                                                     c.values[0]) for c in (a, b)),
                    "probability_after": float(pp[i]), "difference": float(pp[i]) - before}
    return Suggestions(before, table.head(top).reset_index(drop=True), best, cols,
                       len(singles) + len(duo))


def best_single_changes(bundle, valid_rows: pd.DataFrame,
                        space: Mapping[str, ColumnSpace] | None = None,
                        columns: Sequence[str] | None = None,
                        progress: Callable[[int, int, str], None] | None = None,
                        chunk: int = 1000) -> pd.DataFrame:
    """The single actionable change that lowers each customer's churn probability most.

    Parameters
    ----------
    bundle : ModelBundle
    valid_rows : DataFrame of shape (n_samples, >= n_features)
        Validated rows (e.g. the listed customers).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``valid_rows`` as reference.
    columns : sequence of str, optional
        Default :func:`actionable_columns` of the features.
    progress : callable, optional
        ``progress(done, total, message)`` after each block of customers.
    chunk : int, default 1000
        Customers per call of the model (each call scores ``chunk x (candidates + 1)`` rows).

    Returns
    -------
    DataFrame of shape (n_samples, 5)
        Index of ``valid_rows``; ``column``, ``value``, ``change`` (text; empty, with
        ``column`` None, when no change lowers the probability), ``probability_before``,
        ``probability_after`` (equal to before when there is no such change).
    """
    space = space if space is not None else feature_space(bundle, valid_rows)
    cols = _searched(space, columns)
    n = len(valid_rows)
    column = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    text = np.full(n, "", dtype=object)
    p_before = np.full(n, np.nan)
    p_after = np.full(n, np.nan)
    for start in range(0, n, max(1, int(chunk))):
        rows = valid_rows.iloc[start:start + chunk]
        cands = _candidates(space, cols, rows)
        p = _score_edits(bundle, rows, cands, [(k,) for k in range(len(cands))])
        before, after = p[0], p[1:]
        if cands:
            ok = np.vstack([c.ok for c in cands])
            after = np.where(ok, after, np.inf)
            best = np.argmin(after, axis=0)
            p_best = after[best, np.arange(len(rows))]
        else:
            best, p_best = np.zeros(len(rows), int), np.full(len(rows), np.inf)
        better = p_best < before
        sl = slice(start, start + len(rows))
        p_before[sl] = before
        p_after[sl] = np.where(better, p_best, before)
        for i in np.flatnonzero(better):
            c = cands[best[i]]
            column[start + i], value[start + i] = c.column, c.values[i]
            text[start + i] = _change_text(space[c.column], rows[c.column].iloc[i], c.values[i])
        if progress is not None:
            progress(min(start + len(rows), n), n, "searching changes")
    return pd.DataFrame({"column": column, "value": value, "change": text,
                         "probability_before": p_before, "probability_after": p_after},
                        index=valid_rows.index)


def suggest_for_frame(bundle, valid_rows: pd.DataFrame,
                      space: Mapping[str, ColumnSpace] | None = None,
                      columns: Sequence[str] | None = None,
                      progress: Callable[[int, int, str], None] | None = None,
                      chunk: int = 1000) -> pd.Series:
    """The ``suggested_change`` column of a customer list: best single actionable change and
    the churn probability after it.

    Parameters
    ----------
    bundle, valid_rows, space, columns, progress, chunk
        As in :func:`best_single_changes`.

    Returns
    -------
    Series of str of shape (n_samples,), named ``suggested_change``
        E.g. ``"IsActiveMember: 0 → 1 (churn probability 0.412)"``; empty where no single
        change lowers the probability. Index of ``valid_rows``.
    """
    best = best_single_changes(bundle, valid_rows, space, columns, progress, chunk)
    has = best["change"] != ""
    text = best["change"].where(~has, best["change"] + best["probability_after"].map(
        lambda p: f" (churn probability {p:.3f})"))
    return text.astype(object).rename("suggested_change")
