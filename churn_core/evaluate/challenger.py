"""The challenger: gradient boosting trained on the MLP bundle's own split, for a fair comparison.

Analysts ask "why a neural network and not boosting?". :func:`train_challenger` answers with
a scikit-learn ``HistGradientBoostingClassifier`` (histogram gradient boosting, after
LightGBM: Ke et al., 2017) fitted on exactly the bundle's training rows, early-stopped on
the bundle's validation rows (the rows the MLP used for early stopping) and evaluated on the
bundle's test rows, with the decision threshold chosen the same way as the MLP's (maximum F1
on the validation split). Pure function: nothing is saved or cached here.

Features are the schema's raw columns: numeric columns as floats (blanks stay NaN, which
gradient boosting handles natively), categorical columns as pandas categories learned on the
training rows (native categorical splits; unseen or blank values are missing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from churn_core.data.schema import FeatureSchema
from churn_core.errors import MissingColumnsError, SchemaError, TrainingDataError
from churn_core.evaluate import metrics as M
from churn_core.evaluate.thresholds import max_f1

#: HistGradientBoosting bins categories into at most 255 bins; rarer categories beyond
#: the most frequent ``MAX_CATEGORIES`` are treated as missing.
MAX_CATEGORIES = 250
#: Hyperparameters (scikit-learn defaults except a smaller learning rate with more rounds
#: and early stopping on the bundle's validation split).
CHALLENGER_PARAMS = {"learning_rate": 0.05, "max_iter": 500, "max_leaf_nodes": 31,
                     "min_samples_leaf": 20, "n_iter_no_change": 20}


@dataclass(frozen=True)
class ChallengerSplit:
    """Row positions (into the validated frame) of the three splits."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_from(bundle_or_split_info) -> ChallengerSplit:
    """Read the train/validation/test positions of a bundle.

    Parameters
    ----------
    bundle_or_split_info : ModelBundle or dict
        A bundle (its ``evaluation``) or the ``evaluation`` dict itself:
        ``{"train": {"position": [...]}, "validation": {...}, "test": {...}}``.

    Returns
    -------
    ChallengerSplit

    Raises
    ------
    TrainingDataError
        When the bundle has no split positions (e.g. an old bundle without ``evaluation.json``).
    """
    ev = getattr(bundle_or_split_info, "evaluation", bundle_or_split_info) or {}
    try:
        parts = [np.asarray(ev[k]["position"], dtype=np.int64) for k in ("train", "validation", "test")]
    except (KeyError, TypeError):
        raise TrainingDataError(
            "this model has no saved train/validation/test split (evaluation.json), so a challenger "
            "cannot be trained on the same rows; retrain the model"
        ) from None
    return ChallengerSplit(*parts)


def _frame(valid_df: pd.DataFrame, schema: FeatureSchema, train_pos: np.ndarray) -> pd.DataFrame:
    """Numeric columns as float64, categorical as pandas categories learned on training rows."""
    missing = [c for c in schema.features if c not in valid_df.columns]
    if missing:

        raise MissingColumnsError(missing, "the validated data")
    out = {}
    for col in schema.numeric:
        out[col] = pd.to_numeric(valid_df[col], errors="coerce").astype("float64").to_numpy()
    for col in schema.categorical:
        s = valid_df[col].astype("string").str.strip()
        s = s.mask(s == "")
        counts = s.iloc[train_pos].value_counts()
        cats = sorted(counts.index[:MAX_CATEGORIES].tolist())
        out[col] = pd.Categorical(s.to_numpy(dtype=object, na_value=None), categories=cats)
    return pd.DataFrame(out, index=valid_df.index)[schema.features]


