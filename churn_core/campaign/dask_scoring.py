"""Score a folder (or glob) of customer files past one machine with Dask.

Each input file (CSV/TSV/TXT or Parquet part) becomes one partition of a
:mod:`dask.dataframe` built with :func:`dask.dataframe.from_map`; every partition is read with
:func:`churn_core.io.reader.read_table` (so typing, encodings and line numbers are exactly those of
the single-machine path) and scored with :func:`churn_core.campaign.scoring.score_frame` inside
``map_partitions``. Workers load the bundle once per process, from its folder, with
:func:`churn_core.model.bundle.load_bundle` (Keras safe mode), so nothing is pickled from the
client. Each partition writes its own part files::

    OUTDIR/scores/part-00000.parquet     scored rows (+ churn_probability, predicted_churn, risk_tier)
    OUTDIR/rejected/part-00000.parquet   rejected rows (+ reason)
    OUTDIR/summary.json                  rows in = rows scored + rows rejected, per file

and returns one row of counts. Everything is written to a hidden folder beside ``OUTDIR``
first and renamed into place at the end, so a failed run leaves no half output.

Every row carries ``source_file`` (the input file name) and ``source_line``.

When to use it: files, or folders of parts, too big for one machine's time budget, or a
Dask cluster already at hand (``scheduler="tcp://host:8786"``). On one machine the chunked
``score_file`` is as fast and simpler. With a remote scheduler every worker must see the
input files, the output folder and the bundle folder at the same paths (a shared file
system).
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


def read_part(path: str) -> pd.DataFrame:
    """Read one input file with :func:`churn_core.io.reader.read_table` and add ``source_file``.

    Parameters
    ----------
    path : str

    Returns
    -------
    DataFrame
        Index ``source_line`` as in :func:`read_table`; first column ``source_file``.
    """
    from churn_core.io.reader import read_table

    df, _ = read_table(path)
    df.insert(0, SOURCE_FILE, pd.array([Path(path).name] * len(df), dtype="str"))
    df.attrs["source_name"] = Path(path).name
    return df


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    from churn_core.campaign.scoring import _TableWriter

    writer = _TableWriter(path, fmt)
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
    from churn_core.campaign.scoring import add_risk_tier, score_frame

    number = int((partition_info or {}).get("number", 0))
    source = str(df[SOURCE_FILE].iloc[0]) if len(df) else f"part {number}"
    bundle = worker_bundle(models_dir, name)
    res = score_frame(bundle, df, threshold=threshold, source_name=source)
    add_risk_tier(res.scored, bundle.tier_cutoffs)
    ext = ".parquet" if fmt == "parquet" else ".csv"
    out = Path(out_dir)
    _write(res.scored, out / "scores" / f"part-{number:05d}{ext}", fmt)
    _write(res.rejected, out / "rejected" / f"part-{number:05d}{ext}", fmt)
    counts = {"source_file": source, **{k: int(res.report[k]) for k in
                                        ("rows_in", "rows_scored", "rows_rejected", "predicted_churners")}}
    return pd.DataFrame([counts]).astype(_COUNT_COLUMNS)


def _open_client(scheduler: str | None, n_workers: int, processes: bool):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def score_parts(model_dir: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike,
                scheduler: str | None = None, threshold: float | None = None, fmt: str = "parquet",
                n_workers: int = 2, processes: bool = True, client=None,
                progress: Callable | None = None, bundle=None) -> dict:
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

    Returns
    -------
    dict
        ``rows_in``, ``rows_scored``, ``rows_rejected``, ``predicted_churners``, ``threshold``,
        ``parts``, ``per_file`` (list of dicts), ``out``, ``rejected_out``.

    Raises
    ------
    DataFileError
        No input files, an unreadable file (named), an unknown format, or a non-empty
        output folder.
    BundleError
        When the bundle cannot be loaded.
    """
    import dask.dataframe as dd
    from distributed import as_completed

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
        meta_in = pd.DataFrame({SOURCE_FILE: pd.Series([], dtype="str")})
        ddf = dd.from_map(read_part, [str(f) for f in files], meta=meta_in, enforce_metadata=False,
                          label="read-part")
        counts = ddf.map_partitions(score_partition, str(model_dir.parent), model_dir.name, thr,
                                    str(tmp), fmt, meta=pd.DataFrame(
                                        {k: pd.Series([], dtype=v) for k, v in _COUNT_COLUMNS.items()}),
                                    enforce_metadata=False)
        futures = client.compute(counts.to_delayed(), optimize_graph=True)
        done = 0
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(futures))
        per_file = pd.concat(client.gather(futures), ignore_index=True)
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
    summary = {**totals, "threshold": thr, "parts": len(files), "format": fmt,
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
