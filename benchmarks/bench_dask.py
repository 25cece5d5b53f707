"""Dask engine vs the local engine on ONE big file: wall time and the largest process's memory.

Run::

    /work/venv/bin/python benchmarks/bench_dask.py [--rows 5000000] [--repeat 1] [--workers 2]

Both are the command a user runs, each in its own child process:
``python -m churn_core score`` (local: chunked, one process) and ``python -m churn_core
score --engine dask --workers 2`` (a ``LocalCluster`` of 2 worker processes; the file is cut
into byte-range partitions, ``churn_core.campaign.dask_scoring.plan_partitions``). While a
command runs, its process tree is sampled every 0.2 s (psutil) and the largest resident set
of any one process is kept (for Dask: a worker, the nanny or the client). Goals (issue 18):
Dask wall <= local wall; every process <= 1.5 GB. The load average is reported: 8 jobs share
2 cores, read the ratio more than the seconds. ``--json`` prints the table rows as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import CACHE, ROOT, Row, bench_bundle, markdown_table, median, synthetic_file  # noqa: E402

RSS_GOAL_MB = 1.5 * 1024


def run_sampled(cmd: list[str]) -> dict:
    """Run ``cmd``; wall seconds and the largest RSS (MB) of any process of its tree."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = CACHE / "out" / "dask_child.log"
    peak: dict[int, float] = {}
    with open(log, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        peak[p.pid] = max(peak.get(p.pid, 0.0), p.memory_info().rss / 2 ** 20)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(0.2)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{log.read_text(errors='replace')[-2000:]}")
    return {"wall": wall, "max_rss_mb": max(peak.values(), default=0.0), "processes": len(peak)}


def run(rows: int = 5_000_000, repeat: int = 1, workers: int = 2, log=print) -> list[Row]:
    models, name = bench_bundle()
    data = synthetic_file(rows)
    out_dir = CACHE / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    load = os.getloadavg()[0]
    log(f"dask: {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB), {workers} workers, load {load:.1f}")
    local, dask = [], []
    for i in range(repeat):
        local.append(run_sampled([py, "-m", "churn_core", "-q", "score", "--model", str(models / name),
                                  "--data", str(data), "--out", str(out_dir / "dask_local.parquet")]))
        target = out_dir / "dask_out"
        shutil.rmtree(target, ignore_errors=True)
        dask.append(run_sampled([py, "-m", "churn_core", "-q", "score", "--engine", "dask", "--workers",
                                 str(workers), "--model", str(models / name), "--data", str(data),
                                 "--out", str(target)]))
        shutil.rmtree(target, ignore_errors=True)
        log(f"  run {i + 1}: local {local[-1]['wall']:.1f} s {local[-1]['max_rss_mb']:.0f} MB | "
            f"dask {dask[-1]['wall']:.1f} s, largest process {dask[-1]['max_rss_mb']:.0f} MB")
    lw, dw = median(r["wall"] for r in local), median(r["wall"] for r in dask)
    rss = max(r["max_rss_mb"] for r in dask)
    for p in out_dir.glob("dask_local*"):
        p.unlink()
    tag = f"{rows / 1e6:g}M rows, one file"
    return [
        Row("dask", f"local engine `score`, {tag}", lw, "s", repeat,
            note=f"largest process {max(r['max_rss_mb'] for r in local):.0f} MB; load {load:.1f}"),
        Row("dask", f"dask engine, {workers} workers, {tag}", dw, "s", repeat, "<= local", dw <= lw,
            note=f"ratio {dw / lw:.2f}"),
        Row("dask", "dask: largest process (worker, nanny or client)", rss, "MB", repeat, "<= 1536 MB",
            rss <= RSS_GOAL_MB),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = run(args.rows, args.repeat, args.workers, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(json.dumps([r.to_dict() for r in rows]) if args.json else markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
