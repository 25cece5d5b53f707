"""Where scoring time goes: each stage of ``score_file`` run one after another, in CPU seconds.

Run::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/profile_score.py [--rows 1000000]

The stages are the ones ``churn_core.campaign.scoring.score_file`` runs per chunk (read as text,
validate, encode, forward pass, unseen/blank counts, tiers, write CSV with the formula check),
called here sequentially on 100,000-row chunks of the synthetic benchmark file with the
benchmark bundle, so each gets its own wall and CPU time (all threads). The bare job of
``bench_score.py`` (pyarrow read + write of the same file, typed columns) is measured beside
them (after the stages, median of 3). ``score_file`` overlaps the stages on two cores, so its wall time is lower than the sum.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import bench_bundle, synthetic_file  # noqa: E402


def profile(rows: int = 1_000_000, chunksize: int = 100_000) -> dict[str, tuple[float, float]]:
    """``{stage: (wall seconds, CPU seconds)}`` summed over the chunks, plus ``"bare"``."""
    import numpy as np
    import pyarrow.csv as pacsv

    from churn_core.campaign import scoring as S
    from churn_core.model.bundle import load_bundle
    from churn_core.io.reader import iter_table_chunks
    from churn_core.data.validate import validate

    data = synthetic_file(rows)
    models, name = bench_bundle()
    bundle = load_bundle(name, models)
    S.prefer_system_arrow_pool()  # as score_file does
    bundle.predict_encoded(np.zeros((2, bundle.preprocessor.n_features_out), np.float32))
    pre = bundle.preprocessor
    out: dict[str, list[float]] = {}

    def timed(stage, fn, *args, **kw):
        t, c = time.perf_counter(), time.process_time()
        res = fn(*args, **kw)
        acc = out.setdefault(stage, [0.0, 0.0])
        acc[0] += time.perf_counter() - t
        acc[1] += time.process_time() - c
        return res

    from churn_core.io.writer import TableWriter

    with tempfile.TemporaryDirectory() as tmp:
        writer = TableWriter(Path(tmp) / "scored.csv", "csv")
        chunks = iter(iter_table_chunks(data, chunksize=chunksize))
        while (item := timed("read as text", next, chunks, None)) is not None:
            df, _ = S._rename_output_clashes(item[0], bundle.schema)
            res = timed("validate", validate, df, bundle.schema, require_target=False, count_duplicate_ids=False)
            X = timed("encode (preprocess)", pre.transform, res.valid)
            p = timed("forward pass", bundle.predict_encoded, X)
            timed("unseen, blank, out-of-range counts", lambda v: (
                pre.unseen_categories(v), pre.missing_counts(v), pre.outside_training_range(v)), res.valid)
            scored = timed("scored rows + tiers", lambda: S.add_risk_tier(
                S._original_rows(df, res.valid).assign(churn_probability=bundle.calibrate(p),
                                                       predicted_churn=(p >= 0.5).astype(np.int8))))
            writer.number_columns = set(bundle.schema.numeric)
            timed("write CSV (formula check)", writer.write, scored)
        writer.close([])
        bare = []
        for _ in range(3):  # after the stages (warm file cache, like theirs); median of 3
            t, c = time.perf_counter(), time.process_time()
            pacsv.write_csv(pacsv.read_csv(data), Path(tmp) / "bare.csv")
            bare.append((time.perf_counter() - t, time.process_time() - c))
        out["bare pyarrow read + write"] = list(sorted(bare)[1])
    return {k: (v[0], v[1]) for k, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    res = profile(args.rows)
    bare = res.pop("bare pyarrow read + write")
    print(f"| stage ({args.rows:,} rows) | wall s | CPU s |\n|---|---:|---:|")
    for k, (w, c) in res.items():
        print(f"| {k} | {w:.2f} | {c:.2f} |")
    total = sum(c for _, c in res.values())
    model = res["forward pass"][1]
    print(f"| **sum of stages** | {sum(w for w, _ in res.values()):.2f} | {total:.2f} |")
    print(f"| sum without the forward pass | | {total - model:.2f} |")
    print(f"| bare pyarrow read + write | {bare[0]:.2f} | {bare[1]:.2f} |")
    print(f"\nCPU ratio to the bare job: all stages {total / bare[1]:.1f}x, "
          f"without the forward pass {(total - model) / bare[1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
