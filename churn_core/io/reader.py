"""Read a customer table (CSV/TSV/TXT, gzip, Parquet, XLSX) from a path, bytes or an upload.

The front door of :mod:`churn_core.io`: the format comes from the file's first bytes, then
:mod:`~churn_core.io.csv`, :mod:`~churn_core.io.excel` or :mod:`~churn_core.io.parquet` reads
it. Text files are read with every cell as text (``str`` dtype, blank cells missing) so that
:mod:`churn_core.data.validate` owns typing and can name the bad cell. The frame's index
(``source_row``) holds the row an analyst sees when the file is opened in Excel or
LibreOffice: the header is row 1 (or the row after skipped title rows) and a record whose
quoted cells hold line breaks is one row; Parquet rows are numbered from 1.
"""
from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Iterator

import pandas as pd

from churn_core.errors import DataFileError
from churn_core.io.csv import BLOCK_BYTES, iter_csv_chunks, read_csv_bytes
from churn_core.io.excel import read_xlsx
from churn_core.io.parquet import iter_parquet, read_parquet
from churn_core.io.report import PARSE_ERROR_COLUMN, ROW_INDEX, ReadReport

__all__ = ["read_table", "iter_table_chunks", "ReadReport", "PARSE_ERROR_COLUMN", "ROW_INDEX",
           "DataFileError", "MAX_GUNZIP_BYTES"]

_PARQUET_EXT = {".parquet", ".pq"}
_XLSX_EXT = {".xlsx", ".xlsm"}
_GZIP_MAGIC = b"\x1f\x8b"
#: A gzip-compressed upload may expand to at most this many bytes (a zip bomb stops here);
#: :func:`iter_table_chunks` streams compressed files of any size.
MAX_GUNZIP_BYTES = 1 << 30
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _source_bytes(source, name: str | None) -> tuple[bytes, str]:
    """Return the raw bytes of ``source`` and a display name."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataFileError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise DataFileError(f"{path}: is a folder, not a file") from None
        except OSError as exc:
            raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        return data, name or path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "uploaded file"
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read()
    else:
        raise DataFileError(f"cannot read a table from an object of type {type(source).__name__}")
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data), name or getattr(source, "name", None) or "uploaded file"


def _detect_format(data: bytes, name: str) -> str:
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataFileError(f"{name}: this is an old Excel .xls workbook; save it as .xlsx or as CSV UTF-8")
    suffix = Path(name).suffix.lower()
    if suffix in _PARQUET_EXT:
        raise DataFileError(f"{name}: not a valid Parquet file (missing 'PAR1' signature)")
    if suffix in _XLSX_EXT:
        raise DataFileError(f"{name}: not a valid .xlsx workbook (it is not a zip archive)")
    return "csv"


def _gunzip(data: bytes, name: str) -> bytes:
    """The decompressed bytes of a gzip file held in memory (at most :data:`MAX_GUNZIP_BYTES`)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(MAX_GUNZIP_BYTES + 1)
    except _GZIP_ERRORS as exc:
        raise DataFileError(f"{name}: damaged or cut-off gzip file ({exc}); compress it again") from None
    if len(out) > MAX_GUNZIP_BYTES:
        raise DataFileError(f"{name}: decompresses to more than {MAX_GUNZIP_BYTES >> 20} MB; score it "
                            "with the command line (python -m churn_core score), which streams it")
    return out


def read_table(source, name: str | None = None, sheet: str | int | None = None) -> tuple[pd.DataFrame, ReadReport]:
    """Read a customer table from a path, bytes or a file-like object.

    Parameters
    ----------
    source : str, Path, bytes or file-like
        A file path, raw bytes, or an object with ``getvalue()``/``read()`` (e.g. Streamlit's
        ``UploadedFile``).
    name : str, optional
        Display name used in messages; defaults to the file name.
    sheet : str or int, optional
        XLSX only: the sheet to read (name or 0-based position); see :mod:`churn_core.io.excel`.

    Returns
    -------
    df : DataFrame of shape (n_rows, n_columns)
        CSV/XLSX cells as text (``str`` dtype, blank cells missing); Parquet keeps its column
        types. The index (``source_row``) holds each row's spreadsheet row (header = row 1;
        Parquet rows from 1). ``df.attrs`` holds ``source_name``, ``line_word`` (``"row"``)
        and ``decimal``.
    report : ReadReport
        Format, encoding, delimiter, number style, rows read, cleaned columns, warnings.

    Raises
    ------
    DataFileError
        Empty, unreadable or binary files; undecodable bytes (naming row, column and the
        fix); a file that reads as one column although its header holds a delimiter; a quote
        that swallows rows (naming the row where it opens); a mostly blank header row;
        several XLSX sheets with the same columns and no ``sheet``.

    Notes
    -----
    The format comes from magic bytes (``PAR1`` Parquet, ``PK`` zip = XLSX), else the file is
    treated as delimited text; a gzip-compressed file (``.csv.gz``) is decompressed first, up
    to :data:`MAX_GUNZIP_BYTES`. Encodings tried: UTF-16 (BOM), UTF-8 (BOM stripped), then
    Windows-1252 (:mod:`churn_core.io.encoding`). The delimiter is the one of ``, ; tab |``
    that splits the first lines into the most consistent number of fields.
    """
    data, display = _source_bytes(source, name)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, display)
    if not data:
        raise DataFileError(f"{display}: the file is empty")
    fmt = _detect_format(data, display)
    if fmt == "parquet":
        return read_parquet(data, display)
    if fmt == "xlsx":
        return read_xlsx(data, display, sheet)
    return read_csv_bytes(data, display)


