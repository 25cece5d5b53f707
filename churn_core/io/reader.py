"""Read a customer table (CSV/TSV/TXT, Parquet, XLSX) from a path, bytes or an uploaded file.

Text files are read with every cell as text (``str`` dtype, blank cells missing) so that
:mod:`churn_core.data.validate` owns typing and can name the bad cell. The frame's index holds the
source line of each row (named ``source_row``; the CSV header is line 1, XLSX rows are
spreadsheet rows, Parquet rows are numbered from 1), and ``df.attrs`` records the source name and
whether positions are "line"s or "row"s.

Fast path: UTF-8 bytes go straight to :func:`pyarrow.csv.read_csv` with string columns (no
Python objects per cell). Files pyarrow refuses (ragged rows, odd quoting) fall back to the
standard library :mod:`csv` module, which keeps every row: rows with too many fields carry a
message in :data:`PARSE_ERROR_COLUMN` and are rejected by validation, never dropped.
"""
from __future__ import annotations

import csv
import io as _io
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from churn_core.errors import DataFileError

#: Column added by the tolerant reader when a row cannot be split into the header's fields.
PARSE_ERROR_COLUMN = "__parse_error__"
#: Index name holding each row's position in the source file.
ROW_INDEX = "source_row"
DELIMITERS = (",", ";", "\t", "|")
#: CSV files up to this size are read into memory and decoded whole (as :func:`read_table`
#: does), then parsed piece by piece by :func:`iter_table_chunks`; bigger ones are read,
#: decoded and parsed block by block.
WHOLE_READ_BYTES = 64 * 1024 * 1024
#: Bytes read at a time from a CSV file bigger than :data:`WHOLE_READ_BYTES`; the reader
#: holds about four pieces (4 x 6.7 MB for 100,000 rows of the sample's layout) plus a block.
STREAM_BLOCK_BYTES = 4 << 20
#: How far the block reader reads on to find the end of one record (a long quoted field)
#: before it walks the records field by field (a stray quote breaks quote parity).
MAX_RECORD_BYTES = 64 << 20
_FIX_HINT = "save it from Excel as 'CSV UTF-8 (Comma delimited)' and upload it again"
_TEXT_EXT = {".csv", ".tsv", ".txt", ".tab", ".dat"}
_PARQUET_EXT = {".parquet", ".pq"}
_XLSX_EXT = {".xlsx", ".xlsm"}
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_GZIP_MAGIC = b"\x1f\x8b"
_NUMBER = re.compile(r"^[+-]?(\d[\d.,]*|[.,]\d+)([eE][+-]?\d+)?$")
#: A gzip-compressed upload may expand to at most this many bytes (a zip bomb stops here);
#: :func:`iter_table_chunks` streams compressed files of any size.
MAX_GUNZIP_BYTES = 1 << 30


@dataclass
class ReadReport:
    """What :func:`read_table` found out about a file.

    Attributes
    ----------
    source : str
        File name shown to the user.
    format : str
        ``"csv"``, ``"parquet"`` or ``"xlsx"``.
    encoding : str or None
        ``"utf-8"``, ``"utf-8-sig"`` (byte-order mark), ``"utf-16"`` or ``"cp1252"``; ``None``
        for binary formats.
    delimiter : str or None
        Field separator of text files.
    decimal : str
        Decimal mark suggested by the file (``","`` when numbers look like ``1.234,56``).
    thousands : str or None
        Thousands separator suggested by the file, if any.
    rows_read : int
        Data rows read (header excluded).
    columns : list of str
        Column names after cleaning (stripped, blanks named, duplicates numbered).
    warnings : list of str
        Things the user should know (renamed headers, ragged rows...).
    header_line : int
        Line of the header in a text file: 1, or lower when lines above it (a report title,
        a date) were skipped.
    """

    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    thousands: str | None = None
    rows_read: int = 0
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    header_line: int = 1

    @property
    def line_word(self) -> str:
        """``"line"`` for text files, ``"row"`` for spreadsheets and Parquet."""
        return "line" if self.format == "csv" else "row"

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- helpers
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
        raise DataFileError(
            f"{name}: this is an old Excel .xls workbook; save it as .xlsx or as CSV UTF-8"
        )
    suffix = Path(name).suffix.lower()
    if suffix in _PARQUET_EXT:
        raise DataFileError(f"{name}: not a valid Parquet file (missing 'PAR1' signature)")
    if suffix in _XLSX_EXT:
        raise DataFileError(f"{name}: not a valid .xlsx workbook (it is not a zip archive)")
    return "csv"


