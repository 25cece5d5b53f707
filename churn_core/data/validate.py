"""Typing and row accounting: turn a table as read into typed valid rows and rejected rows.

Columns are matched to the schema by name (case and surrounding whitespace ignored), never by
position. Every input row ends up either in ``valid`` or in ``rejected`` (with the original
cells, its ``source_row`` and a ``reason`` naming the column, line and bad value), so
``len(valid) + len(rejected) == len(df)`` always holds.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_core import config
from churn_core.errors import MissingColumnsError, SchemaError, TrainingDataError, shown
from churn_core.io.reader import ROW_INDEX, PARSE_ERROR_COLUMN
from churn_core.data.cells import (arrow_text, blank_mask, label_text, match_columns,
                                    normalize_categories, parse_numeric)
from churn_core.data.infer import label_class, looks_like_id
from churn_core.data.schema import FeatureSchema

@dataclass
class ValidationReport:
    """Counts that explain what validation did to a file.

    Attributes
    ----------
    source : str
    rows_in, rows_valid, rows_rejected : int
        ``rows_in == rows_valid + rows_rejected``.
    blanks : dict of str to int
        Blank cells per feature column (kept as missing and imputed for numeric/categorical).
    rejected_reasons : dict of str to int
        Rejected rows per kind of reason (e.g. ``"Age: not a number"``).
    duplicate_ids : dict of str to int
        Rows whose ID value appears more than once, per ID column (a warning).
    renamed_columns : dict of str to str
        File column -> schema column, for headers that differed in case or whitespace.
    extra_columns : list of str
        File columns that are not in the schema (passed through).
    warnings : list of str
    """

    source: str = "data"
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    blanks: dict = field(default_factory=dict)
    rejected_reasons: dict = field(default_factory=dict)
    duplicate_ids: dict = field(default_factory=dict)
    renamed_columns: dict = field(default_factory=dict)
    extra_columns: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class ValidationResult:
    """Output of :func:`validate`.

    Attributes
    ----------
    valid : DataFrame of shape (n_valid, n_columns)
        Passthrough columns (IDs, personal), features (numeric as float64, categorical as
        stripped ``str``), the target as text when present, extra columns, and ``source_row``.
    rejected : DataFrame of shape (n_rejected, n_columns_in + 2)
        Original cells + ``source_row`` + ``reason``.
    y : ndarray of shape (n_valid,), int8, or None
        1 = churned (positive label), 0 = not; ``None`` when the target was not required.
    report : ValidationReport
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    y: np.ndarray | None
    report: ValidationReport


