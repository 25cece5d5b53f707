"""Imputation, scaling and one-hot encoding of schema features, fitted on training rows only.

The fitted state is a handful of plain numbers and strings saved as JSON beside the model
(``preprocessor.json``): nothing is ever unpickled. ``transform`` is vectorised with numpy
(categorical columns are factorised once, so matching cost is per distinct value, not per
row).

Numeric columns: median imputation (optionally with a 0/1 missing indicator for columns that
had blanks in training), then standard scaling ``(x - mean) / std`` with the population
standard deviation, as scikit-learn's ``SimpleImputer(strategy="median")`` followed by
``StandardScaler`` do. With ``numeric_encoding="ple"`` each numeric block also holds the
piecewise-linear encoding (PLE; Gorishniy et al., 2022, "On Embeddings for Numerical
Features in Tabular Deep Learning") of the imputed value on quantile bins of the observed
training values, edges ``e_0 < ... < e_T`` (duplicates dropped, so a column with a spike,
e.g. 36 % zero balances, gets fewer bins; columns with fewer than 3 distinct edges get
none): component ``t`` is ``clip((x - e_{t-1}) / (e_t - e_{t-1}), 0, 1)``. The block of a
raw column is ``[standardised, (missing indicator), ple_1..ple_T]``, so every block still
depends on its own raw column only.

Categorical columns: categories learned on the training rows (most frequent first, ties by
label), matched case- and whitespace-insensitively; unseen or missing values encode as an
all-zero one-hot row (counted by :meth:`Preprocessor.unseen_categories`).

``transform`` encodes all numeric blocks in one pass over row blocks (each raw value repeated
under its encoded columns, then one subtraction, division and clip for all of them) and sets
every one-hot cell with one flat index per categorical column.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core.data.cells import BOOL_TWINS, category_key, category_text, count_empty, is_arrow_text
from churn_core.errors import MissingColumnsError, SchemaError
from churn_core.data.schema import FeatureSchema

PREPROCESSOR_VERSION = 1
NUMERIC_ENCODINGS = ("standard", "ple")
#: Quantile bins per numeric column for ``numeric_encoding="ple"``.
PLE_BINS = 8

#: Standardised numeric values are clipped to this many standard deviations (float32-safe).
Z_CLIP = 1e6
#: A training value further than this many interquartile ranges outside the quartiles is a
#: gross outlier (a sentinel like 9999999999, a typing error such as 1e39): it is left out of
#: the mean, standard deviation and PLE bin edges, and every value is clipped to those fences
#: before encoding (Tukey's fences, with 100 instead of 1.5 IQR; see :meth:`Preprocessor.fit`).
FAR_FENCE = 100.0
#: Rows encoded per step by :meth:`Preprocessor.transform`: its float64 scratch block of
#: ``rows x encoded numeric columns`` stays in the CPU cache.
_ROW_BLOCK = 4096


def lookup_category(index: dict[str, int], key: str) -> int:
    """Position of a category in the training list, as the preprocessing matches it.

    Parameters
    ----------
    index : dict of str to int
        Normalised training category (:func:`churn_core.data.cells.category_key`) -> position.
    key : str
        The normalised cell value.

    Returns
    -------
    int
        The position; ``true``/``false`` and ``1``/``0`` stand in for each other when only the
        other spelling was seen in training; ``-1`` when the value is unseen.
    """
    pos = index.get(key)
    if pos is None:
        alias = BOOL_TWINS.get(key)
        pos = index.get(alias, -1) if alias is not None else -1
    return pos


def _as_float(series: pd.Series) -> np.ndarray:
    """Numeric column as float64 with NaN for blanks/unparseable cells."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _exact_positions(series: pd.Series, labels: list[str]):
    """Exact match of Arrow text cells against the training ``labels`` (fast path).

    ``pyarrow.compute.index_in`` against the few training spellings costs a third of a
    factorisation.

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray of int32, or None
        Position of each cell in ``labels`` (null for missing cells); ``None`` (use the
        normalising path) unless the column is Arrow-backed text and every non-missing cell
        is exactly one of ``labels``.
    """
    if not labels or not is_arrow_text(series):
        return None
    arr = pa.array(series.array)
    pos = pc.index_in(arr, value_set=pa.array(labels, type=arr.type))
    return pos if pos.null_count == arr.null_count else None  # else some cell is not exact


