"""Score a big customer file, or a folder (or glob) of them, past one machine with Dask.

Partitions (:func:`plan_partitions`): a CSV file larger than ``blocksize`` (16 MB) is cut
into byte ranges that end at a record end, and a Parquet file into groups of its row groups,
so one big file keeps every worker busy in bounded memory; other files (small ones, gzip,
XLSX) are one partition each. Every partition is read by the worker with
:func:`churn_core.io.reader.read_table` (so typing, encodings, rejected rows and line numbers
are exactly those of the single-machine path: a CSV range is read as the file's header lines
followed by the range, and its line numbers are shifted by the lines before it; a Parquet
range is re-encoded as a small Parquet file and its row numbers shifted), inside a
:mod:`dask.dataframe` built with :func:`dask.dataframe.from_map`, and scored with
:func:`churn_core.campaign.scoring.score_frame` inside ``map_partitions``. A CSV range ends at
a line end preceded by an even number of ``"`` characters, so a quoted field holding line
breaks is never cut (with backslash-escaped quotes this count can be wrong: such files are
split where the reader's own quote check re-cuts them). Workers load the bundle once per
process, from its folder, with :func:`churn_core.model.bundle.load_bundle` (the NumPy network,
no TensorFlow), so nothing is pickled from the client: ``client.run`` loads it on every worker
before the first partition, and a local cluster's workers are forked from the client on Linux
(:func:`local_start_method`), so they start with its imports and its loaded bundle. Read,
score and write of one partition are one fused task on the worker that returns one row of
counts (the scored rows never travel to the client). Each partition writes its own part
files::

    OUTDIR/scores/part-00000.parquet     scored rows (+ churn_probability, predicted_churn, risk_tier)
    OUTDIR/rejected/part-00000.parquet   rejected rows (+ reason)
    OUTDIR/summary.json                  rows in = rows scored + rows rejected, per file

and returns one row of counts. Everything is written to a hidden folder beside ``OUTDIR``
first and renamed into place at the end, so a failed run leaves no half output.

Every row carries ``source_file`` (the input file name) and ``source_row``.

When to use it: files, or folders of parts, too big for one machine's time budget, or a
Dask cluster already at hand (``scheduler="tcp://host:8786"``). With a remote scheduler every
worker must have this project installed (``pip install -e .``) and see the input files, the
output folder and the bundle folder at the same paths (a shared file system); the README
shows the two-terminal example. Measured (``benchmarks/bench_dask.py``): see the README.
"""
from __future__ import annotations

import glob as _glob
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from churn_core.errors import DataFileError

#: File name suffixes picked up when ``data`` is a folder.
PART_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
OUT_FORMATS = ("parquet", "csv")
SOURCE_FILE = "source_file"
_COUNT_COLUMNS = {"source_file": "str", "rows_in": "int64", "rows_scored": "int64",
                  "rows_rejected": "int64", "predicted_churners": "int64"}

#: Byte size of the CSV ranges a big file is cut into (~235k bank rows): each worker holds one
#: range as text cells plus its scores, well under 1.5 GB. On 2 workers, 2M rows: 16 MB took
#: 8.3-9.4 worker CPU-s against 10.2-12.8 with 32 MB (smaller frames stay in cache) and kept
#: both workers busy to the end (9 partitions, not 5); 8 MB was no faster (more part files).
BLOCKSIZE = 16 * 2 ** 20
#: Bytes read from the top of a CSV file to find its header lines.
_HEAD_BYTES = 1 << 20

_BUNDLES: dict = {}
_BUNDLES_LOCK = threading.Lock()


def list_parts(data: str | os.PathLike) -> list[Path]:
    """The input files named by a folder or a glob pattern, sorted by path.

    Parameters
    ----------
    data : str or path-like
        A folder (its ``*.csv``, ``*.tsv``, ``*.txt``, ``*.parquet`` and ``*.pq`` files, not
        recursive, hidden files skipped), a glob such as ``parts/*.parquet``, or one file.

    Returns
    -------
    list of Path

    Raises
    ------
    DataFileError
        When nothing matches.
    """
    p = Path(data)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in PART_SUFFIXES
                 and not f.name.startswith((".", "_"))]
    elif p.is_file():
        files = [p]
    else:
        files = [Path(f) for f in _glob.glob(str(data)) if Path(f).is_file()]
    if not files:
        raise DataFileError(f"{data}: no CSV or Parquet files found (give a folder or a glob "
                            f"such as 'parts/*.csv')")
    return sorted(files)


