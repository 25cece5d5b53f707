"""Delimited text files (CSV/TSV/TXT, gzip-compressed or not) to frames of text cells.

pyarrow reads the records (:func:`pyarrow.csv.read_csv` for a file in memory,
:func:`pyarrow.csv.open_csv` streaming for a big one). Rows are records, numbered as a
spreadsheet numbers them: the header is row ``h`` (1, or the row after skipped title rows)
and record ``i`` after it is row ``h + 1 + i``, whatever line breaks its quoted cells hold.
A blank line is a row too (Excel shows it empty) but no customer: it is not in the frame.

Files pyarrow would read with a record of the wrong width (a ragged or cut-off row, an
unclosed quote) or with blank lines are read by the standard library :mod:`csv` module,
which keeps every record: a record with too many or too few fields carries a message in
:data:`PARSE_ERROR_COLUMN` and is rejected by validation, never dropped. A quote that opens a
cell and swallows what look like further rows is refused, naming the row where it opens.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from churn_core.errors import DataFileError
from churn_core.io.encoding import Utf8Stream
from churn_core.io.layout import csv_layout, number_style, text_layout
from churn_core.io.report import PARSE_ERROR_COLUMN, ReadReport, column_letter, finish

#: Bytes pyarrow parses at a time when a file is streamed (also the raw read size).
BLOCK_BYTES = 1 << 20
# the csv module refuses cells over 128 kB by default; a long note is a cell like any other
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
_LINE_END = re.compile(rb"\r\n|\r|\n")


class _Trouble(Exception):
    """pyarrow met a record it cannot read as the header's fields: read with :mod:`csv`."""


def header_end(data: bytes, delimiter: str) -> int:
    """Byte offset just past the header record of ``data`` (quoted line breaks included)."""
    head = data[:1 << 20].decode("utf-8", "replace")
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    next(reader, None)
    lines, end = reader.line_num, 0
    for k, m in enumerate(_LINE_END.finditer(data), start=1):
        end = m.end()
        if k == lines:
            return end
    return len(data)


def _options(names: list[str], delimiter: str, *, quoted: bool = True, threads: bool = True,
             block: int | None = None, handler: Callable | None = None):
    read = pacsv.ReadOptions(column_names=names, use_threads=threads,
                             **({"block_size": int(block)} if block else {}))
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if quoted else False,
                               newlines_in_values=quoted, ignore_empty_lines=False,
                               invalid_row_handler=handler)
    # large_string: the storage of pandas' ``str`` columns (to_pandas need not cast the offsets)
    convert = pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                   strings_can_be_null=True, quoted_strings_can_be_null=True,
                                   null_values=[""])
    return dict(read_options=read, parse_options=parse, convert_options=convert)


def _flagging_handler(seen: list) -> Callable:
    def handler(row) -> str:  # a record of the wrong width: the csv module reads this file
        seen.append(row.number)
        return "skip"
    return handler


def _has_empty_rows(table) -> bool:
    """Whether some row of an Arrow table or batch has every cell null: a blank line (pyarrow
    reads one as such a row) or a row of empty fields. Only then must the :mod:`csv` module
    tell the two apart; a column without nulls (an ID) answers "no" at once."""
    if table.num_rows == 0:
        return False
    mask = None
    for col in table.columns:
        if col.null_count == 0:
            return False
        nulls = col.is_null()
        mask = nulls if mask is None else pc.and_(mask, nulls)
    return bool(pc.any(mask).as_py())


def _check_merged(df: pd.DataFrame, rows: np.ndarray, names: list[str], delimiter: str, name: str,
                  ragged: np.ndarray | None = None) -> None:
    """Refuse a quote that swallows rows: a cell holding line breaks that is in a record of
    the wrong width, or whose lines after the first hold as many delimiters as a whole row.

    Raises
    ------
    DataFileError
        Naming the row where the quote opens, the column and the rows it takes in.
    """
    width = len(names)
    for j, col in enumerate(names):
        s = df[col]
        multi = s.str.contains("\n", regex=False, na=False) | s.str.contains("\r", regex=False, na=False)
        for i in np.flatnonzero(multi.to_numpy()):
            lines = str(s.iloc[i]).splitlines()
            rowlike = sum(ln.count(delimiter) >= width - 1 for ln in lines[1:]) if width >= 3 else 0
            if rowlike or (ragged is not None and ragged[i]):
                raise DataFileError(
                    f"{name}: row {rows[i]}, column {col!r} ({column_letter(j + 1)}): a quote (\") opens this "
                    f"cell and is not closed where the cell ends, so the cell runs over {len(lines) - 1} line "
                    f"break(s) and takes in {max(rowlike, 1)} line(s) that look like further rows; close or "
                    f"remove the quote in row {rows[i]} and save the file again")


