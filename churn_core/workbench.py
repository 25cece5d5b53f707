"""App-facing facade: the few calls the dashboard makes, with expensive results kept.

The Streamlit pages (``app.py``, ``pages/*.py``) only read widgets, call this module and
render. This module never imports streamlit; it wires the engine modules together
(``io -> infer -> validate -> bundle/scoring -> metrics/tiers/export``) and precomputes
what a rerun needs so that moving the decision threshold costs a binary search, not a
re-prediction:

* :class:`ThresholdCurve` sorts the probabilities once; confusion counts at any threshold
  are then ``O(log n)`` (``numpy.searchsorted``) instead of ``O(n)``.
* :class:`ActiveData` keeps the read table, the inferred schema and the validation result
  of one file, keyed by the SHA-256 of its bytes.
* :class:`Scores` keeps the scored rows of one (model, data) pair.

Convention used everywhere: a customer is a predicted churner when
``churn_probability >= decision_threshold``.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.errors import ChurnError, DataFileError
from churn_core.schema import FeatureSchema

PROBA = "churn_probability"
PRED = "predicted_churn"
TIER = "risk_tier"
TIERS = ("High", "Medium", "Low")


# --------------------------------------------------------------------------- hashing
def sha256_of(source: bytes | str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    source : bytes or path-like
        The uploaded bytes, or a path to read.

    Returns
    -------
    str
        64 hex characters; the cache key of everything computed from this file.
    """
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        h.update(source)
    else:
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- data
@dataclass
class ActiveData:
    """One customer file as read, typed and validated.

    Attributes
    ----------
    name : str
        File name shown to the analyst.
    sha256 : str
        Digest of the file's bytes (cache key).
    frame : DataFrame
        Every cell as read (text), one row per data line.
    read_report : object
        ``io.ReadReport`` (format, encoding, delimiter, rows).
    schema : FeatureSchema
        Inferred schema with the analyst's overrides applied.
    validation : object
        ``validate.ValidationResult`` (``valid``, ``rejected``, ``y``, ``report``).
    overrides : dict
        The keyword overrides passed to ``infer_schema``.
    """

    name: str
    sha256: str
    frame: pd.DataFrame
    read_report: Any
    schema: FeatureSchema
    validation: Any
    overrides: dict = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        """Number of data rows in the file."""
        return int(len(self.frame))

    @property
    def has_labels(self) -> bool:
        """True when the schema has a target and at least one valid row carries a label."""
        y = self.labels
        return y is not None and len(y) > 0 and np.isfinite(y).any()

    @property
    def labels(self) -> np.ndarray | None:
        """ndarray of shape (n_valid,) with 1 = churned, 0 = stayed, NaN = blank or unknown
        label; None without a target column."""
        t = self.schema.target
        valid = getattr(self.validation, "valid", None)
        if t is None or valid is None or t not in valid.columns:
            return None
        return labels_from_text(valid[t], self.schema.positive_label,
                                self.schema.negative_label)


def labels_from_text(series: pd.Series, positive: str | None,
                     negative: str | None = None) -> np.ndarray:
    """Churn labels from target cells, with the rules of ``validate.label_text``.

    Parameters
    ----------
    series : Series of shape (n_samples,)
        Target cells (text as read, or numbers).
    positive : str
        The value meaning *churned* (compared case-insensitively after canonicalising,
        so ``"1.0"`` equals ``"1"``).
    negative : str, optional
        The value meaning *stayed*; when given, other values are unknown (NaN).

    Returns
    -------
    ndarray of shape (n_samples,), float
        1.0 churned, 0.0 stayed, NaN for blank (or unknown) labels.
    """
    from churn_core.validate import label_text

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    pos = None if positive is None else str(positive).casefold()
    neg = None if negative is None else str(negative).casefold()

    def cls(v):
        text = label_text(v)
        if text is None or pos is None:
            return np.nan
        if text.casefold() == pos:
            return 1.0
        return 0.0 if neg is None or text.casefold() == neg else np.nan

    table = np.array([cls(u) for u in uniques] + [np.nan], dtype=float)
    return table[np.where(codes < 0, len(uniques), codes)]


