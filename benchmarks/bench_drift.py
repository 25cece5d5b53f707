"""Cost of the drift check: ``score_file`` on 1M rows with and without drift (issue 20).

Run::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_drift.py [--rows 1000000]
        [--repeat 3] [--model models/default]

Each run is a fresh child process scoring the same cached synthetic customer CSV with the
same bundle (loaded and warmed before the clock starts): ``score_file(..., drift=True)``
(bins on the training profile, the 20,000-row sample, the final :func:`compare`) and
``drift=False``. Runs alternate (off, on, off, on, ...) so both see the same machine load;
the table gives the median wall and CPU seconds (all threads) of each, the ratio of medians
and the median of the per-pair ratios, and the 1-minute load average before and after.
Goal: drift adds at most 15 % (ratio <= 1.15). ``--json`` prints the rows as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import CACHE, median, run_child, synthetic_file  # noqa: E402

GOAL = 1.15


def child(data: str, models: str, name: str, out: str, drift: bool) -> dict:
    import numpy as np

    from churn_core.campaign.scoring import score_file
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(name, models)
    bundle.predict_encoded(np.zeros((2, bundle.preprocessor.n_features_out), np.float32))
    t0, c0 = time.perf_counter(), time.process_time()
    info = score_file(bundle, data, out, drift=drift)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = info["drift"]
    return {"wall": wall, "cpu": cpu, "rows": info["rows_in"],
            "verdict": None if rep is None else rep.verdict,
            "max_psi": None if rep is None else max(d["psi"] for d in rep.columns.values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        data, models, name, out, drift = args.child
        print(json.dumps(child(data, models, name, out, drift == "1")))
        return
    model = Path(args.model).resolve()
    data = synthetic_file(args.rows)
    out = CACHE / "drift_bench_out.csv"
    load0 = os.getloadavg()[0]
    runs = {"off": [], "on": []}
    for _ in range(args.repeat):
        for mode in ("off", "on"):
            runs[mode].append(run_child([__file__, "--child", str(data), str(model.parent), model.name,
                                         str(out), "1" if mode == "on" else "0"]))
    load1 = os.getloadavg()[0]
    med = {m: {k: median([r[k] for r in runs[m]]) for k in ("wall", "cpu")} for m in runs}
    pair = median([on["wall"] / off["wall"] for off, on in zip(runs["off"], runs["on"])])
    pair_cpu = median([on["cpu"] / off["cpu"] for off, on in zip(runs["off"], runs["on"])])
    result = {"rows": args.rows, "repeat": args.repeat, "load_1min": [round(load0, 2), round(load1, 2)],
              "wall_off": med["off"]["wall"], "wall_on": med["on"]["wall"],
              "cpu_off": med["off"]["cpu"], "cpu_on": med["on"]["cpu"],
              "ratio_wall_medians": med["on"]["wall"] / med["off"]["wall"],
              "ratio_wall_pairs": pair, "ratio_cpu_medians": med["on"]["cpu"] / med["off"]["cpu"],
              "ratio_cpu_pairs": pair_cpu, "goal": GOAL,
              "verdict": runs["on"][0]["verdict"], "max_psi": runs["on"][0]["max_psi"],
              "walls": {m: [round(r["wall"], 2) for r in runs[m]] for m in runs},
              "cpus": {m: [round(r["cpu"], 2) for r in runs[m]] for m in runs}}
    if args.json:
        print(json.dumps(result))
        return
    print(f"score_file on {args.rows:,} rows, median of {args.repeat} alternating runs "
          f"(load {load0:.1f} -> {load1:.1f})")
    print("| drift | wall s | CPU s |")
    print("|---|---|---|")
    for m in ("off", "on"):
        print(f"| {m} | {med[m]['wall']:.2f} | {med[m]['cpu']:.2f} |")
    print(f"drift adds: wall {100 * (result['ratio_wall_medians'] - 1):+.1f} % (ratio of medians), "
          f"{100 * (pair - 1):+.1f} % (median of pairs); CPU "
          f"{100 * (result['ratio_cpu_medians'] - 1):+.1f} %; goal <= +15 %")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