def shift_rows_named(message: str, shift: int) -> str:
    """A reader's message (an error, or a parse-error reason of :func:`_records_frame`) with
    every ``row N`` moved by ``shift`` rows: for a piece of a file read on its own (a Dask
    range), so that it names the row of the whole file, as the index does.

    Parameters
    ----------
    message : str
    shift : int
        Rows of the file before the piece.

    Returns
    -------
    str
    """
    return re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) + shift}", message) if shift else message


def _records_frame(records: list[list[str]], rows: list[int], names: list[str], report: ReadReport):
    """A frame of text cells from csv-module records (ragged ones flagged)."""
    width, errors, short, cells = len(names), [], 0, []
    for rec, row in zip(records, rows):
        err = None
        if len(rec) > width:
            if any(f.strip() for f in rec[width:]):
                err = (f"row {row} has {len(rec)} fields but the header has {width} "
                       f"(check the delimiter {report.delimiter!r} and quoting)")
            rec = rec[:width]
        elif len(rec) < width:  # a cut-off row: rejected, never a customer with invented cells
            short += 1
            err = f"row {row} has {len(rec)} fields but the header has {width} (a cut-off row? check the export)"
            rec = rec + [""] * (width - len(rec))
        cells.append(rec)
        errors.append(err)
    columns = list(zip(*cells)) if cells else [()] * width
    arrays = []
    for col in columns:  # column by column in Arrow: blank cells missing
        arr = pa.array(col, pa.string())
        arrays.append(pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr))
    df = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(width)]).to_pandas()
    df.columns = names
    if any(errors):
        df[PARSE_ERROR_COLUMN] = pd.Series(errors, dtype="object").to_numpy()
    return df, errors, short


def _tolerant(lines: Iterable[str], names: list[str], report: ReadReport, chunksize: int,
              skip: int = 0) -> Iterator[tuple[pd.DataFrame, int]]:
    """Frames of up to ``chunksize`` rows from text after the header (csv module), skipping
    the first ``skip`` records (already read by pyarrow). Blank lines count as rows but are
    not in the frames; warnings for ragged rows go to ``report``."""
    reader = csv.reader(lines, delimiter=report.delimiter)
    row = report.header_line + 1
    records, rows = [], []
    long = short = 0
    mark = (0, row)  # physical lines and rows before the piece: more lines than rows = line breaks in cells
    try:
        for rec in reader:
            if skip:
                skip, row = skip - 1, row + 1
                mark = (reader.line_num, row)
                continue
            if rec and not (len(rec) == 1 and not rec[0].strip() and len(names) > 1):
                records.append(rec)
                rows.append(row)
            row += 1
            if len(records) >= chunksize:
                df, errors, s = _records_frame(records, rows, names, report)
                long, short = long + sum(e is not None for e in errors) - s, short + s
                yield df, rows, reader.line_num - mark[0] != row - mark[1]
                records, rows, mark = [], [], (reader.line_num, row)
    except csv.Error as exc:
        raise DataFileError(f"{report.source}: row {row}: cannot be parsed ({exc})") from None
    df, errors, s = _records_frame(records, rows, names, report)
    long, short = long + sum(e is not None for e in errors) - s, short + s
    if long:
        report.warnings.append(f"{long} row(s) have more fields than the header: rejected")
    if short:
        report.warnings.append(f"{short} row(s) have fewer fields than the header: rejected")
    yield df, rows, reader.line_num - mark[0] != row - mark[1]


def _finish_piece(df: pd.DataFrame, rows, report: ReadReport, first: bool, quoted: bool = True) -> pd.DataFrame:
    """Index, attributes and number style of a piece; ``quoted``: whether the text held a
    quote so far (without one no cell holds a line break: no check needed)."""
    rows = np.asarray(rows, dtype=np.int64)
    if quoted:
        ragged = df[PARSE_ERROR_COLUMN].notna().to_numpy() if PARSE_ERROR_COLUMN in df.columns else None
        names = [c for c in df.columns if c != PARSE_ERROR_COLUMN]
        _check_merged(df, rows, names, report.delimiter, report.source, ragged)
    if first:
        report.decimal, report.thousands = number_style(df, report.delimiter)
    out = ReadReport(report.source, "csv", encoding=report.encoding, delimiter=report.delimiter,
                     decimal=report.decimal)
    return finish(df, rows, out)