def load_data(source: bytes | str | Path, name: str | None = None,
              overrides: dict | None = None) -> ActiveData:
    """Read, infer and validate one customer file.

    Parameters
    ----------
    source : bytes or path-like
        Uploaded bytes or a path (CSV, Parquet or XLSX).
    name : str, optional
        File name used in messages (defaults to the path's name).
    overrides : dict, optional
        Keyword arguments of ``infer.infer_schema`` (``target``, ``positive_label``,
        ``id_columns``, ``excluded``, ``numeric``, ``categorical``...).

    Returns
    -------
    ActiveData

    Raises
    ------
    DataFileError, SchemaError
        With a message naming the file, column and line (shown by the page as ``st.error``).
    """
    from churn_core import io as cio

    if name is None:
        name = Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload"
    src = bytes(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        frame, report = cio.read_table(src, name=name)
    except ChurnError:
        raise
    except Exception as exc:  # a reader fault must still reach the analyst as a message
        raise DataFileError(f"{name}: could not be read as a customer table ({exc})") from exc
    return apply_schema(ActiveData(name, sha256_of(source), frame, report, None, None), overrides)


def apply_schema(data: ActiveData, overrides: dict | None = None) -> ActiveData:
    """Infer the schema with ``overrides`` and validate the already-read frame again.

    Parameters
    ----------
    data : ActiveData
        A file already read (its ``frame`` is reused; the file is not read again).
    overrides : dict, optional
        Keyword arguments of ``infer.infer_schema``; ``None`` values are dropped.

    Returns
    -------
    ActiveData
        A new object (the input is not modified).
    """
    from churn_core.infer import infer_schema
    from churn_core.validate import validate

    overrides = dict(overrides or {})
    no_target = "target" in overrides and overrides["target"] is None
    clean = {k: v for k, v in overrides.items() if v is not None}
    schema = infer_schema(data.frame, **clean)
    if no_target:  # the analyst says: this file has no churn label (scoring only)
        schema.target = None
        schema.positive_label = None
        schema.negative_label = None
    result = validate(data.frame, schema, require_target=False, source_name=data.name)
    return ActiveData(data.name, data.sha256, data.frame, data.read_report, schema, result,
                      overrides)


# --------------------------------------------------------------------------- data quality
@dataclass
class QualityReport:
    """Data-quality summary of one file.

    Attributes
    ----------
    rows : int
        Rows read.
    missing : DataFrame
        Columns ``column``, ``missing`` (count of blank cells), ``missing_pct`` in [0, 100].
    duplicate_ids : int
        Rows whose value in some ID column occurs on another row (blank IDs ignored; 0
        when there is no ID column).
    class_balance : DataFrame or None
        Columns ``label``, ``customers``, ``share`` in [0, 1]; None without a target.
    rows_valid, rows_rejected : int
        Row accounting of validation (``rows == rows_valid + rows_rejected``).
    """

    rows: int
    missing: pd.DataFrame
    duplicate_ids: int
    class_balance: pd.DataFrame | None
    rows_valid: int
    rows_rejected: int


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: True where a cell is missing or only whitespace."""
    as_text = frame.astype("string")
    return as_text.apply(lambda s: s.isna() | s.str.strip().eq("").fillna(True))


def quality_report(data: ActiveData) -> QualityReport:
    """Compute rows, blanks per column, duplicate IDs and class balance.

    Parameters
    ----------
    data : ActiveData

    Returns
    -------
    QualityReport
    """
    frame = data.frame
    blank = _blank(frame)
    n = max(len(frame), 1)
    missing = pd.DataFrame({"column": frame.columns, "missing": blank.sum().to_numpy(),
                            })
    missing["missing_pct"] = 100.0 * missing["missing"] / n
    dup = 0
    ids = [c for c in data.schema.id_columns if c in frame.columns]
    if ids:  # a row counts when any of its ID cells (non-blank) occurs on another row
        mask = np.zeros(len(frame), dtype=bool)
        for c in ids:
            mask |= (frame[c].duplicated(keep=False) & ~blank[c]).to_numpy()
        dup = int(mask.sum())
    balance = None
    y = data.labels
    if y is not None:
        s = pd.Series(np.where(np.isnan(y), "blank", np.where(y == 1, "churned", "stayed")))
        counts = s.value_counts()
        balance = pd.DataFrame({"label": counts.index, "customers": counts.to_numpy()})
        balance["share"] = balance["customers"] / max(len(y), 1)
    valid = getattr(data.validation, "valid", frame)
    rejected = getattr(data.validation, "rejected", frame.iloc[:0])
    return QualityReport(int(len(frame)), missing, dup, balance, int(len(valid)),
                         int(len(rejected)))


def churn_label_series(data: ActiveData) -> pd.Series | None:
    """Return the label of every valid row as text ('churned' / 'stayed'), or None."""
    y = data.labels
    if y is None:
        return None
    return pd.Series(np.where(np.isnan(y), "blank", np.where(y == 1, "churned", "stayed")),
                     index=data.validation.valid.index, name="outcome")


# --------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class ThresholdCounts:
    """Confusion counts and metrics at one decision threshold.

    Attributes
    ----------
    threshold : float
        Decision threshold in [0, 1]; predicted churn means probability >= threshold.
    tp, fp, tn, fn : int
        Confusion-matrix counts (0 when labels are unknown).
    flagged : int
        Customers predicted to churn (``tp + fp``).
    n : int
        Customers.
    precision, recall, f1, accuracy, specificity : float
        Standard definitions (scikit-learn's, with 0 where a denominator is 0);
        NaN when labels are unknown.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    flagged: int
    n: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    specificity: float

    def to_metrics(self):
        """The same numbers as ``metrics.ThresholdMetrics`` (for ``figures`` and tests)."""
        from churn_core.metrics import ThresholdMetrics

        n = self.tp + self.fp + self.tn + self.fn
        return ThresholdMetrics(self.threshold, self.tp, self.fp, self.tn, self.fn,
                                self.precision, self.recall, self.f1, self.accuracy,
                                self.specificity, (self.tp + self.fp) / n if n else 0.0)


class ThresholdCurve:
    """Metrics at any decision threshold from probabilities sorted once.

    Sorting costs ``O(n log n)`` once; each threshold then costs one
    ``numpy.searchsorted`` (``O(log n)``), which is what keeps the threshold slider fast on
    100,000 customers.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    y : array-like of shape (n_samples,), optional
        1 = churned, 0 = stayed. Rows with NaN labels are ignored for the confusion
        counts but still counted in ``flagged``.
    """

    def __init__(self, p, y=None):
        p = np.asarray(p, dtype=float)
        order = np.argsort(p, kind="stable")
        self._p_sorted = p[order]
        self.n = int(len(p))
        self.has_labels = y is not None
        if y is not None:
            y = np.asarray(y, dtype=float)
            known = ~np.isnan(y)
            ys = np.where(known, y, 0.0)[order]
            ks = known[order].astype(np.int64)
            # suffix sums: positives / labelled rows with probability >= p_sorted[i]
            self._pos_ge = np.concatenate([np.cumsum(ys[::-1])[::-1], [0.0]]).astype(np.int64)
            self._known_ge = np.concatenate([np.cumsum(ks[::-1])[::-1], [0]])
            self.n_pos = int(self._pos_ge[0])
            self.n_known = int(self._known_ge[0])

    def flagged(self, threshold: float) -> int:
        """Number of customers with probability >= ``threshold``."""
        return int(self.n - np.searchsorted(self._p_sorted, threshold, side="left"))

    def at(self, threshold: float) -> ThresholdCounts:
        """Return :class:`ThresholdCounts` at ``threshold``.

        Parameters
        ----------
        threshold : float
            Decision threshold in [0, 1].

        Returns
        -------
        ThresholdCounts
        """
        t = float(threshold)
        i = int(np.searchsorted(self._p_sorted, t, side="left"))
        flagged = self.n - i
        if not self.has_labels:
            nan = float("nan")
            return ThresholdCounts(t, 0, 0, 0, 0, flagged, self.n, nan, nan, nan, nan, nan)
        tp = int(self._pos_ge[i])
        known_flagged = int(self._known_ge[i])
        fp = known_flagged - tp
        fn = self.n_pos - tp
        tn = (self.n_known - self.n_pos) - fp

        def ratio(a, b):
            return float(a / b) if b else 0.0

        precision = ratio(tp, tp + fp)
        recall = ratio(tp, tp + fn)
        f1 = ratio(2 * tp, 2 * tp + fp + fn)
        return ThresholdCounts(t, tp, fp, tn, fn, flagged, self.n, precision, recall, f1,
                               ratio(tp + tn, self.n_known), ratio(tn, tn + fp))

    def sweep(self, thresholds=None) -> pd.DataFrame:
        """Metrics for many thresholds (for the metrics-versus-threshold chart).

        Parameters
        ----------
        thresholds : array-like, optional
            Defaults to 101 points from 0 to 1.

        Returns
        -------
        DataFrame
            One row per threshold: ``threshold, precision, recall, f1, accuracy,
            specificity, flagged``.
        """
        ts = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds)
        rows = [self.at(t) for t in ts]
        return pd.DataFrame([{"threshold": r.threshold, "precision": r.precision,
                              "recall": r.recall, "f1": r.f1, "accuracy": r.accuracy,
                              "specificity": r.specificity, "flagged": r.flagged}
                             for r in rows])


def tier_counts(p: np.ndarray, cutoffs: dict) -> dict[str, int]:
    """Customers per risk tier for ``cutoffs`` (High: p >= high; Medium: p >= medium).

    Parameters
    ----------
    p : ndarray of shape (n_samples,)
        Churn probabilities in [0, 1].
    cutoffs : dict
        ``{"high": float, "medium": float}`` with ``high >= medium``.

    Returns
    -------
    dict
        ``{"High": int, "Medium": int, "Low": int}`` summing to ``len(p)``.
    """
    p = np.asarray(p, dtype=float)
    high = int((p >= cutoffs["high"]).sum())
    medium = int((p >= cutoffs["medium"]).sum()) - high
    return {"High": high, "Medium": medium, "Low": int(len(p)) - high - medium}


# --------------------------------------------------------------------------- model/evaluation
@dataclass
class EvalArrays:
    """Labels and probabilities a bundle recorded for its validation and test splits.

    Attributes
    ----------
    y_val, p_val : ndarray of shape (n_val,)
        Validation labels (0/1) and calibrated churn probabilities in [0, 1].
    y_test, p_test : ndarray of shape (n_test,)
        Test labels and probabilities (every metric on the Performance page uses these).
    p_test_raw : ndarray of shape (n_test,) or None
        Uncalibrated test probabilities when the bundle recorded them.
    curve : ThresholdCurve
        Sorted test probabilities for fast metrics at any threshold.
    report : EvaluationReport
        ``metrics.evaluate`` on the test split (ROC-AUC, PR-AUC, Brier, base rate).
    roc, pr : CurvePoints
        ``metrics.roc_points`` / ``metrics.pr_points`` on the test split, computed once
        (the threshold marker is moved with :meth:`ThresholdCurve.at`).
    """

    y_val: np.ndarray
    p_val: np.ndarray
    y_test: np.ndarray
    p_test: np.ndarray
    p_test_raw: np.ndarray | None
    curve: ThresholdCurve
    report: Any = None
    roc: Any = None
    pr: Any = None

    def roc_point(self, threshold: float) -> tuple[float, float]:
        """(false positive rate, true positive rate) on the test split at ``threshold``."""
        c = self.curve.at(threshold)
        fpr = c.fp / (c.fp + c.tn) if (c.fp + c.tn) else 0.0
        return float(fpr), float(c.recall)

    def pr_point(self, threshold: float) -> tuple[float, float]:
        """(recall, precision) on the test split at ``threshold``."""
        c = self.curve.at(threshold)
        return float(c.recall), float(c.precision)

    def roc_at(self, threshold: float):
        """``metrics.CurvePoints`` of the ROC curve with the point moved to ``threshold``
        (the curve itself is not recomputed)."""
        from dataclasses import replace

        x, y = self.roc_point(threshold)
        return replace(self.roc, threshold=float(threshold), point_x=x, point_y=y)

    def pr_at(self, threshold: float):
        """``metrics.CurvePoints`` of the PR curve with the point moved to ``threshold``."""
        from dataclasses import replace

        x, y = self.pr_point(threshold)
        return replace(self.pr, threshold=float(threshold), point_x=x, point_y=y)


def _pick(d: dict, *names):
    for n in names:
        if isinstance(d, dict) and d.get(n) is not None:
            return d[n]
    return None


def eval_arrays(bundle) -> EvalArrays:
    """Read the validation/test labels and probabilities stored in a bundle.

    Parameters
    ----------
    bundle : ModelBundle
        A loaded bundle (``bundle.evaluation`` holds the arrays, see ``bundle.py``).

    Returns
    -------
    EvalArrays

    Raises
    ------
    BundleError
        When the bundle does not record test labels and probabilities.
    """
    from churn_core.errors import BundleError

    ev = getattr(bundle, "evaluation", None) or {}
    val = ev.get("validation", ev.get("val", {})) if isinstance(ev, dict) else {}
    test = ev.get("test", {}) if isinstance(ev, dict) else {}
    y_test = _pick(test, "y", "y_true", "labels")
    p_test = _pick(test, "p", "proba", "churn_probability", "p_calibrated", "probabilities")
    if y_test is None or p_test is None:
        raise BundleError(f"model {getattr(bundle, 'name', '?')!r} records no test-split "
                          "labels and probabilities (evaluation.json)")
    y_val = _pick(val, "y", "y_true", "labels")
    p_val = _pick(val, "p", "proba", "churn_probability", "p_calibrated", "probabilities")
    raw = _pick(test, "p_raw", "proba_raw", "raw")
    from churn_core import metrics

    y_test = np.asarray(y_test, dtype=float)
    p_test = np.asarray(p_test, dtype=float)
    t = default_threshold(bundle)
    return EvalArrays(
        np.asarray(y_val if y_val is not None else [], dtype=float),
        np.asarray(p_val if p_val is not None else [], dtype=float),
        y_test, p_test, None if raw is None else np.asarray(raw, dtype=float),
        ThresholdCurve(p_test, y_test), metrics.evaluate(y_test, p_test, t),
        metrics.roc_points(y_test, p_test, t), metrics.pr_points(y_test, p_test, t))


def default_threshold(bundle) -> float:
    """The decision threshold recorded in the bundle card (``config.DEFAULT_THRESHOLD``
    when absent)."""
    card = getattr(bundle, "card", None) or {}
    for key in ("default_threshold", "decision_threshold", "threshold"):
        if isinstance(card, dict) and card.get(key) is not None:
            return float(card[key])
    return float(config.DEFAULT_THRESHOLD)


def default_tier_cutoffs(bundle) -> dict:
    """Tier cutoffs recorded in the bundle card (``config.DEFAULT_TIER_CUTOFFS`` when
    absent)."""
    card = getattr(bundle, "card", None) or {}
    cut = card.get("tier_cutoffs") if isinstance(card, dict) else None
    if isinstance(cut, dict) and {"high", "medium"} <= set(cut):
        return {"high": float(cut["high"]), "medium": float(cut["medium"])}
    return dict(config.DEFAULT_TIER_CUTOFFS)


# --------------------------------------------------------------------------- scoring
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
        Rows that could not be scored: original cells, ``source_line``, ``reason``.
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
    from churn_core.scoring import score_frame
    from churn_core.validate import validate

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


# --------------------------------------------------------------------------- challenger
@dataclass
class ChallengerView:
    """A gradient-boosting challenger evaluated on the bundle's own test split.

    Attributes
    ----------
    roc, pr : metrics.CurvePoints
        The challenger's curves on the test split.
    report : metrics.EvaluationReport
        At the challenger's own threshold (max F1 on validation, the MLP's rule).
    table : DataFrame
        One row per model: ROC-AUC, PR-AUC, Brier, threshold, precision, recall, F1.
    """

    roc: Any
    pr: Any
    report: Any
    table: pd.DataFrame


def challenger_view(bundle, data: ActiveData) -> ChallengerView:
    """Train the HistGradientBoosting challenger (``challenger.train_challenger``) on the
    bundle's training split of ``data`` and compare it with the MLP on the test split.

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
        Must be the file the bundle was trained on (the split positions index its rows).

    Returns
    -------
    ChallengerView

    Raises
    ------
    TrainingDataError
        When ``data`` is not the model's training file, or a split lacks a class.
    """
    from churn_core import metrics
    from churn_core.challenger import train_challenger
    from churn_core.errors import TrainingDataError
    from churn_core.validate import validate

    card = getattr(bundle, "card", {}) or {}
    if data is None or card.get("data_sha256") != data.sha256:
        raise TrainingDataError(
            f"the challenger is trained on the model's own training rows: load the file model "
            f"{bundle.name!r} was trained on ({card.get('source') or 'see the model card'}) on "
            "the Data page")
    result = validate(data.frame, bundle.schema, require_target=True, source_name=data.name)
    y_test, p_test, report = train_challenger(bundle, result.valid, result.y)
    t = report.threshold
    mlp = eval_arrays(bundle).report

    def row(name, r):
        a = r.at_threshold
        return {"model": name, "ROC-AUC": r.roc_auc, "PR-AUC": r.pr_auc, "Brier": r.brier,
                "threshold": a.threshold, "precision": a.precision, "recall": a.recall,
                "F1": a.f1}

    table = pd.DataFrame([row(f"MLP ({bundle.name})", mlp),
                          row("gradient boosting (challenger)", report)])
    return ChallengerView(metrics.roc_points(y_test, p_test, t),
                          metrics.pr_points(y_test, p_test, t), report, table)


# --------------------------------------------------------------------------- explanations
def make_explainer(bundle, data: ActiveData, training: ActiveData | None = None):
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

    Returns
    -------
    explain.RawColumnExplainer
    """
    from churn_core.explain import RawColumnExplainer
    from churn_core.validate import validate

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
    explainer = RawColumnExplainer(bundle, background)
    explainer.background_source = source
    return explainer


def explain_scores(explainer, scores: Scores, progress: Callable | None = None,
                   max_rows: int = config.SHAP_MAX_ROWS):
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

    Returns
    -------
    explain.Explanation
        Index = positions of the explained rows in ``scores.scored``.
    """
    from churn_core.explain import explain_sample

    valid = scores.valid if scores.valid is not None else scores.scored
    return explain_sample(explainer, valid.reset_index(drop=True),
                          max_rows=max_rows, method="fast", progress=progress)


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
    from churn_core.explain import reason_codes

    codes = reason_codes(explanation, top=3, exclude=exclude)
    return codes.reindex(pd.RangeIndex(n_rows)).fillna("")


# --------------------------------------------------------------------------- training
def slug_model_name(text: str) -> str:
    """Turn free text into a bundle folder name: runs of characters other than letters,
    digits, ``.``, ``_`` and ``-`` become ``_``; at most 64 characters.

    Parameters
    ----------
    text : str
        What the analyst typed (e.g. ``"Bank model Nov 2026"``).

    Returns
    -------
    str
        E.g. ``"Bank_model_Nov_2026"``; checked again by ``bundle.sanitize_model_name``.
    """
    import re

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text).strip()).replace("..", "_")
    return slug.strip("._-")[:64]


