"""Regression tests for faults found by trying to break load -> validate -> train/score.

Each test names the analyst's situation it protects. Kept fast: the shipped default bundle is
loaded once per session and only small frames are scored.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from churn_core import config# noqa: E402
from churn_core.errors import BundleError  # noqa: E402


@pytest.fixture(scope="module")
def default_bundle():
    from churn_core.model.bundle import load_bundle

    return load_bundle(config.DEFAULT_MODEL_NAME)


# --------------------------------------------------------------------------- bundle folders
def test_save_bundle_never_replaces_a_folder_that_is_not_a_bundle(default_bundle, tmp_path):
    """``train --out ../../etc`` once replaced /etc with a bundle: a non-bundle folder stays."""
    from churn_core.model.bundle import save_bundle

    victim = tmp_path / "etc"
    victim.mkdir()
    (victim / "passwd").write_text("root:x:0:0")
    (victim / "card.json").write_text("{}")
    (victim / "schema.json").write_text("{}")
    with pytest.raises(BundleError, match="not a model bundle"):
        save_bundle(default_bundle, "etc", tmp_path)
    assert (victim / "passwd").read_text() == "root:x:0:0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]  # no temp folder left


def test_save_bundle_replaces_an_existing_bundle_and_fills_an_empty_folder(default_bundle, tmp_path):
    from churn_core.model.bundle import load_bundle, save_bundle

    (tmp_path / "empty").mkdir()
    save_bundle(default_bundle, "empty", tmp_path)
    save_bundle(default_bundle, "empty", tmp_path)  # second save replaces the first
    again = load_bundle("empty", tmp_path)
    assert again.schema.features == default_bundle.schema.features
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize("out", ["../../etc", "models/../../x", "a/../b"])
def test_cli_refuses_parent_folder_in_model_paths(out, tmp_path, capsys):
    from churn_core.cli import main

    csv = tmp_path / "d.csv"
    csv.write_text("a,Exited\n1,0\n")
    assert main(["-q", "train", "--data", str(csv), "--out", out]) == 2
    assert "'..' is not allowed" in capsys.readouterr().err
    assert main(["-q", "evaluate", "--model", out]) == 2


# --------------------------------------------------------------------------- columns
def test_score_frame_matches_headers_by_name_ignoring_case_space_and_order(default_bundle):
    """A CRM export with ``tenure``/`` AGE `` headers in another order scores like the original."""
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame

    ref, _ = read_table(config.SAMPLE_CSV)
    ref = ref.iloc[:300]
    odd = ref[list(reversed(ref.columns))].copy()
    odd.columns = [f" {c.upper()} " if i % 2 else c.lower() for i, c in enumerate(odd.columns)]
    a = score_frame(default_bundle, ref, source_name="ref.csv")
    b = score_frame(default_bundle, odd, source_name="odd.csv")
    assert len(b.scored) == len(ref) and len(b.rejected) == 0
    np.testing.assert_array_equal(a.scored["churn_probability"].to_numpy(),
                                  b.scored["churn_probability"].to_numpy())


# --------------------------------------------------------------------------- numbers
def test_one_decimal_comma_cell_does_not_reject_a_column_of_period_numbers():
    """One hand-typed ``1 234,50`` among ``118236.59`` balances rejected 196 of 200 rows."""
    from churn_core.data.cells import parse_numeric

    cells = ["118236.59", "0.0", "1 234,50", "97086.4", "N/A", "-", "?", "125510.82"]
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"))
    assert list(blank) == [False, False, False, False, True, True, True, False]
    # the odd cell is the only bad one, and the message will name it; the others parse
    assert list(bad) == [False, False, True, False, False, False, False, False]
    np.testing.assert_array_equal(vals[[0, 1, 3, 7]], [118236.59, 0.0, 97086.4, 125510.82])


def test_decimal_comma_column_keeps_plain_period_cells():
    """A genuine decimal-comma column still reads ``1.234,56``/``12,5``; a stray ``0.5`` is 0.5."""
    from churn_core.data.cells import parse_numeric

    cells = ["1.234,56", "12,5", "7,25", "0.5", "1.000"]
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"))
    assert not bad.any() and not blank.any()
    np.testing.assert_array_equal(vals, [1234.56, 12.5, 7.25, 0.5, 1000.0])


# --------------------------------------------------------------------------- command line options
@pytest.mark.parametrize("opts, words", [
    (["--hidden", "abc"], "--hidden 'abc'"),
    (["--hidden", "0"], "must be positive"),
    (["--max-epochs", "0"], "must be positive"),
    (["--batch-size", "0"], "must be positive"),
    (["--dropout", "1.5"], "dropout must be in [0, 1)"),
    (["--learning-rate", "-1"], "--learning-rate must be a positive number"),
])
def test_cli_train_bad_options_are_one_line_errors(opts, words, tmp_path, capsys):
    from churn_core.cli import main

    assert main(["-q", "train", "--data", str(config.SAMPLE_CSV), "--out", str(tmp_path / "m"), *opts]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("argv, words", [
    (["score", "--model", "models/default", "--data", "IN", "--out", "OUT", "--chunksize", "0"], "--chunksize"),
    (["score", "--model", "models/default", "--data", "IN", "--out", "OUT", "--chunksize", "-5"], "--chunksize"),
    (["score", "--model", "models/default", "--data", "IN", "--out", "OUT", "--threshold", "nan"], "--threshold"),
    (["evaluate", "--model", "models/default", "--threshold", "nan"], "--threshold"),
    (["evaluate", "--model", "models/default", "--threshold", "2"], "--threshold"),
])
def test_cli_score_evaluate_bad_numbers_exit_2(argv, words, tmp_path, capsys):
    """``--chunksize -5`` used to report '0 rows in' for a 10,000-row file; ``nan`` was accepted."""
    from churn_core.cli import main

    argv = [str(config.SAMPLE_CSV) if a == "IN" else str(tmp_path / "o.csv") if a == "OUT" else a for a in argv]
    assert main(["-q", *argv]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


# --------------------------------------------------------------------------- damaged bundles
@pytest.mark.parametrize("fname, content, words", [
    ("card.json", "[1, 2]", "card.json is damaged"),
    ("calibration.json", '{"method": "isotonic", "x": "a"}', "calibration.json is damaged"),
    ("card.json", None, "invalid default_threshold"),
    ("schema.json", "{not json", "schema.json is unreadable"),
])
def test_damaged_bundle_files_raise_bundle_error(fname, content, words, tmp_path):
    import json
    import shutil

    from churn_core.model.bundle import load_bundle

    folder = tmp_path / "broken"
    shutil.copytree(config.MODELS_DIR / config.DEFAULT_MODEL_NAME, folder)
    if content is None:  # a card whose default threshold is text
        card = json.loads((folder / fname).read_text())
        card["default_threshold"] = "abc"
        content = json.dumps(card)
    (folder / fname).write_text(content)
    with pytest.raises(BundleError, match=words):
        load_bundle("broken", tmp_path)


# --------------------------------------------------------------------------- training refusals
def test_training_refusal_names_the_rejected_rows():
    """'only 194 valid rows' now says why 6 rows were rejected (blank targets, with the line)."""
    from churn_core.errors import TrainingDataError
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.train import train_bundle

    df, _ = read_table(config.SAMPLE_CSV)
    df = df.iloc[:200].copy()
    df.iloc[3:9, df.columns.get_loc("Exited")] = np.nan
    schema = infer_schema(df, target="Exited", positive_label="1")
    with pytest.raises(TrainingDataError) as info:
        train_bundle(df, schema)
    msg = str(info.value)
    assert "only 194 valid rows" in msg and "6 of 200 rows" in msg
    assert "Exited: blank target (6)" in msg and "row 5" in msg


# --------------------------------------------------------------------------- what the CLI tells the analyst
def test_cli_score_reports_unseen_categories_blanks_and_duplicate_ids(tmp_path, capsys):
    """A new country, blank balances and a repeated customer ID were scored without a word."""
    from churn_core.cli import main

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str).iloc[:120].drop(columns="Exited")
    df.loc[0:4, "Geography"] = "Italy"
    df.loc[5:6, "Balance"] = ""
    df.loc[7:9, "CustomerId"] = df.loc[10, "CustomerId"]
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    assert main(["-q", "score", "--model", "models/default", "--data", str(src),
                 "--out", str(tmp_path / "o.csv"), "--no-drift-history"]) == 0
    out = capsys.readouterr().out
    assert "'Italy' (5)" in out and "'Geography'" in out
    assert "Balance (2)" in out
    assert "4 rows share an ID value in column 'CustomerId'" in out
    scored = pd.read_csv(tmp_path / "o.csv")
    assert len(scored) == 120 and scored["churn_probability"].notna().all()


def test_cli_evaluate_without_valid_rows_says_why(tmp_path, capsys):
    from churn_core.cli import main

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str).iloc[:50]
    df["Exited"] = df["Exited"].map({"1": "yes", "0": "no"})
    src = tmp_path / "yn.csv"
    df.to_csv(src, index=False)
    assert main(["-q", "evaluate", "--model", "models/default", "--data", str(src)]) == 2
    err = capsys.readouterr().err
    assert "50 of 50 rows rejected" in err and "target value 'no' is" in err


# --------------------------------------------------------------------------- typed Parquet
def test_parquet_booleans_score_and_validate_like_trained_zero_one(default_bundle, tmp_path):
    """A warehouse Parquet with boolean HasCrCard/IsActiveMember/Exited was scored as
    'unseen category' for every row and could not be evaluated against a 0/1 model."""
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame
    from churn_core.data.validate import validate

    ref, _ = read_table(config.SAMPLE_CSV)
    ref = ref.iloc[:200]
    typed = pd.read_csv(config.SAMPLE_CSV, nrows=200)
    for col in ("HasCrCard", "IsActiveMember", "Exited"):
        typed[col] = typed[col].astype(bool)
    typed.to_parquet(tmp_path / "typed.parquet")
    df, _ = read_table(tmp_path / "typed.parquet")
    a = score_frame(default_bundle, ref)
    b = score_frame(default_bundle, df)
    assert b.report["unseen_categories"] == {}
    np.testing.assert_allclose(b.scored["churn_probability"].to_numpy(),
                               a.scored["churn_probability"].to_numpy(), rtol=0, atol=1e-12)
    res = validate(df, default_bundle.schema, require_target=True)
    assert len(res.rejected) == 0
    np.testing.assert_array_equal(res.y, typed["Exited"].astype(int).to_numpy())


# --------------------------------------------------------------------------- workbooks
def test_xlsx_with_a_notes_sheet_first_reads_the_customer_sheet(tmp_path):
    """A workbook whose first sheet is a one-cell 'Info' note was read as that note."""
    from churn_core.io.reader import read_table

    customers = pd.read_csv(config.SAMPLE_CSV, dtype=str, nrows=30)
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"note": ["exported from CRM"]}).to_excel(xw, sheet_name="Info", index=False)
        customers.to_excel(xw, sheet_name="Customers", index=False)
    df, rep = read_table(path)
    assert list(df.columns) == list(customers.columns) and len(df) == 30
    assert df["Surname"].tolist() == customers["Surname"].tolist()
    assert any("'Customers'" in w for w in rep.warnings)


# --------------------------------------------------------------------------- re-scoring an output
@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_rescoring_a_scored_file_keeps_old_scores_as_input_columns(default_bundle, tmp_path, ext):
    """Scoring last month's output again crashed: two ``source_row``/``churn_probability`` columns."""
    from churn_core.campaign.scoring import score_file

    src = tmp_path / "in.csv"
    pd.read_csv(config.SAMPLE_CSV, dtype=str, nrows=150).assign(reason="called in May").to_csv(src, index=False)
    first = score_file(default_bundle, src, tmp_path / f"first{ext}")
    second = score_file(default_bundle, first["out"], tmp_path / f"second{ext}")
    assert second["rows_in"] == second["rows_scored"] == 150
    assert first["renamed_input_columns"] == {"reason": "input_reason"}
    assert second["renamed_input_columns"] == {
        "source_row": "input_source_row", "churn_probability": "input_churn_probability",
        "predicted_churn": "input_predicted_churn", "risk_tier": "input_risk_tier"}
    read = pd.read_parquet if ext == ".parquet" else pd.read_csv
    a, b = read(first["out"]), read(second["out"])
    assert list(b.columns).count("churn_probability") == 1
    np.testing.assert_allclose(b["churn_probability"], a["churn_probability"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(b["input_churn_probability"].astype(float), a["churn_probability"],
                               rtol=0, atol=1e-9)
    assert (b["input_reason"] == "called in May").all()


# --------------------------------------------------------------------------- training rows accounted for
def test_cli_train_writes_rejected_rows_and_warns_about_duplicate_ids(tmp_path, capsys):
    """Training silently dropped blank-target rows: now they are written with reasons."""
    from churn_core.cli import main

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, nrows=400)
    df.loc[3:7, "Exited"] = None
    df.loc[10, "Age"] = "forty"
    df.loc[20:22, "CustomerId"] = df.loc[19, "CustomerId"]
    src = tmp_path / "train.csv"
    df.to_csv(src, index=False)
    assert main(["-q", "train", "--data", str(src), "--out", str(tmp_path / "m"),
                 "--max-epochs", "1", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    rej = pd.read_csv(tmp_path / "m_rejected_rows.csv")
    assert sorted(rej["source_row"]) == [5, 6, 7, 8, 9, 12]
    assert rej["reason"].str.contains("'forty' is not a number").sum() == 1
    assert "Exited: blank target (5)" in out and "Age: not a number (1)" in out
    assert "4 rows share an ID value in column 'CustomerId'" in out
    import json
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["rows"] == {"input": 400, "valid": 394, "rejected": 6}


@pytest.mark.parametrize("rows, words", [
    ([], "the file has no data rows"),
    ([["1", "0"]], "column 'Exited' holds '0' in 1 row(s)"),
    ([["1", ""], ["2", " "]], "column 'Exited' is blank in all 2 rows"),
])
def test_training_without_a_usable_target_says_what_the_column_holds(rows, words):
    """One-row, header-only and all-blank-target files said only 'positive label=None'."""
    from churn_core.errors import SchemaError
    from churn_core.data.infer import infer_schema
    from churn_core.data.validate import validate

    df = pd.DataFrame(rows, columns=["Age", "Exited"], dtype="str")
    schema = infer_schema(df, target="Exited")
    assert schema.positive_label is None
    with pytest.raises(SchemaError) as info:
        validate(df, schema, require_target=True, source_name="f.csv")
    assert words in str(info.value)


def test_cli_train_and_evaluate_reject_a_third_label_alike(tmp_path, capsys):
    """'Maybe' rows were silently counted as customers who stayed by train, and rejected
    without a reason by evaluate. Both now reject them, saying why, and write them out."""
    from churn_core.cli import main

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, nrows=300)
    df["Exited"] = np.where(np.arange(len(df)) % 10 == 0, "Maybe", np.where(df["Exited"] == "1", "Yes", "No"))
    src = tmp_path / "three.csv"
    df.to_csv(src, index=False)  # 62 Yes, 208 No, 30 Maybe
    # no --positive-label: 'Yes' names churn, 'No' staying
    assert main(["-q", "train", "--data", str(src), "--out", str(tmp_path / "m"),
                 "--max-epochs", "1", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert ("column 'Exited' has 3 labels: churned = 'Yes' (62 rows); not churned = 'No' (208 rows); "
            "rejected as neither churned nor not churned = 'Maybe' (30 rows)") in out
    assert "target 'Exited' (churn = 'Yes')" in out and "rows: 270 valid, 30 rejected" in out
    rej = pd.read_csv(tmp_path / "m_rejected_rows.csv")
    assert len(rej) == 30 and set(rej["Exited"]) == {"Maybe"}
    assert rej["reason"].iloc[0] == ("column 'Exited', row 2: target value 'Maybe' is neither churned "
                                     "('Yes') nor not churned ('No')")
    # evaluate on the same file: the same 30 rows, with their reasons, written with --rejected
    out_rej = tmp_path / "eval_rejected.csv"
    assert main(["-q", "evaluate", "--model", str(tmp_path / "m"), "--data", str(src),
                 "--rejected", str(out_rej), "--json"]) == 0
    out = capsys.readouterr().out
    assert "three.csv: 270 rows evaluated, 30 rejected" in out
    assert "rejected rows, by reason: Exited: unknown label (30)" in out
    assert "first: column 'Exited', row 2: target value 'Maybe' is neither churned ('Yes')" in out
    assert f"rejected rows: {out_rej}" in out
    ev = pd.read_csv(out_rej)
    assert ev["source_row"].tolist() == rej["source_row"].tolist() == list(range(2, 302, 10))
    assert list(ev.columns)[0] == "source_row" and list(ev.columns)[-1] == "reason"
    report = json.loads(out[out.index("{"):])
    assert (report["rows_in"], report["n"], report["rows_rejected"]) == (300, 270, 30)
    assert report["rejected_reasons"] == {"Exited: unknown label": 30}
    # without --rejected the reasons are still printed, with how to get the rows
    assert main(["-q", "evaluate", "--model", str(tmp_path / "m"), "--data", str(src)]) == 0
    out = capsys.readouterr().out
    assert "Exited: unknown label (30)" in out and "--rejected FILE.csv" in out



def test_missing_columns_message_shows_what_the_file_has(default_bundle, tmp_path):
    """A CRM export with a title line above the header said only '10 required column(s) missing';
    the title line is now skipped (the file scores, at its true lines), and a file that really
    lacks the columns names what it has."""
    from churn_core.errors import MissingColumnsError
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame

    src = tmp_path / "titled.csv"
    text = config.SAMPLE_CSV.read_text(encoding="utf-8")[:5000]
    src.write_text("Customer export May 2024\n" + text[:text.rindex("\n") + 1], encoding="utf-8")
    df, rep = read_table(src)
    res = score_frame(default_bundle, df, source_name=src.name)
    assert rep.header_line == 2 and len(res.scored) + len(res.rejected) == len(df) > 40
    assert res.scored["source_row"].iloc[0] == 3
    other = tmp_path / "notes.csv"
    other.write_text("Customer notes\nfirst call went well\nsecond call\n", encoding="utf-8")
    with pytest.raises(MissingColumnsError) as info:
        score_frame(default_bundle, read_table(other)[0], source_name=other.name)
    msg = str(info.value)
    assert "10 required column(s) missing in notes.csv" in msg
    assert "the file's 1 column(s): 'Customer notes'" in msg and "header on the first line" in msg
    assert len(info.value.missing) == 10


# --------------------------------------------------------------------------- typed Parquet, nested cells
def test_parquet_with_list_and_struct_columns_scores_and_trains(default_bundle, tmp_path):
    """Warehouse Parquet with list/struct columns: CSV writer and schema inference crashed."""
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import iter_table_chunks, read_table
    from churn_core.campaign.scoring import score_file

    d = pd.read_csv(config.SAMPLE_CSV, nrows=120)
    d["Tags"] = [[1, 2]] * len(d)
    d["Meta"] = [{"a": 1}] * len(d)
    d.to_parquet(tmp_path / "nested.parquet")
    df, rep = read_table(tmp_path / "nested.parquet")
    assert df["Tags"].iloc[0] == "[1, 2]" and df["Meta"].iloc[0] == '{"a": 1}'
    assert any("'Tags'" in w for w in rep.warnings)
    chunk, _ = next(iter_table_chunks(tmp_path / "nested.parquet", chunksize=50))
    assert chunk["Tags"].iloc[0] == "[1, 2]"
    schema = infer_schema(df, target="Exited", positive_label="1")
    assert "Tags" not in schema.numeric and "Meta" not in schema.numeric
    r = score_file(default_bundle, tmp_path / "nested.parquet", tmp_path / "o.csv", chunksize=50)
    assert r["rows_in"] == r["rows_scored"] == 120
    assert (pd.read_csv(tmp_path / "o.csv")["Meta"] == '{"a": 1}').all()


# --------------------------------------------------------------------------- same file, same numbers at any size
def test_streamed_big_csv_reads_ambiguous_numbers_like_a_small_one(default_bundle, tmp_path):
    """'1,000' in a ';' file was 1.0 when read whole and 1000 when streamed (files > 64 MB)."""
    from churn_core.io import reader as cio
    from churn_core.campaign.scoring import score_file

    d = pd.read_csv(config.SAMPLE_CSV, dtype=str, nrows=100)
    d["Balance"] = [f"{i % 9 + 1},{(i * 37) % 1000:03d}" for i in range(len(d))]
    src = tmp_path / "ambig.csv"
    d.to_csv(src, sep=";", index=False)
    whole = score_file(default_bundle, src, tmp_path / "whole.csv", chunksize=30)
    chunks = list(cio.iter_table_chunks(src, chunksize=30, block_size=512))  # many blocks
    assert all(c.attrs["decimal"] == "," for c, _ in chunks)
    streamed = score_file(default_bundle, src, tmp_path / "streamed.csv", chunksize=30)
    assert whole["rows_scored"] == streamed["rows_scored"] == 100
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "whole.csv")["churn_probability"],
                                  pd.read_csv(tmp_path / "streamed.csv")["churn_probability"])


def test_zip_archive_renamed_csv_says_it_is_a_zip(tmp_path):
    import io
    import zipfile

    from churn_core.errors import DataFileError
    from churn_core.io.reader import read_table

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("customers.csv", "a,b\n1,2\n")
    (tmp_path / "customers.csv").write_bytes(buf.getvalue())
    with pytest.raises(DataFileError, match="customers.csv: is a zip archive, not an Excel .xlsx workbook"):
        read_table(tmp_path / "customers.csv")


def test_accounting_negatives_and_percentages_parse():
    """'(118236.59)' and '12%' from spreadsheet exports rejected every row of the file."""
    from churn_core.data.cells import parse_numeric

    vals, blank, bad = parse_numeric(pd.Series(["(118236.59)", "($1,234.50)", "12%", "7.5%", "100", "(x)"],
                                               dtype="str"))
    assert list(bad) == [False, False, False, False, False, True]
    np.testing.assert_allclose(vals[:5], [-118236.59, -1234.5, 0.12, 0.075, 100.0], rtol=1e-12)
    vals, _, bad = parse_numeric(pd.Series(["(1.234,56)", "12,5%", "3,25"], dtype="str"))
    assert not bad.any()
    np.testing.assert_allclose(vals, [-1234.56, 0.125, 3.25], rtol=1e-12)
