"""The uplift model: whose churn a call changes, learned from a randomised campaign.

Learner: a **two-model (T-) learner** (Künzel et al., "Metalearners for estimating
heterogeneous treatment effects using machine learning", PNAS 116, 2019). The project's churn
recipe (:func:`churn_core.model.train.train_bundle`: preprocessing fitted on training rows,
the Keras MLP ensemble, early stopping and calibration on a validation split) is trained once
on the control customers and once on the called customers; the uplift of a customer is
``p_control - p_called``, the drop in churn probability the call brings. Why not a single
network with the treatment as one more input (S-learner): the treatment is then one of a dozen
inputs, and the regularisation that keeps the churn model honest shrinks exactly the
treatment interactions we want (Künzel et al., section 3); two calibrated churn models also
keep every part of the bundle the same as a churn model's (one ``.keras`` file each, loaded in
Keras safe mode, JSON beside them).

Bundle folder ``models/<name>/``: ``control/`` and ``treated/`` (ordinary churn bundles, see
:mod:`churn_core.model.bundle`) and ``uplift.json`` (the card: learner, split, Qini
coefficients on the held-out split, the uplift-by-decile table, segment rule).
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from churn_core import config
from churn_core.data.flags import binary_codes
from churn_core.data.infer import infer_schema
from churn_core.data.validate import match_columns, validate
from churn_core.io.reader import ROW_INDEX
from churn_core.errors import BundleError, SchemaError, TrainingDataError
from churn_core.evaluate.uplift import qini_coefficient, qini_curve, uplift_by_decile
from churn_core.model.bundle import ModelBundle, load_bundle, sanitize_model_name, save_bundle
from churn_core.model.network import TrainConfig
from churn_core.model.train import train_bundle

CARD_FILE = "uplift.json"
ARMS = ("control", "treated")
#: Segments of :func:`uplift_segments`.
SEGMENTS = ("persuadable", "sure thing", "lost cause", "do not disturb")
#: A call must change the churn probability by at least this much (either way) to count.
DEFAULT_MIN_EFFECT = 0.02


@dataclass
class UpliftBundle:
    """Two churn bundles (control and called customers) and the uplift card.

    Attributes
    ----------
    name : str
    control, treated : ModelBundle
        Churn models of the control group and of the called group.
    card : dict
        Learner, data fingerprint, held-out Qini coefficients (``qini_model``,
        ``qini_risk_only``, ``qini_random``), ``deciles`` and the segment rule.
    """

    name: str
    control: ModelBundle
    treated: ModelBundle
    card: dict = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Raw feature columns both arms need."""
        return self.control.features

    def predict(self, df: pd.DataFrame, source_name: str | None = None) -> pd.DataFrame:
        """Uplift of every row of a customer table.

        Parameters
        ----------
        df : DataFrame of shape (n_rows, n_columns)
            As read by :func:`churn_core.io.reader.read_table` (text cells are fine).
        source_name : str, optional
            File name for messages.

        Returns
        -------
        DataFrame of shape (n_rows, 4), index of ``df``
            ``p_churn_if_not_called`` and ``p_churn_if_called`` (probabilities in [0, 1]),
            ``uplift`` (their difference, in [-1, 1]) and ``uplift_segment``; all NaN / ""
            for rows the model cannot use (see ``attrs["rejected"]``: index -> reason).

        Raises
        ------
        MissingColumnsError
            When a feature column is absent.
        """
        self.control.check_columns(df, source_name)
        res = validate(df, self.control.schema, require_target=False, source_name=source_name)
        n = len(df)
        cols = {"p_churn_if_not_called": np.full(n, np.nan), "p_churn_if_called": np.full(n, np.nan),
                "uplift": np.full(n, np.nan)}
        segment = np.full(n, "", dtype=object)
        if len(res.valid):
            pos = _positions(df, res.valid)
            p0 = self.control.predict_proba(res.valid)
            p1 = self.treated.predict_proba(res.valid)
            cols["p_churn_if_not_called"][pos] = p0
            cols["p_churn_if_called"][pos] = p1
            cols["uplift"][pos] = p0 - p1
            segment[pos] = uplift_segments(p0 - p1, p0, self.card.get("min_effect", DEFAULT_MIN_EFFECT))
        out = pd.DataFrame(cols, index=df.index)
        out["uplift_segment"] = segment
        rej = res.rejected
        rows = _positions(df, rej) if len(rej) else np.zeros(0, int)
        out.attrs["rejected"] = {df.index[i]: str(r) for i, r in zip(rows, rej.get("reason", []))}
        return out


