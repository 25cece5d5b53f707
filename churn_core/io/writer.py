"""Every file we write for an analyst: spreadsheet-safe cells, one CSV/XLSX/Parquet writer,
and no half-written file.

Formula injection (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection):
a text cell a spreadsheet would run as a formula gets a leading apostrophe, so it is shown as
text. Such a cell starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line
feed, or with spaces (or other blanks) before ``=``, ``+``, ``-`` or ``@``; a plain number
(``-12.5``) is no formula and stays a number. CSV cells holding a carriage return or a line
feed are always quoted (lines end with CRLF, RFC 4180), so a cell can never end its row early
and start the next one with ``=cmd|...``. The app's downloads (:mod:`churn_core.campaign.export`)
and the command line's files (:mod:`churn_core.campaign.scoring`, training's rejected rows)
all go through this module.

Disk full: :func:`write_atomically` writes to a hidden partial file next to the target and
renames it into place, so a failed write (``ENOSPC``, no permission) leaves no partial file and
the previous file, if any, untouched; the error says so in one line (:class:`WriteError`).
"""
from __future__ import annotations

import csv
import errno
import io
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from churn_core.errors import WriteError

#: first characters of a cell that may be a formula (blanks: a formula may follow them)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", " ", "\f", "\v")
#: a formula start, also after leading blanks (`` =1+1``, ``\r=cmd``); the same pattern for
#: Python's re and Arrow's RE2 (explicit blanks: their ``\s`` differ beyond ASCII)
_FORMULA_PATTERN = r"^(?:[=+\-@\t\r\n]|[ \t\r\n\f\v]+[=+\-@])"
_FORMULA = re.compile(_FORMULA_PATTERN)
NUMBER_BODY = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_NUMBER = re.compile(r"^\s*" + NUMBER_BODY + r"\s*$")
#: CSV line end: CRLF, so the csv module quotes every cell holding a CR or an LF
LINE_END = "\r\n"


