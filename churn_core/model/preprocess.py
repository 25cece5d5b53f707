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
every one-hot cell with one flat index per categorical column (:mod:`churn_core.model.encoding`);
``transform_batches`` hands the same rows over block by block, without the whole matrix.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core.data.cells import category_key, category_text, count_empty
from churn_core.errors import MissingColumnsError, SchemaError
from churn_core.data.schema import FeatureSchema
from churn_core.model import encoding
from churn_core.model.encoding import (Z_CLIP, CategoryCodes, RowEncoder, category_codes,  # noqa: F401
                                       exact_positions, lookup_category)
from churn_core.model.encoding import as_float as _as_float

PREPROCESSOR_VERSION = 1
NUMERIC_ENCODINGS = ("standard", "ple")
#: Quantile bins per numeric column for ``numeric_encoding="ple"``.
PLE_BINS = 8

#: A training value further than this many interquartile ranges outside the quartiles is a
#: gross outlier (a sentinel like 9999999999, a typing error such as 1e39): it is left out of
#: the mean, standard deviation and PLE bin edges, and every value is clipped to those fences
#: before encoding (Tukey's fences, with 100 instead of 1.5 IQR; see :meth:`Preprocessor.fit`).
FAR_FENCE = 100.0

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

    def category_codes(self, df: pd.DataFrame) -> dict[str, CategoryCodes]:
        """Each categorical cell's position in the training categories, once per column.

        Computed by :meth:`transform` otherwise; a caller that also counts unseen values and
        blanks (:meth:`unseen_categories`, :meth:`missing_counts`) passes them to each.

        Parameters
        ----------
        df : DataFrame
            Rows to be transformed.

        Returns
        -------
        dict of str to CategoryCodes
            Per categorical column: ``codes`` (int64, ``-1`` for missing or unseen values),
            ``exact`` (every non-missing cell is exactly a training spelling), ``missing``.
        """
        self._check_columns(df)
        return {col: category_codes(df[col], self._index[col], self.categories[col])
                for col in self.categorical}

    def transform(self, df: pd.DataFrame, codes: dict | None = None) -> np.ndarray:
        """Encode rows with the fitted statistics.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= n_features)
            Must hold every raw feature column; other columns are ignored.
        codes : dict, optional
            :meth:`category_codes` of ``df``, when the caller has them.

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
        n, step = len(df), encoding.ROW_BLOCK
        out = np.zeros((n, self.n_features_out), dtype=np.float32)
        if n:
            rows = RowEncoder(self, df, codes, step)
            # block by block, so each output row is written in full while it is in the CPU cache
            for r0 in range(0, n, step):
                rows.fill(slice(r0, min(r0 + step, n)), out[r0:r0 + step])
        return out

    def transform_batches(self, df: pd.DataFrame, rows: int | None = None,
                          codes: dict | None = None) -> Iterator[tuple[slice, np.ndarray]]:
        """Encode rows batch by batch, without building the whole matrix.

        Parameters
        ----------
        df : DataFrame of shape (n_samples, >= n_features)
            Must hold every raw feature column.
        rows : int, optional
            Rows per batch (default :data:`churn_core.model.encoding.ROW_BLOCK`).
        codes : dict, optional
            :meth:`category_codes` of ``df``, when the caller has them.

        Returns
        -------
        iterator of (slice, ndarray)
            The rows of each batch, in order, and their encoding: rows ``slice`` of
            :meth:`transform`'s result, bit for bit. The array is reused for the next batch:
            use it (or copy it) before asking for the next one.

        Raises
        ------
        MissingColumnsError
            Naming every absent feature column (when called, not at the first batch).
        """
        self._check_columns(df)
        step = rows or encoding.ROW_BLOCK
        encoder = RowEncoder(self, df, codes, step) if len(df) else None

        def batches():
            n = len(df)
            buf = np.empty((min(step, n), self.n_features_out), dtype=np.float32)
            for r0 in range(0, n, step):
                block = buf[: min(step, n - r0)]
                block[:, encoder.numeric_width:] = 0.0  # one-hot columns; numbers are all written
                yield slice(r0, r0 + len(block)), encoder.fill(slice(r0, r0 + len(block)), block)

        return batches()

    def unseen_categories(self, df: pd.DataFrame, codes: dict | None = None) -> dict[str, dict[str, int]]:
        """Count categorical values absent from training (they encode as all zeros).

        Parameters
        ----------
        df : DataFrame
            Rows to be transformed.
        codes : dict, optional
            :meth:`category_codes` of ``df``, when the caller has them.

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
            if codes is None:
                if exact_positions(s, self.categories[col]) is not None:
                    continue  # every cell is missing or exactly a training spelling
                col_codes = category_codes(s, self._index[col])
            else:
                col_codes = codes[col]
            known = col_codes.codes
            if col_codes.exact or np.count_nonzero(known < 0) == col_codes.missing:
                continue  # every non-missing cell is a training category
            bad = (known < 0) & s.notna().to_numpy()
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

    def missing_counts(self, df: pd.DataFrame, codes: dict | None = None) -> dict[str, int]:
        """Count blank cells per feature column (numeric ones are imputed with the median).

        Parameters
        ----------
        df : DataFrame
            Rows to be transformed.
        codes : dict, optional
            :meth:`category_codes` of ``df``: a column whose every non-missing cell is a
            training category has only its missing cells blank (no text to look at).

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
            known = None if codes is None else codes[col]
            if known is not None and np.count_nonzero(known.codes < 0) == known.missing:
                k = known.missing
            else:
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
