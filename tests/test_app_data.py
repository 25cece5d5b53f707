"""AppTest of the Data page: upload, read report, schema overrides, quality, bad files."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from apptest_util import (app_models, assert_no_exception, metric, number,  # noqa: F401
                          open_expander, open_page)

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


def test_use_the_shipped_sample_while_a_file_is_in_the_uploader(data_app):
    """Break-it 2.1: the button was greyed out right after an upload, and once clicked the
    file still in the uploader was read again in the same run: the sample never came back."""
    at = data_app
    raw = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(200).to_csv(index=False).encode()
    at.file_uploader(key="data_upload").set_value(("mine.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    assert at.session_state["active_data"].name == "mine.csv"
    [button] = [b for b in at.button if b.label == "Use the shipped sample"]
    assert not button.disabled  # enabled in the run that read the upload
    button.click().run()
    assert_no_exception(at)
    assert at.session_state["active_data"] is None  # the sample, although mine.csv is still there
    assert any("mine.csv is not in use: the shipped sample is active" in i.value.replace("\\", "")
               for i in at.info)
    at.run()  # another rerun (a slider, a page visit) does not read the file again
    assert at.session_state["active_data"] is None
    at.file_uploader(key="data_upload").set_value(("mine.csv", raw, "text/csv")).run()
    assert at.session_state["active_data"].name == "mine.csv"  # uploaded again: in use


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
    assert not [m for m in at.metric if m.label == "Delimiter"]  # built when opened
    assert metric(open_expander(at, "data_read_open"), "Delimiter") == "semicolon ;"
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
    assert metric(open_expander(at, "data_read_open"), "Format") == fmt.upper()
    assert number(metric(at, "Rows")) == 250
    balance = [d.value for d in at.dataframe if "label" in getattr(d.value, "columns", [])][0]
    churned = int(balance.set_index("label").loc["churned", "customers"])
    assert churned == int(frame["Exited"].sum())


def _two_sheet_workbook(tmp_path) -> tuple[bytes, pd.DataFrame]:
    """A workbook with two sheets of customers with the same columns (January 120 rows,
    February 80 rows), written in ``tmp_path``."""
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(200)
    path = tmp_path / "months.xlsx"
    with pd.ExcelWriter(path) as xw:
        frame.head(120).to_excel(xw, sheet_name="January", index=False)
        frame.tail(80).to_excel(xw, sheet_name="February", index=False)
    return path.read_bytes(), frame


def _sheet_picker(at):
    found = [s for s in at.selectbox if s.label == "Sheet to read"]
    assert found, [s.label for s in at.selectbox]
    return found[0]


def test_xlsx_sheet_picker_on_the_data_page(data_app, tmp_path):
    from churn_core import workbench as wb

    at = data_app
    raw, frame = _two_sheet_workbook(tmp_path)
    at.file_uploader(key="data_upload").set_value(
        ("months.xlsx", raw, "application/octet-stream")).run()
    assert_no_exception(at)
    picker = _sheet_picker(at)
    assert list(picker.options) == ["January", "February"] and picker.value is None
    # not chosen yet: the reader refuses to guess, naming both sheets; the sample stays
    shown = [e.value.replace("\\", "") for e in at.error]
    assert any("2 sheets" in e and "'January' (120 rows)" in e and "sheet picker" in e
               for e in shown), shown
    assert at.session_state["active_data"] is None
    _sheet_picker(at).set_value("February").run()
    assert_no_exception(at)
    data = at.session_state["active_data"]
    assert data is not None and data.rows_in == 80 and data.read_report.sheet == "February"
    assert data.frame["CustomerId"].tolist() == frame.tail(80)["CustomerId"].tolist()
    assert number(metric(open_expander(at, "data_read_open"), "Rows read")) == 80
    assert data.sha256 == wb.data_sha256(raw, "February") != wb.sha256_of(raw)
    # a reload (new session, the URL's SHA-256) reads the same sheet again
    ws = wb.Workspace({}, wb.ResultStore())
    again = ws.restore_upload(data.sha256)
    assert again is not None and again.rows_in == 80 and again.read_report.sheet == "February"
    # another sheet is another table
    _sheet_picker(at).set_value("January").run()
    assert at.session_state["active_data"].rows_in == 120


def test_xlsx_sheet_picker_on_the_score_page(app_models, tmp_path):  # noqa: F811
    at = open_page("pages/score_segment.py")
    raw, frame = _two_sheet_workbook(tmp_path)
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(
        ("months.xlsx", raw, "application/octet-stream")).run()
    assert_no_exception(at)
    _sheet_picker(at).set_value("January").run()
    assert_no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "120 rows in = **120 scored** + **0 rejected**" in text
    upload = at.session_state["score_upload"]
    assert upload.read_report.sheet == "January"
    assert upload.frame["CustomerId"].tolist() == frame.head(120)["CustomerId"].tolist()
    assert at.session_state["active_data"] is None  # the active data is untouched


def _mixed_label_bytes(n=240) -> bytes:
    import numpy as np

    rng = np.random.default_rng(1)
    labels = ["Yes", "yes", "Y", "churned", "1", "No", "NO", "0", "?", ""]
    churn = rng.choice(labels, n, p=[.1, .05, .05, .05, .05, .4, .1, .1, .05, .05])
    frame = pd.DataFrame({"customerID": [f"C{i:04d}" for i in range(n)],
                          "tenure": rng.integers(0, 72, n),
                          "MonthlyCharges": rng.uniform(20, 110, n).round(2),
                          "Churn": churn})
    return frame.to_csv(index=False).encode("utf-8")


def test_mixed_target_labels_are_warned_next_to_the_label_choice(data_app):
    from churn_core.data.infer import column_labels

    at = data_app
    raw = _mixed_label_bytes()
    at.file_uploader(key="data_upload").set_value(("telco_mixed.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    target = at.selectbox(key=f"target_{at.session_state['active_data'].sha256[:12]}")
    if target.value != "Churn":
        target.set_value("Churn").run()
    k = at.session_state["active_data"].sha256[:12]
    # Yes, yes, Y, churned and 1 all name churn: nothing is preselected, the analyst chooses
    assert at.selectbox(key=f"positive_{k}_Churn").value is None
    at.selectbox(key=f"positive_{k}_Churn").set_value("Yes").run()
    assert_no_exception(at)
    frame = at.session_state["active_data"].frame  # as read (blank and '?' are no labels)
    # the labels as matched (case ignored): Yes/yes, Y, churned, 1, No/NO, 0
    n_labels = len({v.casefold() for v in column_labels(frame, "Churn")})
    assert n_labels == 6
    found = [w.value.replace("\\", "") for w in at.warning if "rejected as neither" in w.value]
    assert found, [w.value for w in at.warning]
    counts = frame["Churn"].str.strip().value_counts()
    assert (f"has 6 labels: churned = 'Yes', 'yes' ({counts['Yes'] + counts['yes']} rows); "
            f"not churned = 'No', 'NO', '0' ({counts['No'] + counts['NO'] + counts['0']} rows); "
            "rejected as neither churned nor not churned = ") in found[0]
    rejected = found[0].split("rejected as neither churned nor not churned = ")[1]
    for stray in ("'Y'", "'churned'", "'1'"):
        assert stray in rejected
    # a clean two-label file shows no such warning
    clean = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    clean["Churn"] = clean["Churn"].map(lambda v: "Yes" if v in ("Yes", "yes", "Y", "churned",
                                                               "1") else "No")
    at.file_uploader(key="data_upload").set_value(
        ("telco_clean.csv", clean.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    assert not [w for w in at.warning if "rejected as neither" in w.value]


def test_an_all_blank_feature_column_is_warned_on_data(data_app):
    at = data_app
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300)
    frame["CreditScore"] = ""
    raw = frame.to_csv(index=False).encode()
    at.file_uploader(key="data_upload").set_value(("blank.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    found = [w.value.replace("\\", "") for w in at.warning if "scores ignore it" in w.value]
    assert len(found) == 1, [w.value for w in at.warning]
    assert found[0].startswith("CreditScore is blank in 300 of 300 scored customers")


def test_shared_customer_ids_are_named_with_their_rows_on_data(data_app):
    """Break-it s7 5: "3 rows share a customer ID" named neither the ID nor the rows."""
    at = data_app
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(100)
    frame.loc[[1, 5], "CustomerId"] = frame.loc[0, "CustomerId"]
    raw = frame.to_csv(index=False).encode()
    at.file_uploader(key="data_upload").set_value(("dup.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    found = [w.value.replace("\\", "") for w in at.warning if "share a customer ID" in w.value]
    assert found == [f"3 rows share a customer ID with another row. Check for double exports "
                     f"before sending a target list. For example: CustomerId "
                     f"{frame.loc[0, 'CustomerId']} (rows 2, 3, 7)."], found


def _panel(at, start: str):
    [panel] = [e for e in at.expander if e.label.startswith(start)]
    return panel


@pytest.mark.realdata
def test_reason_panel_of_another_models_file_shows_this_files_columns(app_models):  # noqa: F811
    """Breakit item 3: the bank model active, the Orange Telecom file uploaded: the panel no
    longer lists the bank model's Age, Geography, Gender, CreditScore... nor offers to save
    onto that model; it says whose settings they are and shows what this file's columns get."""
    import json

    if not config.ORANGE_CSV.is_file():
        pytest.skip(f"{config.ORANGE_CSV} is absent")
    card_path = app_models / config.DEFAULT_MODEL_NAME / "card.json"
    card_before = card_path.read_text()
    at = open_page("pages/data.py")
    assert _panel(at, "Call reasons").label.endswith(f"(saved with model {config.DEFAULT_MODEL_NAME})")
    at.file_uploader(key="data_upload").set_value(
        ("Orange_Telecom_Churn.csv", config.ORANGE_CSV.read_bytes(), "text/csv")).run()
    assert_no_exception(at)
    panel = _panel(at, "Call reasons")
    assert panel.label == "Call reasons: protected attributes and business labels (this file)"
    assert not panel.info and not panel.dataframe  # built only when opened
    at.session_state["data_reasons_file_open"] = True
    at.run()
    assert_no_exception(at)
    panel = _panel(at, "Call reasons")
    [info] = [i.value.replace("\\", "") for i in panel.info]
    assert f"active model **{config.DEFAULT_MODEL_NAME}** was trained on other columns" in info
    assert ("(CreditScore, Age, Tenure, Balance, EstimatedSalary, Geography, ... are not in "
            "Orange_Telecom_Churn.csv)") in info
    found = [m.value.replace("\\", "") for m in panel.markdown if "Found in this file" in m.value]
    assert found == ["Found in this file by column name: **protected attributes**: State, "
                     "Area code; **columns your team cannot act on**: Account length."]
    [table] = panel.dataframe
    cols = table.value["column"].tolist()  # the file's features: numeric, then categorical
    assert len(cols) == 19 and cols[0] == "Account length" and cols[-5:] == [
        "State", "Area code", "International plan", "Voice mail plan", "Customer service calls"]
    assert table.value.set_index("column").loc["Number vmail messages", "business label"] == (
        "Number vmail messages")
    assert not {"Age", "Gender", "Geography", "CreditScore"} & set(table.value["column"])
    assert not [b for b in at.button if b.label == "Save with the model"]
    assert not [m for m in at.multiselect if m.key and m.key.startswith("rs_protected_")]
    assert card_path.read_text() == card_before  # the bank model's card is untouched
    assert "reason_settings" not in json.loads(card_before)


