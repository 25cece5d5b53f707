"""Self-contained exploration harness for the MLP recipe (engineer F, issue 7).

Independent of churn_core's preprocess/model (which were not written yet when this was
started) so recipes can be compared cheaply; the finalists are confirmed with
``benchmarks/quality.py`` which uses the product pipeline.

Usage::

    python benchmarks/experiments/harness.py --data bank --recipe tutorial --folds 3
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from churn_core import config# noqa: E402

LOG = Path(__file__).with_name("log.jsonl")


def load(name):
    if name == "bank":
        df = pd.read_csv(config.BANK_CSV)
        y = df["Exited"].to_numpy().astype("float32")
        num = ["CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard",
               "IsActiveMember", "EstimatedSalary"]
        cat = ["Geography", "Gender"]
    else:
        df = pd.read_csv(config.TELCO_CSV)
        df["TotalCharges"] = pd.to_numeric(df["TotalCharges"].str.strip(), errors="coerce")
        y = (df["Churn"] == "Yes").to_numpy().astype("float32")
        num = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
        cat = [c for c in df.columns if c not in num + ["customerID", "Churn"]]
    X = df[num + cat].copy()
    for c in cat:
        X[c] = X[c].astype(str)
    return X, y, num, cat


class Encoder:
    """numeric: standard | robust_clip; ple bins; int_cat: max distinct ints to treat as category."""

    def __init__(self, scale="standard", ple_bins=0, int_cat=0, keep_scalar=True):
        self.scale, self.ple_bins, self.int_cat, self.keep_scalar = scale, ple_bins, int_cat, keep_scalar

    def fit(self, X, num, cat):
        self.num, self.cat = list(num), list(cat)
        if self.int_cat:
            for c in list(self.num):
                v = X[c].dropna()
                if (v == v.round()).all() and v.nunique() <= self.int_cat:
                    self.num.remove(c)
                    self.cat.append(c)
        self.stats = {}
        for c in self.num:
            v = X[c].astype(float)
            med = float(v.median())
            v = v.fillna(med).to_numpy()
            if self.scale == "standard":
                loc, sc = float(v.mean()), float(v.std() or 1.0)
            else:
                q1, q3 = np.quantile(v, [0.25, 0.75])
                sc = float(q3 - q1)
                if sc == 0:
                    q0, q4 = np.quantile(v, [0.0, 1.0])
                    sc = float(q4 - q0) / 2 or 1.0
                loc = med
            edges = None
            if self.ple_bins and len(np.unique(v)) > 2:
                edges = np.unique(np.quantile(v, np.linspace(0, 1, self.ple_bins + 1)))
                if len(edges) < 3:
                    edges = None
            self.stats[c] = (med, loc, sc, edges)
        self.levels = {}
        for c in self.cat:
            s = X[c].astype(str) if c in num else X[c]
            self.levels[c] = sorted(s.unique().tolist())
        return self

    def transform(self, X):
        cols = []
        for c in self.num:
            med, loc, sc, edges = self.stats[c]
            v = X[c].astype(float).fillna(med).to_numpy()
            z = (v - loc) / sc
            if self.scale == "robust_clip":
                z = z / np.sqrt(1 + (z / 3) ** 2)
            if self.keep_scalar or edges is None:
                cols.append(z[:, None])
            if edges is not None:
                lo, hi = edges[:-1], edges[1:]
                e = np.clip((v[:, None] - lo) / (hi - lo), 0, 1)
                cols.append(e)
        for c in self.cat:
            s = X[c].astype(str).to_numpy()
            lv = np.array(self.levels[c])
            cols.append((s[:, None] == lv[None, :]).astype(float))
        return np.hstack(cols).astype("float32")


def build(recipe, d, seed):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    r = recipe
    inp = keras.Input((d,))
    x = inp
    for i, h in enumerate(r.get("hidden", [])):
        reg = keras.regularizers.l2(r["l2"]) if r.get("l2") else None
        x = layers.Dense(h, activation=r.get("act", "relu"), kernel_regularizer=reg)(x)
        if r.get("dropout"):
            x = layers.Dropout(r["dropout"])(x)
    m = r.get("members", 0)
    if m and r.get("tabm"):
        # TabM-mini (Gorishniy et al., 2024): per-member input scaling r_k (random +-1 init),
        # shared MLP body, per-member heads; each member has its own loss.
        h = r["mhidden"]

        class MemberScale(layers.Layer):
            def build(self, shape):
                init = keras.initializers.RandomUniform(-1, 1, seed=seed) if r.get("tabm") == "uniform" else \
                    (lambda sh, dtype=None: keras.ops.sign(keras.random.uniform(sh, -1, 1, seed=seed)))
                self.rk = self.add_weight(shape=(m, shape[-1]), initializer=init)

            def call(self, x):
                return x[:, None, :] * self.rk[None]

        x = MemberScale()(inp)
        for w in h:
            x = layers.Dense(w, activation="relu")(x)  # shared, applied on last axis
            if r.get("dropout"):
                x = layers.Dropout(r["dropout"])(x)
        out = layers.EinsumDense("bkh,kho->bko", output_shape=(m, 1), bias_axes="ko", activation="sigmoid")(x)
        return keras.Model(inp, layers.Reshape((m,))(out))
    if m:
        # m independent MLPs packed in one network (TabM paper's "MLP^k" / deep ensemble):
        # a plain Dense holds all members' first layers; EinsumDense the per-member rest.
        h = r["mhidden"]
        x = layers.Dense(m * h[0], activation="relu")(inp)
        x = layers.Reshape((m, h[0]))(x)
        for w in h[1:]:
            x = layers.EinsumDense("bkh,khj->bkj", output_shape=(m, w), bias_axes="kj", activation="relu")(x)
            if r.get("dropout"):
                x = layers.Dropout(r["dropout"])(x)
        out = layers.EinsumDense("bkh,kho->bko", output_shape=(m, 1), bias_axes="ko", activation="sigmoid")(x)
        return keras.Model(inp, layers.Reshape((m,))(out))
    k = r.get("k", 0)
    if k:
        # efficient ensemble: k independent heads (EinsumDense) on the shared body
        h2 = r.get("head", 32)
        x = layers.Dense(k * h2, activation=r.get("act", "relu"))(x)
        x = layers.Reshape((k, h2))(x)
        out = layers.EinsumDense("bkh,kho->bko", output_shape=(k, 1), bias_axes="ko",
                                 activation="sigmoid")(x)
        out = layers.Reshape((k,))(out)
    else:
        out = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inp, out)


def fit_predict(recipe, Xtr, ytr, Xva, yva, Xte, seed):
    import keras

    r = recipe
    if r.get("gbdt"):
        from sklearn.ensemble import HistGradientBoostingClassifier
        m = HistGradientBoostingClassifier(random_state=seed, early_stopping=False, **r.get("params", {}))
        m.fit(np.vstack([Xtr, Xva]), np.concatenate([ytr, yva]))
        return m.predict_proba(Xte)[:, 1], 0
    model = build(r, Xtr.shape[1], seed)
    bs, ep = r.get("batch", 32), r.get("epochs", 100)
    steps = int(np.ceil(len(Xtr) / bs)) * ep
    lr = r.get("lr", 1e-2)
    if r.get("cosine"):
        lr = keras.optimizers.schedules.CosineDecay(lr, steps)
    if r.get("opt", "adam") == "adamw":
        opt = keras.optimizers.AdamW(lr, weight_decay=r.get("wd", 1e-4))
    else:
        opt = keras.optimizers.Adam(lr)
    k = r.get("k", 0) or r.get("members", 0)
    yfit = np.repeat(ytr[:, None], k, 1) if k else ytr
    yv = np.repeat(yva[:, None], k, 1) if k else yva
    monitor = r.get("monitor", "val_loss")
    if monitor == "ens_auc":
        return _fit_ens(r, model, opt, Xtr, yfit, Xva, yva, Xte, bs, ep)
    metrics = [keras.metrics.AUC(name="auc")] if monitor == "val_auc" else []
    model.compile(opt, "binary_crossentropy", metrics=metrics)
    cbs = [keras.callbacks.EarlyStopping(monitor=monitor, mode="max" if "auc" in monitor else "min",
                                         patience=r.get("patience", 5), restore_best_weights=True)]
    h = model.fit(Xtr, yfit, validation_data=(Xva, yv), batch_size=bs, epochs=ep, verbose=0,
                  callbacks=cbs, shuffle=True)
    p = np.asarray(model.predict_on_batch(Xte))
    if k:
        p = p.mean(axis=1)
    return p.ravel(), len(h.history["loss"])


def _fit_ens(r, model, opt, Xtr, yfit, Xva, yva, Xte, bs, ep):
    """Best epoch by validation ROC-AUC of the members' mean probability (own early stopping)."""
    import keras

    class Sel(keras.callbacks.Callback):
        best, best_w, wait, epochs = -1.0, None, 0, 0

        def on_epoch_end(self, epoch, logs=None):
            p = np.asarray(self.model(Xva, training=False)).mean(axis=1)
            auc = roc_auc_score(yva, p)
            self.epochs = epoch + 1
            if auc > self.best:
                self.best, self.best_w, self.wait = auc, self.model.get_weights(), 0
            else:
                self.wait += 1
                if self.wait >= r.get("patience", 5):
                    self.model.stop_training = True

    sel = Sel()
    model.compile(opt, "binary_crossentropy")
    model.fit(Xtr, yfit, batch_size=bs, epochs=ep, verbose=0, callbacks=[sel], shuffle=True)
    model.set_weights(sel.best_w)
    return np.asarray(model.predict_on_batch(Xte)).mean(axis=1), sel.epochs