def _locate(data: bytes, pos: int, delimiter: str | None, header: bytes | None = None,
            line_offset: int = 0) -> tuple[int, str]:
    """Return (line number, column name) of byte offset ``pos`` in delimited bytes.

    ``data`` starts with the header line, or is a later block of the file: then ``header``
    holds the header line and ``line_offset`` the lines before the block.
    """
    line = data.count(b"\n", 0, pos) + 1 + line_offset
    if header is None:
        header_end = data.find(b"\n")
        header = data[: header_end if header_end >= 0 else len(data)]
    header = header.decode("utf-8", "replace").rstrip("\r\n")
    names = [h.strip().strip('"') for h in header.split(delimiter or ",")]
    start = data.rfind(b"\n", 0, pos) + 1
    idx = data[start:pos].decode("latin-1").count(delimiter or ",")
    col = names[idx] if idx < len(names) else f"field {idx + 1}"
    return line, col


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow's validator (SIMD, zero-copy: 3-5 ms
    for 67 MB where ``bytes.decode`` takes 35 ms). Agrees with Python's codec on overlong
    forms, surrogates and code points past U+10FFFF (tests/test_io.py)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _decode(data: bytes, name: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes without a BOM and the detected encoding.

    Tries UTF-16 (by BOM), UTF-8 (with or without BOM), then Windows-1252. A file that mixes
    valid UTF-8 with invalid bytes, or has bytes undefined in Windows-1252, raises
    :class:`DataFileError` naming the line and column.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DataFileError(f"{name}: damaged UTF-16 text near byte {exc.start}; {_FIX_HINT}") from None
    encoding = "utf-8"
    if data[:3] == b"\xef\xbb\xbf":
        data, encoding = data[3:], "utf-8-sig"
    if b"\x00" in data[:65536]:
        raise DataFileError(
            f"{name}: contains NUL bytes, so it is not a text table (CSV/TSV); "
            "upload a CSV, Parquet or .xlsx file"
        )
    if data.isascii() or _is_utf8(data):  # fast checks, no decoded copy
        return data, encoding
    try:
        data.decode("utf-8")
        return data, encoding
    except UnicodeDecodeError as exc:
        utf8_err = exc
    delim = _sniff_delimiter(data[:65536].decode("latin-1"))
    if encoding == "utf-8-sig" or _UTF8_MULTIBYTE.search(data[: utf8_err.start]) or \
            _UTF8_MULTIBYTE.search(data[utf8_err.end:utf8_err.end + 1_000_000]):
        raise _encoding_error(True, data, utf8_err, name, delim)
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError as exc:
        raise _encoding_error(False, data, exc, name, delim) from None


def _encoding_error(mixed: bool, data: bytes, exc: UnicodeDecodeError, name: str, delim: str | None,
                    header: bytes | None = None, line_offset: int = 0) -> DataFileError:
    """The error for the bytes ``exc`` points at, naming line and column (:func:`_locate`):
    UTF-8 text with a stray byte (``mixed``), or a byte Windows-1252 leaves undefined."""
    line, col = _locate(data, exc.start, delim, header, line_offset)
    bad = data[exc.start:exc.end]
    what = (f"byte(s) {bad!r} are not valid UTF-8 although the rest of the file is UTF-8 (mixed "
            f"encodings)" if mixed else f"byte {bad!r} cannot be decoded as UTF-8 or Windows-1252")
    return DataFileError(f"{name}: line {line}, column {col!r}: {what}; {_FIX_HINT}")


class _Utf8Blocks:
    """The blocks of a big text file as UTF-8 bytes, decided as :func:`_decode` decides a
    whole file: UTF-16 by its BOM; else UTF-8 (BOM dropped) until a block is not UTF-8,
    which makes the file Windows-1252 when every earlier byte was ASCII (the two agree on
    ASCII) and raises :class:`DataFileError` (mixed encodings, naming line and column)
    otherwise. ASCII blocks pass as read; other UTF-8 blocks end after a line end, so no
    character is split. ``encoding`` holds the decision so far (``"utf-8"`` while the file
    is ASCII)."""

    def __init__(self, fh, name: str, block: int):
        self.fh, self.name, self.block = fh, name, max(int(block), 1)
        self.encoding, self.header, self.delimiter = "utf-8", None, None
        self.offset, self._multibyte = 0, False
        #: the whole-file rule looks 1 MB past the first non-UTF-8 byte for UTF-8 text
        self._mixed_until, self._mixed_error = 0, None

    def __iter__(self) -> Iterator[bytes]:
        raw = self.fh.read(max(self.block, 65536))
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            yield from self._utf16(raw)
            return
        if raw[:3] == b"\xef\xbb\xbf":
            raw, self.encoding, self.offset = raw[3:], "utf-8-sig", 3
        self.header = raw[:raw.find(b"\n") + 1]
        self.delimiter = _sniff_delimiter(raw[:65536].decode("latin-1"))
        carry = b""
        while raw:
            more = self.fh.read(self.block)
            ascii_ = raw.isascii() and carry.isascii()
            if carry or not ascii_:  # a character may be split at the block's end
                raw = carry + raw
                end = max(raw.rfind(b"\n"), raw.rfind(b"\r")) + 1 if more else len(raw)
                raw, carry = memoryview(raw)[:end], raw[end:]
            if len(raw):
                yield self._utf8(raw, ascii_)
                self.offset += len(raw)
            raw = more
        if carry:
            yield self._utf8(carry, carry.isascii())

    def _where(self) -> tuple[int, bytes]:
        """Lines before the current block, and the start of its first line when the block
        starts inside a line (read again from the file's start: for error messages only)."""
        pos = self.fh.tell()
        self.fh.seek(0)
        lines, left, tail = 0, self.offset, b""
        while left > 0:
            block = self.fh.read(min(left, 1 << 24))
            if not block:
                break
            cut = block.rfind(b"\n") + 1
            lines, left = lines + block.count(b"\n"), left - len(block)
            tail = block[cut:] if cut else tail + block
        self.fh.seek(pos)
        return lines, tail

    def _error(self, mixed: bool, part: bytes, exc: UnicodeDecodeError) -> DataFileError:
        lines, tail = self._where()
        exc.start, exc.end = exc.start + len(tail), exc.end + len(tail)
        return _encoding_error(mixed, tail + bytes(part), exc, self.name, self.delimiter, self.header, lines)

    def _utf8(self, part, ascii_: bool):
        """``part`` (bytes or memoryview) as UTF-8; ``ascii_``: whether it is known ASCII."""
        if self.encoding == "cp1252":
            left = self._mixed_until - self.offset
            if left > 0 and _UTF8_MULTIBYTE.search(part[:left]):
                raise self._mixed_error
            try:
                return str(part, "cp1252").encode("utf-8")
            except UnicodeDecodeError as exc:
                raise self._error(False, part, exc) from None
        if ascii_:
            return part
        if _is_utf8(part):
            self._multibyte = self._multibyte or _UTF8_MULTIBYTE.search(part) is not None
            return part
        try:
            str(part, "utf-8")
        except UnicodeDecodeError as exc:  # the rule of _decode, with what came before
            if self._multibyte or self.encoding == "utf-8-sig" or _UTF8_MULTIBYTE.search(part[:exc.start]) \
                    or _UTF8_MULTIBYTE.search(part[exc.end:exc.end + 1_000_000]):
                raise self._error(True, part, exc) from None
            self._mixed_until = self.offset + exc.end + 1_000_000
            self._mixed_error = self._error(True, part, exc)
        self.encoding = "cp1252"  # every earlier byte was ASCII: the same text in Windows-1252
        try:
            return str(part, "cp1252").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(False, part, exc) from None

    def _utf16(self, raw: bytes) -> Iterator[bytes]:
        import codecs

        self.encoding, decoder, done = "utf-16", codecs.getincrementaldecoder("utf-16")(), 0
        while raw:
            more = self.fh.read(self.block)
            try:
                text = decoder.decode(raw, final=not more)
            except UnicodeDecodeError as exc:
                raise DataFileError(f"{self.name}: damaged UTF-16 text near byte {done + exc.start}; "
                                    f"{_FIX_HINT}") from None
            done += len(raw)
            yield text.encode("utf-8")
            raw = more


def _sniff_delimiter(text: str) -> str | None:
    """The delimiter of :func:`_sniff` (or ``None``)."""
    return _sniff(text)[0]


def _sniff(text: str) -> tuple[str | None, float]:
    """Pick the delimiter among ``, ; tab |`` that splits the first lines most consistently.

    Each candidate parses the first (up to 30) lines with :mod:`csv`; the best candidate gives
    the same field count (> 1) on most lines, ties broken by the larger count. Returns
    ``(None, 0.0)`` when no candidate splits the header, else the delimiter and the share of
    sampled lines whose field count equals the header's.
    """
    lines = text.splitlines()[:31]
    if len(text) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    sample = "\n".join(lines)
    best, best_key = None, None
    for d in DELIMITERS:
        try:
            rows = [r for r in csv.reader(_io.StringIO(sample, newline=""), delimiter=d) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows[1:]) / (len(rows) - 1) if len(rows) > 1 else 1.0
        key = (agree >= 0.9, agree, width)
        if best_key is None or key > best_key:
            best, best_key = d, key
    return best, (best_key[1] if best_key else 0.0)


_NUM_DEC_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d*$|^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$")
_NUM_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d*$|^[+-]?\d{1,3}(,\d{3}){2,}$")
_NUM_AMBIGUOUS_COMMA = re.compile(r"^[+-]?\d{1,3},\d{3}$")


def _number_style(df: pd.DataFrame, delimiter: str | None) -> tuple[str, str | None]:
    """Guess the file's decimal mark and thousands separator from a sample of cells.

    Sure decimal commas (``1.234,56``, ``12,5``) against sure thousands commas
    (``1,234.5``, ``1,234,567``); cells like ``1,234`` are ambiguous and follow the
    delimiter (``;`` files come from locales with a decimal comma).
    """
    sample = df.head(200)
    dec_comma = thou_comma = ambiguous = 0
    for col in sample.columns:
        if col == PARSE_ERROR_COLUMN or not pd.api.types.is_string_dtype(sample[col]):
            continue
        s = sample[col].dropna().astype(str).str.strip()
        dec_comma += int(s.str.match(_NUM_DEC_COMMA).sum())
        thou_comma += int(s.str.match(_NUM_THOUSANDS_COMMA).sum())
        ambiguous += int(s.str.match(_NUM_AMBIGUOUS_COMMA).sum())
    if dec_comma > thou_comma or (dec_comma == thou_comma and ambiguous and delimiter == ";"):
        return ",", "."
    if thou_comma or ambiguous:
        return ".", ","
    return ".", None


def _clean_headers(raw: list, report: ReadReport) -> list[str]:
    """Strip headers, name blank ones ``column_<n>`` and number duplicates ``name.1``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(raw, start=1):
        h = "" if h is None or (isinstance(h, float) and np.isnan(h)) else str(h)
        h = h.replace("\ufeff", "").strip()
        if not h or h.lower().startswith("unnamed:"):
            new = f"column_{i}"
            report.warnings.append(f"column {i} has no header; named it {new!r}")
            h = new
        key = h.casefold()
        if key in seen:
            seen[key] += 1
            new = f"{h}.{seen[key]}"
            report.warnings.append(f"header {h!r} appears more than once; column {i} renamed {new!r}")
            h = new
            seen[new.casefold()] = 0
        else:
            seen[key] = 0
        out.append(h)
    return out


def _finish(df: pd.DataFrame, lines, report: ReadReport) -> pd.DataFrame:
    df.index = pd.Index(np.asarray(lines, dtype=np.int64), name=ROW_INDEX)
    df.attrs["source_name"] = report.source
    df.attrs["line_word"] = report.line_word
    df.attrs["decimal"] = report.decimal
    report.rows_read = len(df)
    report.columns = [c for c in df.columns if c != PARSE_ERROR_COLUMN]
    return df


# ----------------------------------------------------------------------------- CSV
def _read_csv_fast(data: bytes, delimiter: str, names: list[str], skip_rows: int = 1,
                   quoted: bool = True) -> pd.DataFrame | None:
    """pyarrow read with string columns; ``None`` when the file needs the tolerant reader.

    ``skip_rows=1`` skips the header line; ``0`` reads headerless pieces of a file.
    ``quoted=False`` (for text without any ``"``) uses pyarrow's faster parser without
    quote handling.
    """
    parse = (pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True) if quoted else
             pacsv.ParseOptions(delimiter=delimiter, quote_char=False, newlines_in_values=False))
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)),
            read_options=pacsv.ReadOptions(skip_rows=skip_rows, column_names=names, use_threads=True),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError, OverflowError):
        return None
    return table.to_pandas()


def _one_line_per_record(data: bytes, rows: int, start: int = 0, newlines: int | None = None,
                         quotes: int | None = None, end: int | None = None, nl: bytes = b"\n") -> bool:
    """True when ``rows`` parsed records are exactly the physical lines of ``data[start:end]``
    (no header), so record ``i`` is on line ``first + i``: as many lines as records, no lone
    CR line end and no blank line (pyarrow skips those, and a quoted newline makes one record
    of two lines, so they could cancel out). ``newlines`` and ``quotes`` are the counts of
    ``\\n`` and ``"`` in ``data[start:end]`` when the caller has them; without quotes the
    blank-line scan is not needed. ``nl=b"\\r"``: a file whose only line ends are lone CRs."""
    end = len(data) if end is None else end
    if start >= end:
        return rows == 0
    if nl == b"\r":
        if data.find(b"\n", start, end) >= 0:
            return False
        newlines = data.count(b"\r", start, end) if newlines is None else newlines
        return rows == newlines + (0 if data.endswith(b"\r", start, end) else 1) and (quotes == 0 or not (
            data.startswith(b"\r", start, end) or data.find(b"\r\r", start, end) >= 0))
    if newlines is None:
        newlines = data.count(b"\n", start, end)
    if rows != newlines + (0 if data.endswith(b"\n", start, end) else 1):
        return False
    if data.find(b"\r", start, end) >= 0 and data.count(b"\r", start, end) != data.count(b"\r\n", start, end):
        return False  # a lone CR ends a line too (for pyarrow and for editors)
    if quotes == 0:  # no quoted newline: as many records as lines means no blank line
        return True
    return not (data.startswith((b"\n", b"\r\n"), start, end) or data.find(b"\n\n", start, end) >= 0
                or data.find(b"\n\r\n", start, end) >= 0)


def _record_end(data: bytes, start: int, pos: int, nl: bytes = b"\n") -> tuple[int, int]:
    """End of the record that runs through ``pos``: ``(offset, quotes)``.

    ``offset`` is just past the first line end (``nl``: ``b"\\r"`` in a file whose only line
    ends are lone CRs) at or after ``pos`` where the quotes since
    ``start`` (a record start, outside quotes) are balanced, so it is not inside a quoted
    field (RFC 4180 doubles quotes inside fields), or ``len(data)``; ``quotes`` counts the
    ``"`` in ``data[start:offset]``.
    """
    quotes = data.count(b'"', start, pos) if data.find(b'"', start, pos) >= 0 else 0  # find: memchr
    while True:
        end = data.find(nl, pos)
        if end < 0:
            return len(data), quotes + data.count(b'"', pos)
        quotes += data.count(b'"', pos, end)
        if quotes % 2 == 0:
            return end + 1, quotes
        nxt = data.find(b'"', end)  # inside quotes: no record ends before the next quote
        if nxt < 0:
            return len(data), quotes
        quotes, pos = quotes + 1, nxt + 1


def _header_end(data: bytes) -> int:
    """End of the header record: just past its first line end outside quotes (``\\n``,
    ``\\r\\n`` or a lone ``\\r``, which ends a line for both parsers), or ``len(data)``."""
    end = _record_end(data, 0, 0)[0]
    cr = data.find(b"\r", 0, end)
    while cr >= 0:
        if cr + 1 < len(data) and data[cr + 1] != 10 and data.count(b'"', 0, cr) % 2 == 0:
            return cr + 1
        cr = data.find(b"\r", cr + 1, end)
    return end


def _record_lines(text: str, delimiter: str) -> list[int]:
    """First line number of every non-blank data record (header is line 1)."""
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
    starts, prev_end = [], 0
    for i, row in enumerate(reader):
        if i > 0 and row and (len(row) > 1 or row[0].strip()):  # blank lines are not records
            starts.append(prev_end + 1)
        prev_end = reader.line_num
    return starts


def _read_csv_tolerant(text: str, delimiter: str, names: list[str], report: ReadReport, shift: int = 0):
    """Standard-library reader that keeps every non-blank row and flags ragged ones.

    ``shift`` is added to every line number (``text`` starts later in the file).
    """
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
    width = len(names)
    rows, lines, errors = [], [], []
    prev_end, short = 0, 0
    try:
        for i, row in enumerate(reader):
            start = prev_end + 1 + shift
            prev_end = reader.line_num
            if i == 0 or not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line; a row of empty fields is kept (validation rejects it)
            err = None
            if len(row) > width:
                if any(f.strip() for f in row[width:]):
                    err = (f"line {start} has {len(row)} fields but the header has {width} "
                           f"(check the delimiter {delimiter!r} and quoting)")
                row = row[:width]
            elif len(row) < width:  # a cut-off line: rejected, never a customer with invented cells
                short += 1
                err = (f"line {start} has {len(row)} fields but the header has {width} (a cut-off "
                       f"line? check the export)")
                row = row + [""] * (width - len(row))
            rows.append(row)
            lines.append(start)
            errors.append(err)
    except csv.Error as exc:
        raise DataFileError(f"{report.source}: line {reader.line_num + shift}: cannot be parsed ({exc})") from None
    df = pd.DataFrame(rows, columns=names, dtype="str") if rows else pd.DataFrame(
        {n: pd.Series([], dtype="str") for n in names})
    df = df.replace("", np.nan) if len(df) else df
    if any(errors):
        df[PARSE_ERROR_COLUMN] = pd.Series(errors, dtype="object").to_numpy()
        if sum(e is not None for e in errors) > short:
            report.warnings.append(f"{sum(e is not None for e in errors) - short} row(s) have more fields "
                                   "than the header")
    if short:
        report.warnings.append(f"{short} row(s) have fewer fields than the header: rejected")
    return df, lines


def _after_lines(data: bytes, k: int) -> int:
    """Offset just past the ``k``-th ``\\n`` of ``data`` (0 when it has fewer)."""
    end = 0
    for _ in range(k):
        end = data.find(b"\n", end) + 1
        if not end:
            return 0
    return end


def _title_lines(data: bytes) -> int:
    """Lines above the header (a report title, a date, blank lines): 0 for most files.

    Up to 5 first lines are titles when the lines below them agree on a delimiter and a
    field count (>= 2; 90 % of the first 30 lines, as :func:`_sniff` measures it) that the
    first lines do not reach by half, while the file read from its first line does not
    agree. Not titles: a header naming one column too few, a header written with another
    delimiter than the data (``a;b;c`` over ``1,2,3``), or first lines above a line of
    numbers (a data line is no header).
    """
    head = data[:65536].decode("utf-8", "ignore")
    lines = head.splitlines()[:40]
    if len(head) >= 65536:
        lines = lines[:-1]  # the last line may be cut
    if _sniff("\n".join(lines))[1] >= 0.9:
        return 0
    for k in range(1, min(6, len(lines))):
        if not lines[k].strip():
            continue
        delimiter, agree = _sniff("\n".join(lines[k:]))
        if delimiter is None or agree < 0.9:
            continue
        names = next(csv.reader([lines[k]], delimiter=delimiter))
        width = len(names)
        if sum(_NUMBER.match(n.strip()) is not None for n in names) * 2 > width:
            return 0  # a data line, not a header
        for t in lines[:k]:
            if len(next(csv.reader([t], delimiter=delimiter), [])) > width // 2 or \
                    any(len(t.split(d)) >= width for d in DELIMITERS):
                return 0  # a header too (of another delimiter) or a short header, not a title
        end = _after_lines(data, k)
        return k if end and data[:end].decode("utf-8", "ignore").splitlines() == lines[:k] else 0
    return 0


def _csv_layout(data: bytes, name: str) -> tuple[bytes, ReadReport, list[str]]:
    """Decode a delimited text file, sniff its delimiter and clean its header.

    Returns the UTF-8 bytes from the header on (title lines above it are dropped:
    :func:`_title_lines`, ``report.header_line``), the report (encoding, delimiter) and the
    column names; raises :class:`DataFileError` for empty files and delimiter trouble.
    """
    data, encoding = _decode(data, name)
    report = ReadReport(source=name, format="csv", encoding=encoding)
    if not data or data.isspace():  # same test as `not data.strip()` without copying the file
        raise DataFileError(f"{name}: the file is empty")
    titles = _title_lines(data)
    if titles:
        end = _after_lines(data, titles)
        shown = "; ".join(t.strip() for t in data[:end].decode("utf-8", "replace").splitlines() if t.strip())
        report.warnings.append(f"skipped {titles} line(s) above the header (a title?): {shown[:120]!r}")
        report.header_line, data = titles + 1, data[end:]
    head = data[:65536].decode("utf-8", "ignore")
    delimiter, agree = _sniff(head)
    first_line = head.splitlines()[0] if head.splitlines() else ""
    if delimiter is not None and agree < 0.5:
        raise DataFileError(
            f"{name}: the header splits on {delimiter!r} into several columns but most of the "
            f"first data lines do not split into the same number of fields (read with one "
            f"delimiter they would become a single column); check the delimiter and quoting, "
            f"or {_FIX_HINT}"
        )
    if delimiter is None:
        found = [d for d in DELIMITERS if d in first_line]
        if found:
            raise DataFileError(
                f"{name}: the file reads as a single column although its header contains "
                f"{found[0]!r}; the rows do not split consistently on that delimiter "
                f"(check quoting), or {_FIX_HINT}"
            )
        delimiter = ","
    report.delimiter = delimiter
    header = next(csv.reader(_io.StringIO(first_line, newline=""), delimiter=delimiter), [])
    names = _clean_headers(header, report)
    if len(names) == 1 and any(d in names[0] for d in DELIMITERS):
        raise DataFileError(f"{name}: the file reads as one column whose header contains a delimiter; {_FIX_HINT}")
    return data, report, names


def _parse_csv(data: bytes, names: list[str], report: ReadReport, first_line: int | None = None):
    """Parse UTF-8 delimited text whose first record is the header: ``(frame, lines)``.

    pyarrow first; the tolerant reader when pyarrow refuses the text or its records are
    not one per line. ``lines`` numbers the records of the file these bytes start, where
    the first line after the header is ``first_line`` (default: the line after the header,
    so a whole file is numbered as it is, from ``report.header_line``).
    """
    header_end = _header_end(data)
    shift = (report.header_line - 1 if first_line is None
             else first_line - (_physical_lines(data[:header_end]) + 1))
    delimiter = report.delimiter
    df = _read_csv_fast(data, delimiter, names)
    if df is not None and _one_line_per_record(data, len(df), header_end):
        first = _physical_lines(data[:header_end]) + 1 + shift
        return df, np.arange(first, first + len(df))
    text = data.decode("utf-8")
    if df is not None:
        try:
            lines = _record_lines(text, delimiter)
        except csv.Error:
            lines = []
        if len(lines) == len(df):
            return df, np.asarray(lines, dtype=np.int64) + shift
    df, lines = _read_csv_tolerant(text, delimiter, names, report, shift)
    return df, np.asarray(lines, dtype=np.int64)


def _read_csv(data: bytes, name: str) -> tuple[pd.DataFrame, ReadReport]:
    data, report, names = _csv_layout(data, name)
    df, lines = _parse_csv(data, names, report)
    report.decimal, report.thousands = _number_style(df, report.delimiter)
    return _finish(df, lines, report), report


def _physical_lines(data) -> int:
    """Lines in ``data`` (bytes or memoryview) as editors and the :mod:`csv` module count
    them (``\\n``, ``\\r\\n`` and a lone ``\\r`` each end one)."""
    data = data if isinstance(data, bytes) else bytes(data)
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _record_end_fields(data: bytes, start: int, pos: int, delimiter: str) -> int:
    """End of the record that runs through ``pos``, walking the records from ``start`` field
    by field with the parsers' rule: a quote opens a quoted field only at the start of a
    field (``5'11"`` in an unquoted field is text). Slower than :func:`_record_end` (one
    regex match per record); used where stray quotes break quote parity."""
    d = re.escape(delimiter.encode())
    fld = rb'(?:"(?:[^"]|"")*"[^' + d + rb'\r\n]*|[^' + d + rb'\r\n]*)'
    record = re.compile(fld + rb"(?:" + d + fld + rb")*(?:\r\n|\n|\r|$)")
    while start < len(data):
        start = record.match(data, start).end() or len(data)
        if start > pos:
            return start
    return len(data)


def _open_at_end(df: pd.DataFrame) -> bool:
    """Whether the last parsed record swallowed its piece's final line end: a quoted field
    still open where the piece was cut (both parsers accept an unclosed quote at the end)."""
    return bool(len(df)) and any(isinstance(v, str) and v.endswith(("\n", "\r")) for v in df.iloc[-1])


def _csv_chunks(data: bytes, more: Iterator[bytes], report: ReadReport, names: list[str],
                chunksize: int, encoding: Callable[[], str] | None = None) -> Iterator[tuple[pd.DataFrame, int]]:
    """Chunks of delimited UTF-8 text, parsed piece by piece with exact line numbers.

    ``data`` starts with the header; ``more`` yields the rest of the file (UTF-8 blocks cut
    anywhere), pulled only when a piece needs them, so memory stays bounded by a few pieces.
    Pieces are cut at record ends (a line end with balanced quotes; walked field by field
    when a stray quote breaks the parity or a cut is found inside a quoted field). A piece
    whose records are one per line numbers them by position; any other piece (blank lines,
    quoted newlines, ragged rows) is parsed as :func:`read_table` would parse it, with its
    lines counted from the piece's first line. The number style comes from the first piece.
    """
    delim = report.delimiter
    eof = False

    def fill(room: int) -> None:
        """Read blocks until ``room`` bytes are left after ``pos`` (or the file ends)."""
        nonlocal data, pos, eof
        blocks, have = [], len(data) - pos
        while not eof and have < room:
            block = next(more, None)
            if block is None:
                eof = True
            else:
                blocks.append(block)
                have += len(block)
        if blocks:
            data, pos = b"".join([memoryview(data)[pos:], *blocks]), 0

    pos = 0
    while not eof and _header_end(data) >= len(data):  # the whole header
        fill(len(data) + 1)
    pos = _header_end(data)
    header = data[:pos]
    line = report.header_line + _physical_lines(header)
    fill(65536)
    head = bytes(data[pos:pos + 65536])
    nl = b"\r" if header.endswith(b"\r") and b"\n" not in head else b"\n"  # old Mac: lone CRs
    per_line = len(head) / max(head.count(nl), 1)
    step = max(int(chunksize * per_line * 0.95), 1)
    # a small first piece (>= 200 rows) so scoring starts early; the last two share the rest
    first = max(int(chunksize * per_line / 4), int(256 * per_line), 1)
    yielded = False
    while True:
        size = first if not yielded else step
        fill(2 * size + 65536)  # room for the piece and a long record
        left = len(data) - pos
        if left <= 0:
            break
        if yielded and eof:
            size = step if left > 2 * step else left if left <= step else (left + 1) // 2
        target = min(pos + max(size, 1), len(data))
        cut, quotes = _record_end(data, pos, target, nl)
        while cut >= len(data) and not eof and len(data) - pos < MAX_RECORD_BYTES:
            fill(2 * (len(data) - pos))  # a long record, or a stray quote: read on
            target = min(pos + max(size, 1), len(data))
            cut, quotes = _record_end(data, pos, target, nl)
        if cut >= len(data) and not eof:  # no end by quote parity in MAX_RECORD_BYTES: stray quotes
            cut = _record_end_fields(data, pos, target, delim)
            quotes = data.count(b'"', pos, cut)
        for recut in (False, True):
            piece = memoryview(data)[pos:cut]
            df = _read_csv_fast(piece, delim, names, skip_rows=0, quoted=quotes > 0)
            newlines = data.count(nl, pos, cut)
            fast = df is not None and _one_line_per_record(data, len(df), pos, newlines, quotes, cut, nl)
            if not fast and quotes and not recut and cut < len(data):
                walked = _record_end_fields(data, pos, target, delim)  # a ragged row hides an open quote
                if walked != cut:
                    cut = walked
                    continue
            if fast:
                lines = np.arange(line, line + len(df))
            else:  # blank lines, quoted newlines, ragged rows: as a whole read would see them
                df, lines = _parse_csv(header + piece, names, report, first_line=line)
                newlines = _physical_lines(piece)
            if recut or not quotes or cut >= len(data) or not _open_at_end(df):
                break
            cut = _record_end_fields(data, pos, target, delim)  # the cut fell inside a quoted field
        if fast:
            step = max(int(chunksize * len(piece) / max(len(df), 1) * 0.98), 1)  # measured size
        if not yielded:
            report.decimal, report.thousands = _number_style(df, delim)
        df = _finish(df, lines, ReadReport(report.source, "csv", encoding=encoding() if encoding else report.encoding,
                                           delimiter=delim, decimal=report.decimal))
        for start in range(0, len(df), chunksize):
            part = df.iloc[start:start + chunksize]
            yielded = True
            yield part, int(part.index[0])
        line += newlines
        pos = cut
    if not yielded:  # header only: one empty chunk with the columns
        df, lines = _parse_csv(header, names, report)
        report.decimal, report.thousands = _number_style(df, delim)
        yield _finish(df, lines, report), 2


def _iter_csv_pieces(data: bytes, name: str, chunksize: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """Chunks of a delimited text file held in memory (:func:`_csv_chunks`)."""
    data, report, names = _csv_layout(data, name)
    yield from _csv_chunks(data, iter(()), report, names, chunksize)


# ----------------------------------------------------------------------------- binary formats
def _nested_as_text(df: pd.DataFrame, report: ReadReport | None = None) -> pd.DataFrame:
    """Turn list/struct/map cells (Parquet nested types) into JSON text, in place.

    Such cells cannot be hashed, categorised or written to CSV; as text they pass through to
    every output like any other extra column.
    """
    import json

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


def _read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, ReadReport]:
    report = ReadReport(source=name, format="parquet")
    try:
        df = pd.read_parquet(_io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise DataFileError(f"{name}: cannot be read as Parquet ({type(exc).__name__}: {exc})") from None
    df = _nested_as_text(df.reset_index(drop=True), report)
    df.columns = _clean_headers(list(df.columns), report)
    return _finish(df, np.arange(1, len(df) + 1), report), report


def _read_xlsx(data: bytes, name: str) -> tuple[pd.DataFrame, ReadReport]:
    report = ReadReport(source=name, format="xlsx")
    try:
        with pd.ExcelFile(_io.BytesIO(data), engine="openpyxl") as book:
            sheets = book.sheet_names
            used = 0
            df = book.parse(0, dtype=str)
            # a cover/notes sheet first (one column or no rows): use the first sheet that is a table
            for i in range(1, len(sheets)):
                if df.shape[1] >= 2 and len(df):
                    break
                nxt = book.parse(i, dtype=str)
                if nxt.shape[1] >= 2 and len(nxt):
                    df, used = nxt, i
                    break
    except Exception as exc:  # openpyxl / zipfile raise many types for damaged files
        if "[Content_Types].xml" in str(exc):
            raise DataFileError(f"{name}: is a zip archive, not an Excel .xlsx workbook; unzip it and "
                                f"upload the CSV/XLSX inside") from None
        raise DataFileError(f"{name}: cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc})") from None
    if len(sheets) > 1:
        why = "" if used == 0 else " (the sheets before it hold no table)"
        report.warnings.append(f"the workbook has {len(sheets)} sheets; read sheet {sheets[used]!r}{why}")
    df.columns = _clean_headers(list(df.columns), report)
    df = df.astype("str").where(df.notna(), np.nan) if len(df) else df.astype("str")
    return _finish(df.reset_index(drop=True), np.arange(2, len(df) + 2), report), report


def _gzip_errors() -> tuple:
    import gzip
    import zlib

    return (EOFError, gzip.BadGzipFile, zlib.error)


def _gunzip(data: bytes, name: str) -> bytes:
    """The decompressed bytes of a gzip file held in memory (at most :data:`MAX_GUNZIP_BYTES`)."""
    import gzip

    try:
        with gzip.GzipFile(fileobj=_io.BytesIO(data)) as fh:
            out = fh.read(MAX_GUNZIP_BYTES + 1)
    except _gzip_errors() as exc:
        raise DataFileError(f"{name}: damaged or cut-off gzip file ({exc}); compress it again") from None
    if len(out) > MAX_GUNZIP_BYTES:
        raise DataFileError(f"{name}: decompresses to more than {MAX_GUNZIP_BYTES >> 20} MB; score it "
                            "with the command line (python -m churn_core score), which streams it")
    return out


def _slices(df: pd.DataFrame, chunksize: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """A table read whole, in chunks (one empty chunk for a table without rows)."""
    for start in range(0, max(len(df), 1), chunksize):
        part = df.iloc[start:start + chunksize]
        if len(part) or start == 0:
            yield part, int(part.index[0]) if len(part) else 2


def _csv_blocks(fh, name: str, chunksize: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """Chunks of a delimited text file read block by block from ``fh`` (bounded memory)."""
    blocks = _Utf8Blocks(fh, name, STREAM_BLOCK_BYTES)
    more = iter(blocks)
    first = bytes(next(more, b""))
    while (b"\n" not in first and b"\r" not in first) or (len(first) < 131072 and first.count(b"\n") < 32):
        # the whole header and the lines the delimiter is sniffed on (a wide UTF-16 header)
        block = next(more, None)
        if block is None:
            break
        first += bytes(block)
    data, report, names = _csv_layout(first, name)
    report.encoding = blocks.encoding
    yield from _csv_chunks(data, more, report, names, chunksize, encoding=lambda: blocks.encoding)


# ----------------------------------------------------------------------------- public API
def read_table(source, name: str | None = None) -> tuple[pd.DataFrame, ReadReport]:
    """Read a customer table from a path, bytes or a file-like object.

    Parameters
    ----------
    source : str, Path, bytes or file-like
        A file path, raw bytes, or an object with ``getvalue()``/``read()`` (e.g. Streamlit's
        ``UploadedFile``).
    name : str, optional
        Display name used in messages; defaults to the file name.

    Returns
    -------
    df : DataFrame of shape (n_rows, n_columns)
        CSV/XLSX cells as text (``str`` dtype, blank cells missing); Parquet keeps its column
        types. The index (``source_row``) holds each row's line (CSV, header = line 1) or row
        number (XLSX, Parquet). ``df.attrs`` holds ``source_name`` and ``line_word``.
    report : ReadReport
        Format, encoding, delimiter, number style, rows read, cleaned columns, warnings.

    Raises
    ------
    DataFileError
        Empty, unreadable or binary files; undecodable bytes (naming line, column and the
        fix); a file that reads as one column although its header holds a delimiter.

    Notes
    -----
    The format comes from magic bytes (``PAR1`` Parquet, ``PK`` zip = XLSX), else the file is
    treated as delimited text; a gzip-compressed file (``.csv.gz``) is decompressed first, up
    to :data:`MAX_GUNZIP_BYTES`. Encodings tried: UTF-16 (BOM), UTF-8 (BOM stripped), then
    Windows-1252. The delimiter is the one of ``, ; tab |`` that splits the first lines into
    the most consistent number of fields.
    """
    data, display = _source_bytes(source, name)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, display)
    if not data:
        raise DataFileError(f"{display}: the file is empty")
    fmt = _detect_format(data, display)
    if fmt == "parquet":
        return _read_parquet(data, display)
    if fmt == "xlsx":
        return _read_xlsx(data, display)
    return _read_csv(data, display)


def iter_table_chunks(path, chunksize: int = 200_000) -> Iterator[tuple[pd.DataFrame, int]]:
    """Yield a large table in chunks so it can be scored in bounded memory.

    Parameters
    ----------
    path : str or Path
        CSV/TSV/TXT or Parquet file, or a gzip-compressed one (``.csv.gz``, streamed); XLSX
        is read whole, then sliced.
    chunksize : int, default 200_000
        Maximum rows per chunk.

    Yields
    ------
    chunk : DataFrame
        Same layout as :func:`read_table` (text cells for CSV, ``source_row`` index).
    first_line : int
        Source line (CSV) or row (Parquet/XLSX) of the chunk's first row.

    Raises
    ------
    DataFileError
        As :func:`read_table`.

    Notes
    -----
    CSV files are parsed piece by piece (cut at record ends), so the first chunk is ready
    after one piece, and line numbers are exact at any size (blank lines, quoted newlines
    and ragged rows included). Files up to :data:`WHOLE_READ_BYTES` are read and decoded
    whole; bigger ones block by block (:data:`STREAM_BLOCK_BYTES`), in bounded memory. A
    file whose only line ends are lone CRs (old Mac) is cut at its CRs.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head[:2] == _GZIP_MAGIC:
        import gzip

        try:
            with gzip.open(path, "rb") as fh:
                if _detect_format(fh.read(65536), path.name) != "csv":  # Parquet/XLSX inside
                    yield from _slices(read_table(path)[0], chunksize)
                    return
                fh.seek(0)
                yield from _csv_blocks(fh, path.name, chunksize)
        except _gzip_errors() as exc:
            raise DataFileError(f"{path.name}: damaged or cut-off gzip file ({exc}); compress it again") from None
        return
    fmt = _detect_format(head, path.name)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        report = ReadReport(source=path.name, format="parquet")
        names = _clean_headers(pf.schema_arrow.names, report)
        first = 1
        for batch in pf.iter_batches(batch_size=chunksize):
            df = _nested_as_text(batch.to_pandas())
            df.columns = names
            yield _finish(df, np.arange(first, first + len(df)), ReadReport(path.name, "parquet")), first
            first += len(df)
        return
    if fmt == "xlsx":
        yield from _slices(read_table(path)[0], chunksize)
        return
    if path.stat().st_size <= WHOLE_READ_BYTES:  # decoded whole, as read_table decodes it
        yield from _iter_csv_pieces(path.read_bytes(), path.name, chunksize)
        return
    with open(path, "rb") as fh:  # big: decoded and parsed block by block
        yield from _csv_blocks(fh, path.name, chunksize)