def _exact_codes(series: pd.Series, labels: list[str]) -> np.ndarray | None:
    """:func:`_exact_positions` as int64 codes (``-1`` for missing cells), or ``None``."""
    pos = _exact_positions(series, labels)
    if pos is None:
        return None
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _category_codes(series: pd.Series, index: dict[str, int], labels: list[str] | None = None) -> np.ndarray:
    """Position of each cell's category in ``index`` (``-1`` for missing or unseen).

    When ``labels`` (the training spellings, in ``index`` order) are given and every cell is
    one of them exactly, the codes come from :func:`_exact_codes`. Otherwise the column is
    factorised first so normalisation runs once per distinct value.
    """
    if labels is not None and len(labels) == len(index):
        fast = _exact_codes(series, labels)
        if fast is not None:
            return fast
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = np.fromiter(
        (lookup_category(index, category_key(u)) for u in uniques), dtype=np.int64, count=len(uniques)
    )
    lookup = np.append(lookup, -1)  # code -1 (missing) -> last entry -> -1
    return lookup[codes]


class _NumericPlan(NamedTuple):
    """Constants of the numeric blocks, derived from a preprocessor's fitted attributes.

    Encoded column ``k`` (the numeric blocks are the first ``len(offset)`` columns) holds the
    imputed, fence-clipped value ``x`` of its raw column as ``(x - offset[k]) / divisor[k]``,
    clipped to ``[0, 1]`` (PLE components), except the ``z_pos`` columns (clipped to
    +-``Z_CLIP`` instead) and the ``flag_pos`` columns (replaced by the missing flags of raw
    columns ``flag_src``).
    """

    widths: np.ndarray  #: encoded columns per raw numeric column
    offset: np.ndarray  #: mean (standardised column), lower bin edge (PLE) or 0 (flag)
    divisor: np.ndarray  #: standard deviation, bin width or 1
    z_pos: np.ndarray  #: standardised column of each raw column
    flag_pos: np.ndarray  #: missing-indicator columns
    flag_src: np.ndarray  #: their raw columns
    fill: np.ndarray  #: median per raw column (imputation)
    low: np.ndarray  #: lower fence per raw column (``-inf`` without fences)
    high: np.ndarray  #: upper fence per raw column (``inf`` without fences)


