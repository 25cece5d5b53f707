"""Summary rows are not customers (issue 14, item 6): rejected with the reason "looks like a
summary row, not a customer" in training and scoring, CSV and XLSX, CLI and app, and counted
in rows in = scored + rejected."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core import config
from churn_core.cli import main
from churn_core.data.summary_rows import REASON
from churn_core.data.validate import validate
from churn_core.io.reader import read_table

TINY = ["--hidden", "8", "--max-epochs", "2", "--patience", "1", "--batch-size", "512",
        "--learning-rate", "0.01"]
NUMERIC = ["CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard",
           "IsActiveMember", "EstimatedSalary", "Exited"]


def _with_summary_rows(n: int = 600) -> tuple[pd.DataFrame, dict]:
    """Sample customers + a 'Sum' surname customer (kept) + three summary lines (rejected):
    an 'Average' line inside, a mostly blank 'Grand total:' line, and a last line of column
    sums labelled 'Total' in the first column. Returns the frame (text) and the line numbers."""
    df = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(n)
    df.loc[df.index[7], "Surname"] = "Sum"  # a real customer named Sum stays a customer
    nums = df[NUMERIC].astype(float)
    avg = {c: "" for c in df.columns}
    avg.update({c: f"{nums[c].mean():.2f}" for c in NUMERIC})
    avg["Surname"] = "Average"
    grand = {c: "" for c in df.columns}
    grand.update({"Geography": "Grand total:", "Balance": f"{nums['Balance'].sum():.2f}"})
    total = {c: "" for c in df.columns}
    total.update({c: f"{nums[c].sum():.2f}".removesuffix(".00") for c in NUMERIC})
    total["RowNumber"] = "Total"
    half = n // 2
    rows = pd.concat([df.iloc[:half], pd.DataFrame([avg]), df.iloc[half:], pd.DataFrame([grand]),
                      pd.DataFrame([total])], ignore_index=True)
    lines = {"average": half + 2, "grand": n + 3, "total": n + 4}
    return rows, lines


def _write(frame: pd.DataFrame, path, kind: str):
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:  # numbers as numbers, as a spreadsheet holds them
        typed = frame.copy()
        for c in NUMERIC + ["RowNumber", "CustomerId"]:
            typed[c] = pd.to_numeric(typed[c], errors="coerce").astype(object).where(
                typed[c].ne("") & pd.to_numeric(typed[c], errors="coerce").notna(), typed[c])
            typed[c] = typed[c].replace("", None)
        typed.to_excel(path, index=False)
    return path


def _summary_lines(rejected: pd.DataFrame) -> set:
    return set(rejected.loc[rejected["reason"].str.contains(REASON, regex=False),
                            "source_row"].astype(int))


def test_validate_rejects_summary_rows_and_keeps_a_customer_named_sum(sample_schema):
    frame, lines = _with_summary_rows()
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="source_row")
    res = validate(frame, sample_schema, require_target=True, source_name="x.csv")
    assert _summary_lines(res.rejected) == set(lines.values())
    assert len(res.valid) + len(res.rejected) == len(frame)
    assert len(res.rejected) == 3  # nothing else rejected: the 'Sum' customer is valid
    assert "Sum" in set(res.valid["Surname"])
    assert res.report.rejected_reasons == {"summary row": 3}
    # one reason per summary row (not also "not a number" for its label cell)
    assert res.rejected["reason"].str.count(";").eq(0).all()
    # the label alone does not make a summary row: a customer row reading 'Total' stays
    row = frame.iloc[[0]].copy()
    row["Surname"] = "Total"
    assert len(validate(pd.concat([frame.iloc[:50], row]), sample_schema,
                        require_target=True).rejected) == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_train_and_score_reject_summary_rows(kind, tmp_path, capsys):
    from churn_core.model.bundle import load_bundle

    frame, lines = _with_summary_rows()
    path = _write(frame, tmp_path / f"export.{kind}", kind)
    df, _ = read_table(path)
    assert len(df) == len(frame)
    # training (CLI): the summary rows are not trained on, and are listed with the reason
    assert main(["-q", "train", "--data", str(path), "--target", "Exited",
                 "--out", str(tmp_path / "m"), *TINY]) == 0
    card = load_bundle("m", tmp_path).card
    assert card["rows"] == {"input": len(frame), "valid": len(frame) - 3, "rejected": 3}
    assert card["rejected_reasons"] == {"summary row": 3}
    rej = pd.read_csv(tmp_path / "m_rejected_rows.csv")
    assert _summary_lines(rej) == set(lines.values())
    # scoring (CLI): rows in = scored + rejected, the summary rows rejected with the reason
    capsys.readouterr()
    out = tmp_path / "scores.csv"
    assert main(["-q", "score", "--model", str(tmp_path / "m"), "--data", str(path),
                 "--out", str(out)]) == 0
    assert f"{len(frame)} rows in = {len(frame) - 3} scored + 3 rejected" in capsys.readouterr().out
    scored = pd.read_csv(out)
    rejected = pd.read_csv(out.with_name("scores_rejected.csv"))
    assert len(scored) + len(rejected) == len(frame)
    assert _summary_lines(rejected) == set(lines.values())
    assert not set(scored["source_row"]) & set(lines.values())
    assert np.isfinite(scored["churn_probability"]).all()


@pytest.mark.slow
def test_the_app_rejects_a_totals_row(app_models):  # noqa: F811
    from apptest_util import assert_no_exception, metric, number, open_page

    frame, lines = _with_summary_rows(300)
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        ("export.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    assert number(metric(at, "Rows")) == len(frame)
    assert number(metric(at, "Rejected rows")) == 3
    rejected = [d.value for d in at.dataframe if "reason" in getattr(d.value, "columns", [])][0]
    assert _summary_lines(rejected) == set(lines.values())
    at.switch_page("pages/score_segment.py").run()
    assert_no_exception(at)
    n = len(frame)
    accounting = [m.value.replace("\\", "") for m in at.markdown if "rows in =" in m.value]
    assert accounting and (f"{n:,} rows in = **{n - 3:,} scored** + **3 rejected**"
                           in accounting[0])
    assert "default (synthetic)" in accounting[0]


from apptest_util import app_models  # noqa: E402,F401  (module-scoped models folder fixture)
