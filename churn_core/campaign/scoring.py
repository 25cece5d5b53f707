"""Score customers with a bundle: every input row comes back scored or rejected with a reason.

``rows in = rows scored + rows rejected`` always holds. No target column is needed (a target
present in the file is carried through untouched). Blank numeric cells are imputed with the
training median, so a valid row never gets a NaN probability.

A customer is a predicted churner when ``churn_probability >= threshold``.
"""
from __future__ import annotations

import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from churn_core.campaign.id_counts import count_shared_ids, id_keys
from churn_core.campaign.tiers import TIERS, tier_codes
from churn_core.columns import PRED, PROBA, REASON, SCORE_COLUMNS, TIER
from churn_core.data.cells import match_columns
from churn_core.data.validate import validate
from churn_core.errors import DataFileError
from churn_core.io.reader import ROW_INDEX, PARSE_ERROR_COLUMN, iter_table_chunks
from churn_core.io.writer import TableWriter, write_error
from churn_core.model.bundle import ModelBundle

#: Columns the scorer writes; input columns with these names are kept as ``input_<name>``
#: (re-scoring a scored file must not give two ``churn_probability`` columns).
OUTPUT_COLUMNS = (ROW_INDEX, *SCORE_COLUMNS, TIER, REASON)
OUTPUT_FORMATS = (".csv", ".parquet", ".pq")


@dataclass
class ScoreResult:
    """Outcome of scoring one table.

    Attributes
    ----------
    scored : DataFrame
        Every original column of the scored rows, plus ``churn_probability`` (float in
        [0, 1]), ``predicted_churn`` (0/1 at the threshold) and ``source_row``.
    rejected : DataFrame
        Original cells of the rows that could not be scored, plus ``source_row`` and
        ``reason``.
    report : dict
        ``rows_in``, ``rows_scored``, ``rows_rejected``, ``threshold``,
        ``predicted_churners``, ``unseen_categories``, ``imputed_cells``,
        ``outside_training_range`` (``{column: count}`` of numeric values beyond the training
        file's minimum or maximum: the model extrapolates), ``outside_training_range_detail``
        (per column: count, the range ``low``/``high``, first source ``lines`` and ``ids``;
        see :func:`churn_core.model.ranges.outside_training_range`), ``duplicate_ids``,
        ``renamed_input_columns`` (input columns named like an output column, e.g. an old
        ``churn_probability``, are kept as ``input_<name>``).
    """

    scored: pd.DataFrame
    rejected: pd.DataFrame
    report: dict = field(default_factory=dict)


def _with_source_row(frame: pd.DataFrame, first_line: int = 2) -> pd.DataFrame:
    """Make ``source_row`` a column (from the index when it holds it)."""
    if "source_row" in frame.columns:
        return frame.reset_index(drop=True)
    if frame.index.name == "source_row":
        return frame.reset_index()
    out = frame.reset_index(drop=True)
    out.insert(0, "source_row", np.arange(first_line, first_line + len(out)))
    return out


