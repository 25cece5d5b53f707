"""Date columns are no model features: a date is not a reason an agent can act on.

A text column whose cells read as dates (``13/02/2024``, ``2024-02-13``, ``2024-02-13
10:22:00``, ``13 Feb 2024``, ``Feb 13, 2024``) would otherwise become a categorical feature
with one category per day (then a call reason such as "Last contact: 13/02/2024", and
"none of the known categories" next month), or, with one date per customer, an ID column.
:func:`churn_core.data.infer.infer_schema` leaves such columns out of the model with the
note of :func:`date_reason`; the analyst can derive a number (days since the date) instead.

Rules (:func:`looks_like_dates`): at least :data:`DATE_SHARE` of the non-blank cells (of a
fixed sample of at most :data:`DATE_SAMPLE` cells) have a date shape (three numeric parts
split by ``-``, ``/`` or ``.`` with a 4-digit year first or a 2- or 4-digit year last, an
optional time; or a month name next to a day or year) *and* parse as real dates with one
format (``pandas.to_datetime``: ISO 8601, day first, month first or mixed). Plain numbers
(``20240213``, ``42``, ``1.5``, ``1.234,5``) and IDs (``7590-VHVEG``) are never dates.
"""
from __future__ import annotations

import re
import warnings

import pandas as pd

from churn_core.data.cells import blank_mask

#: Share of the non-blank cells that must be dates for the column to count as dates.
DATE_SHARE = 0.9
#: Cells looked at per column (a fixed-seed sample of a bigger column).
DATE_SAMPLE = 2000
#: The start of the reason :func:`churn_core.data.infer.infer_schema` records.
DATE_REASON_START = "looks like dates"

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?m\.?)?\s*(?:z|[+-]\d{2}:?\d{2})?)?"
_DATE_SHAPE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"           # 2024-02-13, 2024/2/13
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"    # 13/02/2024, 02-13-24, 13.02.2024
    r"|\d{1,2}[ \-/]?" + _MONTHS + r"[ \-/,]*(?:\d{4}|\d{2})"   # 13 Feb 2024, 13-Feb-24
    r"|" + _MONTHS + r" \d{1,2}(?:st|nd|rd|th)?,? (?:\d{4}|\d{2})"  # Feb 13, 2024
    r")" + _TIME + r"$", re.IGNORECASE)
#: Formats tried one at a time (a column is written with one format); then pandas' mixed.
_FORMATS = ("ISO8601", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d",
            "%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%b %d, %Y")


def _parsed_share(cells: pd.Series) -> float:
    """Largest share of ``cells`` that one format (or pandas' mixed parser) reads as dates."""
    tries = [{"format": fmt} for fmt in _FORMATS]
    tries += [{"format": "mixed", "dayfirst": True}, {"format": "mixed", "dayfirst": False}]
    best = 0.0
    with warnings.catch_warnings():  # "could not infer format": the point of trying several
        warnings.simplefilter("ignore")
        for kw in tries:
            try:  # utc: cells with and without a time zone in one column
                parsed = pd.to_datetime(cells, errors="coerce", utc=True, **kw)
            except (ValueError, TypeError, OverflowError):
                continue
            best = max(best, float(parsed.notna().mean()))
            if best >= DATE_SHARE:
                break
    return best


def looks_like_dates(series: pd.Series) -> bool:
    """Whether a column holds dates (or date-times) written as text.

    Parameters
    ----------
    series : Series of shape (n_rows,)
        The column as read (text cells; a datetime dtype counts as dates, numbers never).

    Returns
    -------
    bool
        True when at least :data:`DATE_SHARE` of the non-blank cells have a date shape and
        parse as dates; False for a blank column.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    cells = series[~blank_mask(series)]
    if cells.empty:
        return False
    if len(cells) > DATE_SAMPLE:
        cells = cells.sample(DATE_SAMPLE, random_state=0)
    text = cells.astype(str).str.strip()
    shaped = text[text.str.match(_DATE_SHAPE)]
    if len(shaped) < DATE_SHARE * len(text):
        return False
    return len(shaped) * _parsed_share(shaped) / len(text) >= DATE_SHARE


def _words(column) -> str:
    """``LastContact`` -> ``last contact``, ``signup_date`` -> ``signup date``."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(column).strip())
    return re.sub(r"[_\-.\s]+", " ", text).strip().lower()


def date_reason(column, example: str | None = None) -> str:
    """Why a date column is left out of the model, and what to do instead.

    Parameters
    ----------
    column : str
        The column name.
    example : str, optional
        One of its cells, shown in brackets.

    Returns
    -------
    str
        ``"looks like dates (13/02/2024): left out of the model; a date is not a reason an
        agent can act on. Derive a number such as days since last contact to use it"``.
    """
    shown = f" ({example})" if example else ""
    since = _words(column) or "that date"
    return (f"{DATE_REASON_START}{shown}: left out of the model; a date is not a reason an "
            f"agent can act on. Derive a number such as days since {since} to use it")


def first_cell(series: pd.Series) -> str | None:
    """The first non-blank cell of ``series`` as stripped text, or None."""
    cells = series[~blank_mask(series)]
    return str(cells.iloc[0]).strip() if len(cells) else None


def date_notes(schema) -> list[str]:
    """One sentence per column a schema left out because it looks like dates.

    Parameters
    ----------
    schema : FeatureSchema

    Returns
    -------
    list of str
        ``"LastContact looks like dates (21/02/2024): left out of the model; ..."`` in
        column order (the CLI's ``train`` and the Data page show them).
    """
    reasons = getattr(schema, "reasons", None) or {}
    return [f"{c} {reasons[c]}" for c in schema.excluded
            if str(reasons.get(c, "")).startswith(DATE_REASON_START)]
