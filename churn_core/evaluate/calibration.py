"""Probability calibration on the validation split, stored as plain JSON (never pickled).

* **Platt scaling** (Platt 1999): a logistic regression on the logit of the raw probability,
  ``q = 1 / (1 + exp(-(a * logit(p) + b)))``, fitted with scikit-learn's
  ``LogisticRegression`` (unpenalised).
* **Isotonic regression** (Zadrozny & Elkan 2002): a non-decreasing step-wise map fitted
  with scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``; applying it is a linear
  interpolation between its ``X_thresholds_`` / ``y_thresholds_``, which is what
  :meth:`Calibrator.transform` does with ``numpy.interp`` (identical to scikit-learn's
  ``predict``).
* ``method="auto"`` compares both by cross-validated Brier score on the validation split
  and keeps the best only if it beats the raw probabilities; otherwise no calibrator.

Also: :func:`reliability_curve` (scikit-learn ``calibration_curve`` + bin counts) and
:func:`expected_calibration_error`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from churn_core.config import SEED
from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import brier_score_loss, check_labels_scores, check_scores

# scikit-learn is imported inside the fitting functions: applying a saved calibrator (every
# `score` run) needs only NumPy.

__all__ = [
    "Calibrator",
    "fit_calibrator",
    "reliability_curve",
    "expected_calibration_error",
    "METHODS",
]

METHODS = ("platt", "isotonic")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class Calibrator:
    """A fitted probability calibrator, serialisable to plain JSON.

    Attributes
    ----------
    method : {"platt", "isotonic"}
    params : dict
        Platt: ``{"a": float, "b": float}``; isotonic: ``{"x": [...], "y": [...]}``
        (the breakpoints, x increasing).
    brier_raw, brier_calibrated : float or None
        Cross-validated Brier scores on the validation split when chosen by ``"auto"``.
    n_fit : int
        Number of validation customers it was fitted on.
    """

    method: str
    params: dict
    brier_raw: float | None = None
    brier_calibrated: float | None = None
    n_fit: int = 0
    extra: dict = field(default_factory=dict)

    def transform(self, p) -> np.ndarray:
        """Map raw churn probabilities to calibrated ones.

        Parameters
        ----------
        p : array-like of shape (n_samples,)
            Raw probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,)
            Calibrated probabilities in [0, 1].
        """
        p = check_scores(p)
        if self.method == "platt":
            z = self.params["a"] * _logit(p) + self.params["b"]
            return 1.0 / (1.0 + np.exp(-z))
        if self.method == "isotonic":
            return np.interp(p, np.asarray(self.params["x"], float),
                             np.asarray(self.params["y"], float))
        raise ChurnError(f"unknown calibration method {self.method!r}")

    def to_dict(self) -> dict:
        """JSON-ready dict (for ``calibration.json`` in the bundle)."""
        return {"method": self.method, "params": self.params, "brier_raw": self.brier_raw,
                "brier_calibrated": self.brier_calibrated, "n_fit": int(self.n_fit),
                "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Calibrator | None":
        """Rebuild from :meth:`to_dict` output; ``None`` stays ``None`` (no calibration).

        Raises
        ------
        ChurnError
            Unknown method or malformed parameters.
        """
        if d is None:
            return None
        method = d.get("method")
        params = d.get("params") or {}
        if method == "platt":
            params = {"a": float(params["a"]), "b": float(params["b"])}
        elif method == "isotonic":
            x = [float(v) for v in params["x"]]
            y = [float(v) for v in params["y"]]
            if len(x) != len(y) or len(x) == 0 or np.any(np.diff(x) < 0):
                raise ChurnError("isotonic calibration breakpoints are malformed")
            params = {"x": x, "y": y}
        else:
            raise ChurnError(f"unknown calibration method {method!r}")
        return cls(method, params, d.get("brier_raw"), d.get("brier_calibrated"),
                   int(d.get("n_fit", 0)), dict(d.get("extra") or {}))


def _fit_one(method: str, y: np.ndarray, p: np.ndarray) -> Calibrator:
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
        lr.fit(_logit(p).reshape(-1, 1), y)
        return Calibrator("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])},
                          n_fit=int(y.size))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator("isotonic", {"x": iso.X_thresholds_.astype(float).tolist(),
                                       "y": iso.y_thresholds_.astype(float).tolist()},
                          n_fit=int(y.size))
    raise ChurnError(f"calibration method must be 'auto', 'platt' or 'isotonic', got {method!r}")


def fit_calibrator(y_val, p_val, method: str = "auto", cv: int = 5, seed: int = SEED
                   ) -> Calibrator | None:
    """Fit a calibrator on the validation split.

    Parameters
    ----------
    y_val : array-like of shape (n_samples,)
        0/1 labels of the validation split.
    p_val : array-like of shape (n_samples,)
        Raw model probabilities of the same customers.
    method : {"auto", "platt", "isotonic"}, default "auto"
        ``"auto"``: out-of-fold Brier score (``cv`` stratified folds) of Platt and isotonic
        versus the raw probabilities on the same rows; the lowest wins if it is below the
        raw Brier score, and is then refitted on the whole validation split. Returns
        ``None`` when neither improves (or there are fewer churners or stayers than folds).
        ``"platt"`` / ``"isotonic"``: fit that method on all rows.
    cv : int, default 5
        Folds for ``"auto"``.
    seed : int, default config.SEED
        Shuffling seed of the folds.

    Returns
    -------
    Calibrator or None

    Raises
    ------
    ChurnError
        Bad input, an unknown method, or a single class with an explicit method.
    """
    y, p = check_labels_scores(y_val, p_val)
    n_pos = int(y.sum())
    n_min = min(n_pos, y.size - n_pos)
    if method != "auto":
        if n_min == 0:
            raise ChurnError("calibration needs both churners and non-churners")
        return _fit_one(method, y, p)
    if n_min < max(2, cv):
        return None
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    oof = {m: np.empty_like(p) for m in METHODS}
    for tr, te in folds.split(p.reshape(-1, 1), y):
        for m in METHODS:
            oof[m][te] = _fit_one(m, y[tr], p[tr]).transform(p[te])
    raw = float(brier_score_loss(y, p))
    scores = {m: float(brier_score_loss(y, oof[m])) for m in METHODS}
    best = min(scores, key=scores.get)
    if scores[best] >= raw:
        return None
    c = _fit_one(best, y, p)
    return Calibrator(c.method, c.params, raw, scores[best], c.n_fit,
                      {"cv_brier": scores, "cv_folds": cv})


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin index of every probability, as scikit-learn's ``calibration_curve`` does."""
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ChurnError(f"binning strategy must be 'uniform' or 'quantile', got {strategy!r}")
    return np.searchsorted(edges[1:-1], p)


