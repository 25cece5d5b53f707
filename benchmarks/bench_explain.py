"""SHAP speed and agreement on the real bank file (issue 4, item 4; issue 8 "explain").

Run: ``python benchmarks/bench_explain.py`` (trains a bundle with the default recipe on
``Churn_Modelling.csv``; ``--model NAME`` loads ``models/NAME`` instead).

Measured in one run, with the same 100-row background (drawn from the training split):

* fast method (antithetic permutation sampling): SHAP values + reason codes for every one of
  the 10,000 customers (goal <= 30 s);
* shap.KernelExplainer on a subset (``--kernel-rows``), seconds per customer, and the speed
  ratio against the fast method per customer (goal >= 10x);
* exact interventional SHAP (all 2**M coalitions) on 50 customers, and the fast method's
  agreement with it on those customers (goal: correlation >= 0.995, max |difference| <= 0.02
  in probability).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from churn_core import config  # noqa: E402
from churn_core.explain import (  # noqa: E402
    DEFAULT_PERMUTATIONS, NON_ACTIONABLE_COLUMNS, RawColumnExplainer, reason_codes,
)


def _bundle_and_rows(model_name: str | None):
    from churn_core.infer import infer_schema
    from churn_core.io import read_table
    from churn_core.validate import validate

    df, _ = read_table(config.BANK_CSV)
    if model_name:
        from churn_core.bundle import load_bundle

        bundle = load_bundle(model_name)
        train_s = float("nan")
    else:
        from churn_core.train import train_bundle

        schema = infer_schema(df, target="Exited", positive_label="1")
        t = time.perf_counter()
        bundle = train_bundle(df, schema, name="bench_explain", source_name=config.BANK_CSV.name)
        train_s = time.perf_counter() - t
    valid = validate(df, bundle.schema, require_target=False).valid
    pos = ((getattr(bundle, "evaluation", {}) or {}).get("train") or {}).get("position")
    background = valid.iloc[np.asarray(pos, dtype=int)] if pos and not model_name else valid
    return bundle, valid, background, train_s


def _kernel(explainer: RawColumnExplainer, rows: pd.DataFrame):
    """shap.KernelExplainer over the raw columns with the explainer's background rows."""
    import shap

    cols = explainer.columns
    cats = {c: sorted(set(explainer.background[c].astype(str)) | set(rows[c].astype(str)))
            for c in cols if c not in explainer.numeric}
    bundle = explainer.bundle

    def to_num(frame):
        out = frame[cols].copy()
        for c, levels in cats.items():
            out[c] = out[c].astype(str).map({v: i for i, v in enumerate(levels)})
        return out.to_numpy(dtype=float)

    def f(arr):
        frame = pd.DataFrame(arr, columns=cols)
        for c, levels in cats.items():
            frame[c] = np.asarray(levels, dtype=object)[np.rint(frame[c]).astype(int).to_numpy()]
        return bundle.predict_encoded(bundle.preprocessor.transform(frame))

    ke = shap.KernelExplainer(f, to_num(explainer.background))
    x = to_num(rows)
    ke.shap_values(x[:1], silent=True)  # warm-up (tracing, caches)
    t = time.perf_counter()
    values = ke.shap_values(x, silent=True)
    return np.asarray(values), time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="load models/NAME instead of training")
    ap.add_argument("--kernel-rows", type=int, default=20)
    ap.add_argument("--agree-rows", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the 10,000-customer timing")
    ap.add_argument("--permutations", type=int, nargs="*", default=[DEFAULT_PERMUTATIONS],
                    help="orders per customer and background row (fast method)")
    args = ap.parse_args()

    bundle, valid, background, train_s = _bundle_and_rows(args.model)
    explainer = RawColumnExplainer(bundle, background)
    m, nb = explainer.n_columns, explainer.background_size
    print(f"bank file: {len(valid):,} valid customers, M = {m} raw columns, background {nb} rows, "
          f"model {getattr(bundle, 'card', {}).get('hyperparameters', {}).get('hidden', '?')}, "
          f"weights path: {explainer.path}, training {train_s:.1f} s")

    rng = np.random.default_rng(0)
    agree_rows = valid.iloc[np.sort(rng.choice(len(valid), args.agree_rows, replace=False))]
    t = time.perf_counter()
    exact = explainer.explain(agree_rows, method="exact")
    exact_s = (time.perf_counter() - t) / len(agree_rows)

    table = []
    fast_per_customer = {}
    for p in args.permutations:
        explainer.explain(valid.iloc[:64], method="fast", n_permutations=p)  # warm-up
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            expl = explainer.explain(valid, method="fast", n_permutations=p)
            reasons = reason_codes(expl)
            reason_codes(expl, exclude=NON_ACTIONABLE_COLUMNS)
            times.append(time.perf_counter() - t)
        total = statistics.median(times)
        fast_per_customer[p] = total / len(valid)
        add = np.abs(expl.base_value + expl.values.sum(axis=1) - expl.output).max()
        fa = explainer.explain(agree_rows, method="fast", n_permutations=p)
        corr = np.corrcoef(fa.values.ravel(), exact.values.ravel())[0, 1]
        diff = np.abs(fa.values - exact.values).max()
        table.append((f"fast (P={p}): SHAP + reason codes, all customers", len(valid), total,
                      1e3 * total / len(valid), corr, diff, add))
    table.append((f"exact (2^{m} coalitions)", len(agree_rows), exact_s * len(agree_rows),
                  1e3 * exact_s, 1.0, 0.0,
                  np.abs(exact.base_value + exact.values.sum(axis=1) - exact.output).max()))

    kernel_rows = agree_rows.iloc[: args.kernel_rows]
    kv, kt = _kernel(explainer, kernel_rows)
    k_per = kt / len(kernel_rows)
    ex_k = exact.values[: len(kernel_rows)]
    table.append(("shap.KernelExplainer (same background)", len(kernel_rows), kt, 1e3 * k_per,
                  np.corrcoef(kv.ravel(), ex_k.ravel())[0, 1], np.abs(kv - ex_k).max(), float("nan")))

    print(f"\n{'method':52s} {'rows':>7s} {'seconds':>9s} {'ms/cust':>9s} {'corr vs exact':>14s} "
          f"{'max|diff|':>10s} {'additivity':>11s}")
    for name, n, s, ms, c, d, a in table:
        print(f"{name:52s} {n:7,d} {s:9.2f} {ms:9.3f} {c:14.5f} {d:10.4f} {a:11.1e}")
    print()
    for p, per in fast_per_customer.items():
        print(f"speed ratio Kernel / fast (P={p}) per customer: {k_per / per:,.0f}x; "
              f"exact / fast: {exact_s / per:,.0f}x")
    print(f"\nreason codes of the first 3 customers (P={args.permutations[-1]}):")
    print(reasons.head(3).to_string())


if __name__ == "__main__":
    main()