def is_text_column(s: pd.Series) -> bool:
    """Whether ``s`` holds text (object or string dtype)."""
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame
        A copy where every text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
        return (and not a plain number such as ``-12.5``) becomes ``"'" + cell``; numeric
        columns and all other cells are unchanged. Column names are treated the same way.

    Notes
    -----
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).
    """
    fix = neutralise_text
    out = df.copy()
    for c in out.columns:
        if is_text_column(out[c]):
            out[c] = out[c].map(fix, na_action="ignore").astype(object)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def neutralise_arrow_table(table, skip=()):
    """Arrow twin of :func:`neutralise_formulas`, for CSV files written in a stream.

    Parameters
    ----------
    table : pyarrow.Table
    skip : collection of str, default ()
        Columns known to hold only numbers or blanks (e.g. numeric features of validated,
        scored rows): not scanned (a number is never neutralised).

    Returns
    -------
    pyarrow.Table
        The same table where every text cell (and column name) starting with ``=``, ``+``,
        ``-``, ``@``, tab or carriage return, and not a plain number, gets a leading
        apostrophe; other columns (including dictionary-encoded ones) are untouched.

    Notes
    -----
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).

    A text column is first screened by the first byte of each cell, read from the Arrow
    buffers with NumPy (:func:`_may_start_formula`, about 0.1 ms per 100,000 cells); only a
    column where some cell starts with one of those characters goes through the exact
    ``pyarrow.compute`` regex checks (which spare plain numbers such as ``-12.5``).
    """

    columns = []
    for name, col in zip(table.column_names, table.columns):
        if name not in skip and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            if not _may_start_formula(col):  # the usual case: no cell starts with = + - @ or a blank
                columns.append(col)
                continue
            starts = pc.match_substring_regex(col, _FORMULA_PATTERN)
            if not pc.any(starts).as_py():  # (the screen above already said some cell does)
                columns.append(col)
                continue
            risky = pc.and_(starts, pc.invert(pc.match_substring_regex(col, _NUMBER.pattern)))
            if pc.any(risky).as_py():
                quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)
                col = pc.if_else(risky, pc.binary_join_element_wise(quote, col, empty), col)
        columns.append(col)
    names = [neutralise_text(str(c)) for c in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


#: ``_FORMULA_START`` as UTF-8 bytes (all ASCII).
_FORMULA_BYTES = tuple(ord(c) for c in _FORMULA_START)


def _may_start_formula(col) -> bool:
    """Whether some non-null cell of a string / large_string Array or ChunkedArray starts
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return.

    Reads the first byte of every non-empty cell straight from the Arrow buffers (offsets:
    int32 for string, int64 for large_string, from the array's ``offset``; data: UTF-8
    bytes). An ASCII byte never occurs inside a multi-byte UTF-8 character, so a cell starts
    with one of those characters exactly when its first byte is that character. Null cells
    are masked out with the validity bitmap (only when a candidate is found).

    Returns
    -------
    bool
        True exactly when some non-null cell starts with one of them (as the regex check in
        :func:`neutralise_arrow_table` would find).
    """
    for chunk in getattr(col, "chunks", (col,)):
        n = len(chunk)
        if n == 0 or chunk.null_count == n:
            continue
        buffers = arrow_string_buffers(chunk)
        if buffers is None:
            continue  # every cell empty (or null)
        offsets, data = buffers
        starts = offsets[:-1]
        # mode="clip": an empty cell at the very end may start at len(data); it is masked below
        first = data.take(starts, mode="clip")
        hit = first == _FORMULA_BYTES[0]  # a few SIMD compares: faster than a lookup table
        for b in _FORMULA_BYTES[1:]:
            hit |= first == b
        if not hit.any():
            continue
        hit &= offsets[1:] > starts  # empty cells have no first character
        if chunk.null_count:
            hit &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if hit.any():
            return True
    return False


def arrow_string_buffers(chunk) -> tuple[np.ndarray, np.ndarray] | None:
    """NumPy views of a string / large_string Arrow array's offsets and UTF-8 bytes.

    Parameters
    ----------
    chunk : pyarrow.Array
        One string or large_string array (a chunk of a ChunkedArray), possibly sliced.

    Returns
    -------
    offsets : ndarray of shape (len(chunk) + 1,), int32 or int64
        Cell ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (the array's ``offset`` applied).
    data : ndarray of uint8
        The whole data buffer (zero-copy).
    None
        When the array holds no bytes (every cell empty or null).
    """

    _, offsets_buf, data_buf = chunk.buffers()[:3]
    if offsets_buf is None or data_buf is None or data_buf.size == 0:
        return None
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width, count=chunk.offset + len(chunk) + 1)[chunk.offset:]
    return offsets, np.frombuffer(data_buf, dtype=np.uint8)


def neutralise_text(v):
    """``"'" + v`` when ``v`` is text a spreadsheet would run as a formula, else ``v``."""
    if isinstance(v, str) and _FORMULA.match(v) and not _NUMBER.match(v):
        return "'" + v
    return v




#: Rows Arrow's CSV writer formats at a time: 8,192 instead of its 1,024 wrote a 100,000-row
#: scored chunk in a fifth less CPU (the same bytes).
CSV_BATCH_ROWS = 8192


class TableWriter:
    """Append DataFrames to one CSV or Parquet file with a fixed column layout (text cells
    neutralised in CSV; CRLF line ends, every string quoted by Arrow's writer)."""

    def __init__(self, path: Path, kind: str):
        self.path = path
        self.kind = kind
        self.columns = None
        self._pq = None
        self._schema = None
        self._csv = None
        self.rows = 0
        #: columns holding only validated numbers (no formula check needed)
        self.number_columns: set = set()

    def write(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = list(frame.columns)
        frame = frame.reindex(columns=self.columns)
        if self.kind == "csv":
            self._write_csv(frame)
        else:
            if self._pq is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                # all-null columns in the first chunk: store as text so later chunks fit
                self._schema = pa.schema([
                    pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                    for f in table.schema
                ])
                self._pq = pq.ParquetWriter(self.path, self._schema)
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False, safe=False)
            self._pq.write_table(table)
        self.rows += len(frame)

    def _write_csv(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` as CSV rows with pyarrow's C++ writer (about 15x faster than
        ``DataFrame.to_csv``); the header is written once by the :mod:`csv` module (quoted
        only when needed), and chunks Arrow cannot convert fall back to pandas."""
        if self._csv is None:
            self._csv = open(self.path, "w" if self.rows == 0 else "a", newline="", encoding="utf-8")
            if self.rows == 0:
                csv.writer(self._csv, lineterminator=LINE_END).writerow(
                    list(neutralise_formulas(pd.DataFrame(columns=[str(c) for c in self.columns])).columns))
                self._csv.flush()
        # exports neutralise spreadsheet formulas (CSV injection); numbers stay numbers
        try:
            table = neutralise_arrow_table(pa.Table.from_pandas(frame, preserve_index=False),
                                           skip=self.number_columns)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            self._csv.write(neutralise_formulas(frame).to_csv(index=False, header=False, lineterminator=LINE_END))
            return
        self._csv.flush()
        try:
            pacsv.write_csv(table, self._csv.buffer,
                            pacsv.WriteOptions(include_header=False, quoting_style="needed", eol=LINE_END,
                                               batch_size=CSV_BATCH_ROWS))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # a type Arrow's CSV writer refuses (checked before any row is written)
            self._csv.write(neutralise_formulas(frame).to_csv(index=False, header=False, lineterminator=LINE_END))
            return
        self._csv.buffer.flush()

    def abort(self) -> None:
        """Close the file after an error (the caller removes it)."""
        if self._pq is not None:
            self._pq.close()
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    def close(self, empty_columns) -> None:
        """Finish the file (a header-only file when nothing was written)."""
        if self.columns is None:  # nothing written: still leave a file with a header
            self.columns = list(empty_columns)
            self.write(pd.DataFrame(columns=self.columns))
        if self._pq is not None:
            self._pq.close()
        if self._csv is not None:
            self._csv.close()
            self._csv = None


def csv_bytes(df: pd.DataFrame, neutralise: bool = True, excel_bom: bool = True) -> bytes:
    """A table as CSV file content: formulas neutralised, CR/LF cells quoted, CRLF line ends.

    Parameters
    ----------
    df : DataFrame
    neutralise : bool, default True
        Apply :func:`neutralise_formulas`.
    excel_bom : bool, default True
        Start with a UTF-8 byte-order mark so Excel shows accents right.

    Returns
    -------
    bytes
    """
    out = neutralise_formulas(df) if neutralise else df
    return out.to_csv(index=False, lineterminator=LINE_END).encode("utf-8-sig" if excel_bom else "utf-8")


def xlsx_bytes(sheets: dict) -> bytes:
    """An .xlsx workbook (openpyxl) of ``{sheet name: DataFrame}`` with formula-like text kept as text.

    A text cell a spreadsheet would run as a formula (see :func:`neutralise_formulas`) is
    written as a string cell with Excel's *quote prefix* style: Excel shows the text exactly
    as it is (no visible apostrophe, so an ID ``=1+1`` still matches the CRM) and keeps it
    text when the cell is edited. openpyxl alone would store a cell starting with ``=`` as a
    formula. Column names are treated the same way.

    Parameters
    ----------
    sheets : dict of str to DataFrame

    Returns
    -------
    bytes
        The workbook file.

    Notes
    -----
    ``quotePrefix`` is the cell-format attribute of ECMA-376 Part 1, 18.8.45 (xf); openpyxl
    exposes it as ``cell.quotePrefix``.
    """
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            safe = neutralise_formulas(frame)
            safe.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for j, (orig, new) in enumerate(zip(map(str, frame.columns), safe.columns), start=1):
                if orig != new:
                    _text_cell(ws.cell(row=1, column=j), orig)
            for j, c in enumerate(frame.columns, start=1):
                if not is_text_column(frame[c]):
                    continue
                before, after = frame[c].to_numpy(dtype=object), safe.iloc[:, j - 1].to_numpy(dtype=object)
                for i in np.flatnonzero([isinstance(a, str) and a != b for a, b in zip(before, after)]):
                    _text_cell(ws.cell(row=int(i) + 2, column=j), before[i])
    return buf.getvalue()


def _text_cell(cell, value: str) -> None:
    """Store ``value`` in an openpyxl cell as text with the quote-prefix style."""
    cell.value = value
    cell.data_type = "s"  # openpyxl infers "f" (formula) for text starting with "="
    cell.quotePrefix = True


def partial_path(path: Path) -> Path:
    """The hidden file a write goes to before it is renamed to ``path``."""
    return path.with_name(f".{path.name}.partial")


def write_error(exc: OSError, path: Path, what: str, kept: bool | None = None) -> WriteError:
    """The one-line :class:`WriteError` for an ``OSError`` while writing ``what`` to ``path``.

    ``kept``: whether a previous file at ``path`` is left unchanged (default: whether one exists).
    """
    kept = path.exists() if kept is None else kept
    why = ("the disk is full" if exc.errno == errno.ENOSPC else
           "no permission to write there" if exc.errno in (errno.EACCES, errno.EPERM) else
           (exc.strerror or str(exc)))
    left = "the previous file there is unchanged" if kept else "no file was left there"
    return WriteError(f"{path}: cannot write {what}: {why}; nothing was written ({left}); free space or "
                      "choose another place and run again")


def write_atomically(path, write: Callable[[Path], None], what: str) -> Path:
    """Call ``write(partial)`` then rename the partial file to ``path``.

    Parameters
    ----------
    path : str or Path
        Final file.
    write : callable
        Writes the whole file to the path it is given.
    what : str
        What the file holds, for the message (``"the scored rows"``).

    Returns
    -------
    Path

    Raises
    ------
    WriteError
        On any ``OSError`` (disk full, permission): one line naming ``path`` and what was
        not written; the partial file is removed and a previous ``path`` is untouched.
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as exc:
        raise write_error(exc, path, what) from None
    finally:
        partial.unlink(missing_ok=True)
    return path
