"""What every reader returns besides the cells: the :class:`ReadReport`, the index of source
rows, and the column of rows that could not be split into the header's fields."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd


#: Column added by the readers when a row cannot be split into the header's fields.
PARSE_ERROR_COLUMN = "__parse_error__"
#: Index name holding each row's spreadsheet row (header = row 1).
ROW_INDEX = "source_row"
def column_letter(i: int) -> str:
    """Spreadsheet letter of the 1-based column ``i`` (1 -> A, 27 -> AA)."""
    out = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class ReadReport:
    """What :func:`churn_core.io.reader.read_table` found out about a file.

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
        Things the user should know (renamed headers, ragged rows, other sheets...).
    header_line : int
        Spreadsheet row of the header: 1, or lower when rows above it (a report title, a
        date) were skipped.
    sheet : str or None
        The XLSX sheet read.
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
    sheet: str | None = None

    @property
    def line_word(self) -> str:
        """``"row"``: every format is numbered as a spreadsheet numbers its rows."""
        return "row"

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


def clean_headers(raw: list, report: ReadReport) -> list[str]:
    """Strip headers, name blank ones ``column_<n>`` and number duplicates ``name.1``, each
    with a warning naming the column's position and spreadsheet letter."""
    out: list[str] = []
    first: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, h in enumerate(raw, start=1):
        h = "" if h is None or (isinstance(h, float) and np.isnan(h)) else str(h)
        h = h.replace("\ufeff", "").strip()
        if not h or h.lower().startswith("unnamed:"):
            new = f"column_{i}"
            report.warnings.append(f"column {i} ({column_letter(i)}) has no header; named it {new!r}")
            h = new
        key = h.casefold()
        if key in seen:
            seen[key] += 1
            new = f"{h}.{seen[key]}"
            j = first[key]
            report.warnings.append(f"header {h!r} appears more than once (columns {j} ({column_letter(j)}) "
                                   f"and {i} ({column_letter(i)})); column {i} renamed {new!r}")
            h = new
            seen[new.casefold()] = 0
        else:
            seen[key], first[key] = 0, i
        out.append(h)
    return out


_HEADER_NOTE = re.compile(r"header .* appears more than once \(columns|column \d+ \(\w+\) has no header")


def header_notes(warnings) -> list[str]:
    """The warnings of :func:`clean_headers` among a read report's ``warnings``: duplicate
    headers (the later column renamed ``name.1``) and blank headers.

    Parameters
    ----------
    warnings : iterable of str
        ``ReadReport.warnings``.

    Returns
    -------
    list of str
        E.g. ``["header 'Age' appears more than once (columns 7 (G) and 8 (H)); column 8
        renamed 'Age.1'"]``: shown as a visible warning by the app and printed by every
        command that reads a file, since a renamed column may otherwise become a feature
        unnoticed.
    """
    return [w for w in warnings or [] if _HEADER_NOTE.match(str(w))]


def finish(df: pd.DataFrame, rows, report: ReadReport) -> pd.DataFrame:
    """Set the source-row index and the attributes every reader sets; fill the report."""
    df.index = pd.Index(np.asarray(rows, dtype=np.int64), name=ROW_INDEX)
    df.attrs["source_name"] = report.source
    df.attrs["line_word"] = report.line_word
    df.attrs["decimal"] = report.decimal
    report.rows_read = len(df)
    report.columns = [c for c in df.columns if c != PARSE_ERROR_COLUMN]
    return df