def test_a_duplicate_header_is_a_visible_warning(data_app):
    """Break-it item 10: the notice was only inside the collapsed "How the file was read";
    now it is also a warning on the page. A renamed copy of a protected column (Age.1) is
    protected, and a copy of a personal column (Surname.1) is personal, not a feature."""
    from churn_core.explain.reasons import protected_columns
    from churn_core.explain.whatif import is_protected

    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300)
    frame["Surname"] = [f"Name{i}" for i in range(len(frame))]
    frame["Surname2"] = frame["Surname"]
    cols = list(frame.columns)
    cols[cols.index("Tenure")] = "Age"
    cols[cols.index("Surname2")] = "Surname"
    raw = frame.to_csv(index=False, header=cols).encode("utf-8")
    at = data_app
    at.file_uploader(key="data_upload").set_value(("dupcols.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    first, copy = cols.index("Age") + 1, len(cols) - cols[::-1].index("Age")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    note = (f"header 'Age' appears more than once (columns {first} ({letters[first - 1]}) "
            f"and {copy} ({letters[copy - 1]})); column {copy} renamed 'Age.1'")
    inside = [w.value for w in at.expander[0].warning]
    outside = [w.value.replace("\\", "") for w in at.warning if w.value not in inside]
    assert any(w.startswith(f"dupcols.csv: {note}. Rename the column") for w in outside), outside
    assert any("renamed 'Surname.1'" in w for w in outside)
    data = at.session_state["active_data"]
    assert "Surname.1" in data.schema.personal_columns
    assert "Surname.1" not in data.schema.numeric + data.schema.categorical
    assert is_protected("Age.1")  # never a call reason or a suggested change
    assert "Age.1" in protected_columns(list(data.frame.columns))
    # the same warning above a file uploaded on Score & segment (it cannot be scored by a
    # model needing Tenure: the warning says why Tenure is missing)
    at.switch_page("pages/score_segment.py").run()
    [r for r in at.radio if r.label == "Customers to score"][0].set_value(
        "Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(("dupcols.csv", raw, "text/csv")).run()
    assert any(w.value.replace("\\", "") == f"dupcols.csv: {note}." for w in at.warning)


def test_a_date_column_is_left_out_with_a_note(data_app):
    """Break-it 2, item 2.2: a LastContact column of dd/mm/yyyy dates was a categorical
    feature with no note (then a call reason per day). It is left out, with the note."""
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300)
    days = pd.date_range("2024-01-01", periods=60, freq="D").strftime("%d/%m/%Y")
    frame.insert(3, "LastContact", [days[(7 * i) % 60] for i in range(len(frame))])
    at = data_app
    at.file_uploader(key="data_upload").set_value(
        ("dates.csv", frame.to_csv(index=False).encode("utf-8"), "text/csv")).run()
    assert_no_exception(at)
    note = ("LastContact looks like dates (01/01/2024): left out of the model; a date is not "
            "a reason an agent can act on. Derive a number such as days since last contact "
            "to use it.")
    assert [i.value.replace("\\", "") for i in at.info if "looks like dates" in i.value] == [note]
    schema = at.session_state["active_data"].schema
    assert schema.excluded == ["LastContact"]
    assert not any("LastContact" in c.value for c in at.caption if c.value.startswith("Model features"))
