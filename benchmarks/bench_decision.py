"""Benchmark: decision-layer functions on 100,000 scored customers (engineer C's modules).

Run:  TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_decision.py [n]
Prints the median wall time of repeated runs per function. Goal: everything a threshold or
tier slider triggers stays well under 300 ms at 100,000 rows.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from churn_core.campaign import export
from churn_core.evaluate import lift
from churn_core.evaluate import metrics
from churn_core.evaluate import net_value, thresholds
from churn_core.campaign import tiers


def bench(fn, repeat=7):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(n: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.2).astype(int)
    p = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    value = rng.uniform(0, 200_000, n) * 0.02
    scored = pd.DataFrame({"CustomerId": np.arange(n).astype(str),
                           "Surname": ["Smith"] * n,
                           "Balance": np.round(value * 50, 2).astype(str),
                           "churn_probability": p})
    cases = {
        "threshold_metrics (one threshold)": lambda: metrics.threshold_metrics(y, p, 0.4),
        "metrics_by_threshold (101 thresholds)": lambda: metrics.metrics_by_threshold(y, p),
        "evaluate (ROC-AUC, PR-AUC, Brier)": lambda: metrics.evaluate(y, p, 0.4),
        "max_f1": lambda: thresholds.max_f1(y, p),
        "max_net_value (per-customer value)": lambda: net_value.max_net_value(p, value, 20, .3),
        "net_value_curve": lambda: net_value.net_value_curve(p, value, 20, 0.3),
        "lift_table (deciles)": lambda: lift.lift_table(y, p),
        "assign_tiers + tier_summary": lambda: tiers.tier_summary(
            p, tiers.assign_tiers(p), y, value),
        "build_target_list (High+Medium)": lambda: export.build_target_list(
            scored, ["CustomerId"], extra_columns=["Surname"]),
        "to_csv_bytes (all rows)": lambda: export.to_csv_bytes(scored),
    }
    print(f"{n:,} customers, median of 7 runs")
    for name, fn in cases.items():
        print(f"  {name:<42} {bench(fn):8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