def train_challenger(bundle_or_split_info, valid_df: pd.DataFrame, y, schema: FeatureSchema | None = None,
                     seed: int | None = None):
    """Fit HistGradientBoosting on a bundle's training split and evaluate it on its test split.

    Parameters
    ----------
    bundle_or_split_info : ModelBundle or dict
        The MLP bundle (its ``schema``, ``evaluation`` split positions and seed are used) or
        its ``evaluation`` dict (then ``schema`` is required).
    valid_df : DataFrame of shape (n_samples, >= n_features)
        The validated frame the bundle was trained on (``ValidationResult.valid`` of the same
        file); split positions index its rows.
    y : array-like of shape (n_samples,)
        0/1 labels (1 = churned) aligned with ``valid_df``.
    schema : FeatureSchema, optional
        Feature roles; default ``bundle.schema``.
    seed : int, optional
        ``random_state`` of the classifier; default the bundle's seed (or 42).

    Returns
    -------
    y_test : ndarray of shape (n_test,)
        Labels of the bundle's test rows.
    p_test : ndarray of shape (n_test,)
        Challenger churn probabilities in [0, 1] for the same rows.
    metrics : EvaluationReport
        :func:`churn_core.evaluate.metrics.evaluate` on the test rows at the challenger's own decision
        threshold (maximum F1 on the validation rows, the MLP bundle's rule).

    Raises
    ------
    TrainingDataError
        No split positions, positions outside ``valid_df``, or a split without both classes.
    SchemaError
        When neither a bundle nor ``schema`` gives the feature roles.
    MissingColumnsError
        When ``valid_df`` lacks feature columns.
    """


    split = split_from(bundle_or_split_info)
    schema = schema or getattr(bundle_or_split_info, "schema", None)
    if schema is None:
        raise SchemaError("the challenger needs the feature schema (pass schema=...)")
    if seed is None:
        card = getattr(bundle_or_split_info, "card", None) or {}
        seed = int(card.get("seed", 42))
    y = np.asarray(y).astype(np.int64).ravel()
    n = len(valid_df)
    if len(y) != n:
        raise TrainingDataError(f"{len(y)} labels for {n} validated rows")
    allpos = np.concatenate([split.train, split.validation, split.test])
    if allpos.size and (allpos.min() < 0 or allpos.max() >= n):
        raise TrainingDataError(
            f"the model's split refers to row {int(allpos.max())} but the data has {n} valid rows: "
            "use the same file the model was trained on"
        )
    for name, pos in (("training", split.train), ("validation", split.validation)):
        if len(np.unique(y[pos])) < 2:
            raise TrainingDataError(f"the {name} split holds only one class: cannot train a challenger")
    X = _frame(valid_df, schema, split.train)
    Xtr, Xva, Xte = (X.iloc[p] for p in (split.train, split.validation, split.test))
    clf = HistGradientBoostingClassifier(random_state=seed, early_stopping=True,
                                         categorical_features="from_dtype", **CHALLENGER_PARAMS)

    # one OpenMP thread: small data, and spin-waiting threads stall a shared machine
    with threadpool_limits(limits=1, user_api="openmp"):
        clf.fit(Xtr, y[split.train], X_val=Xva, y_val=y[split.validation])
    p_val = clf.predict_proba(Xva)[:, 1]
    p_test = clf.predict_proba(Xte)[:, 1]
    threshold = float(max_f1(y[split.validation], p_val).threshold)
    y_test = y[split.test]
    return y_test, p_test, M.evaluate(y_test, p_test, threshold)


#: Share of the test customers, ranked by churn probability, in the verdict's "top of the list".
VERDICT_TOP_SHARE = 0.10
#: Stratified parts of the test split whose spread measures the fold-to-fold noise.
VERDICT_PARTS = 5


@dataclass(frozen=True)
class Verdict:
    """Does the challenger beat the MLP on the test split by more than the noise?

    Attributes
    ----------
    challenger_wins : bool
        True when the challenger's ROC-AUC or PR-AUC exceeds the MLP's by more than the
        fold-to-fold noise of that difference.
    gaps : dict of str to dict
        Per metric (``roc_auc``, ``pr_auc``): ``mlp``, ``challenger``, ``gap`` (challenger minus
        MLP on the whole test split) and ``noise`` (standard deviation of the gap over
        :data:`VERDICT_PARTS` stratified parts of the test split; NaN when a part lacks a class).
    top_n : int
        Customers in the top :data:`VERDICT_TOP_SHARE` of each ranking.
    churners_mlp, churners_challenger : int
        Churners among each model's ``top_n`` highest-ranked test customers.
    sentence : str
        The verdict in plain words.
    advice : str
        What to do about it (empty when the challenger does not win).
    """

    challenger_wins: bool
    gaps: dict
    top_n: int
    churners_mlp: int
    churners_challenger: int
    sentence: str
    advice: str


def _top_churners(y: np.ndarray, p: np.ndarray, n: int) -> int:
    """Churners among the ``n`` highest probabilities (stable order breaks ties)."""
    order = np.argsort(-p, kind="stable")[:n]
    return int(y[order].sum())


