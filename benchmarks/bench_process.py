"""Whole-process cost of the command a user runs: ``python -m churn_core score`` vs bare pyarrow.

Run::

    /work/venv/bin/python benchmarks/bench_process.py [--rows 1000000] [--big-rows 5000000]
        [--repeat 3] [--root DIR]

Unlike ``bench_score.py`` (``score_file`` in a warmed process), this charges everything the
user waits for: interpreter start, imports (TensorFlow, if anything imports it), loading the
bundle, reading, validating, encoding, the forward pass, writing. Each measured command runs
as its own child process; its CPU seconds (user + system, all threads) and peak resident
memory come from ``os.wait4`` (the kernel's rusage of that child alone):

* **bare**: ``python -c`` reading the CSV with ``pyarrow.csv.read_csv`` and writing it with
  ``pyarrow.csv.write_csv`` (the floor of any CSV-to-CSV job, interpreter start included);
* **score**: ``python -m churn_core score --model M --data F --out scores.csv``.

Repeats are interleaved (bare, score, bare, score, ...); medians of ``--repeat`` runs. The
goals (issue 18): CPU-s ratio score / bare <= 3.0 at 1M rows; peak RSS <= 700 MB at 1M rows
and <= 1.0 GB at ``--big-rows`` (5M, one run). ``--root`` measures another checkout of the
code (e.g. the commit before a change) with the same files. The load average is reported:
the machine is shared, read the ratios more than the seconds. ``--json`` prints the table
rows as JSON (``run_all.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import CACHE, ROOT, Row, bench_bundle, markdown_table, median, synthetic_file  # noqa: E402

RATIO_GOAL = 3.0
RSS_GOAL_1M_MB = 700
RSS_GOAL_BIG_MB = 1024

BARE = ("import sys, pyarrow.csv as c; t = c.read_csv(sys.argv[1]); c.write_csv(t, sys.argv[2])")


def measure(cmd: list[str], root: Path) -> dict:
    """Run ``cmd`` as a child (output to a log file); wall seconds, and CPU seconds (user +
    system, all threads) and peak RSS (MB) of that child alone (``os.wait4``)."""
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = CACHE / "out" / "process_child.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{log.read_text(errors='replace')[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def run(rows: int = 1_000_000, big_rows: int = 5_000_000, repeat: int = 3, root: Path = ROOT,
        model: str | None = None, log=print) -> list[Row]:
    """Interleaved bare / score processes; the table rows."""
    if model:
        models, name = Path(model).parent, Path(model).name
    else:
        models, name = bench_bundle()
    out_dir = CACHE / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    py = sys.executable

    def score_cmd(data: Path) -> list[str]:
        return [py, "-m", "churn_core", "-q", "score", "--model", str(models / name), "--data", str(data),
                "--out", str(out_dir / "process_scores.csv")]

    rows_out: list[Row] = []
    load = os.getloadavg()
    data = synthetic_file(rows)
    log(f"process: {rows:,} rows ({data.stat().st_size / 1e6:.0f} MB), code {root}, load {load[0]:.1f}")
    bare, score = [], []
    for i in range(repeat):
        bare.append(measure([py, "-c", BARE, str(data), str(out_dir / "process_bare.csv")], root))
        score.append(measure(score_cmd(data), root))
        log(f"  run {i + 1}: score {score[-1]['cpu']:.2f} CPU-s {score[-1]['wall']:.2f} s "
            f"{score[-1]['rss_mb']:.0f} MB | bare {bare[-1]['cpu']:.2f} CPU-s {bare[-1]['wall']:.2f} s")
    s_cpu, b_cpu = median(r["cpu"] for r in score), median(r["cpu"] for r in bare)
    ratio = s_cpu / b_cpu
    rss = max(r["rss_mb"] for r in score)
    tag = f"{rows / 1e6:g}M rows"
    rows_out += [
        Row("process", f"`churn_core score` whole process, {tag}", s_cpu, "CPU-s", repeat,
            note=f"wall {median(r['wall'] for r in score):.2f} s; load {load[0]:.1f}"),
        Row("process", f"bare pyarrow read + write process, {tag}", b_cpu, "CPU-s", repeat,
            note=f"wall {median(r['wall'] for r in bare):.2f} s"),
        Row("process", "CPU-s ratio score / bare (whole processes)", ratio, "x", repeat, f"<= {RATIO_GOAL}",
            ratio <= RATIO_GOAL, note="per run: " + ", ".join(f"{s['cpu'] / b['cpu']:.2f}" for s, b in zip(score, bare))),
        Row("process", f"peak RSS `churn_core score`, {tag} (max of runs)", rss, "MB", repeat,
            f"<= {RSS_GOAL_1M_MB} MB", rss <= RSS_GOAL_1M_MB),
    ]
    if big_rows:
        big = synthetic_file(big_rows)
        r = measure(score_cmd(big), root)
        log(f"  big {big_rows:,}: {r['cpu']:.1f} CPU-s {r['wall']:.1f} s {r['rss_mb']:.0f} MB")
        rows_out.append(Row("process", f"peak RSS `churn_core score`, {big_rows / 1e6:g}M rows", r["rss_mb"],
                            "MB", 1, f"<= {RSS_GOAL_BIG_MB} MB", r["rss_mb"] <= RSS_GOAL_BIG_MB,
                            note=f"wall {r['wall']:.1f} s, {r['cpu']:.1f} CPU-s"))
    for p in out_dir.glob("process_*"):
        p.unlink()
    return rows_out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=5_000_000, help="0 to skip")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout of the code to measure")
    ap.add_argument("--model", help="DIR/NAME of a bundle (default: the cached benchmark bundle)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = run(args.rows, args.big_rows, args.repeat, args.root.resolve(), args.model,
               log=lambda s: print(s, file=sys.stderr, flush=True))
    print(json.dumps([r.to_dict() for r in rows]) if args.json else markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
