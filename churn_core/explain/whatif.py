"""What-if for one customer: edit feature values and re-score them (the search for the change
that lowers the risk most is :mod:`churn_core.explain.suggest`).

Scoring path
------------
Every probability here comes from :meth:`ModelBundle.predict_proba` on validated rows (the
rows :func:`churn_core.data.validate.validate` returns), exactly as
:func:`churn_core.campaign.scoring.score_frame` scores a file: an edited customer's
probability is the probability scoring the edited row would give (up to float32 rounding
between batch shapes, ~1e-7). Editing values to what they already are changes nothing (the
original probability is returned as is).

Values allowed
--------------
From the bundle's preprocessor (fitted on the training rows): categories are the training
categories (matched case- and whitespace-insensitively, as scoring matches them); numbers lie
within the training range (the outer piecewise-linear bin edges = training minimum and
maximum; without them the range of a reference sample, e.g. the SHAP background, within the
gross-outlier fences). Candidate numbers are the training quantiles (the bin edges, or nine
quantiles of the reference sample) and, for whole-number columns, one more and one fewer.

Actionable columns
------------------
:func:`actionable_columns` (the columns :mod:`.suggest` searches): never a protected or
sensitive attribute (:func:`is_protected`, matched by name: gender, sex, age, date of birth,
nationality, geography: country / region / state / city / zip or postal code / area code /
address / location; ethnicity, race, religion, language, marital status, dependents, senior
citizen, partner status, disability, ...: :data:`~churn_core.explain.reasons.PROTECTED_WORDS`), and not columns nobody can change (tenure, salary,
income, credit score).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError
from churn_core.data.cells import category_key as _norm_key
from churn_core.explain.reasons import non_actionable_columns, protected_columns
from churn_core.model.preprocess import lookup_category

#: Quantiles searched for a numeric column without piecewise-linear bin edges.
N_QUANTILES = 9


class WhatIfError(ChurnError):
    """An edit cannot be applied (unknown column, unknown category, number out of range)."""


# ---------------------------------------------------------------------------- columns
def is_protected(column) -> bool:
    """Whether ``column`` is a protected or sensitive attribute (matched by name).

    The same rule as the reason codes: :func:`churn_core.explain.reasons.protected_columns`
    (:data:`~churn_core.explain.reasons.PROTECTED_WORDS`).

    Parameters
    ----------
    column : str

    Returns
    -------
    bool
        True for names such as ``Gender``, ``Age``, ``Customer_Age``, ``Geography``,
        ``SeniorCitizen``, ``Dependents``, ``Marital_Status``, ``DateOfBirth``; False for
        ``Usage`` or ``Balance`` (whole words only).
    """
    return bool(protected_columns([column]))


def actionable_columns(columns: Sequence[str], settings=None) -> list[str]:
    """The columns a change may be suggested for: not protected, not history/circumstance.

    Parameters
    ----------
    columns : sequence of str
    settings : explain.reasons.ReasonSettings, optional
        The model's reason settings: their ``protected`` and ``non_actionable`` columns are
        left out too (on top of the name-matched ones), so a column the analyst marked
        protected is never searched.

    Returns
    -------
    list of str
        In the order of ``columns``.
    """
    skip = set(protected_columns(columns)) | set(non_actionable_columns(columns))
    if settings is not None:
        skip |= set(getattr(settings, "protected", None) or [])
        skip |= set(getattr(settings, "non_actionable", None) or [])
    return [c for c in columns if c not in skip]


# ---------------------------------------------------------------------------- the space
@dataclass(frozen=True)
class ColumnSpace:
    """The values one feature column may take in a what-if.

    Attributes
    ----------
    column : str
    kind : {"numeric", "category"}
    values : tuple
        Candidate values: training categories (most frequent first), or numbers at training
        quantiles (ascending, within ``[low, high]``).
    low, high : float or None
        Training range of a numeric column.
    integer : bool
        A numeric column holding whole numbers only (steps of one are candidates too).
    """

    column: str
    kind: str
    values: tuple
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def format(self, value) -> str:
        """A value as text: whole numbers without decimals, others with up to 2."""
        if self.kind == "category":
            return str(value)
        v = float(value)
        if not np.isfinite(v):
            return "blank"
        if self.integer or v.is_integer():
            return str(int(round(v)))
        return f"{v:.2f}".rstrip("0").rstrip(".")


def _finite(series: pd.Series | None) -> np.ndarray:
    if series is None:
        return np.zeros(0)
    x = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return x[np.isfinite(x)]


def feature_space(bundle, reference: pd.DataFrame | None = None) -> dict[str, ColumnSpace]:
    """The allowed and candidate values of every feature of ``bundle``.

    Parameters
    ----------
    bundle : ModelBundle
    reference : DataFrame, optional
        Validated rows seen by the model, ideally its training split (the SHAP background):
        tells whole-number columns apart and gives the range and quantiles of numeric
        columns without piecewise-linear bin edges.

    Returns
    -------
    dict of str to ColumnSpace
        One entry per feature, in model order.

    Notes
    -----
    Range of a numeric column: the preprocessor's outer bin edges (training minimum and
    maximum); else the reference minimum and maximum within the gross-outlier fences; else
    the mean plus or minus 3 standard deviations. Candidates: the bin edges (training
    quantiles at 0, 1/8, ..., 1), else :data:`N_QUANTILES` reference quantiles.
    """
    pre = bundle.preprocessor
    out: dict[str, ColumnSpace] = {}
    for col in pre.numeric:
        ref = _finite(reference[col]) if reference is not None and col in reference else _finite(None)
        fence = pre.bounds.get(col, (-np.inf, np.inf))
        if len(ref):
            ref = ref[(ref >= fence[0]) & (ref <= fence[1])]
        edges = pre.edges.get(col)
        if edges:
            low, high, q = float(edges[0]), float(edges[-1]), np.asarray(edges, float)
        elif len(ref):
            low, high = float(ref.min()), float(ref.max())
            q = np.quantile(ref, np.linspace(0, 1, N_QUANTILES))
        else:
            mean, sd = pre.means[col], pre.scales[col]
            low, high = max(mean - 3 * sd, fence[0]), min(mean + 3 * sd, fence[1])
            q = np.linspace(low, high, N_QUANTILES)
        integer = bool(len(ref)) and bool(np.all(ref == np.round(ref)))
        if integer:
            q = np.round(q)
        q = np.unique(np.clip(q, low, high))
        out[col] = ColumnSpace(col, "numeric", tuple(float(v) for v in q), low, high, integer)
    for col in pre.categorical:
        out[col] = ColumnSpace(col, "category", tuple(pre.categories[col]))
    return out


def _category_index(spec: ColumnSpace) -> dict[str, int]:
    return {_norm_key(v): i for i, v in enumerate(spec.values)}


def parse_value(space: Mapping[str, ColumnSpace], column: str, value):
    """An edit's value as the model reads it, checked against the allowed values.

    Parameters
    ----------
    space : dict of str to ColumnSpace
        From :func:`feature_space`.
    column : str
        A feature column (case and surrounding spaces ignored).
    value : str, float or int
        A number (numeric text as validation reads it: ``1,234.5`` or ``1.234,5``) or a
        category (case and spaces ignored; ``True`` matches a trained ``1``).

    Returns
    -------
    tuple of (str, float or str)
        The column's model name and the value (float, or the category's training spelling).

    Raises
    ------
    WhatIfError
        Unknown column; a number that is blank, not a number or outside the training range;
        a category not seen in training. The message names the column and what is allowed.
    """
    from churn_core.data.validate import parse_numeric

    names = {str(c).strip().casefold(): c for c in space}
    col = names.get(str(column).strip().casefold())
    if col is None:
        raise WhatIfError(f"{column!r} is not a feature of the model; features: {', '.join(space)}")
    spec = space[col]
    if spec.kind == "category":
        pos = lookup_category(_category_index(spec), _norm_key(value))
        if pos < 0:
            raise WhatIfError(f"column {col!r}: {value!r} was not seen in training; known values: "
                              f"{', '.join(map(str, spec.values))}")
        return col, spec.values[pos]
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
    else:
        vals, _, _ = parse_numeric(pd.Series([str(value)], dtype="str"))
        v = float(vals[0])
    if not np.isfinite(v):
        raise WhatIfError(f"column {col!r}: {value!r} is not a number")
    if not spec.low <= v <= spec.high:
        raise WhatIfError(f"column {col!r}: {spec.format(v)} is outside the training range "
                          f"{spec.format(spec.low)} to {spec.format(spec.high)}")
    return col, v


def _same(spec: ColumnSpace, a, b) -> bool:
    """Whether two values of a column encode the same way."""
    if spec.kind == "category":
        if pd.isna(a) or pd.isna(b):
            return bool(pd.isna(a) and pd.isna(b))
        index = _category_index(spec)
        ka, kb = _norm_key(a), _norm_key(b)
        pa, pb = lookup_category(index, ka), lookup_category(index, kb)
        return pa == pb if pa >= 0 or pb >= 0 else ka == kb
    fa, fb = float(a), float(b)
    return (np.isnan(fa) and np.isnan(fb)) or fa == fb


def _set_columns(rows: pd.DataFrame, assign: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """In place: ``rows[col].iloc[pos] = values`` for each ``col -> (pos, values)``, keeping
    each column's dtype (float for numeric, text for categories)."""
    for col, (pos, values) in assign.items():
        dtype = rows[col].dtype
        arr = rows[col].to_numpy(dtype=object, copy=True)
        arr[pos] = values
        rows[col] = pd.array(arr, dtype=dtype) if not pd.api.types.is_float_dtype(dtype) \
            else arr.astype(float)