class TrainingGuard:
    """Process-wide guard: one training at a time for every session of the app.

    ``acquire()`` returns False immediately (never waits) when another training runs.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.owner: str | None = None

    def acquire(self, owner: str) -> bool:
        """Try to start a training; True when the caller may train."""
        if self._lock.acquire(blocking=False):
            self.owner = owner
            return True
        return False

    def release(self) -> None:
        """Mark the training finished."""
        self.owner = None
        if self._lock.locked():
            self._lock.release()

    @property
    def busy(self) -> bool:
        """True while a training runs."""
        return self._lock.locked()


def train_model(data: ActiveData, cfg, name: str, progress: Callable | None = None,
                models_dir: Path | None = None):
    """Train on the valid rows of ``data``, save the bundle as ``name`` and return it.

    Parameters
    ----------
    data : ActiveData
        Must have a target column and positive label.
    cfg : TrainConfig
        Hyperparameters (``churn_core.model.TrainConfig``).
    name : str
        Bundle name; sanitised by ``bundle.sanitize_model_name``.
    progress : callable, optional
        Passed to ``train.train_bundle`` (called once per epoch).
    models_dir : Path, optional
        Defaults to ``config.MODELS_DIR``.

    Returns
    -------
    (ModelBundle, str)
        The trained bundle and the sanitised name it was saved under.

    Raises
    ------
    SchemaError, TrainingDataError
        When the data cannot train a model (no target, one class, too few rows...).
    """
    from churn_core.bundle import sanitize_model_name, save_bundle
    from churn_core.errors import SchemaError
    from churn_core.train import train_bundle

    if not data.schema.target or data.schema.positive_label is None:
        raise SchemaError(f"{data.name}: choose the target column and the value that means "
                          "'churned' on the Data page before training")
    safe = sanitize_model_name(slug_model_name(name))
    bundle = train_bundle(data.frame, data.schema, cfg=cfg, name=safe, progress=progress,
                          data_sha256=data.sha256, source_name=data.name)
    save_bundle(bundle, safe, **({"models_dir": models_dir} if models_dir else {}))
    return bundle, safe


# --------------------------------------------------------------------------- segmentation
@dataclass
class SegmentView:
    """Risk tiers of the scored customers and their summary.

    Attributes
    ----------
    tiers : ndarray of str of shape (n_scored,)
        "High" / "Medium" / "Low" for every scored customer.
    summary : DataFrame
        ``tiers.tier_summary`` (customers, share, expected churners, observed churn...).
    """

    tiers: np.ndarray
    summary: pd.DataFrame


def default_actions() -> dict:
    """Recommended action per tier (``tiers.DEFAULT_ACTIONS``), as an editable copy."""
    from churn_core.tiers import DEFAULT_ACTIONS

    return dict(DEFAULT_ACTIONS)


def rank_positions(scores: Scores, schema: FeatureSchema | None = None) -> np.ndarray:
    """Positions of the scored rows, highest churn probability first (computed once).

    Returns
    -------
    ndarray of int of shape (n_scored,)
        ``thresholds.rank_order`` (ties broken by customer ID, else row position).
    """
    cached = getattr(scores, "_rank", None)
    if cached is None:
        from churn_core.thresholds import rank_order

        cached = rank_order(scores.p)  # the export's rank: ties by row position
        scores._rank = cached
    return cached


def segment(scores: Scores, mode: str, cutoffs: dict, n_high: int | None = None,
            n_medium: int | None = None, actions: dict | None = None,
            schema: FeatureSchema | None = None, value=None) -> SegmentView:
    """Assign risk tiers and summarise them.

    Parameters
    ----------
    scores : Scores
    mode : {"probability cutoffs", "capacity (top N)"}
        Tiers by ``tiers.assign_tiers`` or ``tiers.tiers_by_capacity``.
    cutoffs : dict
        ``{"high", "medium"}`` probability cutoffs.
    n_high, n_medium : int, optional
        Capacities for the capacity mode.
    actions : dict, optional
        Recommended action per tier.
    schema : FeatureSchema, optional
        Used for the ID tie-break of the capacity mode.
    value : float or ndarray of shape (n_scored,), optional
        Value of each customer (adds ``value_at_risk``).

    Returns
    -------
    SegmentView
    """
    from churn_core import tiers as T

    p = scores.p
    if mode.startswith("capacity"):
        tiers = T.tiers_by_capacity(p, int(n_high or 0), None if n_medium is None
                                    else int(n_medium))
    else:
        tiers = T.assign_tiers(p, cutoffs)
    y = scores.y
    if y is not None and not np.isfinite(y).all():
        y = None  # blank labels: observed churn is not defined for every tier
    return SegmentView(tiers, T.tier_summary(p, tiers, y=y, value=value, actions=actions))


def customer_table(scores: Scores, tiers: np.ndarray, reasons: pd.DataFrame | None,
                   schema: FeatureSchema, limit: int | None = 2000) -> pd.DataFrame:
    """The scored customers for display, highest risk first.

    Parameters
    ----------
    scores : Scores
    tiers : ndarray of shape (n_scored,)
    reasons : DataFrame of shape (n_scored, 3) or None
        ``reason_1..3`` aligned to the scored rows.
    schema : FeatureSchema
        ID and personal columns are shown first.
    limit : int or None, default 2000
        Rows returned (the top of the ranking); None for all.

    Returns
    -------
    DataFrame
        ``rank`` (1 = highest risk), ID columns, ``churn_probability``, ``risk_tier``,
        ``reason_1..3`` (when given), then the feature columns.
    """
    order = rank_positions(scores, schema)
    take = order if limit is None else order[:limit]
    sc = scores.scored
    ids = [c for c in schema.passthrough if c in sc.columns]
    feats = [c for c in schema.features if c in sc.columns]
    sub = sc.iloc[take]  # take the rows first: converting 100k text cells is the slow part
    out = pd.DataFrame({"rank": np.arange(1, len(take) + 1)})
    for c in ids:
        out[c] = sub[c].to_numpy()
    out[PROBA] = sub[PROBA].to_numpy()
    out[TIER] = np.asarray(tiers, dtype=object)[take]
    if reasons is not None:
        rs = reasons.iloc[take]
        for c in reasons.columns:
            out[c] = rs[c].to_numpy()
    for c in feats:
        out[c] = sub[c].to_numpy()
    return out


def rejected_csv_bytes(rejected: pd.DataFrame) -> bytes:
    """Rejected rows (original cells, ``source_line``, ``reason``) as UTF-8 CSV bytes, with
    spreadsheet formulas neutralised (``export.neutralise_formulas`` when available)."""
    frame = rejected
    try:
        from churn_core.export import neutralise_formulas

        frame = neutralise_formulas(rejected)
    except ImportError:  # pragma: no cover - export module absent
        pass
    return frame.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------- export
@dataclass
class ExportContext:
    """Everything one retention-target-list download needs (built once per render; the
    bytes are produced only when the analyst clicks).

    Attributes
    ----------
    bundle : ModelBundle
    scores : Scores
    tiers : ndarray of shape (n_scored,)
    reasons : DataFrame of shape (n_scored, 3) or None
    chosen_tiers : list of str
    threshold : float
    cutoffs : dict
    actions : dict
    mode : str
        How tiers were made ("probability cutoffs" / "capacity (top N)").
    strategy : dict or None
        The threshold strategy (``ThresholdChoice.to_dict()``) when one was applied.
    """

    bundle: Any
    scores: Scores
    tiers: np.ndarray
    reasons: pd.DataFrame | None
    chosen_tiers: list
    threshold: float
    cutoffs: dict
    actions: dict
    mode: str = "probability cutoffs"
    strategy: dict | None = None
    value: Any = None
    success_rate: float = 1.0
    cost_per_contact: float = 0.0
    capacity: dict | None = None


def target_list(ctx: ExportContext) -> pd.DataFrame:
    """The retention target list of ``ctx`` (``export.build_target_list``).

    Returns
    -------
    DataFrame
        ID columns, personal columns, ``churn_probability``, ``risk_tier``, ``rank``,
        ``reason_1..3``, ``expected_value`` (when a value is set), ``recommended_action``;
        ``attrs["rows_in"] == len(list) + sum(attrs["excluded"].values())``.
    """
    from churn_core.export import build_target_list

    schema = ctx.bundle.schema
    scored = ctx.scores.scored.copy()
    scored[TIER] = np.asarray(ctx.tiers, dtype=object)
    ids = [c for c in schema.id_columns if c in scored.columns]
    extra = [c for c in schema.personal_columns if c in scored.columns]
    return build_target_list(scored, ids, ctx.chosen_tiers, actions=ctx.actions,
                             reasons=ctx.reasons, value=ctx.value,
                             success_rate=ctx.success_rate,
                             cost_per_contact=ctx.cost_per_contact, extra_columns=extra,
                             rejected=ctx.scores.rejected)


def _strategy(ctx: ExportContext) -> tuple[str, str | None, dict]:
    """(strategy name, explanation, cost assumptions) of the threshold in use."""
    s = ctx.strategy or {}
    if s and abs(float(s.get("threshold", -1)) - float(ctx.threshold)) < 1e-6:
        params = dict(s.get("params") or {})
        return str(s.get("strategy", "manual")), s.get("explanation"), params
    return "manual", "Set with the decision-threshold slider.", {}


def export_log(ctx: ExportContext, listed: pd.DataFrame) -> dict:
    """Decision log of one target list (``export.decision_log``)."""
    from churn_core.export import decision_log

    name, why, costs = _strategy(ctx)
    if ctx.value is not None:
        costs.update({"value_of_retained_customer": ctx.value if np.ndim(ctx.value) == 0
                      and not isinstance(ctx.value, str) else str(ctx.value),
                      "offer_success_rate": ctx.success_rate,
                      "cost_per_contact": ctx.cost_per_contact})
    tiers = dict(ctx.cutoffs) if not ctx.mode.startswith("capacity") else \
        {"by": "capacity", **(ctx.capacity or {})}
    card = getattr(ctx.bundle, "card", {}) or {}
    return decision_log(ctx.bundle.name, card.get("data_sha256"), name, ctx.threshold,
                        costs, tiers, listed.attrs["rows_in"], len(listed),
                        listed.attrs["excluded"], tiers_included=ctx.chosen_tiers,
                        actions=ctx.actions, threshold_explanation=why,
                        extra={"scored_file_sha256": ctx.scores.data_sha256,
                               "rows_scored": int(len(ctx.scores.scored)),
                               "rows_rejected": int(len(ctx.scores.rejected))})


def export_bytes(ctx: ExportContext, kind: str) -> bytes:
    """File content of a download: ``"csv"`` (target list), ``"xlsx"`` (target list plus a
    decision_log sheet) or ``"json"`` (decision log).

    Raises
    ------
    ChurnError
        Unknown ``kind`` or an accounting mismatch (``export.decision_log``).
    """
    from churn_core import export as E

    listed = target_list(ctx)
    if kind == "csv":
        return E.to_csv_bytes(listed)
    log = export_log(ctx, listed)
    if kind == "xlsx":
        return E.to_xlsx_bytes(listed, log)
    if kind == "json":
        return E.decision_log_json(log)
    raise ChurnError(f"unknown export format {kind!r}")


def export_name(ctx: ExportContext, kind: str) -> str:
    """File name carrying model name, date and threshold (``export.export_filename``);
    the decision log gets ``decision_log`` in front."""
    from churn_core.export import export_filename

    name = export_filename(ctx.bundle.name, ctx.threshold, ext=kind)
    return name.replace("retention_targets_", "decision_log_") if kind == "json" else name


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
    from churn_core.errors import TrainingDataError
    from churn_core.validate import validate

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