def _positions(df: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Positions in ``df`` of validated / rejected rows (matched by their source row)."""
    lines = rows[ROW_INDEX].to_numpy()
    if df.index.name == ROW_INDEX and df.index.is_unique:
        return df.index.get_indexer(lines)
    return lines - 2


def uplift_segments(uplift, p_not_called, min_effect: float = DEFAULT_MIN_EFFECT) -> np.ndarray:
    """The four classic uplift segments.

    Parameters
    ----------
    uplift : array-like of shape (n_samples,)
        Drop in churn probability a call brings (``p_not_called - p_called``).
    p_not_called : array-like of shape (n_samples,)
        Churn probability without a call, in [0, 1].
    min_effect : float, default 0.02
        Smallest change of churn probability that counts as an effect.

    Returns
    -------
    ndarray of str, shape (n_samples,)
        ``"persuadable"`` (uplift >= min_effect: call them), ``"do not disturb"`` (uplift <=
        -min_effect: a call pushes them out), otherwise ``"lost cause"`` (churn probability
        >= 0.5 with or without a call) or ``"sure thing"`` (they stay anyway).
    """
    u = np.asarray(uplift, dtype=float)
    p0 = np.asarray(p_not_called, dtype=float)
    seg = np.where(p0 >= 0.5, "lost cause", "sure thing").astype(object)
    seg[u >= min_effect] = "persuadable"
    seg[u <= -min_effect] = "do not disturb"
    return seg


def expected_saved_value(uplift, value, cost_per_contact: float = 0.0) -> np.ndarray:
    """Expected value of calling each customer: ``uplift * value - cost_per_contact``.

    Parameters
    ----------
    uplift : array-like of shape (n_samples,)
        Drop in churn probability a call brings.
    value : float or array-like of shape (n_samples,)
        Value of keeping the customer, in the analyst's currency.
    cost_per_contact : float, default 0.0

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    return np.asarray(uplift, dtype=float) * np.asarray(value, dtype=float) - float(cost_per_contact)


def _binary(series: pd.Series, column: str, source: str) -> np.ndarray:
    """0/1 from yes/no cells (:func:`churn_core.data.flags.binary_codes`); bad cells raise."""
    codes, bad = binary_codes(series)
    if bad.any():
        where = series.index[bad][:5].tolist()
        raise TrainingDataError(
            f"{source}: column {column!r} must be 0/1 (or yes/no) for every customer; "
            f"{int(bad.sum())} row(s) are not, first at row(s) {where}")
    return codes.astype(np.int64)


def _curve_points(y, t, score, points: int = 51) -> dict:
    """The Qini curve at ``points`` evenly spaced shares (for the model card and its figure)."""
    x, q = qini_curve(y, t, score)
    at = np.linspace(0, 1, points)
    return {"share_targeted": at.round(4).tolist(),
            "customers_kept_per_100": (np.interp(at, x, q) / len(y) * 100).round(4).tolist()}


def train_uplift(df: pd.DataFrame, treatment: str = "treatment", outcome: str = "churned",
                 name: str = "uplift", cfg: TrainConfig | None = None, holdout: float = 0.3,
                 seed: int = config.SEED, source_name: str | None = None,
                 progress: Callable[[str], None] | None = None, truth=None) -> UpliftBundle:
    """Train the T-learner on a randomised campaign and evaluate it on held-out customers.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        One row per customer: features, ``treatment`` (1 = called) and ``outcome`` (1 =
        churned), as read by :func:`churn_core.io.reader.read_table`.
    treatment, outcome : str
        Column names (case-insensitive).
    name : str, default "uplift"
    cfg : TrainConfig, optional
        Recipe of both arms (default ``TrainConfig(seed=seed)``).
    holdout : float in (0, 1), default 0.3
        Share of customers held out (stratified by treatment x outcome) for the Qini
        evaluation; neither arm sees them.
    seed : int, default ``config.SEED``
    source_name : str, optional
        File name for messages.
    progress : callable, optional
        ``progress(text)`` at each stage.
    truth : array-like of shape (n_rows,), optional
        Known true uplift (synthetic data): its mean per decile is added to the card.

    Returns
    -------
    UpliftBundle
        ``card["qini_model"]``, ``card["qini_risk_only"]`` (ranking by the churn probability
        without a call, what a churn-only list does) and ``card["qini_random"]`` (a seeded
        random ranking) on the held-out split, and ``card["deciles"]``.

    Raises
    ------
    SchemaError
        When the treatment or outcome column is missing.
    TrainingDataError
        Non-binary treatment / outcome cells, or too few customers in an arm.
    """
    source = source_name or "campaign data"
    found = match_columns(df.columns, [treatment, outcome])
    missing = [c for c in (treatment, outcome) if c not in found]
    if missing:
        raise SchemaError(f"{source}: no column {missing[0]!r}; an uplift model needs a "
                          f"treatment column (1 = called) and an outcome column (1 = churned)")
    t_col, y_col = found[treatment], found[outcome]
    t = _binary(df[t_col], t_col, source)
    y = _binary(df[y_col], y_col, source)
    strata = t * 2 + y
    if min(np.bincount(strata, minlength=4)) < 2:
        raise TrainingDataError(f"{source}: an uplift model needs churners and stayers in both "
                                "the called and the control group")
    pos = np.arange(len(df))
    tr, ho = train_test_split(pos, test_size=holdout, random_state=seed, stratify=strata)
    tr, ho = np.sort(tr), np.sort(ho)
    feats = df.drop(columns=[t_col])
    feats[y_col] = np.where(y == 1, "1", "0")
    schema = infer_schema(feats, target=y_col, positive_label="1")
    cfg = cfg or TrainConfig(seed=seed)
    arms = {}
    for arm, flag in zip(ARMS, (0, 1)):
        rows = tr[t[tr] == flag]
        if progress:
            progress(f"training the {arm} model on {len(rows):,} customers")
        arms[arm] = train_bundle(feats.iloc[rows], schema, cfg, name=f"{name}_{arm}",
                                 source_name=source)
    ub = UpliftBundle(name, arms["control"], arms["treated"])
    if progress:
        progress(f"evaluating on {len(ho):,} held-out customers")
    pred = ub.predict(feats.iloc[ho].drop(columns=[y_col]), source_name=source)
    ok = pred["uplift"].notna().to_numpy()
    u = pred["uplift"].to_numpy(dtype=float)[ok]
    risk = pred["p_churn_if_not_called"].to_numpy(dtype=float)[ok]
    yh, th = y[ho][ok], t[ho][ok]
    rnd = np.random.default_rng(seed).random(len(u))
    true_h = None if truth is None else np.asarray(truth, dtype=float)[ho][ok]
    deciles = uplift_by_decile(yh, th, u, predicted=u, truth=true_h)
    ub.card = {
        "name": name, "kind": "uplift", "learner": "two-model (T-) learner, Keras MLP per arm",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source_name, "treatment_column": t_col, "outcome_column": y_col,
        "rows": int(len(df)), "train_rows": int(len(tr)), "holdout_rows": int(len(ho)),
        "holdout_scored": int(ok.sum()), "seed": int(seed),
        "called_share": float(t.mean()), "churn_rate_called": float(y[t == 1].mean()),
        "churn_rate_control": float(y[t == 0].mean()),
        "qini_model": qini_coefficient(yh, th, u),
        "qini_risk_only": qini_coefficient(yh, th, risk),
        "qini_random": qini_coefficient(yh, th, rnd),
        "deciles": json.loads(deciles.to_json(orient="records")),
        "qini_curves": {k: _curve_points(yh, th, s) for k, s in
                        (("uplift model", u), ("risk only", risk), ("random", rnd))},
        "min_effect": DEFAULT_MIN_EFFECT,
        "features": schema.features,
    }
    ub.__dict__["holdout"] = {"position": ho[ok], "uplift": u, "risk": risk, "y": yh, "t": th}
    return ub


def save_uplift(ub: UpliftBundle, name: str | None = None, models_dir=None) -> Path:
    """Save atomically to ``models_dir/<name>/`` (``control/``, ``treated/``, ``uplift.json``).

    Raises
    ------
    BundleError
        Bad name, or a churn model (not an uplift model) already has that name.
    """
    models_dir = Path(models_dir or config.MODELS_DIR)
    name = sanitize_model_name(name or ub.name)
    final = models_dir / name
    if final.exists() and not (final / CARD_FILE).exists():
        raise BundleError(f"models/{name} exists and is not an uplift model; choose another name")
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".tmp_uplift_{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        save_bundle(ub.control, "control", tmp)
        save_bundle(ub.treated, "treated", tmp)
        (tmp / CARD_FILE).write_text(json.dumps({**ub.card, "name": name}, indent=1))
        if final.exists():
            old = models_dir / f".old_{name}_{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_uplift(name: str, models_dir=None) -> UpliftBundle:
    """Load an uplift bundle (both arms in Keras safe mode).

    Raises
    ------
    BundleError
        Not an uplift bundle, or an arm fails to load.
    """
    models_dir = Path(models_dir or config.MODELS_DIR)
    name = sanitize_model_name(Path(str(name)).name)
    folder = models_dir / name
    card_path = folder / CARD_FILE
    if not card_path.is_file():
        raise BundleError(f"models/{name} is not an uplift model (no {CARD_FILE}); train one with "
                          "python -m churn_core train-uplift")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"models/{name}/{CARD_FILE} is damaged: {exc}") from exc
    return UpliftBundle(name, load_bundle("control", folder), load_bundle("treated", folder), card)
