"""Values outside the training range: which customers, which column, what the range was.

The range of a numeric column is the smallest and largest value in the model's *training
file* (every valid row: training, validation and test splits), recorded in the model card as
``data_ranges`` by :func:`churn_core.model.train.train_bundle`. The preprocessing's own edges
(the training split's minimum and maximum) are narrower: with them, scoring the training
file itself flagged its validation and test customers beyond the training split's extremes
(e.g. ``EstimatedSalary 1``, ``Balance 1`` on the bank file), a false alarm. Bundles whose
card has no ``data_ranges`` fall back to :meth:`Preprocessor.outside_training_range`'s range
(the outer PLE edges, else the gross-outlier fences).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Customers listed per column in a warning (the count covers all of them).
MAX_LISTED = 10


def data_ranges(valid: pd.DataFrame, numeric) -> dict[str, list[float]]:
    """Smallest and largest value of each numeric column (blanks ignored).

    Parameters
    ----------
    valid : DataFrame of shape (n_samples, >= n_numeric)
        Validated rows (``ValidationResult.valid``: numeric columns as floats).
    numeric : list of str
        Numeric feature columns.

    Returns
    -------
    dict of str to [float, float]
        ``{column: [min, max]}``; columns without any finite value are left out.
    """
    out = {}
    for col in numeric:
        x = pd.to_numeric(valid[col], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if len(x):
            out[col] = [float(x.min()), float(x.max())]
    return out


def row_number_like(name) -> bool:
    """Whether a column name says it numbers rows (``RowNumber``, ``row_id``, ``index``, ``Unnamed: 0``)
    rather than identifying a customer: two files numbered 1, 2, 3 ... share no customers."""
    import re

    return re.sub(r"[^a-z0-9]", "", str(name).lower()) in {"rownumber", "rownum", "rowid", "row",
                                                           "index", "unnamed0"}


def _range_of(bundle, col: str):
    card_ranges = (getattr(bundle, "card", None) or {}).get("data_ranges") or {}
    if col in card_ranges:
        lo, hi = card_ranges[col]
        return float(lo), float(hi)
    pre = bundle.preprocessor
    if col in pre.edges:
        return pre.edges[col][0], pre.edges[col][-1]
    return pre.bounds.get(col, (-np.inf, np.inf))


def outside_training_range(bundle, valid: pd.DataFrame, id_columns=None,
                           line_column: str = "source_row") -> dict[str, dict]:
    """Numeric values outside the range the model was trained on, with the customers.

    Parameters
    ----------
    bundle : ModelBundle
        Its card's ``data_ranges`` (else its preprocessing) give the range.
    valid : DataFrame of shape (n_samples, >= n_numeric)
        Validated rows about to be scored.
    id_columns : list of str, optional
        Columns identifying a customer (default: the bundle schema's ID columns); the first
        one not named like a row number (``RowNumber``, ``index``) is listed.
    line_column : str, default "source_row"
        Column holding each row's line in the source file.

    Returns
    -------
    dict of str to dict
        ``{column: {"count": int, "low": float, "high": float, "lines": [int, ...],
        "ids": [str, ...]}}`` for columns with at least one value below ``low`` or above
        ``high``; ``lines`` / ``ids`` list at most :data:`MAX_LISTED` customers (in file
        order); ``ids`` is empty without an ID column.
    """
    if not len(valid):
        return {}
    ids = sorted((c for c in (bundle.schema.id_columns if id_columns is None else id_columns)
                  if c in valid.columns), key=row_number_like)  # a customer ID before a row number
    out = {}
    for col in bundle.preprocessor.numeric:
        lo, hi = _range_of(bundle, col)
        if not (np.isfinite(lo) or np.isfinite(hi)) or col not in valid.columns:
            continue
        x = pd.to_numeric(valid[col], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero((x < lo) | (x > hi))
        if not len(bad):
            continue
        first = bad[:MAX_LISTED]
        lines = (valid[line_column].to_numpy()[first].tolist() if line_column in valid.columns
                 else (first + 2).tolist())
        out[col] = {"count": int(len(bad)), "low": float(lo), "high": float(hi),
                    "lines": [int(v) for v in lines],
                    # the listed rows only (not the whole column as Python strings)
                    "ids": [str(v) for v in valid[ids[0]].iloc[first].to_numpy()] if ids else [],
                    "id_column": ids[0] if ids else None}
    return out


def merge_details(total: dict, part: dict) -> dict:
    """Add the details of one chunk (:func:`outside_training_range`) to ``total``, in place."""
    for col, d in part.items():
        t = total.setdefault(col, {"count": 0, "low": d["low"], "high": d["high"],
                                   "lines": [], "ids": [], "id_column": d.get("id_column")})
        t["count"] += d["count"]
        t["lines"] = (t["lines"] + d["lines"])[:MAX_LISTED]
        t["ids"] = (t["ids"] + d["ids"])[:MAX_LISTED]
    return total


def describe(details: dict, limit: int = 5) -> list[str]:
    """One sentence per column: how many customers, which (IDs or lines), what the range was.

    Parameters
    ----------
    details : dict
        As returned by :func:`outside_training_range`.
    limit : int, default 5
        Customers named per column.

    Returns
    -------
    list of str
        E.g. ``"Age: 2 customers outside the training range 18 to 92 (CustomerId 15634602,
        15647311)"``.
    """
    out = []
    for col, d in sorted(details.items()):
        who = (f"{d.get('id_column') or 'ID'} {', '.join(d['ids'][:limit])}" if d.get("ids")
               else f"line {', '.join(str(v) for v in d['lines'][:limit])}")
        more = f", ... {d['count'] - limit} more" if d["count"] > limit else ""
        out.append(f"{col}: {d['count']} customer{'s' if d['count'] != 1 else ''} outside the "
                   f"training range {d['low']:g} to {d['high']:g} ({who}{more})")
    return out