def worker_bundle(models_dir: str, name: str):
    """Load a bundle once per process (thread-safe) and keep it for later partitions.

    Parameters
    ----------
    models_dir : str
        Folder holding the bundle folder.
    name : str
        Bundle name.

    Returns
    -------
    ModelBundle
    """
    from churn_core.model.bundle import load_bundle

    key = (str(Path(models_dir).resolve()), name)
    with _BUNDLES_LOCK:
        bundle = _BUNDLES.get(key)
        if bundle is None:
            bundle = load_bundle(name, models_dir)
            _BUNDLES[key] = bundle
    return bundle


def _csv_head(path: Path) -> dict | None:
    """Header region of a plain (uncompressed, newline-ended) CSV file, or ``None``.

    Returns ``{"header_end": byte after the header line, "header_lines": lines up to and
    including the header, "delimiter", "columns"}`` from :func:`read_table` of the file's top
    lines (title lines above the header included, as the reader skips them).
    """
    from churn_core.io.reader import read_table

    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4096] or head[:2] == b"\x1f\x8b":
        return None  # UTF-16 or gzip: byte ranges are not line ranges
    cut = head.rfind(b"\n")
    if cut < 0:
        return None  # lone-CR line ends, or one enormous line
    try:
        df, report = read_table(head[:cut + 1], name=path.name)
    except DataFileError:
        return None  # let the whole-file read name the problem
    if report.format != "csv":
        return None
    lines = int(report.header_line)
    end = -1
    for _ in range(lines):
        end = head.find(b"\n", end + 1)
        if end < 0:
            return None
    return {"header_end": end + 1, "header_lines": lines, "delimiter": report.delimiter,
            "columns": list(df.columns)}


def _record_ends(block: bytes) -> int:
    """Line ends outside quoted fields in ``block`` (which starts outside quotes): the rows a
    spreadsheet shows, since a quoted cell's line breaks stay inside one row."""
    if block.find(b'"') < 0:  # no quoted cell: every line end ends a record (10x faster)
        return block.count(b"\n")
    a = np.frombuffer(block, dtype=np.uint8)
    nl = np.flatnonzero(a == 10)
    if not len(nl):
        return 0
    quotes_before = np.searchsorted(np.flatnonzero(a == 34), nl)
    return int(np.count_nonzero(quotes_before % 2 == 0))


def _csv_ranges(path: Path, blocksize: int) -> list[dict] | None:
    """Byte ranges of a big CSV file, each ending at a record end (even quote count before it)."""
    import mmap

    size = path.stat().st_size
    head = _csv_head(path)
    if head is None:
        return None
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start = head["header_end"]
        lines_before = head["header_lines"]
        quotes_odd = mm[:start].count(b'"') % 2 == 1
        if quotes_odd:
            return None  # a quote left open in the header lines
        out = []
        while start < size:
            stop = min(size, start + blocksize)
            if stop < size:
                odd = mm[start:stop].count(b'"') % 2 == 1
                while True:  # the next line end with an even number of quotes before it
                    nl = mm.find(b"\n", stop)
                    if nl < 0:
                        stop = size
                        break
                    odd ^= mm[stop:nl].count(b'"') % 2 == 1
                    stop = nl + 1
                    if not odd:
                        break
            out.append({**head, "kind": "csv", "path": str(path), "start": start, "stop": stop,
                        "line_shift": lines_before - head["header_lines"]})
            lines_before += _record_ends(mm[start:stop])
            start = stop
    return out