def _slices(df: pd.DataFrame, chunksize: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """A table read whole, in chunks (one empty chunk for a table without rows)."""
    for start in range(0, max(len(df), 1), chunksize):
        part = df.iloc[start:start + chunksize]
        if len(part) or start == 0:
            yield part, int(part.index[0]) if len(part) else 2


def header_warnings(path, sheet: str | int | None = None) -> list[str]:
    """The header notes (duplicate or blank headers, :func:`churn_core.io.report.header_notes`)
    of a file, read from its first 64 KiB only for a text file (a command that streams the
    file, e.g. ``score``, prints them before its work); an XLSX or Parquet file is read whole.

    Parameters
    ----------
    path : str or Path
    sheet : str or int, optional
        XLSX only.

    Returns
    -------
    list of str
        Empty when there is none or the file cannot be read (the command's own read then
        says why).
    """
    from churn_core.io.report import header_notes

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
        if head[:2] == _GZIP_MAGIC:
            with gzip.open(path, "rb") as fh:
                head = fh.read(65536)
        if _detect_format(head, path.name) == "csv":
            cut = head.rfind(b"\n")
            source = head[:cut + 1] if cut > 0 else head
            return header_notes(read_table(source, name=path.name)[1].warnings)
        return header_notes(read_table(path, sheet=sheet)[1].warnings)
    except Exception:  # noqa: BLE001 - the command's own read reports the problem
        return []


def iter_table_chunks(path, chunksize: int = 200_000, sheet: str | int | None = None,
                      block_size: int = BLOCK_BYTES) -> Iterator[tuple[pd.DataFrame, int]]:
    """Yield a large table in chunks so it can be scored in bounded memory.

    Parameters
    ----------
    path : str or Path
        CSV/TSV/TXT or Parquet file, or a gzip-compressed one (``.csv.gz``, streamed); XLSX
        is read whole, then sliced.
    chunksize : int, default 200_000
        Maximum rows per chunk.
    sheet : str or int, optional
        XLSX only, as in :func:`read_table`.
    block_size : int, default :data:`churn_core.io.csv.BLOCK_BYTES`
        Bytes of a text file read and parsed at a time (memory is a few blocks plus a chunk).

    Yields
    ------
    chunk : DataFrame
        Same layout as :func:`read_table` (text cells for CSV, ``source_row`` index).
    first_row : int
        Spreadsheet row of the chunk's first row.

    Raises
    ------
    DataFileError
        As :func:`read_table`.

    Notes
    -----
    Text files are streamed by :func:`pyarrow.csv.open_csv` (:func:`churn_core.io.csv.iter_csv_chunks`);
    the chunks concatenate to exactly what :func:`read_table` returns.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if head[:2] == _GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as fh:
                inner = _detect_format(fh.read(65536), path.name)
            if inner != "csv":  # Parquet/XLSX inside
                yield from _slices(read_table(path, sheet=sheet)[0], chunksize)
                return
            yield from iter_csv_chunks(lambda: gzip.open(path, "rb"), path.name, chunksize, block_size)
        except _GZIP_ERRORS as exc:
            raise DataFileError(f"{path.name}: damaged or cut-off gzip file ({exc}); compress it again") from None
        return
    fmt = _detect_format(head, path.name)
    if fmt == "parquet":
        yield from iter_parquet(path, chunksize)
    elif fmt == "xlsx":
        yield from _slices(read_table(path, sheet=sheet)[0], chunksize)
    else:
        yield from iter_csv_chunks(lambda: open(path, "rb"), path.name, chunksize, block_size)