class Preprocessor:
    """Encode the schema's feature columns as a float32 matrix.

    Build with :meth:`fit` (training rows only) or :meth:`from_dict`.

    Attributes
    ----------
    numeric, categorical : list of str
        Raw feature columns, in model order (numeric first).
    medians, means, scales : dict of str to float
        Fitted imputation value, mean and standard deviation (1.0 when constant) per numeric
        column.
    missing_indicator : list of str
        Numeric columns that got an extra 0/1 "was missing" column.
    edges : dict of str to list of float
        PLE bin edges per numeric column (``numeric_encoding="ple"`` only).
    bounds : dict of str to (float, float)
        Values are clipped to ``[low, high]`` before encoding (fences beyond which a training
        value counted as a gross outlier; absent for bundles saved before this existed).
    categories : dict of str to list of str
        Training categories per categorical column, most frequent first.
    blocks : list of tuple (str, int, int)
        ``(raw column, start, stop)``: encoded columns ``start:stop`` belong to the raw column.
    feature_names_out : list of str
        Names of the encoded columns (``col``, ``col__missing``, ``col=label``).
    """

    def __init__(self, numeric, categorical, medians, means, scales, categories,
                 missing_indicator=(), numeric_encoding="standard", options=None, edges=None,
                 bounds=None):
        if numeric_encoding not in NUMERIC_ENCODINGS:
            raise SchemaError(
                f"unknown numeric_encoding {numeric_encoding!r}; choose one of {NUMERIC_ENCODINGS}"
            )
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.medians = {k: float(v) for k, v in medians.items()}
        self.means = {k: float(v) for k, v in means.items()}
        self.scales = {k: float(v) for k, v in scales.items()}
        self.categories = {k: [str(c) for c in v] for k, v in categories.items()}
        self.missing_indicator = [c for c in self.numeric if c in set(missing_indicator)]
        self.numeric_encoding = numeric_encoding
        self.options = dict(options or {})
        self.edges = {k: [float(e) for e in v] for k, v in (edges or {}).items()
                      if numeric_encoding == "ple" and len(v) >= 3}
        self._index = {
            col: {category_key(c): i for i, c in enumerate(cats)} for col, cats in self.categories.items()
        }
        self.blocks: list[tuple[str, int, int]] = []
        self.feature_names_out: list[str] = []
        pos = 0
        for col in self.numeric:
            names = [col] + ([f"{col}__missing"] if col in self.missing_indicator else [])
            e = self.edges.get(col, [])
            names += [f"{col}__ple{i}" for i in range(1, len(e))]
            self.blocks.append((col, pos, pos + len(names)))
            self.feature_names_out += names
            pos += len(names)
        for col in self.categorical:
            names = [f"{col}={c}" for c in self.categories[col]]
            self.blocks.append((col, pos, pos + len(names)))
            self.feature_names_out += names
            pos += len(names)
        self.bounds = {k: (float(v[0]), float(v[1])) for k, v in (bounds or {}).items()}
        #: gross outliers left out of the statistics at fit time, ``{column: count}`` (not saved)
        self.fit_outliers: dict[str, int] = {}

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, valid_df: pd.DataFrame, schema: FeatureSchema, numeric_encoding: str = "standard",
            missing_indicator: bool = False, **options) -> "Preprocessor":
        """Learn imputation values, scaling and categories from training rows.

        Parameters
        ----------
        valid_df : DataFrame of shape (n_samples, >= n_features)
            Training rows only (numeric features as numbers or numeric text, categorical
            features as text). Never pass validation or test rows.
        schema : FeatureSchema
            Supplies ``numeric`` and ``categorical`` feature lists.
        numeric_encoding : {"standard", "ple"}, default "standard"
            Encoding of numeric columns: standardised value, plus (``"ple"``) the
            piecewise-linear encoding on ``ple_bins`` quantile bins.
        missing_indicator : bool, default False
            Add a 0/1 column for each numeric column that had blanks in ``valid_df``.
        **options
            Extra encoding options, stored as-is: ``ple_bins`` (int, default
            :data:`PLE_BINS` = 8) for ``numeric_encoding="ple"``.

        Returns
        -------
        Preprocessor
            ``fit_outliers`` holds ``{column: count}`` of gross outliers left out of the
            statistics.

        Raises
        ------
        MissingColumnsError
            If a schema feature is not a column of ``valid_df``.

        Notes
        -----
        Gross outliers (Tukey, 1977, "Exploratory Data Analysis": fences at the quartiles
        plus or minus a multiple of the interquartile range): with ``q_lo, q_hi`` the
        quartiles of a column and ``r = q_hi - q_lo`` (the 1-99 % range when zero; no fences
        when that is zero too: a column that is almost always one value keeps its rare values),
        values outside ``[q_lo - FAR_FENCE * r, q_hi + FAR_FENCE * r]`` (``FAR_FENCE`` =
        100) are left out of the median, mean, standard deviation and PLE edges, and
        :meth:`transform` clips every value to those fences, so one absurd cell cannot squash
        a whole feature into a constant. On ordinary data no value is excluded and the
        statistics equal scikit-learn's.
        """
        missing = [c for c in schema.features if c not in valid_df.columns]
        if missing:
            raise MissingColumnsError(missing, "the training data")
        medians, means, scales, with_na, edges, bounds, far_counts = {}, {}, {}, [], {}, {}, {}
        for col in schema.numeric:
            x = _as_float(valid_df[col])
            blank = ~np.isfinite(x)
            far = np.zeros(len(x), dtype=bool)
            if (~blank).any():
                q01, q_lo, q_hi, q99 = np.quantile(x[~blank], [0.01, 0.25, 0.75, 0.99])
                r = float(q_hi - q_lo) or float(q99 - q01)
                if r > 0:  # no fences for a column that is (almost) one value: rare values are real
                    low, high = q_lo - FAR_FENCE * r, q_hi + FAR_FENCE * r
                    bounds[col] = (float(low), float(high))
                    with np.errstate(invalid="ignore"):
                        far = ~blank & ((x < low) | (x > high))
                    if far.any():
                        far_counts[col] = int(far.sum())
            keep = ~blank & ~far
            med = float(np.median(x[keep])) if keep.any() else 0.0
            if blank.any():
                with_na.append(col)
            filled = np.where(blank, med, x)[~far]  # blanks imputed, gross outliers left out
            mean = float(filled.mean()) if len(filled) else 0.0
            std = float(filled.std()) if len(filled) else 0.0
            medians[col], means[col] = med, mean
            scales[col] = std if std > 0 and np.isfinite(std) else 1.0
            if numeric_encoding == "ple":
                n_bins = int(options.get("ple_bins", PLE_BINS))
                e = np.unique(np.quantile(x[keep], np.linspace(0, 1, n_bins + 1))) if keep.any() else []
                if len(e) >= 3:
                    edges[col] = e.tolist()
        categories = {}
        for col in schema.categorical:
            s = valid_df[col].dropna().map(category_text)
            s = s[s != ""]
            keys = s.map(category_key)
            counts = keys.value_counts()
            # label shown for a key: its most common spelling in training (stripped)
            spelled = (
                pd.DataFrame({"k": keys.to_numpy(), "v": s.to_numpy()})
                .value_counts().reset_index().drop_duplicates("k").set_index("k")["v"]
            )
            order = sorted(counts.index, key=lambda k: (-int(counts[k]), k))
            categories[col] = [str(spelled[k]) for k in order]
        pre = cls(schema.numeric, schema.categorical, medians, means, scales, categories,
                  missing_indicator=with_na if missing_indicator else (),
                  numeric_encoding=numeric_encoding, options=options, edges=edges, bounds=bounds)
        pre.fit_outliers = far_counts
        return pre

    # ------------------------------------------------------------------ transform
    @property
    def n_features_out(self) -> int:
        """Number of encoded columns."""
        return len(self.feature_names_out)

    @property
    def features(self) -> list[str]:
        """Raw feature columns the transform needs (numeric first, then categorical)."""
        return [*self.numeric, *self.categorical]

    def _check_columns(self, df: pd.DataFrame) -> None:
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise MissingColumnsError(missing)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode rows with the fitted statistics.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= n_features)
            Must hold every raw feature column; other columns are ignored.

        Returns
        -------
        ndarray of shape (n_samples, n_features_out), dtype float32
            Numeric blocks: imputed, clipped to the fitted ``bounds``, standardised values,
            clipped to +-``Z_CLIP`` standard deviations (+ missing indicator, + PLE
            components in [0, 1]); categorical blocks: one-hot, all zeros for missing or
            unseen categories. Never NaN.

        Raises
        ------
        MissingColumnsError
            Naming every absent feature column.
        """
        self._check_columns(df)
        n, width = len(df), self.n_features_out
        out = np.zeros((n, width), dtype=np.float32)
        flat = out.reshape(-1)  # a view: ``out`` is C-contiguous
        numeric = self._numeric_encoder(df)
        ones = self._one_hot_cells(df, width)
        # block by block, so each output row is written in full while it is in the CPU cache
        for r0 in range(0, n, _ROW_BLOCK):
            rows = slice(r0, min(r0 + _ROW_BLOCK, n))
            if numeric is not None:
                block = numeric(rows)
                out[rows, : block.shape[1]] = block
            for cells in ones:
                lo, hi = np.searchsorted(cells, (rows.start * width, rows.stop * width))
                flat[cells[lo:hi]] = 1.0
        return out

    def _numeric_plan(self) -> _NumericPlan:
        """Constants of the numeric blocks, computed from the fitted attributes on each call
        (tens of microseconds, so they never go stale)."""
        widths, offset, divisor, z_pos, flag_pos, flag_src = [], [], [], [], [], []
        for j, (col, start, stop) in enumerate(self.blocks[: len(self.numeric)]):
            widths.append(stop - start)
            z_pos.append(start)
            offset.append(self.means[col])
            divisor.append(self.scales[col])
            if col in self.missing_indicator:  # (x - 0) / 1, replaced by the flag after the clip
                flag_pos.append(start + 1)
                flag_src.append(j)
                offset.append(0.0)
                divisor.append(1.0)
            e = self.edges.get(col, [])
            offset += e[:-1]
            divisor += [hi - lo for lo, hi in zip(e[:-1], e[1:])]
        fences = [self.bounds.get(c, (-np.inf, np.inf)) for c in self.numeric]
        return _NumericPlan(
            widths=np.array(widths, dtype=np.intp), offset=np.array(offset, dtype=np.float64),
            divisor=np.array(divisor, dtype=np.float64), z_pos=np.array(z_pos, dtype=np.intp),
            flag_pos=np.array(flag_pos, dtype=np.intp), flag_src=np.array(flag_src, dtype=np.intp),
            fill=np.array([self.medians[c] for c in self.numeric], dtype=np.float64),
            low=np.array([f[0] for f in fences], dtype=np.float64),
            high=np.array([f[1] for f in fences], dtype=np.float64),
        )

    def _numeric_encoder(self, df: pd.DataFrame) -> Callable[[slice], np.ndarray] | None:
        """Encoder of the numeric blocks (the first output columns) of the rows of ``df``.

        Returns
        -------
        callable or None
            ``encode(rows)`` gives the encoded numeric columns of the rows in slice ``rows``
            as float64 (of at most :data:`_ROW_BLOCK` rows); ``None`` without numeric columns
            or rows.

        Notes
        -----
        Each raw value is repeated under its encoded columns, so one subtraction, one
        division and one clip serve all of them. These are the float64 operations of
        encoding column by column, with the same scalar clip bounds (``np.clip`` with scalar
        bounds keeps a ``-0.0``), hence bit-for-bit the same float32 result.
        """
        if not self.numeric or not len(df):
            return None
        plan = self._numeric_plan()
        x = np.column_stack([_as_float(df[c]) for c in self.numeric])
        missing = ~np.isfinite(x)
        if missing.any():
            x = np.where(missing, plan.fill, x)
        if self.bounds:  # gross outliers to the fences fitted on training data
            x = np.clip(x, plan.low, plan.high)
        # full-size operands: contiguous loops, much faster than broadcasting one row
        size = (min(len(x), _ROW_BLOCK), 1)
        offset, divisor = np.tile(plan.offset, size), np.tile(plan.divisor, size)

        def encode(rows: slice) -> np.ndarray:
            block = np.repeat(x[rows], plan.widths, axis=1)
            np.subtract(block, offset[: len(block)], out=block)
            np.divide(block, divisor[: len(block)], out=block)
            # clip absurd values (e.g. 1e39) so the float32 cast never makes inf or NaN
            z = np.clip(block[:, plan.z_pos], -Z_CLIP, Z_CLIP)
            np.clip(block, 0.0, 1.0, out=block)  # PLE components; z and flags are put back next
            block[:, plan.z_pos] = z
            block[:, plan.flag_pos] = missing[rows, plan.flag_src]
            return block

        return encode

    def _one_hot_cells(self, df: pd.DataFrame, width: int) -> list[np.ndarray]:
        """Cells set to 1 by the categorical blocks, one array per categorical column.

        Each array holds sorted flat indices into the C-ordered ``(len(df), width)`` output:
        the one-hot cell of every row whose value is a training category (missing and unseen
        values have none).
        """
        first_cell = np.arange(len(df)) * width
        ones = []
        for col, start, _ in self.blocks[len(self.numeric):]:
            codes = _category_codes(df[col], self._index[col], self.categories[col])
            cells = first_cell + codes
            cells += start
            ones.append(cells if codes.min(initial=0) >= 0 else cells[codes >= 0])
        return ones

    def unseen_categories(self, df: pd.DataFrame) -> dict[str, dict[str, int]]:
        """Count categorical values absent from training (they encode as all zeros).

        Parameters
        ----------
        df : DataFrame
            Rows to be transformed.

        Returns
        -------
        dict of str to dict of str to int
            ``{column: {value: count}}`` for columns with at least one unseen non-blank
            value; blank/missing cells are not counted here (they are imputed as "none").
        """
        self._check_columns(df)
        report = {}
        for col in self.categorical:
            s = df[col]
            if _exact_positions(s, self.categories[col]) is not None:
                continue  # every cell is missing or exactly a training spelling
            codes = _category_codes(s, self._index[col])
            bad = (codes < 0) & s.notna().to_numpy()
            if bad.any():  # blank text is missing, not unseen (checked on the few candidates)
                text = s[bad].astype(str).str.strip()
                vc = text[text != ""].value_counts()
                if len(vc):
                    report[col] = {str(k): int(v) for k, v in vc.items()}
        return report

    def outside_training_range(self, df: pd.DataFrame) -> dict[str, int]:
        """Count numeric values outside the range seen in training (the model extrapolates).

        The range of a column is its piecewise-linear encoding's outer bin edges (the
        training minimum and maximum); for a column without edges (few distinct values, or
        ``numeric_encoding="standard"``), the gross-outlier fences (values beyond them are
        clipped); columns with neither are not checked.

        Parameters
        ----------
        df : DataFrame
            Rows to be transformed.

        Returns
        -------
        dict of str to int
            ``{column: count}`` for columns with at least one value below the training
            minimum or above the training maximum; blanks are not counted.
        """
        self._check_columns(df)
        out = {}
        for col in self.numeric:
            lo, hi = ((self.edges[col][0], self.edges[col][-1]) if col in self.edges
                      else self.bounds.get(col, (-np.inf, np.inf)))
            if not (np.isfinite(lo) or np.isfinite(hi)):
                continue
            x = _as_float(df[col])
            with np.errstate(invalid="ignore"):
                k = int(np.count_nonzero(x < lo) + np.count_nonzero(x > hi))
            if k:
                out[col] = k
        return out

    def missing_counts(self, df: pd.DataFrame) -> dict[str, int]:
        """Count blank cells per feature column (numeric ones are imputed with the median).

        Returns
        -------
        dict of str to int
            Only columns with at least one blank cell.
        """
        self._check_columns(df)
        out = {}
        for col in self.numeric:
            x = _as_float(df[col])
            k = len(x) - int(np.count_nonzero(np.isfinite(x)))
            if k:
                out[col] = k
        for col in self.categorical:
            k = count_empty(df[col])
            if k:
                out[col] = k
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Return the fitted state as a plain JSON-ready dict."""
        return {
            "version": PREPROCESSOR_VERSION,
            "numeric_encoding": self.numeric_encoding,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "medians": self.medians,
            "means": self.means,
            "scales": self.scales,
            "missing_indicator": self.missing_indicator,
            "categories": self.categories,
            "options": self.options,
            "edges": self.edges,
            "bounds": {k: list(v) for k, v in self.bounds.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessor":
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        SchemaError
            If the version is newer than this code or a key is missing.
        """
        if int(data.get("version", 0)) > PREPROCESSOR_VERSION:
            raise SchemaError(f"preprocessor version {data.get('version')} is newer than this code")
        try:
            return cls(data["numeric"], data["categorical"], data["medians"], data["means"],
                       data["scales"], data["categories"],
                       missing_indicator=data.get("missing_indicator", ()),
                       numeric_encoding=data.get("numeric_encoding", "standard"),
                       options=data.get("options"), edges=data.get("edges"),
                       bounds=data.get("bounds"))
        except KeyError as exc:
            raise SchemaError(f"preprocessor.json lacks the key {exc}") from None

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Preprocessor":
        """Read a file written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
