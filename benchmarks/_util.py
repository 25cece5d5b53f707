"""Helpers shared by the benchmark scripts: machine description, medians, child processes,
cached synthetic files and the benchmark bundle.

Every figure is a median over repeated runs; ratios are taken between figures measured in the
same run (interleaved repeats), so machine load hits both sides alike.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Where generated benchmark inputs and bundles are cached (outside the repo).
CACHE = Path(os.environ.get("CHURN_BENCH_CACHE", Path(tempfile.gettempdir()) / "churn_bench"))


@dataclass
class Row:
    """One line of the benchmark table."""

    section: str
    measure: str
    value: float | None
    unit: str
    runs: int = 1
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def median(xs) -> float:
    """Median of a non-empty sequence of numbers."""
    return float(statistics.median(list(xs)))


def machine() -> dict:
    """Cores, RAM, CPU model, Python and library versions of this machine."""
    import importlib

    info = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
        info["ram_gib"] = round(kb / 1024 ** 2, 1)
    except (OSError, StopIteration):
        info["ram_gib"] = None
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    for lib in ("numpy", "pandas", "pyarrow", "sklearn", "tensorflow", "keras", "shap", "streamlit", "dask"):
        try:
            info[lib] = importlib.import_module(lib).__version__ if lib not in ("tensorflow", "keras") \
                else _version_without_import(lib)
        except Exception:  # noqa: BLE001 - optional library
            info[lib] = "absent"
    return info


def _version_without_import(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def run_child(args: list[str], timeout: float = 3600) -> dict:
    """Run ``python <args>`` and parse the last stdout line as JSON.

    Raises
    ------
    RuntimeError
        With the child's stderr tail when it fails.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (``getrusage`` ru_maxrss)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_file(rows: int, fmt: str = "csv") -> Path:
    """A customer file of ``rows`` synthetic bank customers without the target (cached).

    Made with :func:`churn_core.data.synthetic.make_bank_customers` in blocks of at most 1,000,000
    rows (seed = block number) and written with pyarrow, so 5,000,000 rows never sit in
    memory at once.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from churn_core.data.synthetic import make_bank_customers

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"customers_{rows}.{fmt}"
    if path.is_file():
        return path
    tmp = path.with_suffix(f".{fmt}.partial")
    block = 1_000_000
    writer = None
    done = 0
    try:
        while done < rows:
            n = min(block, rows - done)
            df = make_bank_customers(n=n, seed=1000 + done // block).drop(columns=["Exited"])
            df["RowNumber"] = df["RowNumber"] + done
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = (pacsv.CSVWriter(tmp, table.schema, write_options=pacsv.WriteOptions(quoting_style="none"))
                          if fmt == "csv" else pq.ParquetWriter(tmp, table.schema))
            writer.write_table(table)
            done += n
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return path


def bench_bundle() -> tuple[Path, str]:
    """The benchmark bundle: the default recipe trained on the shipped synthetic sample (cached).

    Returns
    -------
    (models_dir, name)
        The cache key is the default ``TrainConfig``, so a changed recipe trains a new bundle.
    """
    import hashlib

    from churn_core import config
    from churn_core.model.network import TrainConfig

    key = hashlib.sha256(json.dumps(TrainConfig().to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    models = CACHE / "models"
    name = f"bench-{key}"
    if not (models / name / "card.json").is_file():
        subprocess.run([sys.executable, "-m", "churn_core", "-q", "train", "--data", str(config.SAMPLE_CSV),
                        "--target", "Exited", "--out", str(models / name)], check=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    return models, name


def timed(fn) -> float:
    """Wall seconds of one call."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(fn, repeat: int) -> float:
    """Median wall seconds of ``repeat`` calls of ``fn``."""
    return median(timed(fn) for _ in range(repeat))


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:,.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"  # ROC-AUC, sub-second times


def markdown_table(rows: list[Row]) -> str:
    """The rows as a GitHub-flavoured Markdown table."""
    head = "| section | measure | median | runs | goal | met | note |\n|---|---|---:|---:|---|---|---|"
    lines = [head]
    for r in rows:
        v = "n/a" if r.value is None else _fmt(r.value)
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.section} | {r.measure} | {v} {r.unit} | {r.runs} | {r.goal} | {met} | {r.note} |")
    return "\n".join(lines)
