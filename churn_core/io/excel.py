"""XLSX workbooks (read with openpyxl through pandas) to frames of text cells.

A workbook's every sheet is looked at: a sheet is a *table* when it has a header and at least
one data row in two or more columns. One table: it is read, with a note naming the other
sheets. Several tables with the same columns (a month per sheet, a region per sheet): the
analyst chooses (``sheet=`` of :func:`churn_core.io.reader.read_table`, ``--sheet`` in the
command line); reading one of them silently would lose the others' customers. Several tables
with different columns: the first is read, with a note naming the others.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from churn_core.errors import DataFileError
from churn_core.io.layout import check_header
from churn_core.io.report import ReadReport, clean_headers, finish


def _is_table(df: pd.DataFrame) -> bool:
    return df.shape[1] >= 2 and len(df) > 0


def _same_columns(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    norm = [str(c).strip().casefold() for c in a.columns]
    return norm == [str(c).strip().casefold() for c in b.columns]


def read_xlsx(data: bytes, name: str, sheet: str | int | None = None) -> tuple[pd.DataFrame, ReadReport]:
    """Read one sheet of an .xlsx workbook as text cells, rows numbered as Excel numbers them.

    Parameters
    ----------
    data : bytes
        The workbook.
    name : str
        File name for messages.
    sheet : str or int, optional
        Sheet name (case-insensitive) or 0-based position. Default: the only table in the
        workbook, or the first one when the other tables have other columns.

    Returns
    -------
    (DataFrame, ReadReport)
        Cells as text (``str``, blanks missing); the index holds spreadsheet rows (header = 1).

    Raises
    ------
    DataFileError
        A damaged workbook, a zip that is no workbook, an unknown ``sheet``, several sheets
        holding tables with the same columns and no ``sheet`` given (naming them), or a header
        row that is mostly blank (:func:`churn_core.io.layout.check_header`).
    """
    report = ReadReport(source=name, format="xlsx")
    try:
        with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
            sheets = list(book.sheet_names)
            if sheet is not None:
                pick = _pick(sheets, sheet, name)
                frames = {pick: book.parse(pick, dtype=str)}
            else:
                frames = {s: book.parse(s, dtype=str) for s in sheets}
    except DataFileError:
        raise
    except Exception as exc:  # openpyxl / zipfile raise many types for damaged files
        if "[Content_Types].xml" in str(exc):
            raise DataFileError(f"{name}: is a zip archive, not an Excel .xlsx workbook; unzip it and "
                                f"upload the CSV/XLSX inside") from None
        raise DataFileError(f"{name}: cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc})") from None
    if sheet is not None:
        used = next(iter(frames))
    else:
        tables = [s for s in sheets if _is_table(frames[s])]
        used = tables[0] if tables else sheets[0]
        similar = [s for s in tables if _same_columns(frames[s], frames[used])]
        if len(similar) > 1:
            sizes = ", ".join(f"{s!r} ({len(frames[s]):,} rows)" for s in similar)
            raise DataFileError(
                f"{name}: {len(similar)} sheets hold customer tables with the same columns: {sizes}; "
                f"choose one (the sheet picker next to the app's upload, --sheet NAME in the "
                f"command line) or put them in one sheet")
    if len(sheets) > 1:
        others = [s for s in sheets if s != used]
        report.warnings.append(f"the workbook has {len(sheets)} sheets; read sheet {used!r}; not read: "
                               f"{', '.join(map(repr, others[:10]))}{', ...' if len(others) > 10 else ''}")
    report.sheet = str(used)
    df = frames[used]
    check_header(list(df.columns), name, 1)
    df.columns = clean_headers(list(df.columns), report)
    df = df.astype("str").where(df.notna(), np.nan) if len(df) else df.astype("str")
    return finish(df.reset_index(drop=True), np.arange(2, len(df) + 2), report), report


def sheet_names(data: bytes) -> list[str]:
    """The sheet names of an .xlsx workbook, in workbook order (only the workbook's index is
    read, not its cells).

    Parameters
    ----------
    data : bytes
        The workbook.

    Returns
    -------
    list of str

    Raises
    ------
    DataFileError
        When ``data`` cannot be opened as an .xlsx workbook.
    """
    try:
        with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
            return [str(s) for s in book.sheet_names]
    except Exception as exc:  # openpyxl / zipfile raise many types for damaged files
        raise DataFileError(f"cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc})") from None


def _pick(sheets: list[str], sheet: str | int, name: str) -> str:
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in sheets):
        k = int(sheet)
        if 0 <= k < len(sheets):
            return sheets[k]
    else:
        match = [s for s in sheets if s.strip().casefold() == str(sheet).strip().casefold()]
        if match:
            return match[0]
    raise DataFileError(f"{name}: no sheet {sheet!r}; the workbook's sheets: {', '.join(map(repr, sheets))}")