def rejected_layout(rejected: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows as written to files: ``source_row`` first, the file's cells, ``reason`` last.

    Parameters
    ----------
    rejected : DataFrame
        ``ValidationResult.rejected`` (source row as index or column; ``reason`` column).

    Returns
    -------
    DataFrame
        A new frame, the same layout whether it has rows or not.
    """
    out = _with_source_row(rejected.copy())
    if "reason" not in out.columns:
        out["reason"] = "rejected by validation"
    return out[["source_row", *(c for c in out.columns if c not in ("source_row", "reason")), "reason"]]


def _original_rows(df: pd.DataFrame, valid: pd.DataFrame) -> pd.DataFrame:
    """The original cells of the valid rows (matched by ``source_row``), plus ``source_row``."""

    lines = valid[ROW_INDEX].to_numpy()
    if df.index.name == ROW_INDEX and df.index.is_unique:
        pos = df.index.get_indexer(lines)
    else:
        pos = lines - 2
    if len(pos) and (pos.min() < 0 or pos.max() >= len(df)):
        raise RuntimeError("validated rows do not match the input rows")  # programming error
    cols = [c for c in df.columns if c not in (PARSE_ERROR_COLUMN, ROW_INDEX)]
    out = df.iloc[pos][cols].reset_index(drop=True)
    out.insert(0, ROW_INDEX, lines)
    return out


def _rename_output_clashes(df: pd.DataFrame, schema) -> tuple[pd.DataFrame, dict]:
    """Rename input columns named like an output column (not schema columns) to ``input_<name>``."""
    used = set(schema.features) | set(schema.passthrough) | {schema.target}
    clash = [c for c in df.columns if c in OUTPUT_COLUMNS and c not in used]
    if not clash:
        return df, {}
    taken, mapping = set(map(str, df.columns)), {}
    for c in clash:
        new = f"input_{c}"
        while new in taken:
            new = f"input_{new}"
        mapping[c] = new
        taken.add(new)
    out = df.rename(columns=mapping)
    out.attrs.update(df.attrs)
    return out, mapping


def score_frame(bundle: ModelBundle, df: pd.DataFrame, threshold: float | None = None,
                source_name: str | None = None, count_duplicate_ids: bool = True,
                drift_counts: bool = False) -> ScoreResult:
    """Score a customer table.

    Parameters
    ----------
    bundle : ModelBundle
    df : DataFrame of shape (n_rows, n_columns)
        As read by :func:`churn_core.io.reader.read_table` (index = source row); a target column
        is not needed.
    threshold : float in [0, 1], optional
        Decision threshold; default the bundle's (max F1 on its validation split).
    source_name : str, optional
        File name used in messages.
    count_duplicate_ids : bool, default True
        Fill ``report["duplicate_ids"]``; :func:`score_file` passes ``False`` and counts
        over the whole file instead of per chunk.
    drift_counts : bool, default False
        When the bundle has a reference profile, put the valid rows' drift counts
        (:class:`churn_core.data.profile.FileCounts`, mergeable across chunks) in
        ``report["drift_counts"]``.

    Returns
    -------
    ScoreResult
        ``len(scored) + len(rejected) == len(df)``.

    Raises
    ------
    MissingColumnsError
        Naming every feature column absent from ``df``.
    """

    thr = bundle.default_threshold if threshold is None else float(threshold)
    if not 0.0 <= thr <= 1.0:
        raise ValueError(f"the decision threshold must be in [0, 1], got {thr}")
    source_name = source_name or df.attrs.get("source_name")
    df, renamed = _rename_output_clashes(df, bundle.schema)
    bundle.check_columns(df, source_name)
    result = validate(df, bundle.schema, require_target=False, source_name=source_name,
                      count_duplicate_ids=count_duplicate_ids)
    valid = result.valid
    pre = bundle.preprocessor
    # categorical cells matched to the training categories once: encoding, unseen and blank
    # counts and the drift counts all use them
    codes = pre.category_codes(valid) if len(valid) else {}
    p = bundle.predict_proba(valid, codes=codes) if len(valid) else np.zeros(0)
    scored = _original_rows(df, valid)
    scored[PROBA] = p
    scored[PRED] = (p >= thr).astype(np.int8)
    rejected = rejected_layout(result.rejected)
    from churn_core.model.ranges import outside_training_range

    outside = outside_training_range(bundle, valid)
    report = {
        "source": source_name,
        "rows_in": int(len(df)),
        "rows_scored": int(len(scored)),
        "rows_rejected": int(len(rejected)),
        "threshold": thr,
        "predicted_churners": int(scored[PRED].sum()),
        "unseen_categories": pre.unseen_categories(valid, codes) if len(valid) else {},
        "imputed_cells": pre.missing_counts(valid, codes) if len(valid) else {},
        "outside_training_range": {c: d["count"] for c, d in outside.items()},
        "outside_training_range_detail": outside,
        "duplicate_ids": dict(result.report.duplicate_ids),
        "renamed_input_columns": renamed,
    }
    if drift_counts and getattr(bundle, "profile", None) is not None:
        exact = {c: (pre.categories[c], k.codes) for c, k in codes.items() if k.exact}
        report["drift_counts"] = bundle.profile.counter().add(valid, p, exact)
    return ScoreResult(scored, rejected, report)


def add_risk_tier(scored: pd.DataFrame, cutoffs: dict | None = None) -> pd.DataFrame:
    """Add the ``risk_tier`` column (High / Medium / Low) to scored rows, in place.

    Parameters
    ----------
    scored : DataFrame
        ``ScoreResult.scored`` (needs ``churn_probability``).
    cutoffs : dict, optional
        ``{"high": h, "medium": m}`` (default ``config.DEFAULT_TIER_CUTOFFS``); see
        :func:`churn_core.campaign.tiers.assign_tiers`.

    Returns
    -------
    DataFrame
        ``scored`` itself; ``risk_tier`` is a categorical column (categories High, Medium,
        Low), ten times cheaper to build and write than 1M Python strings.

    Notes
    -----
    Same rule as :func:`churn_core.campaign.tiers.assign_tiers`: High when ``p >= high``, Medium when
    ``medium <= p < high``, else Low.
    """

    codes = tier_codes(scored[PROBA].to_numpy(dtype=np.float64), cutoffs)
    scored[TIER] = pd.Categorical.from_codes(codes, categories=list(TIERS))
    return scored


def _prefetch(iterator, depth: int = 1):
    """Yield the items of ``iterator``, producing the next ones in a background thread.

    Reading the next chunk (pyarrow, which releases the GIL) then overlaps the scoring of the
    current one; at most ``depth`` items wait in the queue, so memory stays bounded.
    Exceptions raised by the iterator are re-raised here.
    """

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in iterator:
                if not put((None, item)):
                    return
            put((None, done))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((exc, None))

    thread = threading.Thread(target=run, name="score-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            exc, item = q.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def prefer_system_arrow_pool() -> str:
    """Make Arrow allocate with the system allocator, unless the user chose a pool.

    Arrow's default pool (mimalloc) hands freed pages back to the operating system and
    faults them in again for the next chunk; scoring 1M rows in chunks took about 8 % less
    CPU with the system allocator on the benchmark machine (2.99 vs 3.25 CPU-s, medians of 5
    alternating runs; ``benchmarks/experiments/README.md``).
    A pool chosen with the ``ARROW_DEFAULT_MEMORY_POOL`` environment variable is kept.
    Buffers remember the pool they came from, so switching is safe at any time.

    Returns
    -------
    str
        The backend now in use (``"system"``, or the user's choice).
    """

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL") and pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name


def rejected_path(out: str | Path) -> Path:
    """Path of the rejected-rows file written beside ``out`` (``name_rejected.ext``)."""
    out = Path(out)
    return out.with_name(f"{out.stem}_rejected{out.suffix}")


def score_file(bundle: ModelBundle, path: str | Path, out: str | Path, chunksize: int = 100_000,
               progress: Callable | None = None, threshold: float | None = None,
               workers: int = 2, sheet: str | int | None = None, block_size: int | None = None,
               augment: Callable | None = None, drift: bool = True) -> dict:
    """Score a (possibly huge) file chunk by chunk and write the results.

    Memory stays bounded by ``chunksize`` rows: at most ``workers + 2`` chunks are in flight
    (the next one being read and the previous one being written in background threads while
    ``workers`` chunks are scored in parallel threads). The output format follows ``out``'s extension (``.csv`` or
    ``.parquet``); scored rows get ``churn_probability``, ``predicted_churn`` and
    ``risk_tier`` (the bundle's tier cutoffs); rejected rows go to
    ``<out stem>_rejected<ext>`` beside it (always written, possibly with a header only).

    Parameters
    ----------
    bundle : ModelBundle
    path : path-like
        CSV, Parquet or XLSX customer file (read with
        :func:`churn_core.io.reader.iter_table_chunks`).
    out : path-like
        Output file, ``.csv`` or ``.parquet``.
    chunksize : int, default 100_000
        Rows per chunk.
    progress : callable, optional
        ``progress(rows_done, None)`` after each chunk.
    threshold : float, optional
        Decision threshold (default: the bundle's).
    workers : int, default 2
        Chunks scored at the same time (threads); 1 scores one chunk at a time.
    sheet : str or int, optional
        XLSX input: the sheet to score (see :func:`churn_core.io.reader.read_table`).
    block_size : int, optional
        Bytes of a text file parsed at a time (default
        :data:`churn_core.io.csv.BLOCK_BYTES`).
    augment : callable, optional
        ``augment(scored) -> scored`` adds columns to each scored chunk (e.g.
        :func:`uplift_columns`); its ``columns`` attribute names them for header-only files.
    drift : bool, default True
        Compare the file with the bundle's training profile (when it has one): result key
        ``drift`` (:class:`churn_core.campaign.drift.DriftReport`, or None).

    Returns
    -------
    dict
        ``rows_in``, ``rows_scored``, ``rows_rejected``, ``predicted_churners``, ``out``,
        ``rejected_out``, ``threshold``; ``unseen_categories`` (``{column: {value: count}}``),
        ``imputed_cells`` and ``outside_training_range`` (``{column: count}``) summed over the
        chunks, ``outside_training_range_detail`` (merged), and ``duplicate_ids`` (``{column: rows}``: scored rows whose ID appears more
        than once in the whole file); ``renamed_input_columns`` (see
        :func:`score_frame`); ``drift`` (a :class:`~churn_core.campaign.drift.DriftReport`
        of the whole file, or None when ``drift`` is off or the bundle has no profile).

    Raises
    ------
    DataFileError
        Unreadable input or an unsupported output extension.
    MissingColumnsError
        When the file lacks feature columns.
    """

    prefer_system_arrow_pool()
    path, out = Path(path), Path(out)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise DataFileError(f"output {out.name}: use a .csv or .parquet file name")
    rej_path = rejected_path(out)

    def same(p: Path) -> bool:  # same path, or the same file by another name (case, hard link)
        return p.resolve() == path.resolve() or (p.exists() and path.exists() and os.path.samefile(p, path))

    if same(out) or same(rej_path):
        which = out.name if same(out) else f"the rejected-rows file {rej_path.name}"
        raise DataFileError(f"output {which} would overwrite the input file {path.name}: choose "
                            "another --out name")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.partial")
    tmp_rej = rej_path.with_name(f".{rej_path.name}.partial")
    kind = "parquet" if out.suffix.lower() in (".parquet", ".pq") else "csv"
    w_scored, w_rej = TableWriter(tmp_out, kind), TableWriter(tmp_rej, kind)
    totals = {"rows_in": 0, "rows_scored": 0, "rows_rejected": 0, "predicted_churners": 0}
    extra: dict = {"unseen_categories": {}, "imputed_cells": {}, "outside_training_range": {},
                   "outside_training_range_detail": {},
                   "duplicate_ids": {},
                   "renamed_input_columns": {}}
    thr = bundle.default_threshold if threshold is None else float(threshold)
    header = None
    cutoffs = bundle.tier_cutoffs

    def write(res: ScoreResult) -> None:
        if len(res.scored):
            w_scored.write(res.scored)
        if len(res.rejected):
            w_rej.write(res.rejected)

    from churn_core.model.ranges import merge_details

    id_seen: dict[str, list] = {}  # ID column -> id_keys of every chunk (duplicates across chunks)

    def score_chunk(chunk: pd.DataFrame):
        if not w_scored.number_columns:  # scored rows' numeric features passed validation as numbers
            w_scored.number_columns = set(match_columns(chunk.columns, bundle.schema.numeric).values())
        chunk.attrs.setdefault("source_name", path.name)
        res = score_frame(bundle, chunk, threshold=thr, source_name=path.name, count_duplicate_ids=False,
                          drift_counts=drift)
        add_risk_tier(res.scored, cutoffs)
        if augment is not None:
            res.scored = augment(res.scored)
        ids = {col: id_keys(res.scored[col])
               for col in match_columns(res.scored.columns, bundle.schema.id_columns).values()}
        return list(chunk.columns), res, ids

    # pipeline: read chunk k+w (thread) | score chunks k..k+w-1 (w threads) | write chunk k-1
    # (thread). NumPy and pyarrow release the GIL in their kernels, so the stages share the
    # cores; results are written in input order. BLAS stays on one thread meanwhile: these
    # threads are the parallelism (a multi-threaded OpenBLAS doubled the CPU-s of a 1M-row
    # `score` process on 2 cores, benchmarks/bench_process.py).
    from churn_core.model.numpy_net import single_thread_blas

    one_blas = single_thread_blas()
    one_blas.__enter__()
    workers = max(1, int(workers))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-writer")
    scorers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="score-worker")
    inflight: deque = deque()
    pending = None
    profile = getattr(bundle, "profile", None) if drift else None
    file_counts = profile.counter() if profile is not None else None

    def finish_one() -> None:
        nonlocal header, pending
        columns, res, ids = inflight.popleft().result()
        for col, keys in ids.items():
            id_seen.setdefault(col, []).append(keys)
        header = header or [res.report["renamed_input_columns"].get(c, c) for c in columns]
        if pending is not None:
            pending.result()
        pending = pool.submit(write, res)
        for k in totals:
            totals[k] += res.report[k]
        for k in ("unseen_categories", "imputed_cells", "outside_training_range"):
            _merge_counts(extra[k], res.report.get(k, {}))
        merge_details(extra["outside_training_range_detail"],
                      res.report.get("outside_training_range_detail", {}))
        extra["renamed_input_columns"].update(res.report["renamed_input_columns"])
        if "drift_counts" in res.report:
            file_counts.merge(res.report.pop("drift_counts"))
        if progress is not None:
            progress(totals["rows_in"], None)

    try:
        try:
            for chunk, _first in _prefetch(iter_table_chunks(path, chunksize=chunksize, sheet=sheet,
                                                                  **({"block_size": block_size} if block_size else {}))):
                inflight.append(scorers.submit(score_chunk, chunk))
                if len(inflight) >= workers:
                    finish_one()
            while inflight:
                finish_one()
            if pending is not None:
                pending.result()
                pending = None
            for col in list(id_seen):  # over the whole file, not chunk by chunk
                shared = count_shared_ids(id_seen.pop(col))
                if shared:
                    extra["duplicate_ids"][col] = shared
            header = header or []
            w_scored.close([ROW_INDEX, *header, *SCORE_COLUMNS, TIER,
                            *getattr(augment, "columns", ())])
            w_rej.close([ROW_INDEX, *header, REASON])
            tmp_out.replace(out)
            tmp_rej.replace(rej_path)
        except OSError as exc:  # disk full, no permission: one line, no partial file left
            raise write_error(exc, out, f"the scored rows and the rejected rows ({rej_path.name})") from None
    except BaseException:
        for f in inflight:
            f.cancel()
        if pending is not None:
            pending.cancel()
            try:
                pending.result()
            except BaseException:  # noqa: BLE001 - the first error is re-raised below
                pass
        for w in (w_scored, w_rej):
            w.abort()
        tmp_out.unlink(missing_ok=True)
        tmp_rej.unlink(missing_ok=True)
        raise
    finally:
        scorers.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True)
        one_blas.__exit__(None, None, None)
    report = None
    if file_counts is not None:
        from churn_core.campaign.drift import compare

        report = compare(profile, file_counts, source=path.name)
    return {**totals, **extra, "threshold": thr, "out": str(out), "rejected_out": str(rej_path),
            "drift": report}


def uplift_columns(uplift_bundle) -> Callable:
    """An ``augment`` for :func:`score_file`: adds ``uplift`` and ``uplift_segment``.

    Parameters
    ----------
    uplift_bundle : churn_core.model.uplift.UpliftBundle

    Returns
    -------
    callable
        ``f(scored) -> scored`` with ``uplift`` (drop in churn probability a call brings, in
        [-1, 1]; blank where the uplift model cannot use the row) and ``uplift_segment``.
    """
    from churn_core.io.reader import ROW_INDEX

    def add(scored: pd.DataFrame) -> pd.DataFrame:
        rows = scored.drop(columns=[ROW_INDEX]).set_axis(scored[ROW_INDEX].to_numpy())
        rows.index.name = ROW_INDEX
        pred = uplift_bundle.predict(rows)
        scored["uplift"] = pred["uplift"].to_numpy()
        scored["uplift_segment"] = pred["uplift_segment"].to_numpy()
        return scored

    add.columns = ("uplift", "uplift_segment")
    return add


def _merge_counts(into: dict, add: dict) -> None:
    """Add nested ``{key: count}`` / ``{col: {value: count}}`` counts of one chunk to ``into``."""
    for k, v in add.items():
        if isinstance(v, dict):
            _merge_counts(into.setdefault(k, {}), v)
        else:
            into[k] = into.get(k, 0) + int(v)
