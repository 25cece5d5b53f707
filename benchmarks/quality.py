"""Model-quality benchmark: the product's MLP against the tutorial recipe and standard baselines.

k-fold stratified cross-validation with fixed seeds over any supported customer file, using
the product's own pipeline (``io.read_table`` -> ``infer.infer_schema`` -> ``validate`` ->
``train.fit_pipeline`` / ``Preprocessor`` + ``fit_mlp``). In every fold the training part is
split again (stratified, the same fraction as ``TrainConfig.val_size`` of a bundle) into an
inner training and an inner validation split; every model fits on the inner training split
and may use the inner validation split only for early stopping / epoch selection. The test
fold is touched once, for the metrics. All models of a fold run back to back so machine load
affects them alike.

Usage::

    python benchmarks/quality.py [--data FILE ...] [--target Exited]
        [--folds 5] [--seed 42] [--models default,tutorial,logistic,hgb,lightgbm]
        [--mlp-config '{"hidden": [128, 64]}'] [--json out.json]

Without ``--data`` it runs the three public files (bank, telco, Orange telecom, from
``config.SHARED_DATA_DIR``) that are present; ``--data`` (repeatable) adds any other file.
One table per file, then the paired comparison: per fold, the default MLP minus the better
gradient-boosting model (the one of HistGradientBoosting / LightGBM with the higher mean for
that metric), for ROC-AUC and PR-AUC: mean difference, fold-to-fold standard deviation of
the difference, and folds the MLP wins (ties count as half).

Columns: ROC-AUC mean ± sd over folds, PR-AUC (average precision) mean, best F1 (maximum
over thresholds on the test fold: an optimistic, threshold-free summary), Brier score of the
raw probabilities, median fit seconds per fold (preprocessing fit + model fit, not scoring).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One OpenMP thread for the tree models: on a shared 2-core machine, OpenMP spin-waiting
# under oversubscription made HistGradientBoosting 10x slower and the timings meaningless.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from churn_core.evaluate import metrics as M# noqa: E402
from churn_core.data.infer import infer_schema  # noqa: E402
from churn_core.io.reader import read_table  # noqa: E402
from churn_core.model.network import TrainConfig  # noqa: E402
from churn_core.model.preprocess import Preprocessor  # noqa: E402
from churn_core.data.validate import validate  # noqa: E402

#: The reference tutorial's recipe: one 64-32 ReLU MLP, Adam 0.01, batch 32, early stopping
#: (patience 5) on validation loss, standard scaling + one-hot, no class weights. (Through
#: ``fit_mlp`` it also gets ``ReduceLROnPlateau``, which the tutorial did not have.)
TUTORIAL = dict(hidden=(64, 32), dropout=0.0, l2=0.0, learning_rate=0.01, batch_size=32,
                max_epochs=100, patience=5, imbalance="none", monitor="val_loss",
                numeric_encoding="standard", members=1, extra={}, recipe="quick")
ALL_MODELS = ("default", "quick", "tutorial", "logistic", "hgb", "lightgbm")
LABELS = {"default": "MLP (product default: adaptive)", "quick": "MLP (quick recipe)",
          "tutorial": "MLP (tutorial recipe)",
          "logistic": "logistic regression", "hgb": "HistGradientBoosting", "lightgbm": "LightGBM"}


def _mlp(cfg: TrainConfig):
    """Fit/predict closure for an MLP recipe through the product pipeline."""

    def run(tr, ytr, va, yva, te, schema):
        from churn_core.model.train import fit_recipe

        t0 = time.perf_counter()
        pre, model, _, sel = fit_recipe(tr, ytr, va, yva, schema, cfg)
        run.chosen.append(sel.get("winner", "quick"))
        seconds = time.perf_counter() - t0
        from churn_core.model.network import compiled_predict

        return compiled_predict(model)(pre.transform(te)), seconds

    run.chosen = []  # the adaptive recipe's winner per fold
    return run


def _tabular(schema, tr, va, te):
    """Raw features for tree models: floats and pandas categories learned on training rows."""
    frames = []
    for df in (tr, va, te):
        out = {c: pd.to_numeric(df[c], errors="coerce").astype("float64") for c in schema.numeric}
        frames.append(out)
    for c in schema.categorical:
        cats = sorted(tr[c].dropna().astype(str).unique().tolist())[:250]
        for out, df in zip(frames, (tr, va, te)):
            out[c] = pd.Categorical(df[c].astype(str).where(df[c].notna()), categories=cats)
    return [pd.DataFrame(o)[schema.features] for o in frames]


def _logistic(tr, ytr, va, yva, te, schema, seed):
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    pre = Preprocessor.fit(tr, schema)
    clf = LogisticRegression(max_iter=2000).fit(pre.transform(tr), ytr)
    return clf.predict_proba(pre.transform(te))[:, 1], time.perf_counter() - t0


def _hgb(tr, ytr, va, yva, te, schema, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from churn_core.evaluate.challenger import CHALLENGER_PARAMS

    t0 = time.perf_counter()
    Xtr, Xva, Xte = _tabular(schema, tr, va, te)
    clf = HistGradientBoostingClassifier(random_state=seed, early_stopping=True, **CHALLENGER_PARAMS)
    clf.fit(Xtr, ytr, X_val=Xva, y_val=yva)
    return clf.predict_proba(Xte)[:, 1], time.perf_counter() - t0


def _lightgbm(tr, ytr, va, yva, te, schema, seed):
    import lightgbm as lgb

    t0 = time.perf_counter()
    Xtr, Xva, Xte = _tabular(schema, tr, va, te)
    clf = lgb.LGBMClassifier(n_estimators=1000, learning_rate=0.03, num_leaves=31,
                             subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                             random_state=seed, n_jobs=1, verbose=-1)
    clf.fit(Xtr, ytr, eval_X=(Xva,), eval_y=(yva,), eval_metric="auc",
            callbacks=[lgb.early_stopping(50, verbose=False)])
    return clf.predict_proba(Xte)[:, 1], time.perf_counter() - t0


def load(path, target=None):
    """Read, infer and validate a file the way the app does.

    Returns
    -------
    valid : DataFrame, y : ndarray of shape (n_valid,) in {0, 1}, schema : FeatureSchema
    """
    df, _ = read_table(path)
    schema = infer_schema(df, target=target)
    if schema.target is None or schema.positive_label is None:
        raise SystemExit(f"{path}: name the target column with --target (and check its positive label)")
    res = validate(df, schema, require_target=True, source_name=Path(path).name)
    return res.valid.reset_index(drop=True), np.asarray(res.y, dtype=np.int64), schema


def run(path, target=None, folds=5, seed=42, models=ALL_MODELS, mlp_config=None, progress=print):
    """Cross-validate every model and return one row of results per model.

    Parameters
    ----------
    path : str or Path
        Customer file (CSV / Parquet / XLSX).
    target : str, optional
        Target column (default: inferred).
    folds : int, default 5
    seed : int, default 42
        Seeds the folds, the inner splits and every model.
    models : iterable of str
        Subset of :data:`ALL_MODELS`.
    mlp_config : dict, optional
        Overrides of ``TrainConfig()`` for the "default" MLP (for exploring recipes).

    Returns
    -------
    DataFrame
        One row per model: ``roc_auc``, ``roc_auc_sd``, ``pr_auc``, ``best_f1``, ``brier``,
        ``fit_seconds_median`` and the per-fold lists.
    """
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one compiled forward pass per fitted model is expected
    valid, y, schema = load(path, target)
    base = TrainConfig(seed=seed)
    default_cfg = TrainConfig.from_dict({**base.to_dict(), **(mlp_config or {})})
    tutorial_cfg = TrainConfig.from_dict({**base.to_dict(), **TUTORIAL})
    inner_val = base.val_size / (1 - base.test_size)
    quick_cfg = TrainConfig.from_dict({**default_cfg.to_dict(), "recipe": "quick"})
    runners = {"default": _mlp(default_cfg), "quick": _mlp(quick_cfg), "tutorial": _mlp(tutorial_cfg)}
    runners.update({"logistic": lambda *a: _logistic(*a, seed), "hgb": lambda *a: _hgb(*a, seed),
                    "lightgbm": lambda *a: _lightgbm(*a, seed)})
    models = [m for m in models if m != "lightgbm" or _has_lightgbm()]
    per = {m: [] for m in models}
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for f, (trf, te) in enumerate(skf.split(valid, y)):
        itr, iva = train_test_split(trf, test_size=inner_val, stratify=y[trf], random_state=seed + f)
        tr_df, va_df, te_df = (valid.iloc[i] for i in (itr, iva, te))
        for m in models:
            p, sec = runners[m](tr_df, y[itr], va_df, y[iva], te_df, schema)
            rep = M.evaluate(y[te], p, 0.5)
            from churn_core.evaluate.thresholds import max_f1

            per[m].append(dict(roc_auc=rep.roc_auc, pr_auc=rep.pr_auc, brier=rep.brier,
                               best_f1=max_f1(y[te], p).value, seconds=sec))
            if progress:
                progress(f"fold {f + 1}/{folds} {m:9s} ROC-AUC {rep.roc_auc:.4f} PR-AUC {rep.pr_auc:.4f} "
                         f"fit {sec:.1f}s")
    rows = []
    chosen = getattr(runners["default"], "chosen", []) if "default" in models else []
    for m in models:
        d = pd.DataFrame(per[m])
        rows.append(dict(model=LABELS[m], key=m, roc_auc=d.roc_auc.mean(), roc_auc_sd=d.roc_auc.std(ddof=1),
                         pr_auc=d.pr_auc.mean(), best_f1=d.best_f1.mean(), brier=d.brier.mean(),
                         fit_seconds_median=d.seconds.median(),
                         folds_roc_auc=d.roc_auc.round(4).tolist(), folds_pr_auc=d.pr_auc.round(4).tolist()))
    out = pd.DataFrame(rows)
    out.attrs.update(data=str(path), rows=len(y), churn_rate=float(y.mean()), folds=folds, seed=seed,
                     default_config=default_cfg.to_dict(), default_chosen=list(chosen))
    return out


def _has_lightgbm() -> bool:
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


def format_table(res: pd.DataFrame) -> str:
    """Markdown table of :func:`run` results."""
    lines = ["| model | ROC-AUC (mean ± sd) | PR-AUC | best F1 | Brier | median fit s |",
             "|---|---|---|---|---|---|"]
    for r in res.itertuples():
        lines.append(f"| {r.model} | {r.roc_auc:.3f} ± {r.roc_auc_sd:.3f} | {r.pr_auc:.3f} | "
                     f"{r.best_f1:.3f} | {r.brier:.3f} | {r.fit_seconds_median:.1f} |")
    return "\n".join(lines)


GBMS = ("hgb", "lightgbm")


def paired(res: pd.DataFrame) -> list[dict]:
    """Per-fold paired comparison of the default MLP with the better gradient-boosting model.

    Parameters
    ----------
    res : DataFrame
        :func:`run` output holding the ``default`` row and at least one of :data:`GBMS`.

    Returns
    -------
    list of dict
        Per metric (``roc_auc``, ``pr_auc``): ``gbm`` (label of the GBM with the higher mean),
        ``diffs`` (MLP minus GBM per fold), ``mean``, ``sd`` (fold-to-fold standard deviation of
        the differences, ddof=1), ``wins`` (folds the MLP is higher; a tie counts half) and
        ``folds``. Empty when either side is missing.
    """
    by = {r["key"]: r for r in res.to_dict("records")}
    gbms = [by[g] for g in GBMS if g in by]
    if "default" not in by or not gbms:
        return []
    out = []
    for metric in ("roc_auc", "pr_auc"):
        g = max(gbms, key=lambda r: r[metric])
        d = np.asarray(by["default"][f"folds_{metric}"]) - np.asarray(g[f"folds_{metric}"])
        out.append(dict(metric=metric, gbm=g["model"], diffs=d.round(4).tolist(), mean=float(d.mean()),
                        sd=float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
                        wins=float((d > 0).sum() + 0.5 * (d == 0).sum()), folds=len(d)))
    return out


def format_paired(res: pd.DataFrame) -> str:
    """Markdown table of :func:`paired` (empty string without an MLP and a GBM)."""
    rows = paired(res)
    if not rows:
        return ""
    names = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC"}
    lines = ["| metric | MLP minus | mean difference (± sd over folds) | per fold | MLP wins |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {names[r['metric']]} | {r['gbm']} | {r['mean']:+.4f} ± {r['sd']:.4f} | "
                     f"{', '.join(f'{v:+.3f}' for v in r['diffs'])} | {r['wins']:g} of {r['folds']} |")
    return "\n".join(lines)


def default_files() -> list[Path]:
    """The public files (bank, telco, Orange telecom) present in ``config.SHARED_DATA_DIR``."""
    from churn_core import config

    return [p for p in (config.BANK_CSV, config.TELCO_CSV, config.ORANGE_CSV) if p.is_file()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append",
                    help="customer file (CSV, Parquet, XLSX); repeatable; default: the public files")
    ap.add_argument("--target", help="target column (default: inferred)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--models", default=",".join(ALL_MODELS), help=f"comma list of {ALL_MODELS}")
    ap.add_argument("--mlp-config", help="JSON overrides of TrainConfig for the default MLP")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--quiet", action="store_true", help="no per-fold lines")
    a = ap.parse_args(argv)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in models if m not in ALL_MODELS]
    if bad:
        ap.error(f"unknown models {bad}; choose from {ALL_MODELS}")
    files = a.data or default_files()
    if not files:
        ap.error("no --data given and none of the public files is present")
    out = []
    for path in files:
        res = run(path, a.target, a.folds, a.seed, models,
                  json.loads(a.mlp_config) if a.mlp_config else None,
                  progress=None if a.quiet else lambda s: print(s, file=sys.stderr, flush=True))
        print(f"\n**{Path(path).name}: {res.attrs['rows']} rows, churn rate {res.attrs['churn_rate']:.1%}, "
              f"{a.folds}-fold stratified CV, seed {a.seed}**\n")
        print(format_table(res))
        pair = format_paired(res)
        if pair:
            print("\nPaired by fold, default MLP minus the better gradient boosting:\n")
            print(pair)
        if res.attrs.get("default_chosen"):
            print(f"\nAdaptive recipe, candidate chosen per fold: {'; '.join(res.attrs['default_chosen'])}")
        sys.stdout.flush()
        out.append({"attrs": res.attrs, "rows": res.to_dict("records"), "paired": paired(res)})
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
