"""Score a big customer file, or a folder (or glob) of them, past one machine with Dask.

Partitions (:func:`plan_partitions`): a CSV file larger than ``blocksize`` (16 MB; 32 MB on
the local cluster this module starts) is cut into byte ranges that end at a record end (as
many as a multiple of the workers, of equal size), and a Parquet file into groups of its row
groups, so one big file keeps every worker busy in bounded memory; other files (small ones,
gzip, XLSX) are one partition each. Every partition is read by the worker with
:func:`churn_core.io.reader.read_table` (so typing, encodings, rejected rows and line numbers
are exactly those of the single-machine path: a CSV range is read as the file's header lines
followed by the range, and its line numbers are shifted by the lines before it; a Parquet
range is re-encoded as a small Parquet file and its row numbers shifted) and scored with
:func:`churn_core.campaign.scoring.score_frame`, one Dask task (a future of
``client.map``) per partition: :func:`score_spec`. A CSV range ends at
a line end preceded by an even number of ``"`` characters, so a quoted field holding line
breaks is never cut (with backslash-escaped quotes this count can be wrong: such files are
split where the reader's own quote check re-cuts them). Workers load the bundle once per
process, from its folder, with :func:`churn_core.model.bundle.load_bundle` (the NumPy network,
no TensorFlow), so nothing is pickled from the client: ``client.run`` loads it on every worker
before the first partition, and a local cluster's workers are forked from the client on Linux
(:func:`local_start_method`), so they start with its imports, its loaded bundle and what a
first small partition scored on the client loaded (:func:`_warm_up`). Read,
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

import json
import logging
import os
import shutil
import threading
import uuid
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from churn_core.errors import DataFileError
from churn_core.io.report import ROW_INDEX
from churn_core.io.partitions import (BLOCKSIZE, PART_SUFFIXES, SOURCE_FILE, list_parts,  # noqa: F401
                                      plan_partitions, read_part, read_partition)

OUT_FORMATS = ("parquet", "csv")
_COUNT_COLUMNS = {"source_file": "str", "rows_in": "int64", "rows_scored": "int64",
                  "rows_rejected": "int64", "predicted_churners": "int64"}

#: :data:`~churn_core.io.partitions.BLOCKSIZE` for the workers of a local cluster forked by
#: :func:`score_parts`, which keep the memory a partition frees (:func:`_keep_freed_memory`):
#: without the page faults of memory handed back and taken again, bigger ranges cost less per
#: byte (one worker, bank rows: 0.039 CPU-s per MB at 32 MB, 0.041-0.043 at 16 MB, 0.046 at
#: 8 MB); a worker peaks at about 600 MB.
LOCAL_BLOCKSIZE = 32 * 2 ** 20
_BUNDLES: dict = {}
_BUNDLES_LOCK = threading.Lock()


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


def _preload_bundle(models_dir: str, name: str, keep_freed_memory: bool = False) -> None:
    """:func:`worker_bundle` for ``client.run``: loads, returns nothing (a bundle that has
    scored holds per-thread buffers, which do not pickle).

    ``keep_freed_memory`` (our own local worker processes only): glibc's allocator keeps the
    memory a partition frees for the next one (``mallopt`` trim and mmap thresholds raised)
    instead of handing it back to the system and faulting it in again: per 15 MB partition
    12,000-17,000 page faults and 0.05 s of system time fell to 1,000-2,000 and 0.02 s. A
    worker's memory then stays at its largest partition's (about 450 MB at 16 MB ranges).
    """
    worker_bundle(models_dir, name)
    if keep_freed_memory:
        _keep_freed_memory()


def _keep_freed_memory() -> None:
    """Raise glibc's ``M_TRIM_THRESHOLD`` to 1 GB and ``M_MMAP_THRESHOLD`` to 256 MB in this
    process (``mallopt(3)``); nothing on other C libraries."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 1 << 28)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


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
        One partition as returned by :func:`read_partition` (first column ``source_file``).
    models_dir, name : str
        Where the workers load the bundle from (:func:`worker_bundle`).
    threshold : float in [0, 1] or None
        Decision threshold (None: the bundle's default).
    out_dir : str
        Folder receiving ``scores/`` and ``rejected/`` part files.
    fmt : {"parquet", "csv"}
    partition_info : dict, optional
        ``{"number": i}`` (from :func:`score_spec`); numbers the part files.

    Returns
    -------
    DataFrame of shape (1, 5)
        ``source_file, rows_in, rows_scored, rows_rejected, predicted_churners``; its
        ``attrs["notes"]`` holds the partition's :data:`NOTE_KEYS` (what the analyst should
        check, as the local engine reports them) and ``attrs["ids"]`` the
        :func:`~churn_core.campaign.id_counts.id_keys` of its scored rows per ID column
        (duplicate customers are counted over all partitions by :func:`score_parts`).
    """
    from churn_core.campaign.id_counts import id_keys
    from churn_core.campaign.scoring import add_risk_tier, prefer_system_arrow_pool, score_frame
    from churn_core.data.cells import match_columns
    from churn_core.model.numpy_net import single_thread_blas

    prefer_system_arrow_pool()  # as the local engine: the system allocator, ~8 % less CPU
    number = int((partition_info or {}).get("number", 0))
    source = str(df[SOURCE_FILE].iloc[0]) if len(df) else df.attrs.get("source_name", f"part {number}")
    bundle = worker_bundle(models_dir, name)
    # scored on the file's own columns (messages count and name them as the local engine
    # does); the file name is put back into every output row after. One BLAS thread per
    # worker: the workers are the parallelism (a forked worker inherits the client's BLAS
    # pool, not Dask's OPENBLAS_NUM_THREADS=1 spawn environment)
    with single_thread_blas():
        res = score_frame(bundle, df.drop(columns=SOURCE_FILE, errors="ignore"), threshold=threshold,
                          source_name=source, count_duplicate_ids=False)
    ids = {col: id_keys(res.scored[col])
           for col in match_columns(res.scored.columns, bundle.schema.id_columns).values()}
    for frame in (res.scored, res.rejected):
        frame.insert(int(ROW_INDEX in frame.columns and frame.columns.get_loc(ROW_INDEX) == 0),
                     SOURCE_FILE, pd.array([source] * len(frame), dtype="str"))
    add_risk_tier(res.scored, bundle.tier_cutoffs)
    ext = ".parquet" if fmt == "parquet" else ".csv"
    out = Path(out_dir)
    _write(res.scored, out / "scores" / f"part-{number:05d}{ext}", fmt)
    _write(res.rejected, out / "rejected" / f"part-{number:05d}{ext}", fmt)
    counts = {"source_file": source, **{k: int(res.report[k]) for k in
                                        ("rows_in", "rows_scored", "rows_rejected", "predicted_churners")}}
    result = pd.DataFrame([counts]).astype(_COUNT_COLUMNS)
    result.attrs["notes"] = {k: res.report.get(k) or {} for k in NOTE_KEYS}
    result.attrs["ids"] = ids
    return result


def score_spec(spec: dict, number: int, models_dir: str, name: str, threshold: float | None,
               out_dir: str, fmt: str) -> dict:
    """One Dask task: read one partition (:func:`read_partition`), score it and write its part
    files (:func:`score_partition`).

    Parameters
    ----------
    spec : dict
        A partition from :func:`plan_partitions`.
    number : int
        Its position (numbers the part files).
    models_dir, name, threshold, out_dir, fmt
        As :func:`score_partition`.

    Returns
    -------
    dict
        ``source_file, rows_in, rows_scored, rows_rejected, predicted_churners``, ``notes``
        and ``ids`` (:func:`score_partition`'s ``attrs``).
    """
    counts = score_partition(read_partition(spec), models_dir, name, threshold, out_dir, fmt,
                             {"number": number})
    return {**counts.iloc[0].to_dict(), "notes": counts.attrs.get("notes", {}),
            "ids": counts.attrs.get("ids", {})}


def _warm_up(spec: dict, models_dir: str, name: str, threshold: float, tmp: Path, fmt: str) -> None:
    """Read, score and write the first few rows of ``spec`` in this process and discard them.

    Forked local workers inherit what this loads (the reader's, the scoring's and the
    writer's lazily imported modules, the bundle's lookup tables): without it each worker
    loaded them during its first partition, 0.3-0.5 s of 2 cores at the start of every run.
    A warm-up that fails is ignored (the partition itself will name the problem).
    """
    small = dict(spec)
    if spec["kind"] == "csv":
        with open(spec["path"], "rb") as fh:
            fh.seek(spec["start"])
            body = fh.read(min(spec["stop"] - spec["start"], 1 << 16))
        if body.rfind(b"\n") < 0 or body.count(b'"'):
            return  # keep it simple: a plain block of whole lines only
        small["stop"] = spec["start"] + body.rfind(b"\n") + 1
    elif spec["kind"] != "parquet":
        return  # a whole small file: no partition is worth warming up for
    else:
        small["row_groups"] = spec["row_groups"][:1]
    folder = tmp / ".warm-up"
    try:
        (folder / "scores").mkdir(parents=True)
        (folder / "rejected").mkdir()
        score_spec(small, 0, models_dir, name, threshold, str(folder), fmt)
    except (DataFileError, OSError, ValueError):
        pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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
    # worker: the scoring is pandas/NumPy work that holds the interpreter lock part of the time.
    # Logs only when critical: a task's error (an unreadable file) reaches the command, which
    # names it in one line; the workers' "Compute Failed" tracebacks printed it twice before
    conf = {"distributed.worker.profile.enabled": False}
    if method:
        conf["distributed.worker.multiprocessing-method"] = method
    with dask.config.set(conf), warnings.catch_warnings():
        # the scheduler's HTTP port is taken when another Dask cluster runs on the machine:
        # Dask picks a free one and says so; nothing for the analyst to do
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


#: What a partition reports for the analyst to check (the local engine's notes; the last one
#: is merged with :func:`churn_core.model.ranges.merge_details`, the others summed).
NOTE_KEYS = ("unseen_categories", "imputed_cells", "outside_training_range",
             "outside_training_range_detail")

#: An ``--out`` ending like a file: a folder of that name would surprise (``scored.csv/``).
FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".xlsx", ".json", ".txt")


def score_parts(model_dir: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike,
                scheduler: str | None = None, threshold: float | None = None, fmt: str = "parquet",
                n_workers: int = 2, processes: bool = True, client=None,
                progress: Callable | None = None, bundle=None, blocksize: int | None = None) -> dict:
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
    blocksize : int, optional
        Bytes per partition of a big CSV or Parquet file (:func:`plan_partitions`); default
        :data:`LOCAL_BLOCKSIZE` for the local cluster this starts (forked workers, Linux),
        :data:`BLOCKSIZE` otherwise.

    Returns
    -------
    dict
        ``rows_in``, ``rows_scored``, ``rows_rejected``, ``predicted_churners``, ``threshold``,
        ``parts`` (input files), ``partitions``, ``per_file`` (list of dicts, one per file),
        the notes of :data:`NOTE_KEYS` summed over the partitions (unseen categories,
        imputed blanks, values outside the training range, as the local engine reports
        them; also in ``summary.json``), ``duplicate_ids`` (``{column: rows}``: scored rows
        whose ID appears more than once over all the input, across partitions and files),
        ``out``, ``rejected_out``.

    Raises
    ------
    DataFileError
        No input files, an unreadable file (named), an unknown format, a non-empty
        output folder, or a new ``out`` named like a file (``scored.csv``).
    BundleError
        When the bundle cannot be loaded.
    """
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
    given, out = Path(out), Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataFileError(f"output folder {out} already exists and is not empty")
    if not out.exists() and out.name.lower().endswith(FILE_SUFFIXES):
        folder = given.parent / (out.name.split(".")[0] or "scored")
        raise DataFileError(f"--out {given}: the Dask engine writes a folder (scores/, "
                            f"rejected/, summary.json), not one file; name a folder, e.g. "
                            f"--out {folder}/")
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    (tmp / "scores").mkdir(parents=True)
    (tmp / "rejected").mkdir()
    own_client, cluster = (None, None)
    try:
        local = client is None and scheduler is None  # a cluster of n_workers started here
        forked = local and processes and local_start_method() == "fork"
        if blocksize is None:
            blocksize = LOCAL_BLOCKSIZE if forked else BLOCKSIZE
        specs = plan_partitions(files, blocksize, slots=n_workers if local else 1)
        if forked:  # the workers start with every module and cache a partition needs
            _warm_up(specs[0], str(model_dir.parent), model_dir.name, thr, tmp, fmt)
        if client is None:
            own_client, cluster = _open_client(scheduler, n_workers, processes)
            client = own_client
        # every worker loads the bundle once, now and in parallel (a forked local worker
        # already holds the client's copy); later partitions reuse it (worker_bundle)
        client.run(_preload_bundle, str(model_dir.parent), model_dir.name, forked)
        # one task per partition (read + score + write fused), nothing but counts returned;
        # plain futures: no task graph to build or optimise, and no dask.dataframe (or the
        # dask.array it pulls in) to import on the client: 0.3 s of every run
        futures = client.map(score_spec, specs, range(len(specs)), models_dir=str(model_dir.parent),
                             name=model_dir.name, threshold=thr, out_dir=str(tmp), fmt=fmt,
                             key=[f"score-partition-{uuid.uuid4().hex[:8]}-{i}" for i in range(len(specs))])
        done = 0
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(futures))
        results = client.gather(futures)
        notes = _merge_notes([r.pop("notes", {}) for r in results])
        notes["duplicate_ids"] = _shared_ids([r.pop("ids", {}) for r in results])
        per_part = pd.DataFrame(results).astype(_COUNT_COLUMNS)
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
               "model": str(model_dir), "per_file": per_file.to_dict("records"), **notes}
    (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_int), encoding="utf-8")
    if out.exists():
        out.rmdir()  # empty (checked above)
    os.replace(tmp, out)
    return {**summary, "out": str(out / "scores"), "rejected_out": str(out / "rejected")}


def _merge_notes(parts: list[dict]) -> dict:
    """The partitions' notes summed as the local engine sums its chunks' (``scoring``)."""
    from churn_core.campaign.scoring import _merge_counts
    from churn_core.model.ranges import merge_details

    merged: dict = {k: {} for k in NOTE_KEYS}
    for notes in parts:
        for k in NOTE_KEYS[:-1]:
            _merge_counts(merged[k], notes.get(k) or {})
        merge_details(merged[NOTE_KEYS[-1]], notes.get(NOTE_KEYS[-1]) or {})
    return merged


def _shared_ids(parts: list[dict]) -> dict:
    """``{ID column: rows sharing an ID}`` over all partitions (the local engine counts over
    its chunks the same way, :func:`churn_core.campaign.id_counts.count_shared_ids`)."""
    from churn_core.campaign.id_counts import count_shared_ids

    columns = dict.fromkeys(col for ids in parts for col in ids)
    shared = {col: count_shared_ids([ids[col] for ids in parts if col in ids]) for col in columns}
    return {col: n for col, n in shared.items() if n}


def _json_int(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)