def challenger_verdict(y_test, p_mlp, p_challenger, seed: int = 42, recipe: str | None = None) -> Verdict:
    """Plain verdict: does the gradient-boosting challenger beat the MLP by more than the noise?

    Parameters
    ----------
    y_test : array-like of shape (n_test,) in {0, 1}
        Labels of the bundle's test split.
    p_mlp, p_challenger : array-like of shape (n_test,)
        The two models' churn probabilities in [0, 1] for the same rows.
    seed : int, default 42
        Seeds the stratified parts.
    recipe : str, optional
        The MLP's training recipe (``"quick"`` or ``"adaptive"``, from its card): the advice
        names the adaptive recipe when the MLP was trained with the quick one.

    Returns
    -------
    Verdict

    Raises
    ------
    ValueError
        (``ChurnError``) When the arrays differ in length, hold a value outside [0, 1]
        (:func:`churn_core.evaluate.metrics.check_labels_scores`) or the test split lacks a
        class.

    Notes
    -----
    The noise of a metric difference is measured as in cross-validation: the test rows are cut
    into :data:`VERDICT_PARTS` stratified parts (scikit-learn ``StratifiedKFold``), the gap is
    computed on each part, and its standard deviation (ddof=1) over the parts is the
    "fold-to-fold noise". A gap on the whole split larger than that is about 2.2 standard errors
    (the standard error of a mean of 5 parts is sd / sqrt(5)): unlikely to be luck of the split.
    The "top of the list" compares the churners each model puts in its top 10 % (the
    cumulative gains at 10 %; metrics: scikit-learn ``roc_auc_score`` and
    ``average_precision_score``).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from churn_core.evaluate.metrics import check_labels_scores

    y, pm = check_labels_scores(y_test, p_mlp)
    _, pc = check_labels_scores(y, p_challenger)
    if len(np.unique(y)) < 2:
        raise ValueError("the test split holds one class only: no ROC-AUC or PR-AUC to compare")
    scorers = {"roc_auc": roc_auc_score, "pr_auc": average_precision_score}
    k = min(VERDICT_PARTS, int(min(np.bincount(y.astype(int), minlength=2))))
    parts = (list(StratifiedKFold(k, shuffle=True, random_state=seed).split(pm, y)) if k >= 2 else [])
    gaps, wins = {}, False
    for name, fn in scorers.items():
        a, b = float(fn(y, pm)), float(fn(y, pc))
        diffs = [fn(y[i], pc[i]) - fn(y[i], pm[i]) for _, i in parts]
        noise = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
        gaps[name] = {"mlp": a, "challenger": b, "gap": b - a, "noise": noise}
        wins |= bool(np.isfinite(noise) and b - a > noise)
    n_top = max(1, int(np.ceil(VERDICT_TOP_SHARE * len(y))))
    cm, cc = _top_churners(y, pm, n_top), _top_churners(y, pc, n_top)
    more = (f"{(cc - cm) / cm:.0%} more" if cm else f"{cc - cm} more") if cc > cm else (
        "as many" if cc == cm else f"{(cm - cc) / max(cm, 1):.0%} fewer")
    top = (f"in the top {VERDICT_TOP_SHARE:.0%} of its list ({n_top} customers) it finds {cc} churners, "
           f"the MLP {cm} ({more})")
    pr = gaps["pr_auc"]
    if wins:
        sentence = (f"The gradient-boosting challenger ranks churners better than this MLP on its test "
                    f"customers, by more than the noise: {top}; PR-AUC {pr['challenger']:.3f} vs "
                    f"{pr['mlp']:.3f} (noise {pr['noise']:.3f}).")
        advice = ("What to do: " + ("retrain this file with the adaptive recipe (Model page, Recipe: "
                                    "adaptive), which tries regularised and finer variants; "
                                    if recipe != "adaptive" else
                                    "retrain with a larger time budget for the adaptive recipe; ")
                  + "train on more customers if you have them; until then, the challenger's ranking "
                    "finds more churners for the same budget.")
    else:
        sentence = (f"The challenger does not beat this MLP by more than the noise: {top}; PR-AUC "
                    f"{pr['challenger']:.3f} vs {pr['mlp']:.3f} (noise {pr['noise']:.3f}). Keep the MLP.")
        advice = ""
    return Verdict(wins, gaps, n_top, cm, cc, sentence, advice)
