"""Speed of the core engine: preprocessing transform, compiled predict, score_frame, score_file.

Run: ``python benchmarks/bench_core.py [--rows 1000000]`` (uses the shipped models/default).
Prints medians over ``--repeat`` runs. Targets (issue 2 / 8): transform of 1M rows well under
2 s; predict without ``model.predict``'s per-call overhead (1 row in ~1 ms).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _util import median_time as timed  # noqa: E402  (repo on sys.path, TF log level 2)

from churn_core.model.bundle import load_bundle  # noqa: E402
from churn_core.campaign.scoring import score_file, score_frame  # noqa: E402
from churn_core.data.synthetic import make_bank_customers  # noqa: E402
from churn_core.data.validate import validate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    b = load_bundle("default")
    raw = make_bank_customers(n=args.rows, seed=1).drop(columns=["Exited"])
    valid = validate(raw, b.schema, require_target=False).valid
    X = b.preprocessor.transform(valid)
    rows = []
    rows.append(("preprocess.transform", args.rows, timed(lambda: b.preprocessor.transform(valid), args.repeat)))
    b.predict_encoded(X[:1])
    rows.append(("compiled predict, 1 row", 1, timed(lambda: b.predict_encoded(X[:1]), 50)))
    rows.append(("model.predict, 1 row", 1, timed(lambda: b.model.predict(X[:1], verbose=0), 5)))
    rows.append(("compiled predict", args.rows, timed(lambda: b.predict_encoded(X), args.repeat)))
    rows.append(("score_frame (validate+predict)", 100_000,
                 timed(lambda: score_frame(b, raw.head(100_000)), args.repeat)))
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.csv"
        raw.to_csv(src, index=False)
        rows.append(("score_file CSV -> Parquet", args.rows,
                     timed(lambda: score_file(b, src, Path(d) / "out.parquet"), 1)))
    print(f"{'step':34s} {'rows':>10s} {'median s':>10s} {'rows/s':>12s}")
    for name, n, s in rows:
        print(f"{name:34s} {n:10d} {s:10.4f} {n / s:12.0f}")


if __name__ == "__main__":
    main()