def read_csv_bytes(data: bytes, name: str) -> tuple[pd.DataFrame, ReadReport]:
    """Read a whole delimited text file held in memory (see the module notes)."""
    data, report, names = csv_layout(data, name)
    body = data[header_end(data, report.delimiter):]
    if body.rstrip(b"\r\n") != body:  # trailing blank lines are no rows
        body = body.rstrip(b"\r\n") + b"\n"
    seen: list = []
    df, multiline = None, True
    try:
        table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(body)),
                               **_options(names, report.delimiter, quoted=b'"' in body,
                                          handler=_flagging_handler(seen)))
        df = None if seen or _has_empty_rows(table) else table.to_pandas()
    except (pa.ArrowInvalid, ValueError, OverflowError):
        df = None
    if df is not None:
        rows = np.arange(report.header_line + 1, report.header_line + 1 + len(df))
    else:
        df, rows, multiline = next(_tolerant(io.StringIO(body.decode("utf-8"), newline=""), names, report, 1 << 62))
    df = _finish_piece(df, rows, report, first=True, quoted=b'"' in body and multiline)
    report.rows_read, report.columns = len(df), [c for c in df.columns if c != PARSE_ERROR_COLUMN]
    return df, report


def _slices(df: pd.DataFrame, chunksize: int) -> Iterator[tuple[pd.DataFrame, int]]:
    for start in range(0, len(df), chunksize):
        part = df.iloc[start:start + chunksize]
        yield part, int(part.index[0])


def iter_csv_chunks(open_raw: Callable, name: str, chunksize: int,
                    block_size: int = BLOCK_BYTES) -> Iterator[tuple[pd.DataFrame, int]]:
    """Chunks of a delimited text file streamed by pyarrow in bounded memory.

    Parameters
    ----------
    open_raw : callable
        Returns a fresh binary file object at the file's start (plain or gzip); called again
        when the file must be read by the :mod:`csv` module from a later record.
    name : str
        File name for messages.
    chunksize : int
        Maximum rows per chunk.
    block_size : int
        Bytes pyarrow parses at a time (a record must fit in one block; a longer one sends
        the rest of the file to the :mod:`csv` module).

    Yields
    ------
    (DataFrame, int)
        A chunk (text cells, ``source_row`` index) and its first row.
    """
    done, pending, first = 0, [], True
    with open_raw() as fh:
        stream = Utf8Stream(fh, name, block_size)
        head = stream.read(max(131072, min(block_size, 1 << 20)))
        while not _LINE_END.search(head) or (len(head) < (1 << 20) and len(_LINE_END.findall(head)) < 40):
            more = stream.read(1 << 16)
            if not more:
                break
            head += more
        data, report, names = text_layout(head, name, stream.encoding)
        rest = data[header_end(data, report.delimiter):]
        stream.push_back(rest)
        seen: list = []
        try:
            reader = pacsv.open_csv(stream, **_options(names, report.delimiter, block=max(block_size, 4096),
                                                       handler=_flagging_handler(seen)))
            for batch in reader:
                if seen or _has_empty_rows(batch):
                    raise _Trouble
                pending.append(batch)
                have = sum(b.num_rows for b in pending)
                if have >= chunksize:  # every whole chunk converted and checked at once
                    table, full = pa.Table.from_batches(pending), have - have % chunksize
                    part, pending = table.slice(0, full), table.slice(full).to_batches()
                    rows = np.arange(report.header_line + 1 + done, report.header_line + 1 + done + full)
                    df = _finish_piece(part.to_pandas(), rows, report, first, stream.quotes)
                    first, done = False, done + full
                    yield from _slices(df, chunksize)
            if seen:
                raise _Trouble
            if stream.error is not None:
                raise stream.error
        except (_Trouble, pa.ArrowInvalid) as exc:
            if stream.error is not None:
                raise stream.error from None
            trouble = exc
        except OSError:
            if stream.error is not None:
                raise stream.error from None
            raise
        else:
            trouble = None
            if pending or first:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                rows = np.arange(report.header_line + 1 + done, report.header_line + 1 + done + table.num_rows)
                df = _finish_piece(table.to_pandas(), rows, report, first, stream.quotes)
                if len(df) or first:
                    yield df, int(rows[0]) if len(rows) else report.header_line + 1
    if trouble is None:
        return
    with open_raw() as fh:  # the csv module reads the rest, from the first record not yet yielded
        text = io.TextIOWrapper(Utf8Stream(fh, name, block_size), encoding="utf-8", newline="")
        for _ in range(report.header_line - 1):
            text.readline()
        pieces = _tolerant(_after_header(text, report.delimiter), names, report, max(chunksize, 50_000), skip=done)
        for df, rows, multiline in pieces:
            if not len(df) and not first:
                continue
            df = _finish_piece(df, rows, report, first, quoted=multiline)
            if first and not len(df):
                yield df, report.header_line + 1
            first = False
            yield from _slices(df, chunksize)


def _after_header(text, delimiter: str) -> Iterator[str]:
    """The lines of ``text`` after its first record (the header, maybe over several lines)."""
    lines = iter(text)
    probe = csv.reader(lines, delimiter=delimiter)
    next(probe, None)
    return lines
