"""Text encodings of customer files: which one a file is in, and where a bad byte sits.

A file is UTF-16 when it starts with a UTF-16 byte-order mark; UTF-8 (a UTF-8 BOM is dropped)
when every byte decodes as UTF-8; Windows-1252 when it does not and no UTF-8 multi-byte
character shows up near the bad byte (spreadsheets on Windows save "CSV" in Windows-1252).
Anything else (UTF-8 text with a stray Windows-1252 byte, a byte Windows-1252 leaves
undefined) is refused with a :class:`~churn_core.errors.DataFileError` naming the row and
column an analyst sees in Excel, and the fix.

:func:`decode` decides for bytes held in memory; :class:`Utf8Stream` makes the same decision
for a file read block by block and hands UTF-8 bytes to pyarrow's streaming CSV reader.
"""
from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
import pyarrow as pa

from churn_core.errors import DataFileError
from churn_core.io.sniff import sniff

FIX_HINT = "save it from Excel as 'CSV UTF-8 (Comma delimited)' and upload it again"
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
#: how far past the first non-UTF-8 byte a UTF-8 character still marks the file as mixed
_MIXED_LOOKAHEAD = 1_000_000


def is_utf8(data) -> bool:
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


def locate(prefix: bytes, delimiter: str | None) -> tuple[int, int]:
    """Spreadsheet row and 1-based column of the byte just after ``prefix`` (the file's bytes
    from its start): records are counted with the :mod:`csv` module, so a quoted cell holding
    line breaks is one row and every line above the header (a title) is a row, as in Excel."""
    text = prefix.decode("latin-1") + "x"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ","))
    return len(rows), len(rows[-1]) if rows else 1


def header_names(data: bytes, delimiter: str | None) -> list[str]:
    """The cells of the first line of ``data``, stripped (for naming columns in messages)."""
    first = data[:65536].decode("utf-8", "replace").splitlines()[:1] or [""]
    return [h.strip() for h in next(csv.reader(first, delimiter=delimiter or ","), [])]


def encoding_error(mixed: bool, raw_prefix: bytes, bad: bytes, name: str, delimiter: str | None,
                   header: list[str] | None) -> DataFileError:
    """The error for byte(s) ``bad`` found just after ``raw_prefix`` (the file's raw bytes from
    its start): UTF-8 text with a stray byte (``mixed``), or a byte Windows-1252 leaves
    undefined. Names the spreadsheet row and the column (:func:`locate`)."""
    row, col = locate(raw_prefix, delimiter)
    names = header or []
    column = names[col - 1] if col - 1 < len(names) and row > 1 else f"field {col}"
    what = (f"byte(s) {bad!r} are not valid UTF-8 although the rest of the file is UTF-8 (mixed "
            f"encodings)" if mixed else f"byte {bad!r} cannot be decoded as UTF-8 or Windows-1252")
    return DataFileError(f"{name}: row {row}, column {column!r}: {what}; {FIX_HINT}")


def sniff_delimiter(data: bytes) -> str | None:
    """The delimiter the first 64 kB suggest (for locating a bad byte only)."""
    return sniff(data[:65536].decode("latin-1"))[0]


def _mixed(data, start: int, end: int, before_multibyte: bool) -> bool:
    return bool(before_multibyte or _UTF8_MULTIBYTE.search(data[:start])
                or _UTF8_MULTIBYTE.search(data[end:end + _MIXED_LOOKAHEAD]))