def run(data, recipe, folds=5, seed=42, label=None, seeds=1):
    X, y, num, cat = load(data)
    skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
    res = []
    for f, (tr, te) in enumerate(skf.split(X, y)):
        itr, iva = train_test_split(tr, test_size=0.2, stratify=y[tr], random_state=seed)
        t0 = time.perf_counter()
        enc = Encoder(**recipe.get("enc", {})).fit(X.iloc[itr], num, cat)
        Xtr, Xva, Xte = (enc.transform(X.iloc[i]) for i in (itr, iva, te))
        ps, eps = [], []
        for s in range(seeds):
            p, e = fit_predict(recipe, Xtr, y[itr], Xva, y[iva], Xte, seed + f + 1000 * s)
            ps.append(p)
            eps.append(e)
        p = np.mean(ps, 0)
        dt = time.perf_counter() - t0
        res.append((roc_auc_score(y[te], p), average_precision_score(y[te], p), dt, eps))
        print(f"  fold {f}: auc {res[-1][0]:.4f} ap {res[-1][1]:.4f} {dt:.1f}s epochs {eps}", flush=True)
    a = np.array([r[:3] for r in res])
    out = dict(label=label, data=data, folds=folds, recipe=recipe, seeds=seeds,
               auc=round(a[:, 0].mean(), 4), auc_sd=round(a[:, 0].std(), 4),
               ap=round(a[:, 1].mean(), 4), fit_median=round(float(np.median(a[:, 2])), 2),
               epochs=[r[3] for r in res], when=time.strftime("%H:%M"))
    print(json.dumps(out), flush=True)
    with LOG.open("a") as fh:
        fh.write(json.dumps(out) + "\n")
    return out


RECIPES = {
    "tutorial": dict(hidden=[64, 32], lr=1e-2, batch=32, patience=5, epochs=100),
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="bank")
    ap.add_argument("--recipe", default="tutorial", help="name in RECIPES or a JSON dict")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--label")
    a = ap.parse_args()
    rec = RECIPES.get(a.recipe) or json.loads(a.recipe)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    run(a.data, rec, a.folds, label=a.label or a.recipe, seeds=a.seeds)