def reliability_curve(y_true, y_score, n_bins: int = 10, strategy: str = "uniform"
                      ) -> pd.DataFrame:
    """Observed churn rate versus mean predicted probability per bin (reliability diagram).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    n_bins : int, default 10
        Number of bins.
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins on [0, 1] or equal-count bins (as scikit-learn).

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``mean_predicted`` and ``observed_rate`` (equal to
        scikit-learn's ``calibration_curve`` ``prob_pred`` / ``prob_true``) and ``customers``.
    """
    y, p = check_labels_scores(y_true, y_score)
    from sklearn.calibration import calibration_curve

    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    counts = np.bincount(_bin_ids(p, n_bins, strategy), minlength=n_bins)
    counts = counts[counts > 0]
    return pd.DataFrame({"mean_predicted": prob_pred, "observed_rate": prob_true,
                         "customers": counts.astype(np.int64)})


def expected_calibration_error(y_true, y_score, n_bins: int = 10) -> float:
    """Expected calibration error (ECE) with equal-width bins.

    ``ECE = sum over bins b of (n_b / n) * |observed churn rate in b - mean probability in b|``
    (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017), using the same ``n_bins`` equal-width
    bins on [0, 1] as :func:`reliability_curve`. 0 means perfectly calibrated; it is in [0, 1].

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    y_score : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    n_bins : int, default 10

    Returns
    -------
    float
    """
    curve = reliability_curve(y_true, y_score, n_bins=n_bins, strategy="uniform")
    w = curve["customers"].to_numpy() / curve["customers"].sum()
    return float(np.sum(w * np.abs(curve["observed_rate"] - curve["mean_predicted"])))