def _source_rows(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == ROW_INDEX:
        return np.asarray(df.index, dtype=np.int64)
    return np.arange(2, len(df) + 2, dtype=np.int64)


def _not_churned_text(negative: str | None, texts: list, classes) -> str:
    """The values counted as not churned, for a rejected label's reason: the negative label,
    else the file's values naming staying, else what would be."""
    if negative is not None:
        return repr(negative)
    stay: dict = {}
    for t, c in zip(texts, classes):
        if c == 0:
            stay.setdefault(t.casefold(), t)  # first spelling met
    stay = list(stay.values())
    return ", ".join(map(repr, stay[:5])) if stay else "no value of the file reads as not churned"


def validate(df: pd.DataFrame, schema: FeatureSchema, require_target: bool,
             source_name: str | None = None, decimal: str | None = None,
             count_duplicate_ids: bool = True) -> ValidationResult:
    """Type the schema's columns and split rows into valid and rejected.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        A table from :func:`churn_core.io.reader.read_table` (text cells; its ``source_row``
        index gives spreadsheet rows, otherwise row ``i`` is row ``i + 2``).
    schema : FeatureSchema
    require_target : bool
        Training/evaluation: the target column must exist, blank or unknown labels are
        rejected and ``y`` is returned. Scoring: pass ``False``.
    source_name : str, optional
        File name for messages (defaults to ``df.attrs["source_name"]``).
    decimal : {".", ","}, optional
        Tie-breaker for ambiguous numbers such as ``1,234``; default ``df.attrs["decimal"]``
        set by :func:`churn_core.io.reader.read_table` (``ReadReport.decimal``).
    count_duplicate_ids : bool, default True
        Count valid rows sharing an ID value (``report.duplicate_ids``). A caller that
        validates a file chunk by chunk passes ``False`` and counts over the whole file.

    Returns
    -------
    ValidationResult

    Raises
    ------
    MissingColumnsError
        One error listing every required column (features, and the target when required)
        that the file lacks.
    SchemaError
        ``require_target`` with no target or positive label in the schema.

    Notes
    -----
    Numeric cells that are blank become NaN (counted in ``report.blanks``); non-blank cells
    that are not numbers reject the row with a reason naming column, line and value; so does
    a row whose every cell is blank (``,,,,`` lines that spreadsheets export). A
    target cell is 1 when it equals the positive label (case-insensitive, ``1.0`` == ``1``),
    0 when it equals the negative label (without one, with three or more labels: when it
    names the opposite of the positive label, ``No``/``0``/``stayed`` next to ``Yes``), and
    rejected when blank or anything else ("target value 'maybe' is neither churned ('Yes')
    nor not churned ('No')"; :func:`churn_core.data.infer.label_class`).
    """
    source = source_name or df.attrs.get("source_name") or "data"
    word = df.attrs.get("line_word", "row")  # rows as a spreadsheet numbers them
    decimal = decimal or df.attrs.get("decimal")
    report = ValidationReport(source=source, rows_in=len(df))
    if require_target and (schema.target is None or schema.positive_label is None):
        hint = ""
        if schema.target is not None:
            tcol = match_columns(df.columns, [schema.target]).get(schema.target)
            if tcol is not None:
                vals = sorted({t for t in map(label_text, df[tcol].unique()) if t is not None})
                hint = ("; the file has no data rows" if not len(df) else
                        f"; column {schema.target!r} is blank in all {len(df)} rows" if not vals else
                        f"; column {schema.target!r} holds {', '.join(map(shown, vals[:10]))} in {len(df)} "
                        f"row(s): say which value means churned (--positive-label), and the file needs "
                        f"both churners and non-churners")
        raise SchemaError(
            f"{source}: training needs a target column and its positive (churned) label; "
            f"target={schema.target!r}, positive label={schema.positive_label!r}{hint}"
        )
    required = list(schema.features) + ([schema.target] if require_target else [])
    optional = list(schema.passthrough) + ([] if require_target or schema.target is None else [schema.target])
    found = match_columns(df.columns, required + optional)
    missing = [c for c in required if c not in found]
    if missing:
        raise MissingColumnsError(missing, source, found=list(df.columns))
    report.renamed_columns = {found[c]: c for c in found if found[c] != c}
    used = set(found.values()) | {PARSE_ERROR_COLUMN}
    extras = [c for c in df.columns if c not in used and c != ROW_INDEX]
    report.extra_columns = [str(c) for c in extras]
    lines = _source_rows(df)
    n = len(df)
    reasons: dict = defaultdict(list)
    kinds: Counter = Counter()
    problem = np.zeros(n, bool)

    summary = np.zeros(n, bool)  # summary rows get that one reason, not "not a number" etc.

    def flag(mask: np.ndarray, kind: str, make) -> None:
        mask = mask & ~summary
        for i in np.flatnonzero(mask):
            reasons[i].append(make(i))
        problem[mask] = True
        if mask.any():
            kinds[kind] += int(mask.sum())

    if PARSE_ERROR_COLUMN in df.columns:
        perr = df[PARSE_ERROR_COLUMN].notna().to_numpy()
        errs = df[PARSE_ERROR_COLUMN].to_numpy()
        flag(perr, "wrong number of fields", lambda i: str(errs[i]))
    raw_cols = [c for c in df.columns if c != PARSE_ERROR_COLUMN]
    cells = [c for c in raw_cols if c != ROW_INDEX]
    if n and cells:  # a row of empty fields (",,,," exported from a spreadsheet) is no customer
        empty = np.logical_and.reduce([df[c].isna().to_numpy() for c in cells])
        flag(empty, "empty row", lambda i: f"{word} {lines[i]}: the row is empty (every cell is blank)")
        from churn_core.data.summary_rows import REASON, summary_row_mask

        srows = summary_row_mask(df, cells, blank_mask,
                                 lambda s: parse_numeric(s, decimal)) & ~problem
        flag(srows, "summary row", lambda i: f"{word} {lines[i]}: {REASON}")
        summary |= srows

    out: dict = {}
    for col in schema.passthrough:
        if col in found:
            out[col] = df[found[col]].array
    for col in schema.numeric:
        raw = df[found[col]]
        vals, blank, bad = parse_numeric(raw, decimal)
        report.blanks[col] = int(blank.sum())
        if bad.any():
            flag(bad, f"{col}: not a number",
                 lambda i, col=col, raw=raw: f"column {col!r}, {word} {lines[i]}: {shown(str(raw.iloc[i]))} is not a number")
        out[col] = vals
    for col in schema.categorical:
        cats = normalize_categories(df[found[col]])
        report.blanks[col] = int(cats.isna().sum())
        out[col] = cats.array
    y = None
    if schema.target is not None and schema.target in found:
        raw_t = df[found[schema.target]]
        if require_target:
            codes, uniques = pd.factorize(raw_t, use_na_sentinel=True)
            texts_u = [label_text(u) for u in uniques] + [None]
            codes = np.where(codes < 0, len(texts_u) - 1, codes)
            # class of each distinct value: 1 churned, 0 not, -1 blank, -2 neither (rejected)
            cls_u = np.array([label_class(t, schema.positive_label, schema.negative_label)
                              for t in texts_u])
            cls = cls_u[codes]
            tcol = schema.target
            stay = _not_churned_text(schema.negative_label, texts_u, cls_u)
            flag(cls == -1, f"{tcol}: blank target",
                 lambda i: f"column {tcol!r}, {word} {lines[i]}: the target is blank (a customer with no "
                           f"known outcome is not counted as a churner)")
            flag(cls == -2, f"{tcol}: unknown label",
                 lambda i: f"column {tcol!r}, {word} {lines[i]}: target value {shown(texts_u[codes[i]])} "
                           f"is neither churned ({schema.positive_label!r}) nor not churned ({stay})")
            y = (cls == 1).astype(np.int8)
        out[schema.target] = raw_t.array
    for col in extras:
        if col not in out:
            out[col] = df[col].array
    out[ROW_INDEX] = lines
    full = pd.DataFrame(out)

    keep = ~problem
    if problem.any():
        valid = full.loc[keep].reset_index(drop=True)
        rejected = df.loc[problem, raw_cols].reset_index(drop=True)
    else:
        valid = full
        rejected = df[raw_cols].iloc[:0].reset_index(drop=True)
    rejected[ROW_INDEX] = lines[problem]
    rejected["reason"] = ["; ".join(reasons[i]) for i in np.flatnonzero(problem)]
    if y is not None:
        y = y[keep]
    report.rows_valid, report.rows_rejected = len(valid), len(rejected)
    report.rejected_reasons = dict(kinds)
    for col in schema.id_columns if count_duplicate_ids else ():
        if col in valid.columns:
            ndup = count_duplicated(valid[col])
            if ndup:
                report.duplicate_ids[col] = ndup
                report.warnings.append(f"{ndup} rows share an ID value in column {col!r} (duplicate customers?)")
    if y is not None:
        _note_blank_for_every_churner(valid, y, schema, report)
    if report.rows_rejected:
        report.warnings.append(f"{report.rows_rejected} of {n} rows rejected; download them with their reasons")
    return ValidationResult(valid=valid, rejected=rejected, y=y, report=report)


def _note_blank_for_every_churner(valid: pd.DataFrame, y: np.ndarray, schema: FeatureSchema,
                                  report: ValidationReport) -> None:
    """A feature blank for every churner but filled for other customers is filled in for
    training like any blank; say so (such a column is often recorded only after a customer
    stays, so it may leak the outcome or mean nothing for new customers)."""
    churn = np.asarray(y) == 1
    if not churn.any() or churn.all():
        return
    for col in schema.features:
        if col not in valid.columns:
            continue
        blank = pd.isna(valid[col]).to_numpy()
        if blank[churn].all() and not blank[~churn].all():
            report.warnings.append(
                f"column {col!r} is blank for every churner ({int(churn.sum())} rows) but filled for "
                f"{int((~blank[~churn]).sum())} other customers; its blanks are filled in for training. A "
                f"column recorded only for customers who stayed can leak the outcome: check it or "
                f"exclude it")


def reason_summary(reasons: dict, rows_rejected: int, top: int = 5) -> str:
    """The commonest reasons rows were rejected, as one line for a message.

    Parameters
    ----------
    reasons : dict of str to int
        Rejected rows per kind of reason (:attr:`ValidationReport.rejected_reasons`). A row
        with two problems is counted under both kinds.
    rows_rejected : int
        Rows rejected (each counted once).
    top : int, default=5
        Kinds shown, the commonest first.

    Returns
    -------
    str
        ``"Age: not a number (3), Exited: blank target (1)"``; followed by
        ``" (a row can have more than one reason)"`` when the counts add up to more than
        ``rows_rejected``, so that the reader does not take the sum for the rows.
    """
    kinds = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{k} ({v:,})" for k, v in kinds[:top])
    if len(kinds) > top:
        text += f", {len(kinds) - top} other kind(s)"
    if sum(reasons.values()) > rows_rejected:
        text += " (a row can have more than one reason)"
    return text


def count_duplicated(series: pd.Series) -> int:
    """Number of non-missing cells whose value appears more than once (``keep=False``).

    Text IDs written as plain integers (the usual case) are compared as int64, which hashes
    about 10x faster than strings; the integer path is taken only when every cell converts
    back to exactly the same text (so ``"007"`` and ``"7"`` stay different IDs).

    Parameters
    ----------
    series : Series of shape (n_samples,)

    Returns
    -------
    int
        Equal to ``int(series.dropna().duplicated(keep=False).sum())``.
    """
    s = series.dropna()
    if len(s) and (isinstance(s.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(s.dtype)):
        try:
            text = arrow_text(s)
            ints = pc.cast(text, pa.int64())
            if pc.all(pc.equal(pc.cast(ints, pa.large_string()), text)).as_py():
                return int(pd.Series(ints.to_numpy(zero_copy_only=False)).duplicated(keep=False).sum())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    return int(s.duplicated(keep=False).sum())


def check_trainable(valid: pd.DataFrame, y, schema: FeatureSchema) -> None:
    """Refuse training data that cannot give a meaningful model.

    Parameters
    ----------
    valid : DataFrame
        ``ValidationResult.valid``.
    y : array-like of shape (n_valid,)
        0/1 labels.
    schema : FeatureSchema

    Raises
    ------
    TrainingDataError
        Listing every problem found: only one class; fewer rows than
        ``config.MIN_TRAIN_ROWS``; fewer than ``config.MIN_ROWS_PER_CLASS`` rows of a class;
        a feature that is all missing or constant; an ID-like column used as a feature.
    """
    problems: list[str] = []
    y = np.asarray(y if y is not None else [], dtype=float)
    n = len(y)
    n_pos = int((y == 1).sum())
    n_neg = n - n_pos
    if n < config.MIN_TRAIN_ROWS:
        problems.append(f"only {n} valid rows; training needs at least {config.MIN_TRAIN_ROWS}")
    if n and (n_pos == 0 or n_neg == 0):
        only = "churners" if n_neg == 0 else "non-churners"
        problems.append(f"the target {schema.target!r} has one class only (all {n} rows are {only}); "
                        f"check the positive label {schema.positive_label!r}")
    else:
        for label, count in (("churners", n_pos), ("non-churners", n_neg)):
            if count < config.MIN_ROWS_PER_CLASS:
                problems.append(f"only {count} {label}; training needs at least "
                                f"{config.MIN_ROWS_PER_CLASS} of each class")
    if not schema.features:
        problems.append("no feature columns are selected")
    for col in schema.features:
        if col not in valid.columns or not len(valid):  # no rows: nothing to say per column
            continue
        s = valid[col]
        if s.isna().all():
            problems.append(f"feature {col!r} is blank in every row; exclude it")
        elif s.nunique(dropna=True) <= 1 and not s.isna().any():
            problems.append(f"feature {col!r} has the same value ({shown(s.dropna().iloc[0])}) in every row; exclude it")
        elif looks_like_id(col, s):
            problems.append(f"feature {col!r} looks like a customer ID (unique per row or an ID name); "
                            f"use it as an ID column, not a feature")
    if problems:
        raise TrainingDataError("Cannot train on this data: " + "; ".join(problems) + ".")
