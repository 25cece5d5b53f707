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

from churn_core import config# noqa: E402
from churn_core.explain.reason_codes import NON_ACTIONABLE_COLUMNS, reason_codes  # noqa: E402
from churn_core.explain.shap_values import RawColumnExplainer  # noqa: E402


def _bundle_and_rows(model_name: str | None):
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.data.validate import validate

    df, _ = read_table(config.BANK_CSV)
    if model_name:
        from churn_core.model.bundle import load_bundle

        bundle = load_bundle(model_name)
        train_s = float("nan")
    else:
        from churn_core.model.train import train_bundle

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

    from churn_core.explain.shap_interop import numeric_game

    to_num, f = numeric_game(explainer, rows)
    ke = shap.KernelExplainer(f, to_num(explainer.background))
    x = to_num(rows)
    ke.shap_values(x[:1], silent=True)  # warm-up (tracing, caches)
    t = time.perf_counter()
    values = ke.shap_values(x, silent=True)
    return np.asarray(values), time.perf_counter() - t


def measure(model: str | None = None, permutations=None, repeat: int = 3,
            kernel_rows: int = 20, agree_rows: int = 50, verbose: bool = True) -> list[dict]:
    """Run the measurements; return one dict per method (for ``benchmarks/run_all.py``).

    Returns
    -------
    list of dict
        Keys ``method``, ``rows``, ``seconds`` (median over ``repeat`` runs for the fast
        method), ``ms_per_customer``, ``corr_vs_exact``, ``max_abs_diff``, ``additivity``,
        ``speedup_vs_kernel`` (fast rows only).
    """
    bundle, valid, background, train_s = _bundle_and_rows(model)
    explainer = RawColumnExplainer(bundle, background)
    m, nb = explainer.n_columns, explainer.background_size
    if verbose:
        hidden = (getattr(bundle, "card", {}) or {}).get("hyperparameters", {}).get("hidden", "?")
        print(f"bank file: {len(valid):,} valid customers, M = {m} raw columns, background {nb} "
              f"rows, model {hidden}, path: {explainer.path}, training {train_s:.1f} s")
        net = explainer.net
        if getattr(net, "use_blocks", False):
            print(f"packed ensemble: {net.members} members in block-diagonal kernels "
                  f"(stages 1..{net.block_stop - 1} computed per member)")
        print(f"effective parameters per hybrid row: {explainer.effective_params:,} "
              f"(Keras count_params: {bundle.model.count_params():,}); default orders per "
              f"background row: {explainer.default_permutations}")

    rng = np.random.default_rng(0)
    rows = valid.iloc[np.sort(rng.choice(len(valid), agree_rows, replace=False))]
    explainer.explain(rows.iloc[:2], method="exact")  # warm-up
    t = time.perf_counter()
    exact = explainer.explain(rows, method="exact")
    exact_s = time.perf_counter() - t

    out = []
    for p in permutations or [explainer.default_permutations]:
        explainer.explain(valid.iloc[:64], method="fast", n_permutations=p)  # warm-up
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            expl = explainer.explain(valid, method="fast", n_permutations=p)
            reason_codes(expl)
            reason_codes(expl, exclude=NON_ACTIONABLE_COLUMNS)
            times.append(time.perf_counter() - t)
        total = statistics.median(times)
        fa = explainer.explain(rows, method="fast", n_permutations=p)
        out.append(dict(
            method=f"fast (P={p}): SHAP + reason codes, all customers", rows=len(valid),
            seconds=total, ms_per_customer=1e3 * total / len(valid),
            corr_vs_exact=float(np.corrcoef(fa.values.ravel(), exact.values.ravel())[0, 1]),
            max_abs_diff=float(np.abs(fa.values - exact.values).max()),
            additivity=float(np.abs(expl.base_value + expl.values.sum(axis=1) - expl.output).max())))
    out.append(dict(method=f"exact (2^{m} coalitions)", rows=len(rows), seconds=exact_s,
                    ms_per_customer=1e3 * exact_s / len(rows), corr_vs_exact=1.0, max_abs_diff=0.0,
                    additivity=float(np.abs(exact.base_value + exact.values.sum(axis=1)
                                            - exact.output).max())))
    k_rows = rows.iloc[:kernel_rows]
    kv, kt = _kernel(explainer, k_rows)
    ek = exact.values[: len(k_rows)]
    kernel_ms = 1e3 * kt / len(k_rows)
    out.append(dict(method="shap.KernelExplainer (same background)", rows=len(k_rows), seconds=kt,
                    ms_per_customer=kernel_ms,
                    corr_vs_exact=float(np.corrcoef(kv.ravel(), ek.ravel())[0, 1]),
                    max_abs_diff=float(np.abs(kv - ek).max()), additivity=float("nan")))
    for r in out:
        r["speedup_vs_kernel"] = kernel_ms / r["ms_per_customer"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="load models/NAME instead of training")
    ap.add_argument("--kernel-rows", type=int, default=20)
    ap.add_argument("--agree-rows", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the 10,000-customer timing")
    ap.add_argument("--permutations", type=int, nargs="*", default=None,
                    help="orders per customer and background row (fast method; default: the "
                         "explainer's default for this model)")
    args = ap.parse_args()
    table = measure(args.model, args.permutations, args.repeat, args.kernel_rows, args.agree_rows)
    print(f"\n{'method':52s} {'rows':>7s} {'seconds':>9s} {'ms/cust':>9s} {'x Kernel':>9s} "
          f"{'corr vs exact':>14s} {'max|diff|':>10s} {'additivity':>11s}")
    for r in table:
        print(f"{r['method']:52s} {r['rows']:7,d} {r['seconds']:9.2f} {r['ms_per_customer']:9.3f} "
              f"{r['speedup_vs_kernel']:9.1f} {r['corr_vs_exact']:14.5f} {r['max_abs_diff']:10.4f} "
              f"{r['additivity']:11.1e}")
    print("\ngoals: fast <= 30 s for all customers, >= 10x Kernel per customer, "
          "corr >= 0.995 and max|diff| <= 0.02 vs exact; additivity <= 1e-5")


if __name__ == "__main__":
    main()
