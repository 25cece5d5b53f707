"""AppTest of the Data page: upload, read report, schema overrides, quality, bad files."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, metric, number, open_page  # noqa: F401

from churn_core import config

pytestmark = pytest.mark.slow


def _bank_bytes(n=400) -> tuple[bytes, pd.DataFrame]:
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(n)
    frame.loc[frame.index[:3], "Age"] = "not a number"      # 3 rows must be rejected
    frame.loc[frame.index[5:9], "Balance"] = ""             # 4 blanks, imputed later
    frame.loc[frame.index[10], "CustomerId"] = frame.loc[frame.index[11], "CustomerId"]
    return frame.to_csv(index=False, sep=";").encode("utf-8"), frame


@pytest.fixture()
def data_app(app_models):  # noqa: F811
    at = open_page("pages/data.py")
    return at


def test_sample_is_the_default(data_app):
    at = data_app
    n = len(pd.read_csv(config.SAMPLE_CSV))
    assert number(metric(at, "Rows")) == n
    assert any(config.SAMPLE_CSV.name in s.value.replace("\\", "") for s in at.success)
    assert any(f"{config.max_upload_mb()} MB" in c.value for c in at.caption)


def test_upload_semicolon_csv_with_bad_rows(data_app):
    at = data_app
    raw, frame = _bank_bytes()
    at.file_uploader(key="data_upload").set_value(("bank_part.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    assert any("bank_part.csv" in s.value.replace("\\", "") for s in at.success)
    assert number(metric(at, "Rows")) == len(frame)
    assert number(metric(at, "Rejected rows")) == 3
    assert number(metric(at, "Valid rows")) == len(frame) - 3
    assert number(metric(at, "Duplicate customer IDs")) == 2
    assert metric(at, "Delimiter") == "semicolon ;"
    missing = [d.value for d in at.dataframe if "missing" in getattr(d.value, "columns", [])][0]
    assert int(missing.set_index("column").loc["Balance", "missing"]) == 4
    # the rejected rows are listed with a reason naming the column
    rejected = [d.value for d in at.dataframe if "reason" in getattr(d.value, "columns", [])][0]
    assert len(rejected) == 3 and rejected["reason"].str.contains("Age").all()
    # the page survives a switch and comes back with the upload still active
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/data.py").run()
    assert number(metric(at, "Rows")) == len(frame)


def test_schema_override_and_label_confirmation(data_app):
    at = data_app
    raw, frame = _bank_bytes()
    at.file_uploader(key="data_upload").set_value(("bank_part.csv", raw, "text/csv")).run()
    k = at.session_state["active_data"].sha256[:12]
    at.multiselect(key=f"excluded_{k}").set_value(["Tenure"])
    at.multiselect(key=f"numeric_{k}").set_value(["CreditScore", "Age", "Balance",
                                                    "EstimatedSalary"])
    at.form_submit_button[0].click().run()
    assert_no_exception(at)
    schema = at.session_state["active_data"].schema
    assert "Tenure" in schema.excluded and "Tenure" not in schema.features
    assert schema.target == "Exited" and schema.positive_label == "1"
    at.checkbox(key=f"confirm_{k}").check().run()
    assert at.session_state["label_confirmed"] == (at.session_state["active_data"].sha256,
                                                   "Exited", "1")


@pytest.mark.parametrize("name,payload,words", [
    ("junk.csv", bytes(range(256)) * 4, "junk.csv"),
    ("one_column.csv", b"a;b;c\n" + b"1\n" * 5, "one_column.csv"),
    ("empty.csv", b"", "empty"),
])
def test_bad_files_give_a_message_not_a_traceback(data_app, name, payload, words):
    at = data_app
    at.file_uploader(key="data_upload").set_value((name, payload, "text/csv")).run()
    assert_no_exception(at)
    assert at.error, "a bad file must produce an st.error"
    shown = [e.value.replace("\\", "") for e in at.error]  # markdown escapes removed
    assert any(words in e for e in shown), shown
    # the previous data (the sample) stays active
    assert at.session_state["active_data"] is None


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_upload_parquet_and_excel(data_app, fmt):
    at = data_app
    frame = pd.read_csv(config.SAMPLE_CSV).head(250)
    buf = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buf, index=False)
    else:
        frame.to_excel(buf, index=False)
    at.file_uploader(key="data_upload").set_value((f"part.{fmt}", buf.getvalue(),
                                                   "application/octet-stream")).run()
    assert_no_exception(at)
    assert metric(at, "Format") == fmt.upper()
    assert number(metric(at, "Rows")) == 250
    balance = [d.value for d in at.dataframe if "label" in getattr(d.value, "columns", [])][0]
    churned = int(balance.set_index("label").loc["churned", "customers"])
    assert churned == int(frame["Exited"].sum())
