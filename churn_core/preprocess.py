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
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MissingColumnsError, SchemaError
from .schema import FeatureSchema

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


def _label(value) -> str:
    """Category label as text; integral floats (``1.0``) read as integers (``"1"``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value).strip()


def _norm_key(value) -> str:
    """Case- and whitespace-insensitive matching key of one category label."""
    return " ".join(_label(value).split()).casefold()


#: Boolean spellings that mean the same flag: a Parquet/Excel ``True`` matches a trained ``1``.
_BOOL_ALIASES = {"true": "1", "false": "0", "1": "true", "0": "false"}


def _lookup_category(index: dict[str, int], key: str) -> int:
    """Position of normalised ``key`` in ``index``; ``true``/``false`` and ``1``/``0`` stand
    in for each other when only the other spelling was seen in training; ``-1`` if unseen."""
    pos = index.get(key)
    if pos is None:
        alias = _BOOL_ALIASES.get(key)
        pos = index.get(alias, -1) if alias is not None else -1
    return pos


def _as_float(series: pd.Series) -> np.ndarray:
    """Numeric column as float64 with NaN for blanks/unparseable cells."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _count_blank(series: pd.Series) -> int:
    """Missing or whitespace-only cells of a text column (pyarrow compute for Arrow text)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(series.array)
        spaces = pc.sum(pc.utf8_is_space(arr)).as_py() or 0  # non-empty, all whitespace
        empty = pc.sum(pc.equal(pc.utf8_length(arr), 0)).as_py() or 0
        return int(arr.null_count + spaces + empty)
    return int((series.isna() | (series.astype(str).str.strip() == "")).sum())


def _exact_codes(series: pd.Series, labels: list[str]) -> np.ndarray | None:
    """Codes by exact match of Arrow text cells against the training ``labels`` (fast path).

    ``pyarrow.compute.index_in`` against the few training spellings costs a third of a
    factorisation. Returns ``None`` (use the normalising path) unless the column is
    Arrow-backed text and every non-missing cell is exactly one of ``labels``.
    """
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or not labels:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(series.array)
    pos = pc.index_in(arr, value_set=pa.array(labels, type=arr.type))
    if pos.null_count != arr.null_count:  # some cell is not an exact training spelling
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
        (_lookup_category(index, _norm_key(u)) for u in uniques), dtype=np.int64, count=len(uniques)
    )
    lookup = np.append(lookup, -1)  # code -1 (missing) -> last entry -> -1
    return lookup[codes]


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
            col: {_norm_key(c): i for i, c in enumerate(cats)} for col, cats in self.categories.items()
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
        self._center = np.array([self.means[c] for c in self.numeric], dtype="float64")
        self._scale = np.array([self.scales[c] for c in self.numeric], dtype="float64")
        self._fill = np.array([self.medians[c] for c in self.numeric], dtype="float64")
        self.bounds = {k: (float(v[0]), float(v[1])) for k, v in (bounds or {}).items()}
        self._low = np.array([self.bounds.get(c, (-np.inf, np.inf))[0] for c in self.numeric])
        self._high = np.array([self.bounds.get(c, (-np.inf, np.inf))[1] for c in self.numeric])
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
            s = valid_df[col].dropna().map(_label)
            s = s[s != ""]
            keys = s.map(_norm_key)
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
            clipped to +-``Z_CLIP``
            standard deviations (+ missing indicator, + PLE
            components in [0, 1]); categorical
            blocks: one-hot, all zeros for missing or unseen categories. Never NaN.

        Raises
        ------
        MissingColumnsError
            Naming every absent feature column.
        """
        self._check_columns(df)
        n = len(df)
        out = np.zeros((n, self.n_features_out), dtype=np.float32)
        if self.numeric:
            x = np.column_stack([_as_float(df[c]) for c in self.numeric]) if n else np.zeros((0, len(self.numeric)))
            nan = ~np.isfinite(x)
            x = np.where(nan, self._fill, x)
            if self.bounds:  # gross outliers to the fences fitted on training data
                x = np.clip(x, self._low, self._high)
            # clip absurd values (e.g. 1e39) so the float32 cast never makes inf or NaN
            z = np.clip((x - self._center) / self._scale, -Z_CLIP, Z_CLIP)
            buf = None  # one float64 scratch block reused by every PLE column (fewer allocations)
            for j, (col, start, stop) in enumerate(self.blocks[: len(self.numeric)]):
                out[:, start] = z[:, j]
                k = start + 1
                if col in self.missing_indicator:
                    out[:, k] = nan[:, j]
                    k += 1
                if col in self.edges:
                    e = np.asarray(self.edges[col])
                    if buf is None or buf.shape[1] != stop - k:
                        buf = np.empty((n, stop - k))
                    np.subtract(x[:, j, None], e[:-1], out=buf)
                    np.divide(buf, e[1:] - e[:-1], out=buf)
                    out[:, k:stop] = np.clip(buf, 0.0, 1.0, out=buf)
        rows = np.arange(n)
        for col, start, stop in self.blocks[len(self.numeric):]:
            codes = _category_codes(df[col], self._index[col], self.categories[col])
            hit = codes >= 0
            out[rows[hit], start + codes[hit]] = 1.0
        return out

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
            codes = _category_codes(s, self._index[col], self.categories[col])
            bad = (codes < 0) & s.notna().to_numpy()
            if bad.any():  # blank text is missing, not unseen (checked on the few candidates)
                bad[bad] = (s[bad].astype(str).str.strip() != "").to_numpy()
            if bad.any():
                vc = s[bad].astype(str).str.strip().value_counts()
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
            k = int((~np.isfinite(_as_float(df[col]))).sum())
            if k:
                out[col] = k
        for col in self.categorical:
            k = _count_blank(df[col])
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