def _parquet_ranges(path: Path, blocksize: int) -> list[dict] | None:
    """Groups of consecutive row groups of about ``blocksize`` bytes (uncompressed)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:  # noqa: BLE001 - the whole-file read names the problem
        return None
    out, group, size, row = [], [], 0, 0
    first = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        group.append(i)
        size += rg.total_byte_size
        row += rg.num_rows
        if size >= blocksize or i == meta.num_row_groups - 1:
            out.append({"kind": "parquet", "path": str(path), "row_groups": group, "row_shift": first})
            group, size, first = [], 0, row
    return out if len(out) > 1 else None


def plan_partitions(files: list[Path], blocksize: int = BLOCKSIZE) -> list[dict]:
    """The partitions of the input files: byte ranges of big CSV files, row-group ranges of
    big Parquet files, whole files otherwise.

    Parameters
    ----------
    files : list of Path
    blocksize : int, default :data:`BLOCKSIZE`
        Target bytes per partition (a CSV range ends at the first record end after it;
        Parquet row groups are never split).

    Returns
    -------
    list of dict
        Plain JSON-able partition specs, read by :func:`read_partition`, in file order.
    """
    from churn_core.io.reader import read_table  # noqa: F401 - fail early when io is broken

    out: list[dict] = []
    for f in files:
        ranges = None
        if f.stat().st_size > blocksize:
            with open(f, "rb") as fh:
                magic = fh.read(4)
            ranges = (_parquet_ranges(f, blocksize) if magic == b"PAR1"
                      else None if magic[:2] in (b"PK", b"\x1f\x8b") else _csv_ranges(f, blocksize))
        out += ranges or [{"kind": "file", "path": str(f)}]
    return out


def read_partition(spec: dict) -> pd.DataFrame:
    """Read one partition (:func:`plan_partitions`) with :func:`read_table`; add ``source_file``.

    Parameters
    ----------
    spec : dict

    Returns
    -------
    DataFrame
        Layout and index (line of a CSV row, header = line 1; row of a Parquet row) exactly as
        :func:`churn_core.io.reader.read_table` gives for the whole file; first column
        ``source_file``.

    Raises
    ------
    DataFileError
        As :func:`read_table`, and when a CSV range reads with another delimiter or other
        columns than the file's header lines.
    """
    from churn_core.io.reader import read_table

    path = Path(spec["path"])
    if spec["kind"] == "csv":
        with open(path, "rb") as fh:
            header = fh.read(spec["header_end"])
            fh.seek(spec["start"])
            body = fh.read(spec["stop"] - spec["start"])
        df, report = read_table(header + body, name=path.name)
        del body
        if report.delimiter != spec["delimiter"] or list(df.columns) != spec["columns"]:
            raise DataFileError(f"{path.name}: the rows from byte {spec['start']:,} read with other "
                                f"columns than the header (delimiter {report.delimiter!r}); score the "
                                f"file with the local engine")
        df.index = df.index + spec["line_shift"]
    elif spec["kind"] == "parquet":
        import io

        import pyarrow.parquet as pq

        table = pq.ParquetFile(path).read_row_groups(spec["row_groups"])
        buf = io.BytesIO()
        pq.write_table(table, buf)
        del table
        df, _ = read_table(buf.getvalue(), name=path.name)
        df.index = df.index + spec["row_shift"]
    else:
        df, _ = read_table(path)
    df.insert(0, SOURCE_FILE, pd.array([path.name] * len(df), dtype="str"))
    df.attrs["source_name"] = path.name
    return df


def read_part(path: str) -> pd.DataFrame:
    """Read one whole input file (:func:`read_partition` of ``{"kind": "file"}``).

    Parameters
    ----------
    path : str

    Returns
    -------
    DataFrame
        Index as in :func:`read_table`; first column ``source_file``.
    """
    return read_partition({"kind": "file", "path": str(path)})


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    from churn_core.io.writer import TableWriter

    writer = TableWriter(path, fmt)
    writer.write(frame)
    writer.close(list(frame.columns))


def score_partition(df: pd.DataFrame, models_dir: str, name: str, threshold: float | None,
                    out_dir: str, fmt: str, partition_info: dict | None = None) -> pd.DataFrame:
    """Score one partition (one input file) and write its scored and rejected part files.

    Parameters
    ----------
    df : DataFrame
        One file as returned by :func:`read_part`.
    models_dir, name : str
        Where the workers load the bundle from (:func:`worker_bundle`).
    threshold : float in [0, 1] or None
        Decision threshold (None: the bundle's default).
    out_dir : str
        Folder receiving ``scores/`` and ``rejected/`` part files.
    fmt : {"parquet", "csv"}
    partition_info : dict, optional
        Supplied by Dask (``{"number": i, ...}``); numbers the part files.

    Returns
    -------
    DataFrame of shape (1, 5)
        ``source_file, rows_in, rows_scored, rows_rejected, predicted_churners``.
    """
    from churn_core.campaign.scoring import add_risk_tier, prefer_system_arrow_pool, score_frame
    from churn_core.model.numpy_net import single_thread_blas

    prefer_system_arrow_pool()  # as the local engine: the system allocator, ~8 % less CPU
    number = int((partition_info or {}).get("number", 0))
    source = str(df[SOURCE_FILE].iloc[0]) if len(df) else df.attrs.get("source_name", f"part {number}")
    bundle = worker_bundle(models_dir, name)
    # one BLAS thread per worker: the workers are the parallelism (a forked worker inherits
    # the client's BLAS pool, not Dask's OPENBLAS_NUM_THREADS=1 spawn environment)
    with single_thread_blas():
        res = score_frame(bundle, df, threshold=threshold, source_name=source)
    add_risk_tier(res.scored, bundle.tier_cutoffs)
    ext = ".parquet" if fmt == "parquet" else ".csv"
    out = Path(out_dir)
    _write(res.scored, out / "scores" / f"part-{number:05d}{ext}", fmt)
    _write(res.rejected, out / "rejected" / f"part-{number:05d}{ext}", fmt)
    counts = {"source_file": source, **{k: int(res.report[k]) for k in
                                        ("rows_in", "rows_scored", "rows_rejected", "predicted_churners")}}
    return pd.DataFrame([counts]).astype(_COUNT_COLUMNS)


def local_start_method() -> str | None:
    """How a local cluster starts its worker processes: ``"fork"`` on Linux, else Dask's default.

    A forked worker starts with the client's imports (pandas, pyarrow, this package) and its
    loaded bundle already in memory (copy-on-write), where Dask's default (``"spawn"``) starts
    a fresh interpreter that imports them again: on 2 shared cores, starting and stopping a
    2-worker cluster took 1.0 s with fork against 15 s with spawn (3.5 CPU-s of imports;
    ``benchmarks/RESULTS.md``). Fork is safe on Linux (Arrow, OpenBLAS and :mod:`logging`
    re-arm their locks after a fork); other systems keep Dask's setting
    (``distributed.worker.multiprocessing-method``).

    Returns
    -------
    str or None
        ``"fork"``, or None to leave Dask's configuration alone.
    """
    import multiprocessing
    import sys

    return "fork" if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() \
        else None


def _open_client(scheduler: str | None, n_workers: int, processes: bool):
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    method = local_start_method() if processes else None
    # no dashboard and no statistical profiler (it samples each worker's stack every 10 ms
    # for the dashboard's profile page): CPU the 2 cores need for scoring. One thread per
    # worker: the scoring is pandas/NumPy work that holds the interpreter lock part of the time
    conf = {"distributed.worker.profile.enabled": False}
    if method:
        conf["distributed.worker.multiprocessing-method"] = method
    with dask.config.set(conf):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def score_parts(model_dir: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike,
                scheduler: str | None = None, threshold: float | None = None, fmt: str = "parquet",
                n_workers: int = 2, processes: bool = True, client=None,
                progress: Callable | None = None, bundle=None, blocksize: int = BLOCKSIZE) -> dict:
    """Score a folder or glob of customer files on a Dask cluster.

    Parameters
    ----------
    model_dir : path-like
        The bundle folder (``models/NAME``), visible to every worker at the same path.
    data : str or path-like
        Folder or glob of CSV/Parquet parts (see :func:`list_parts`).
    out : path-like
        Output folder; must not exist or be empty. Gets ``scores/``, ``rejected/`` and
        ``summary.json``.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); default: a ``LocalCluster``.
    threshold : float in [0, 1], optional
        Decision threshold (default: the bundle's).
    fmt : {"parquet", "csv"}, default "parquet"
    n_workers : int, default 2
        Workers of the local cluster (ignored with ``scheduler`` or ``client``).
    processes : bool, default True
        Local cluster with worker processes (False: threads in this process).
    client : distributed.Client, optional
        Use this client instead of creating one (it is left open).
    progress : callable, optional
        ``progress(parts_done, parts_total)`` as partitions finish.
    bundle : ModelBundle, optional
        The bundle already loaded from ``model_dir`` (saves loading it again on the client;
        in-process workers reuse it).
    blocksize : int, default :data:`BLOCKSIZE`
        Bytes per partition of a big CSV or Parquet file (:func:`plan_partitions`).

    Returns
    -------
    dict
        ``rows_in``, ``rows_scored``, ``rows_rejected``, ``predicted_churners``, ``threshold``,
        ``parts`` (input files), ``partitions``, ``per_file`` (list of dicts, one per file),
        ``out``, ``rejected_out``.

    Raises
    ------
    DataFileError
        No input files, an unreadable file (named), an unknown format, or a non-empty
        output folder.
    BundleError
        When the bundle cannot be loaded.
    """
    import dask
    import dask.dataframe as dd
    from distributed import as_completed

    from churn_core.campaign import scoring  # noqa: F401 - imported once here: forked workers inherit it
    from churn_core.model.bundle import load_bundle

    if fmt not in OUT_FORMATS:
        raise DataFileError(f"output format {fmt!r}: use one of {OUT_FORMATS}")
    model_dir = Path(model_dir).resolve()
    if bundle is None:
        bundle = load_bundle(model_dir.name, model_dir.parent)  # fail early, on the client
    with _BUNDLES_LOCK:  # in-process (threaded) workers reuse it
        _BUNDLES.setdefault((str(model_dir.parent), model_dir.name), bundle)
    thr = bundle.default_threshold if threshold is None else float(threshold)
    if not 0.0 <= thr <= 1.0:
        raise DataFileError(f"the decision threshold must be in [0, 1], got {thr}")
    files = list_parts(data)
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataFileError(f"output folder {out} already exists and is not empty")
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    (tmp / "scores").mkdir(parents=True)
    (tmp / "rejected").mkdir()
    own_client, cluster = (None, None)
    try:
        if client is None:
            own_client, cluster = _open_client(scheduler, n_workers, processes)
            client = own_client
        # every worker loads the bundle once, now and in parallel (a forked local worker
        # already holds the client's copy); later partitions reuse it (worker_bundle)
        client.run(worker_bundle, str(model_dir.parent), model_dir.name)
        meta_in = pd.DataFrame({SOURCE_FILE: pd.Series([], dtype="str")})
        specs = plan_partitions(files, blocksize)
        # convert-string off: the partitions reach score_frame with read_table's own dtypes,
        # as in the local engine (not re-typed to string[pyarrow] between the two tasks)
        with dask.config.set({"dataframe.convert-string": False}):
            ddf = dd.from_map(read_partition, specs, meta=meta_in, enforce_metadata=False,
                              label="read-partition")
            counts = ddf.map_partitions(score_partition, str(model_dir.parent), model_dir.name, thr,
                                        str(tmp), fmt, meta=pd.DataFrame(
                                            {k: pd.Series([], dtype=v) for k, v in _COUNT_COLUMNS.items()}),
                                        enforce_metadata=False)
            # one task per partition (read + score + write fused), nothing but counts returned
            futures = client.compute(counts.to_delayed(), optimize_graph=True)
        done = 0
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(futures))
        per_part = pd.concat(client.gather(futures), ignore_index=True)
        run = (per_part[SOURCE_FILE] != per_part[SOURCE_FILE].shift()).cumsum()  # a file's partitions are consecutive
        per_file = per_part.groupby(run, sort=False).agg(
            {SOURCE_FILE: "first", **{k: "sum" for k in _COUNT_COLUMNS if k != SOURCE_FILE}}).reset_index(drop=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()
    totals = {k: int(per_file[k].sum()) for k in ("rows_in", "rows_scored", "rows_rejected",
                                                   "predicted_churners")}
    summary = {**totals, "threshold": thr, "parts": len(files), "partitions": len(per_part), "format": fmt,
               "model": str(model_dir), "per_file": per_file.to_dict("records")}
    (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_int), encoding="utf-8")
    if out.exists():
        out.rmdir()  # empty (checked above)
    os.replace(tmp, out)
    return {**summary, "out": str(out / "scores"), "rejected_out": str(out / "rejected")}


def _json_int(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)