def apply_changes(row: pd.DataFrame, changes: Mapping[str, object]) -> pd.DataFrame:
    """A copy of validated rows with some feature values replaced (already parsed values).

    Parameters
    ----------
    row : DataFrame of shape (n_samples, >= n_features)
        Validated rows (``ValidationResult.valid``).
    changes : dict of str to float or str
        Column -> new value (from :func:`parse_value`), the same for every row.

    Returns
    -------
    DataFrame
        Same index and columns as ``row``.
    """
    out = row.copy()
    n = len(out)
    _set_columns(out, {c: (np.arange(n), [v] * n) for c, v in changes.items()})
    return out


# ---------------------------------------------------------------------------- one edit
@dataclass
class WhatIfResult:
    """One customer before and after an edit.

    Attributes
    ----------
    probability_before, probability_after : float
        Churn probabilities in [0, 1] (calibrated, as in the scored table).
    changes : dict of str to object
        The edits that change a value (edits to the current value are left out).
    row_before, row_after : DataFrame of shape (1, n_columns)
        The validated row and the edited row.
    """

    probability_before: float
    probability_after: float
    changes: dict
    row_before: pd.DataFrame
    row_after: pd.DataFrame


def what_if(bundle, row: pd.DataFrame, changes: Mapping[str, object],
            space: Mapping[str, ColumnSpace] | None = None) -> WhatIfResult:
    """Score one customer before and after editing some of their feature values.

    Parameters
    ----------
    bundle : ModelBundle
    row : DataFrame of shape (1, >= n_features)
        The customer's validated row.
    changes : dict of str to object
        Column -> new value (text or number; parsed and checked by :func:`parse_value`).
    space : dict of str to ColumnSpace, optional
        Default :func:`feature_space` of ``bundle`` with ``row`` as reference.

    Returns
    -------
    WhatIfResult
        ``probability_after`` is ``bundle.predict_proba`` of the edited row: what
        :func:`churn_core.campaign.scoring.score_frame` gives that row. With no change of
        any value it equals ``probability_before``.

    Raises
    ------
    WhatIfError
        See :func:`parse_value`; also when ``row`` is not one row.
    """
    if len(row) != 1:
        raise WhatIfError(f"what-if edits one customer; got {len(row)} rows")
    space = space if space is not None else feature_space(bundle, row)
    parsed = dict(parse_value(space, c, v) for c, v in changes.items())
    effective = {c: v for c, v in parsed.items() if not _same(space[c], row[c].iloc[0], v)}
    edited = apply_changes(row, effective)
    before = float(bundle.predict_proba(row)[0])
    after = float(bundle.predict_proba(edited)[0]) if effective else before
    return WhatIfResult(before, after, effective, row, edited)
