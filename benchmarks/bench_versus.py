"""Scoring before and after a change: this tree against an older commit, on the same file.

Run::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_versus.py --before 3520a83
        [--rows 1000000] [--repeat 3]

The older commit is checked out with ``git worktree`` into a temporary folder (removed
afterwards). Each run is a fresh child process (``bench_score.py --child``, the same entry
point in both trees) scoring the same cached synthetic 1M-row CSV; runs alternate so that
every variant sees the same machine load:

* **bare**: pyarrow read + write of the file (the floor of any CSV-to-CSV job);
* **before**: the older tree's ``score_file`` with the older tree's benchmark bundle (its
  default recipe, trained by that tree);
* **after, same bundle**: this tree's ``score_file`` on *that same bundle* (the change in
  reading, validating, encoding and writing, with the model held fixed; a bundle saved
  before the drift profile existed has no profile, so no drift check runs);
* **after**: this tree's ``score_file`` with this tree's benchmark bundle (its default
  recipe, and the drift check when the bundle has a profile): what an analyst gets now.

The table gives the median wall and CPU seconds (all threads) per variant and each one's
ratios to bare, and the 1-minute load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import CACHE, bench_bundle, median, synthetic_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _child(tree: Path, args: list[str], env_extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    proc = subprocess.run([sys.executable, str(tree / "benchmarks" / "bench_score.py"), *args],
                          capture_output=True, text=True, cwd=tree, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _old_bundle(tree: Path, cache: Path) -> tuple[str, str]:
    """The older tree's benchmark bundle (trained by that tree once, cached in ``cache``)."""
    code = ("import sys, json; sys.path.insert(0, 'benchmarks'); from _util import bench_bundle; "
            "m, n = bench_bundle(); print(json.dumps([str(m), n]))")
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "2",
           "CHURN_BENCH_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tree,
                          env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"training the older bundle failed:\n{proc.stderr[-3000:]}")
    models, name = json.loads(proc.stdout.strip().splitlines()[-1])
    return models, name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="the older commit (hash, tag or branch)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    data = synthetic_file(args.rows)
    models, name = bench_bundle()
    old_cache = CACHE / f"before-{args.before}"
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), args.before], cwd=ROOT,
                       check=True)
        try:
            old_models, old_name = _old_bundle(old, old_cache)
            out = Path(tmp) / "out.csv"
            score = ["--child", "score", "--data", str(data), "--out", str(out)]
            variants = {
                "bare": (ROOT, ["--child", "bare", "--data", str(data), "--out", str(out)]),
                "before": (old, [*score, "--models", old_models, "--name", old_name]),
                "after, same bundle": (ROOT, [*score, "--models", old_models, "--name", old_name]),
                "after": (ROOT, [*score, "--models", str(models), "--name", name]),
            }
            runs: dict[str, list[dict]] = {k: [] for k in variants}
            for _ in range(args.repeat):
                for label, (tree, child_args) in variants.items():
                    runs[label].append(_child(tree, child_args))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
            shutil.rmtree(old, ignore_errors=True)
    load1 = os.getloadavg()[0]
    med = {k: (median([r["wall"] for r in v]), median([r["cpu"] for r in v]),
               max(r.get("rss_mb", 0) for r in v)) for k, v in runs.items()}
    bw, bc, _ = med["bare"]
    print(f"{args.rows:,} rows, median of {args.repeat} alternating runs, before = {args.before} "
          f"(load {load0:.1f} -> {load1:.1f})")
    print("| variant | wall s | CPU s | wall / bare | CPU / bare | peak RSS MB |\n|---|---|---|---|---|---|")
    for k, (w, c, rss) in med.items():
        print(f"| {k} | {w:.2f} | {c:.2f} | {w / bw:.2f}x | {c / bc:.2f}x | {rss:.0f} |")
    if args.json:
        print(json.dumps({"rows": args.rows, "before": args.before, "load": [load0, load1],
                          "median": {k: {"wall": w, "cpu": c, "rss_mb": r} for k, (w, c, r) in med.items()},
                          "runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
