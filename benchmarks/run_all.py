"""Every benchmark in one command: one table of medians, the machine described, RESULTS.md.

Run (the full run takes about 15-25 minutes on 2 cores)::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/run_all.py
    # subsets and a scaled-down run:
    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/run_all.py --only score predict --rows 200000

Sections (each runs in its own child processes, so this process never imports TensorFlow
and peak-memory figures belong to the measured run alone):

* ``train``     - ``bench_train.py``: default vs tutorial recipe on the bank file, wall time
  and test ROC-AUC (goal: <= 0.5x the tutorial's time at a higher ROC-AUC);
* ``score``     - ``bench_score.py``: ``score_file`` on a ``--rows`` (1,000,000) synthetic
  file end to end vs a bare pyarrow read + write of the same file (goal ratio <= 2.0), peak
  RSS (goal <= 1.5 GB), and 2x / 5x ``--rows`` files (2,000,000 and 5,000,000 rows) scored
  in chunks within the same memory bound;
* ``process``   - ``bench_process.py``: the whole ``python -m churn_core score`` process
  (interpreter, imports, bundle load included) on ``--rows`` vs a bare pyarrow read + write
  process, CPU seconds from ``os.wait4`` (goal ratio <= 3.0), peak RSS at ``--rows`` (<= 700
  MB) and 5x ``--rows`` (<= 1.0 GB);
* ``predict``   - the MLP forward pass alone (rows/s) vs ``model.predict``;
* ``dashboard`` - ``bench_slider.py`` (threshold-slider rerun with 100,000 scored customers,
  goal <= 300 ms) when present, and ``bench_dashboard.py`` (``streamlit run`` to the first
  rendered page in Chromium, goal <= 10 s);
* ``explain``   - ``bench_explain.py`` (the SHAP issue's figures) when present;
* ``dask``      - ``bench_dask.py``: one file of 5x ``--rows`` scored by the local engine and by
  the Dask engine on a 2-worker ``LocalCluster`` (goal: Dask wall <= local, every process
  <= 1.5 GB).

Ratios are always between figures measured in the same run (interleaved repeats). The table
is printed and written to ``--out`` (default ``benchmarks/RESULTS.md``) with the machine
description and the raw output of the section scripts; the rows also go to the ``.json``
file beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import ROOT, Row, machine, markdown_table  # noqa: E402

SECTIONS = ("train", "score", "process", "predict", "dashboard", "explain", "dask")


def _run(args: list[str], timeout: float) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        p = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout:.0f} s"
    return p.returncode, p.stdout, p.stderr


def _own(script: str, extra: list[str], section: str, timeout: float, raw: dict) -> list[Row]:
    """Run one of our --json benchmark scripts; rows from its last stdout line."""
    code, out, err = _run([str(HERE / script), "--json", *extra], timeout)
    log_lines = [ln for ln in err.splitlines() if ln.startswith("  ") or ln.split(":")[0] in SECTIONS
                 or ln.startswith(("score:", "mem:", "big:", "predict:", "train:", "process:", "dask:"))]
    raw[f"{script} {' '.join(extra)}".strip()] = "\n".join(log_lines)
    if code != 0:
        return [Row(section, f"{script} failed (exit {code})", None, "", 0, note=err.strip()[-300:].replace("\n", " "))]
    return [Row(**d) for d in json.loads(out.strip().splitlines()[-1])]


_MS = re.compile(r"([0-9][0-9,]*\.?[0-9]*)\s*ms")


def _external(script: str, section: str, extra: list[str], timeout: float, raw: dict, goal: str = "",
              goal_ms: float | None = None) -> list[Row]:
    """Run another engineer's benchmark script, keep its output, pick its figures if it can."""
    path = HERE / script
    if not path.is_file():
        return [Row(section, f"{script} not present", None, "", 0, note="skipped")]
    t0 = time.perf_counter()
    code, out, err = _run([str(path), *extra], timeout)
    raw[f"{script} {' '.join(extra)}".strip()] = out.strip() or err.strip()[-2000:]
    if code != 0:
        return [Row(section, f"{script} failed (exit {code})", None, "", 0, note=err.strip()[-300:].replace("\n", " "))]
    last = out.strip().splitlines()[-1] if out.strip() else ""
    try:  # scripts that print our JSON rows
        data = json.loads(last)
        if isinstance(data, list) and data and isinstance(data[0], dict) and "measure" in data[0]:
            return [Row(**d) for d in data]
    except (ValueError, TypeError):
        pass
    rows = []
    for line in out.splitlines():
        m = _MS.search(line)
        if m and goal_ms is not None and ("median" in line.lower() or "rerun" in line.lower()):
            v = float(m.group(1).replace(",", ""))
            rows.append(Row(section, line.strip()[:90], v, "ms", 0, goal, v <= goal_ms, note=f"from {script}"))
    if not rows:
        rows.append(Row(section, f"{script}: see raw output below", time.perf_counter() - t0, "s", 1,
                        note="script wall time"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="sections to run (default: all)")
    ap.add_argument("--rows", type=int, default=1_000_000,
                    help="rows of the scoring file; the chunked runs use 2x and 5x this")
    ap.add_argument("--repeat", type=int, default=3, help="repeats per figure (medians)")
    ap.add_argument("--score-repeat", type=int, default=5,
                    help="repeats of the score vs bare pairs (noisier than the rest on a shared machine)")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="Markdown file written (default RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per section script")
    args = ap.parse_args(argv)
    only = args.only or list(SECTIONS)
    rows: list[Row] = []
    raw: dict = {}
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    for section in SECTIONS:
        if section not in only:
            continue
        print(f"[{time.perf_counter() - t0:6.0f} s] {section} ...", file=sys.stderr, flush=True)
        if section == "train":
            rows += _own("bench_train.py", ["--repeat", str(args.repeat)], section, args.timeout, raw)
        elif section == "score":
            rows += _own("bench_score.py", ["--rows", str(args.rows), "--repeat", str(args.score_repeat),
                                            "--mem-rows", str(2 * args.rows), "--big-rows", str(5 * args.rows),
                                            "--predict-rows", "0"], section, args.timeout, raw)
        elif section == "process":
            rows += _own("bench_process.py", ["--rows", str(args.rows), "--big-rows", str(5 * args.rows),
                                              "--repeat", str(args.repeat)], section, args.timeout, raw)
        elif section == "dask":
            rows += _own("bench_dask.py", ["--rows", str(5 * args.rows), "--repeat", "1"], section,
                         args.timeout, raw)
        elif section == "predict":
            rows += _own("bench_score.py", ["--rows", "0", "--mem-rows", "0", "--big-rows", "0",
                                            "--predict-rows", str(args.rows), "--repeat", str(args.repeat)],
                         section, args.timeout, raw)
        elif section == "dashboard":
            rows += _external("bench_slider.py", section, [], args.timeout, raw, "<= 300 ms", 300.0)
            rows += _own("bench_dashboard.py", ["--repeat", str(args.repeat)], section, args.timeout, raw)
        elif section == "explain":
            rows += _external("bench_explain.py", section, [], args.timeout, raw)
    total = time.perf_counter() - t0
    table = markdown_table(rows)
    print(table)
    cmd = "python benchmarks/run_all.py " + " ".join(argv if argv is not None else sys.argv[1:])
    mach = ", ".join(f"{k} {v}" for k, v in info.items())
    text = [f"# Benchmark results\n",
            f"Command: `TF_CPP_MIN_LOG_LEVEL=2 {cmd.strip()}` (started {started}, took {total / 60:.1f} min; "
            f"sections: {', '.join(only)}).\n",
            f"Machine: {mach}.\n",
            "Medians over the `runs` column; ratios are between figures of the same run. Peak RSS is "
            "the scoring child process's `ru_maxrss` (TensorFlow and the bundle included). The machine "
            "is shared, so absolute times vary with its load (the 1-minute load average above); "
            "the same-run ratios are the figures to compare.\n",
            table, "\n## Raw output of the section scripts\n"]
    for name, out in raw.items():
        text += [f"### {name}\n", "```", out, "```\n"]
    Path(args.out).write_text("\n".join(text), encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(
        json.dumps({"command": cmd.strip(), "started": started, "machine": info,
                    "rows": [r.to_dict() for r in rows]}, indent=1), encoding="utf-8")
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
