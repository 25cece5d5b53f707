"""Dask engine vs the local engine on ONE big file: wall time and the largest process's memory.

Run::

    /work/venv/bin/python benchmarks/bench_dask.py [--rows 5000000] [--repeat 1] [--workers 2]

Both are the command a user runs, each in its own child process:
``python -m churn_core score`` (local: chunked, one process) and ``python -m churn_core
score --engine dask --workers 2`` (a ``LocalCluster`` of 2 worker processes; the file is cut
into byte-range partitions, ``churn_core.campaign.dask_scoring.plan_partitions``). While a
command runs, its process tree is sampled every 0.2 s (psutil) and the largest resident set
of each process is kept (for Dask: the client, which also runs the scheduler and the nannies,
and each worker). The two commands alternate (local first in odd runs, Dask first in even
runs) so both see the same load. Goals (issue 18): Dask wall <= local wall; every worker
<= 1.5 GB. CPU-s are those of the whole process tree. The load average is reported: other
jobs share the 2 cores, read the ratios more than the seconds. Before each command the disk
caches are flushed (``os.sync``) so that the writeback of the previous command's output does
not run during the next one. ``--json`` prints the table rows as JSON.
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
    """Run ``cmd``: wall seconds, CPU seconds of its whole process tree, and the largest RSS
    (MB) of its top process (the client) and of any other process of its tree (a worker)."""
    import resource

    import psutil

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = CACHE / "out" / f"dask_child_{os.getpid()}.log"
    peak: dict[int, float] = {}
    # the previous command's output (300-400 MB) is written back to disk first: otherwise the
    # kernel's writeback of it runs during this command and is charged to whichever goes second
    os.sync()
    time.sleep(1.0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped descendants included
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{log.read_text(errors='replace')[-2000:]}")
    log.unlink(missing_ok=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    workers = [v for k, v in peak.items() if k != proc.pid]
    return {"wall": wall, "cpu": cpu, "max_rss_mb": max(peak.values(), default=0.0),
            "client_rss_mb": peak.get(proc.pid, 0.0), "worker_rss_mb": max(workers, default=0.0),
            "processes": len(peak)}


def same_scores(local_file: Path, dask_dir: Path, edges: list[float]) -> tuple[bool, str]:
    """The Dask engine's part files, in part order, hold the local engine's scored and rejected
    rows: same count, same ``source_row`` order, probabilities within 1e-6 (float32: the
    engines feed the network batches of other shapes, so the last bits of a sum may differ),
    and the same labels and risk tiers except where a probability lies within 1e-6 of a
    decision ``edge`` (the threshold or a tier cutoff): there a last-bit difference may fall
    either side. Returns the verdict and a note counting such customers."""
    import numpy as np
    import pyarrow.parquet as pq

    cols = ["source_row", "churn_probability", "predicted_churn", "risk_tier"]
    loc = pq.read_table(local_file, columns=cols).to_pandas()
    got = pq.read_table(sorted((dask_dir / "scores").glob("part-*.parquet")), columns=cols).to_pandas()
    rej_local = pq.read_table(local_file.with_name(f"{local_file.stem}_rejected.parquet"),
                              columns=["source_row"]).num_rows
    rej_dask = sum(pq.ParquetFile(f).metadata.num_rows for f in (dask_dir / "rejected").glob("part-*.parquet"))
    if not (len(loc) == len(got) and rej_local == rej_dask
            and np.array_equal(loc["source_row"].to_numpy(), got["source_row"].to_numpy())):
        return False, f"rows differ: {len(loc):,} vs {len(got):,} scored, {rej_local} vs {rej_dask} rejected"
    p_loc, p_got = loc["churn_probability"].to_numpy(), got["churn_probability"].to_numpy()
    diff = float(np.abs(p_loc - p_got).max()) if len(loc) else 0.0
    differ = ((loc["predicted_churn"].to_numpy() != got["predicted_churn"].to_numpy())
              | (loc["risk_tier"].astype(str).to_numpy() != got["risk_tier"].astype(str).to_numpy()))
    near = np.min(np.abs(p_loc[differ, None] - np.asarray(edges)[None, :]), axis=1) <= 1e-6 \
        if differ.any() else np.zeros(0, bool)
    ok = diff <= 1e-6 and bool(near.all())
    return ok, (f"largest probability difference {diff:.1e}; {int(differ.sum())} customer(s) with "
                f"another label or tier, {int(near.sum())} of them within 1e-6 of the threshold or a "
                f"tier cutoff ({', '.join(f'{e:.3f}' for e in edges)})")


def run(rows: int = 5_000_000, repeat: int = 1, workers: int = 2, log=print) -> list[Row]:
    """Local and Dask engine on one file, alternating (local first in odd runs, Dask first in
    even ones), so both see the same load; medians and two ratios (of the medians, and the
    median of the per-pair ratios)."""
    models, name = bench_bundle()
    data = synthetic_file(rows)
    out_dir = CACHE / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    loads = [os.getloadavg()[0]]
    log(f"dask: {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB), {workers} workers, load {loads[0]:.1f}")
    tag_dir = f"{os.getpid()}"
    local_out = out_dir / f"dask_local_{tag_dir}.parquet"
    target = out_dir / f"dask_out_{tag_dir}"

    def run_local() -> dict:
        return run_sampled([py, "-m", "churn_core", "-q", "score", "--model", str(models / name),
                            "--data", str(data), "--out", str(local_out)])

    def run_dask() -> dict:
        shutil.rmtree(target, ignore_errors=True)
        return run_sampled([py, "-m", "churn_core", "-q", "score", "--engine", "dask", "--workers",
                            str(workers), "--model", str(models / name), "--data", str(data),
                            "--out", str(target)])

    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(name, models)
    edges = [bundle.default_threshold, *bundle.tier_cutoffs.values()]
    local, dask = [], []
    same, same_note = None, ""
    for i in range(repeat):
        if i % 2 == 0:
            local.append(run_local())
            dask.append(run_dask())
        else:
            dask.append(run_dask())
            local.append(run_local())
        if same is None:
            same, same_note = same_scores(local_out, target, edges)
            log(f"  dask parts == local file: {same} ({same_note})")
        shutil.rmtree(target, ignore_errors=True)
        loads.append(os.getloadavg()[0])
        log(f"  run {i + 1}: local {local[-1]['wall']:.1f} s ({local[-1]['cpu']:.1f} CPU-s, "
            f"{local[-1]['max_rss_mb']:.0f} MB) | dask {dask[-1]['wall']:.1f} s ({dask[-1]['cpu']:.1f} CPU-s, "
            f"largest worker {dask[-1]['worker_rss_mb']:.0f} MB, client {dask[-1]['client_rss_mb']:.0f} MB) "
            f"| ratio {dask[-1]['wall'] / local[-1]['wall']:.2f} | load {loads[-1]:.1f}")
    lw, dw = median(r["wall"] for r in local), median(r["wall"] for r in dask)
    lc, dc = median(r["cpu"] for r in local), median(r["cpu"] for r in dask)
    pair = median(d["wall"] / lo["wall"] for d, lo in zip(dask, local))
    wrss = max(r["worker_rss_mb"] for r in dask)
    for p in out_dir.glob(f"dask_local_{tag_dir}*"):
        p.unlink()
    tag = f"{rows / 1e6:g}M rows, one file"
    load = f"load {min(loads):.1f}-{max(loads):.1f}"
    return [
        Row("dask", f"local engine `score`, {tag}", lw, "s", repeat,
            note=f"{lc:.1f} CPU-s; largest process {max(r['max_rss_mb'] for r in local):.0f} MB; {load}"),
        Row("dask", f"dask engine, {workers} workers, {tag}", dw, "s", repeat,
            note=f"{dc:.1f} CPU-s (whole process tree); client {max(r['client_rss_mb'] for r in dask):.0f} MB"),
        Row("dask", "ratio median(dask) / median(local), same run", dw / lw, "x", repeat, "<= 1", dw / lw <= 1),
        Row("dask", "ratio dask / local per back-to-back pair, median", pair, "x", repeat, "<= 1", pair <= 1,
            note="pairs: " + ", ".join(f"{d['wall'] / lo['wall']:.2f}" for d, lo in zip(dask, local))),
        Row("dask", "dask: largest worker process (RSS)", wrss, "MB", repeat, "<= 1536 MB", wrss <= RSS_GOAL_MB),
        Row("dask", "dask parts == local file (rows, order, p within 1e-6, labels and tiers but at an "
            "edge)", float(same), "", 1, "1", same, note=same_note),
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