def decode(data: bytes, name: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes without a BOM and the detected encoding.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        File name for messages.

    Returns
    -------
    (bytes, str)
        The text as UTF-8 and ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"`` or ``"cp1252"``.

    Raises
    ------
    DataFileError
        NUL bytes (a binary file), damaged UTF-16, mixed encodings or a byte undefined in
        Windows-1252 (naming row and column).
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DataFileError(f"{name}: damaged UTF-16 text near byte {exc.start}; {FIX_HINT}") from None
    encoding = "utf-8"
    if data[:3] == b"\xef\xbb\xbf":
        data, encoding = data[3:], "utf-8-sig"
    if b"\x00" in data[:65536]:
        raise DataFileError(f"{name}: contains NUL bytes, so it is not a text table (CSV/TSV); "
                            "upload a CSV, Parquet or .xlsx file")
    if data.isascii() or is_utf8(data):  # fast checks, no decoded copy
        return data, encoding
    try:
        data.decode("utf-8")
        return data, encoding
    except UnicodeDecodeError as exc:
        err = exc
    delim = sniff_delimiter(data)
    names = header_names(data, delim)
    if encoding == "utf-8-sig" or _mixed(data, err.start, err.end, False):
        raise encoding_error(True, data[:err.start], data[err.start:err.end], name, delim, names)
    try:
        return data.decode("cp1252").encode("utf-8"), "cp1252"
    except UnicodeDecodeError as exc:
        raise encoding_error(False, data[:exc.start], data[exc.start:exc.end], name, delim, names) from None


class Utf8Stream(io.RawIOBase):
    """A binary file read block by block, as UTF-8, decided as :func:`decode` decides a whole
    file: UTF-16 by its BOM; else UTF-8 (BOM dropped) until a block is not UTF-8, which makes
    the file Windows-1252 when every earlier byte was ASCII (the two agree on ASCII) and
    raises :class:`DataFileError` (mixed encodings, naming row and column) otherwise.

    pyarrow's streaming CSV reader reads from it (``read(n)``); an error found while it
    reads is kept in ``error`` (pyarrow may wrap exceptions raised inside its reads).
    ``encoding`` holds the decision so far (``"utf-8"`` while the file is ASCII).

    Parameters
    ----------
    fh : binary file object
        Positioned at the file's start.
    name : str
        File name for messages.
    block : int
        Bytes read from ``fh`` at a time.
    """

    def __init__(self, fh, name: str, block: int = 1 << 20):
        super().__init__()
        self.fh, self.name, self.block = fh, name, max(int(block), 4)
        self.encoding, self.error = "utf-8", None
        self.offset = 0  # raw bytes consumed (after the BOM)
        self._bom, self._buf, self._pos, self._carry, self._eof = 0, bytearray(), 0, b"", False
        self._multibyte, self._mixed_until, self._mixed_error = False, 0, None
        self._utf16 = None
        self._delim = self._names = None
        self._watch, self.quotes = False, False
        head = fh.read(max(self.block, 65536))
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.encoding, self._utf16 = "utf-16", codecs.getincrementaldecoder("utf-16")()
        elif head[:3] == b"\xef\xbb\xbf":
            head, self.encoding, self._bom = head[3:], "utf-8-sig", 3
        if self._utf16 is None and b"\x00" in head[:65536]:  # as decode() decides
            self._fail(DataFileError(f"{name}: contains NUL bytes, so it is not a text table (CSV/TSV); "
                                     "upload a CSV, Parquet or .xlsx file"))
        self._pending = head

    def readable(self) -> bool:
        return True

    def push_back(self, data: bytes) -> None:
        """Put ``data`` (text after the header) back in front of what is still to be read, and
        from there on note whether a quote passes (``quotes``) and drop trailing blank lines."""
        self._buf[:self._pos] = data
        self._pos, self._watch = 0, True

    def read(self, n: int = -1) -> bytes:
        want = n if n >= 0 else 1 << 62
        buf = self._buf
        while not self._eof and len(buf) - self._pos < want + 2:
            self._fill()
        start = self._pos
        end = min(start + want, len(buf))
        tail = False
        if self._watch and end > start:
            k = end  # the run of line ends the text read ends with (no copy)
            while k > start and buf[k - 1] in (10, 13):
                k -= 1
            if self._eof and end == len(buf):  # the end of the file: trailing blank lines are no rows
                tail = k < end
                end = k if tail else end
            elif k > start:  # line ends may be followed by a blank line: hold them for the next read
                end = k
        with memoryview(buf) as view:  # one copy (slicing the bytearray would copy twice)
            out = bytes(view[start:end]) + (b"\n" if tail else b"")
        self._pos = end + (len(buf) - end if tail else 0)
        if self._pos > (1 << 22) and self._pos * 2 > len(buf):
            del buf[:self._pos]
            self._pos = 0
        if self._watch and out:
            self.quotes = self.quotes or b'"' in out
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def _fill(self) -> None:
        raw = self._pending if self._pending is not None else self.fh.read(self.block)
        self._pending = None
        if self._utf16 is not None:
            held = len(self._utf16.getstate()[0])  # bytes of the last block not decoded yet
            try:
                text = self._utf16.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:  # offsets from the file's start, as decode() gives them
                self._fail(DataFileError(f"{self.name}: damaged UTF-16 text near byte "
                                         f"{self.offset - held + exc.start}; {FIX_HINT}"))
            self.offset += len(raw)
            self._eof = not raw
            self._buf += text.encode("utf-8")
            return
        if not raw:
            self._eof = True
            part, self._carry = self._carry, b""
            ascii_ = part.isascii()
        else:
            part = self._carry + raw if self._carry else raw
            ascii_ = part.isascii()
            if ascii_:
                self._carry = b""
            else:  # a character may be split at the block's end: keep the last line for later
                end = max(part.rfind(b"\n"), part.rfind(b"\r")) + 1
                part, self._carry = (part[:end], part[end:]) if end else (b"", part)
                ascii_ = part.isascii()
        if part:
            self._buf += self._utf8(part, ascii_)
            self.offset += len(part)

    def _fail(self, exc: DataFileError):
        self.error = exc
        raise exc

    def _error(self, mixed: bool, part: bytes, exc: UnicodeDecodeError) -> DataFileError:
        """The error for ``part[exc.start:exc.end]``, located from the file's start (read again:
        for error messages only)."""
        pos = self.fh.tell()
        self.fh.seek(self._bom)
        prefix = self.fh.read(self.offset) + part[:exc.start]
        self.fh.seek(pos)
        if self._delim is None:
            self._delim = sniff_delimiter(prefix)
            self._names = header_names(prefix, self._delim)
        return encoding_error(mixed, prefix, part[exc.start:exc.end], self.name, self._delim, self._names)

    def _utf8(self, part: bytes, ascii_: bool) -> bytes:
        if self.encoding == "cp1252":
            left = self._mixed_until - self.offset
            if left > 0 and _UTF8_MULTIBYTE.search(part[:left]):
                self._fail(self._mixed_error)
            try:
                return part.decode("cp1252").encode("utf-8")
            except UnicodeDecodeError as exc:
                self._fail(self._error(False, part, exc))
        if ascii_:
            return part
        if is_utf8(part):
            self._multibyte = self._multibyte or _UTF8_MULTIBYTE.search(part) is not None
            return part
        try:
            part.decode("utf-8")
        except UnicodeDecodeError as exc:  # the rule of decode(), with what came before
            if self.encoding == "utf-8-sig" or _mixed(part, exc.start, exc.end, self._multibyte):
                self._fail(self._error(True, part, exc))
            self._mixed_until = self.offset + exc.end + _MIXED_LOOKAHEAD
            self._mixed_error = self._error(True, part, exc)
        self.encoding = "cp1252"  # every earlier byte was ASCII: the same text in Windows-1252
        try:
            return part.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError as exc:
            self._fail(self._error(False, part, exc))
