"""Batch health for the pages: is this file like the model's training data? (:class:`DriftView`)

Wires :mod:`churn_core.campaign.drift` to the app: the drift of a scored file (computed once
per :class:`~churn_core.workbench.scores.Scores` and kept on it), its table and charts, the
per-model drift history (``models/<name>/drift_history.jsonl``) and its chart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.campaign import drift as D

#: Label of the model score in tables and history charts.
SCORE_LABEL = "churn score"
#: Said when a model has no reference profile (bundles saved before drift checks existed).
NO_PROFILE = D.NO_PROFILE
#: The PSI bands and the sampling-noise rule in words.
BANDS_TEXT = D.BANDS_TEXT


@dataclass
class DriftView:
    """What the pages show about one scored file's drift.

    Attributes
    ----------
    available : bool
        False when the model has no reference profile (``message`` says so).
    message : str
        The headline (verdict and the columns behind it), or why there is no drift check.
    verdict : str or None
        One of ``campaign.drift.VERDICTS`` (or ``"no rows to compare"``).
    columns_behind : list of str
    table : DataFrame
        One row per feature column, then the churn score: ``column``, ``verdict``, ``PSI``,
        ``effect size``, ``effect measure``, ``blank % (training)``, ``blank % (file)``,
        ``not in training % (file)``, ``note``; the drifted first.
    report : DriftReport or None
    bands : str
        The PSI bands and the noise rule in words.
    """

    available: bool
    message: str
    verdict: str | None
    columns_behind: list
    table: pd.DataFrame
    report: D.DriftReport | None
    bands: str = D.BANDS_TEXT

    @property
    def level(self) -> int:
        """0 like the training data, 1 watch, 2 different (for the page's colour)."""
        return D.VERDICTS.index(self.verdict) if self.verdict in D.VERDICTS else 0

    def chart_columns(self) -> list[str]:
        """Columns with a chart, the ones behind the verdict first, the score last."""
        if self.report is None:
            return []
        rest = [c for c in self.report.columns if c not in self.columns_behind]
        return [*self.columns_behind, *rest] + ([SCORE_LABEL] if self.report.score else [])

    def column(self, name: str) -> dict:
        """``column_drift`` dict of a feature column or of :data:`SCORE_LABEL`."""
        if self.report is None:
            raise KeyError(name)
        return self.report.score if name == SCORE_LABEL else self.report.columns[name]

    def high_tier(self) -> tuple[float, float] | None:
        """(expected share of High tier from training, share in this file) at the model's
        tier cutoffs, or None."""
        s = self.report.score if self.report is not None else None
        if not s or "high_share" not in s:
            return None
        return s["high_share"]["training"], s["high_share"]["file"]


def _table(report: D.DriftReport) -> pd.DataFrame:
    rows = []
    items = list(report.columns.items()) + ([(SCORE_LABEL, report.score)] if report.score else [])
    for name, d in items:
        us = d.get("unseen_share") or {}
        rows.append({"column": name, "verdict": d["verdict"], "PSI": d["psi"],
                     "effect size": d["effect_size"], "effect measure": d["effect_name"],
                     "blank % (training)": 100 * d["blank_share"]["training"],
                     "blank % (file)": 100 * d["blank_share"]["file"],
                     "not in training % (file)": 100 * us["file"] if us else np.nan,
                     "note": "; ".join(d["notes"])})
    order = {"major": 0, "moderate": 1, "stable": 2}
    t = pd.DataFrame(rows)
    if len(t):
        t = t.sort_values(["verdict", "PSI"], key=lambda s: s.map(order) if s.name == "verdict"
                          else -s.fillna(0), kind="stable").reset_index(drop=True)
    return t


def batch_drift(bundle, scores) -> DriftView:
    """Drift of a scored file against the bundle's training profile (kept on ``scores``).

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
        From :func:`churn_core.workbench.scores.score_data` (needs ``scores.valid``).

    Returns
    -------
    DriftView
        ``available=False`` with ``campaign.drift.NO_PROFILE`` when the bundle has no
        profile.
    """
    cached = scores.__dict__.get("_drift_view")
    if cached is not None:
        return cached
    profile = getattr(bundle, "profile", None)
    if profile is None:
        view = DriftView(False, D.NO_PROFILE, None, [], pd.DataFrame(), None)
    elif scores.valid is None:
        view = DriftView(False, "the scored rows could not be matched to their typed values; "
                                "no drift check", None, [], pd.DataFrame(), None)
    else:
        source = (scores.report or {}).get("source") if isinstance(scores.report, dict) else None
        rep = D.file_drift(profile, scores.valid, scores.p, source=source)
        view = DriftView(True, rep.headline, rep.verdict, list(rep.columns_behind), _table(rep), rep)
    scores.__dict__["_drift_view"] = view
    return view


def drift_figure(view: DriftView, column: str):
    """Training vs this file for one column (``figures.drift.shares_figure``).

    Parameters
    ----------
    view : DriftView
    column : str
        A feature column or :data:`SCORE_LABEL`.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    from churn_core.figures.drift import shares_figure

    d = view.column(column)
    sub = f"{d['verdict']} · PSI {d['psi']:.3f} · {d['effect_name']} {d['effect_size']:.3f}"
    return shares_figure(d["bins"]["labels"], d["bins"]["training"], d["bins"]["file"],
                         column, sub)


def psi_overview_figure(view: DriftView):
    """PSI per column coloured by verdict (``figures.drift.psi_figure``)."""
    from churn_core.figures.drift import psi_figure

    t = view.table
    return psi_figure(t["column"].tolist(), t["PSI"].tolist(), t["verdict"].tolist())


def drift_log(view: DriftView) -> dict | None:
    """The drift summary recorded in a target list's decision log (None without a profile)."""
    if view.report is None:
        return {"verdict": None, "message": view.message}
    return D.json_ready({"headline": view.message, **view.report.summary()})


def _history_file(model_name: str, models_dir=None) -> Path:
    from churn_core.model.bundle import sanitize_model_name

    base = Path(models_dir if models_dir is not None else config.MODELS_DIR)
    return D.history_path(base / sanitize_model_name(model_name))


def record_batch(bundle, scores, view: DriftView, models_dir=None) -> bool:
    """Append this scored file's drift to the model's history, once per file.

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    view : DriftView
        ``batch_drift(bundle, scores)``.
    models_dir : path-like, default ``config.MODELS_DIR``

    Returns
    -------
    bool
        True when a line was appended; False when there is no drift report or the history
        already holds this file (same SHA-256) for this model version.
    """
    if view.report is None or view.report.rows == 0:
        return False
    path = _history_file(bundle.name, models_dir)
    created = bundle.card.get("created")
    if any(r.get("data_sha256") == scores.data_sha256 and r.get("model_created") == created
           for r in D.read_history(path)):
        return False
    D.append_history(path, D.history_record(view.report, bundle.name, created, scores.data_sha256))
    return True


def drift_history(model_name: str, models_dir=None, model_created: str | None = None
                  ) -> tuple[pd.DataFrame, list[str]]:
    """The model's scored batches as a table, and its key columns.

    Parameters
    ----------
    model_name : str
    models_dir : path-like, default ``config.MODELS_DIR``
    model_created : str, optional
        Keep only batches scored by this model version (``card["created"]``): a model
        retrained under the same name starts a new history.

    Returns
    -------
    history : DataFrame of shape (n_batches, ...)
        Oldest first: ``batch`` (``"1 · file"``), ``scored at``, ``file``, ``rows``,
        ``verdict``, ``columns behind``, ``High tier % (file)``, ``High tier % (training)``,
        then the PSI of every feature column and of :data:`SCORE_LABEL`.
    key_columns : list of str
        Up to five feature columns with the largest PSI over the batches (the ones that
        moved), then :data:`SCORE_LABEL`.
    """
    recs = D.read_history(_history_file(model_name, models_dir))
    if model_created is not None:
        recs = [r for r in recs if r.get("model_created") in (None, model_created)]
    rows = []
    for i, r in enumerate(recs, 1):
        s = r.get("score") or {}
        hs = s.get("high_share") or {}
        row = {"batch": f"{i} · {r.get('source') or '?'}", "scored at": r.get("created"),
               "file": r.get("source"), "rows": r.get("rows"), "verdict": r.get("verdict"),
               "columns behind": ", ".join(r.get("columns_behind") or []),
               "High tier % (file)": 100 * hs["file"] if hs.get("file") is not None else np.nan,
               "High tier % (training)": (100 * hs["training"] if hs.get("training") is not None
                                          else np.nan)}
        for c, d in (r.get("columns") or {}).items():
            row[c] = (d or {}).get("psi")
        row[SCORE_LABEL] = s.get("psi")
        rows.append(row)
    hist = pd.DataFrame(rows)
    if not len(hist):
        return hist, []
    fixed = {"batch", "scored at", "file", "rows", "verdict", "columns behind",
             "High tier % (file)", "High tier % (training)", SCORE_LABEL}
    feats = [c for c in hist.columns if c not in fixed]
    peak = hist[feats].astype(float).max().sort_values(ascending=False, kind="stable")
    return hist, [*peak.index[:5].tolist(), SCORE_LABEL]


def history_chart(history: pd.DataFrame, key_columns: list[str]):
    """Drift of the key columns and the score over batches (``figures.drift.history_figure``)."""
    from churn_core.figures.drift import history_figure

    return history_figure(history, key_columns)
