"""The layout of a delimited text file: its delimiter, the title rows above its header, its
header names and the number style of its cells (decimal comma, thousands separator).

These are the decisions pyarrow cannot make for us; pyarrow then reads the records
(:mod:`churn_core.io.csv`).
"""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd

from churn_core.errors import DataFileError
from churn_core.io.encoding import FIX_HINT, decode
from churn_core.io.sniff import DELIMITERS, sniff
from churn_core.io.report import PARSE_ERROR_COLUMN, ReadReport, clean_headers, column_letter

_NUMBER = re.compile(r"^[+-]?(\d[\d.,]*|[.,]\d+)([eE][+-]?\d+)?$")
_NUM_DEC_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d*$|^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$")
_NUM_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d*$|^[+-]?\d{1,3}(,\d{3}){2,}$")
_NUM_AMBIGUOUS_COMMA = re.compile(r"^[+-]?\d{1,3},\d{3}$")


def after_lines(data: bytes, k: int) -> int:
    """Offset just past the ``k``-th ``\\n`` of ``data`` (0 when it has fewer)."""
    end = 0
    for _ in range(k):
        end = data.find(b"\n", end) + 1
        if not end:
            return 0
    return end


def title_lines(data: bytes) -> int:
    """Lines above the header (a report title, a date, blank lines): 0 for most files.

    Up to 5 first lines are titles when the lines below them agree on a delimiter and a
    field count (>= 2; 90 % of the first 30 lines, as :func:`sniff` measures it) that the
    first lines do not reach by half, while the file read from its first line does not
    agree. Not titles: a header naming one column too few, a header written with another
    delimiter than the data (``a;b;c`` over ``1,2,3``), or first lines above a line of
    numbers (a data line is no header).
    """
    head = data[:65536].decode("utf-8", "ignore")
    lines = head.splitlines()[:40]
    if len(head) >= 65536:
        lines = lines[:-1]  # the last line may be cut
    if sniff("\n".join(lines))[1] >= 0.9:
        return 0
    for k in range(1, min(6, len(lines))):
        if not lines[k].strip():
            continue
        delimiter, agree = sniff("\n".join(lines[k:]))
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
        end = after_lines(data, k)
        return k if end and data[:end].decode("utf-8", "ignore").splitlines() == lines[:k] else 0
    return 0


def number_style(df: pd.DataFrame, delimiter: str | None) -> tuple[str, str | None]:
    """Guess the file's decimal mark and thousands separator from a sample of cells.

    Sure decimal commas (``1.234,56``, ``12,5``) against sure thousands commas
    (``1,234.5``, ``1,234,567``); cells like ``1,234`` are ambiguous and follow the
    delimiter (``;`` files come from locales with a decimal comma).
    """
    sample = df.head(200)
    cols = [sample[c] for c in sample.columns
            if c != PARSE_ERROR_COLUMN and pd.api.types.is_string_dtype(sample[c])]
    s = (pd.Series(np.concatenate([c.to_numpy(dtype=object) for c in cols])).dropna().astype(str).str.strip()
         if cols else pd.Series([], dtype=str))
    dec_comma = int(s.str.match(_NUM_DEC_COMMA).sum())  # one pass over all columns: wide files
    thou_comma = int(s.str.match(_NUM_THOUSANDS_COMMA).sum())
    ambiguous = int(s.str.match(_NUM_AMBIGUOUS_COMMA).sum())
    if dec_comma > thou_comma or (dec_comma == thou_comma and ambiguous and delimiter == ";"):
        return ",", "."
    if thou_comma or ambiguous:
        return ".", ","
    return ".", None


def check_header(raw: list, name: str, row: int) -> None:
    """Refuse a header row that is mostly blank (a merged title cell, a blank first row).

    Raises
    ------
    DataFileError
        When at least two columns exist and more than half of the header cells are blank,
        naming the blank positions and the row.
    """
    blank = [i for i, h in enumerate(raw, start=1) if h is None or not str(h).strip()
             or str(h).strip().lower().startswith("unnamed:") or (isinstance(h, float) and h != h)]
    if len(raw) >= 2 and len(blank) * 2 > len(raw):
        named = [str(h).strip() for h in raw if h is not None and str(h).strip() and h == h]
        where = ", ".join(f"{i} ({column_letter(i)})" for i in blank[:12]) + (", ..." if len(blank) > 12 else "")
        raise DataFileError(
            f"{name}: row {row} should hold the column names, but {len(blank)} of its {len(raw)} cells "
            f"are blank (columns {where}){'; it holds ' + repr(named[0][:60]) if named else ''}: a title "
            f"or merged cells above the header? Delete the rows above the column names and save again"
        )


def csv_layout(data: bytes, name: str) -> tuple[bytes, ReadReport, list[str]]:
    """Decode a delimited text file, sniff its delimiter and clean its header.

    Returns the UTF-8 bytes from the header on (title lines above it are dropped:
    :func:`title_lines`, ``report.header_line``), the report (encoding, delimiter) and the
    column names; raises :class:`DataFileError` for empty files, delimiter trouble and a
    mostly blank header (:func:`check_header`).
    """
    data, encoding = decode(data, name)
    return text_layout(data, name, encoding)


def text_layout(data: bytes, name: str, encoding: str) -> tuple[bytes, ReadReport, list[str]]:
    """:func:`csv_layout` for text already decoded to UTF-8 (the start of a streamed file)."""
    report = ReadReport(source=name, format="csv", encoding=encoding)
    if not data or data.isspace():  # same test as `not data.strip()` without copying the file
        raise DataFileError(f"{name}: the file is empty")
    titles = title_lines(data)
    if titles:
        end = after_lines(data, titles)
        shown = "; ".join(t.strip() for t in data[:end].decode("utf-8", "replace").splitlines() if t.strip())
        report.warnings.append(f"skipped {titles} row(s) above the header (a title?): {shown[:120]!r}")
        report.header_line, data = titles + 1, data[end:]
    head = data[:65536].decode("utf-8", "ignore")
    delimiter, agree = sniff(head)
    first_line = head.splitlines()[0] if head.splitlines() else ""
    if delimiter is not None and agree < 0.5:
        raise DataFileError(
            f"{name}: the header splits on {delimiter!r} into several columns but most of the "
            f"first data rows do not split into the same number of fields (read with one "
            f"delimiter they would become a single column); check the delimiter and quoting, "
            f"or {FIX_HINT}"
        )
    if delimiter is None:
        found = [d for d in DELIMITERS if d in first_line]
        if found:
            raise DataFileError(
                f"{name}: the file reads as a single column although its header contains "
                f"{found[0]!r}; the rows do not split consistently on that delimiter "
                f"(check quoting), or {FIX_HINT}"
            )
        delimiter = ","
    report.delimiter = delimiter
    header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    check_header(header, name, report.header_line)
    names = clean_headers(header, report)
    if len(names) == 1 and any(d in names[0] for d in DELIMITERS):
        raise DataFileError(f"{name}: the file reads as one column whose header contains a delimiter; {FIX_HINT}")
    return data, report, names
