"""Parquet files to frames (column types kept; nested cells as JSON text), whole or in batches."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from churn_core.errors import DataFileError
from churn_core.io.report import ReadReport, clean_headers, finish


def nested_as_text(df: pd.DataFrame, report: ReadReport | None = None) -> pd.DataFrame:
    """Turn list/struct/map cells (Parquet nested types) into JSON text, in place.

    Such cells cannot be hashed, categorised or written to CSV; as text they pass through to
    every output like any other extra column.
    """
    def text(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=lambda o: o.tolist()
                          if isinstance(o, np.ndarray) else str(o))

    for col in df.columns:
        if df[col].dtype != object:
            continue
        first = df[col].dropna().head(1)
        if len(first) and isinstance(first.iloc[0], (list, tuple, dict, np.ndarray)):
            df[col] = pd.array([text(v) for v in df[col]], dtype="str")
            if report is not None:
                report.warnings.append(f"column {col!r} holds lists or records; read as text")
    return df


def read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, ReadReport]:
    """Read a Parquet file held in memory; rows are numbered from 1 (no header row)."""
    report = ReadReport(source=name, format="parquet")
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise DataFileError(f"{name}: cannot be read as Parquet ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())})") from None
    df = nested_as_text(df.reset_index(drop=True), report)
    df.columns = clean_headers(list(df.columns), report)
    return finish(df, np.arange(1, len(df) + 1), report), report


def iter_parquet(path, chunksize: int):
    """Chunks of a Parquet file read batch by batch: ``(frame, first_row)``."""
    import pyarrow.parquet as pq

    name = getattr(path, "name", str(path))
    try:
        pf = pq.ParquetFile(path)
        names = clean_headers(pf.schema_arrow.names, ReadReport(source=name, format="parquet"))
        batches = pf.iter_batches(batch_size=chunksize)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise DataFileError(f"{name}: cannot be read as Parquet ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())})") from None
    first = 1
    while True:
        try:
            batch = next(batches, None)
        except (OSError, ValueError) as exc:  # a file cut off after its footer was read
            raise DataFileError(f"{name}: cannot be read as Parquet from row {first:,} on "
                                f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
        if batch is None:
            break
        df = nested_as_text(batch.to_pandas())
        df.columns = names
        yield finish(df, np.arange(first, first + len(df)), ReadReport(name, "parquet")), first
        first += len(df)
