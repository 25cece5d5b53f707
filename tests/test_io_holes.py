"""Issue 17 item 3: the holes found by the break-it pass, each closed and held by a test.

Unbalanced quotes, XLSX sheets (in test_io), disk full while scoring or training, bad target
cells in training, a column blank for every churner, huge cells in messages, one rule for
``N/A``/``NaN``/``NULL`` blanks, a damaged ``model.keras``, a blank or merged header row.
(Formula injection through CR/LF/tab/blanks: tests/test_export.py.)
"""
from __future__ import annotations

import errno
import shutil

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import BundleError, DataFileError, WriteError
from churn_core.io.reader import read_table


# ----------------------------------------------------------------------------- unbalanced quote
FIVE = ("CustomerId,Surname,Age,Exited\n"
        "1,Smith,40,0\n"
        '2,"Jones,35,1\n'  # the quote opens and never closes: it would swallow rows 4-6
        "3,Brown,51,0\n"
        "4,Green,30,1\n"
        "5,White,45,0\n")


@pytest.mark.parametrize("text, row", [
    (FIVE, 3),
    (FIVE.replace("4,Green", '4,"Green'), 3),  # a second stray quote closes it: a silent merge before
    ('CustomerId,Surname,Age,Exited\n1,Smith,40,0\n2,Jones,35,1\n3,"Brown,51,0\n4,Green,30,1\n', 4),
])
def test_unbalanced_quote_is_refused_naming_the_row_where_it_opens(tmp_path, text, row):
    path = tmp_path / "five.csv"
    path.write_text(text)
    with pytest.raises(DataFileError) as whole:
        read_table(path)
    msg = str(whole.value)
    assert msg.startswith(f"five.csv: row {row}, column 'Surname'") and "quote" in msg
    from churn_core.io.reader import iter_table_chunks

    for block in (16, 1 << 20):  # streamed: the same message, never a short count
        with pytest.raises(DataFileError) as streamed:
            list(iter_table_chunks(path, chunksize=2, block_size=block))
        assert str(streamed.value) == msg


def test_balanced_quotes_with_line_breaks_are_one_row_each(tmp_path):
    """A legitimate note over two lines is one row; rows in = rows read."""
    path = tmp_path / "notes.csv"
    path.write_text('CustomerId,Note,Age\n1,"called twice,\nno answer",40\n2,plain,35\n3,"a\nb",51\n')
    df, rep = read_table(path)
    assert df.index.tolist() == [2, 3, 4] and rep.rows_read == 3
    assert df["Note"].tolist() == ["called twice,\nno answer", "plain", "a\nb"]


def test_unbalanced_quote_in_scoring_never_loses_customers(tiny_bundle, sample_frame, tmp_path):
    """The issue's case: a 5-customer file must not report '2 rows in'."""
    from churn_core.campaign.scoring import score_file

    lines = sample_frame.head(5).to_csv(index=False).splitlines(keepends=True)
    cells = lines[2].split(",")
    cells[2] = '"' + cells[2]
    lines[2] = ",".join(cells)
    src = tmp_path / "five.csv"
    src.write_text("".join(lines))
    with pytest.raises(DataFileError, match=r"five.csv: row 3, column 'Surname'"):
        score_file(tiny_bundle, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


# ----------------------------------------------------------------------------- disk full
def _disk_full(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_scoring_one_line_and_no_partial_file(tiny_bundle, sample_csv, tmp_path, monkeypatch):
    from churn_core.campaign.scoring import score_file
    from churn_core.io.writer import TableWriter

    out = tmp_path / "scores.csv"
    out.write_text("previous scores\n")
    monkeypatch.setattr(TableWriter, "_write_csv", _disk_full)
    with pytest.raises(WriteError) as exc:
        score_file(tiny_bundle, sample_csv, out, chunksize=500)
    msg = str(exc.value)
    assert "\n" not in msg and str(out) in msg and "disk is full" in msg and "nothing was written" in msg
    assert "previous file there is unchanged" in msg and "rejected rows" in msg
    assert out.read_text() == "previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]  # no .partial left


def test_disk_full_while_scoring_through_the_cli_prints_one_line(models_dir, sample_csv, tmp_path,
                                                                monkeypatch, capsys):
    from churn_core.cli import main
    from churn_core.io.writer import TableWriter

    monkeypatch.setattr(TableWriter, "_write_csv", _disk_full)
    code = main(["-q", "score", "--model", str(models_dir / "tiny"), "--data", str(sample_csv),
                 "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "disk is full" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_disk_full_while_saving_a_trained_bundle_keeps_the_old_one(trained_bundle, tmp_path, monkeypatch):
    import churn_core.model.bundle as B

    B.save_bundle(trained_bundle, "kept", tmp_path)
    before = sorted(p.name for p in (tmp_path / "kept").iterdir())
    monkeypatch.setattr(B, "_write_files", _disk_full)
    with pytest.raises(WriteError) as exc:
        B.save_bundle(trained_bundle, "kept", tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and "kept" in msg and "disk is full" in msg and "previous file there is unchanged" in msg
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]  # no temporary folder left
    with pytest.raises(WriteError, match="no file was left there"):
        B.save_bundle(trained_bundle, "new", tmp_path)


def test_write_atomically_leaves_no_partial_file(tmp_path):
    from churn_core.io.writer import write_atomically

    def half(p):
        p.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match="cannot write the rejected rows: the disk is full"):
        write_atomically(tmp_path / "r.csv", half, "the rejected rows")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- training targets
def test_training_rejects_repeated_header_and_units_rows_naming_them(sample_df):
    """A repeated header (target cell 'Exited') and a units row no longer make training refuse
    the whole file: those rows are rejected with their rows, like scoring does."""
    from churn_core.data.infer import infer_schema
    from churn_core.data.validate import validate

    df = sample_df.head(400).copy()
    df.loc[50] = df.columns.tolist()  # row 50 repeats the header
    df.loc[120, "Exited"] = "flag"  # a units/notes row
    schema = infer_schema(df, target="Exited")
    assert schema.positive_label == "1" and schema.negative_label == "0"
    res = validate(df, schema, require_target=True)
    rej = res.rejected.set_index("source_row")["reason"]
    assert set(rej.index) == {50, 120}
    assert "row 50" in rej[50] and "target value 'Exited' is neither churned ('1')" in rej[50]
    assert "row 120: target value 'flag' is neither churned ('1') nor not churned ('0')" in rej[120]
    assert len(res.valid) + len(res.rejected) == len(df) and len(res.y) == len(res.valid)


def test_a_real_third_label_is_rejected_not_guessed_away(sample_df):
    """Stray labels are rare; a third label on many rows is neither churned nor stayed: its
    rows are rejected with that reason (1/0 still name churn/staying); without a value naming
    churn the analyst is asked."""
    from churn_core.data.infer import infer_schema
    from churn_core.data.validate import validate

    df = sample_df.head(300).copy()
    df.loc[df.index[:60], "Exited"] = "unknown"
    schema = infer_schema(df, target="Exited")
    assert (schema.positive_label, schema.negative_label) == ("1", "0")
    res = validate(df, schema, require_target=True)
    assert len(res.rejected) == 60 and len(res.valid) == 240
    assert res.report.rejected_reasons == {"Exited: unknown label": 60}
    df["Exited"] = df["Exited"].map({"1": "A", "0": "B", "unknown": "unknown"})
    assert infer_schema(df, target="Exited").positive_label is None


def test_a_column_blank_for_every_churner_gets_a_note(sample_df, sample_schema):
    from churn_core.data.validate import validate

    df = sample_df.head(500).copy()
    df.loc[df["Exited"] == "1", "Balance"] = None
    res = validate(df, sample_schema, require_target=True)
    notes = [w for w in res.report.warnings if "blank for every churner" in w]
    churners = int((df["Exited"] == "1").sum())
    assert len(notes) == 1 and f"'Balance' is blank for every churner ({churners} rows)" in notes[0]
    assert not [w for w in validate(sample_df.head(500), sample_schema, True).report.warnings
                if "every churner" in w]


# ----------------------------------------------------------------------------- cells in messages
def test_a_100kb_cell_is_cut_in_messages(sample_df, sample_schema):
    from churn_core.data.validate import validate

    df = sample_df.head(50).copy()
    df.loc[df.index[3], "Age"] = "9" * 100_000 + "x"
    df.loc[df.index[4], "Exited"] = "y" * 100_000
    res = validate(df, sample_schema, require_target=True)
    reasons = res.rejected["reason"].tolist()
    assert len(reasons) == 2 and all(len(r) < 400 for r in reasons)
    assert "(100,001 characters)" in reasons[0] and "(100,000 characters)" in reasons[1]


@pytest.mark.parametrize("token", ["N/A", "NaN", "n/a", "NULL", "nan", "NA", "null", "#N/A", "None", "NAN", "nAn"])
def test_missing_markers_are_blank_in_every_column(token):
    """One rule: a cell that is, stripped and without case, one of ``MISSING_TOKENS`` is blank,
    in numeric, categorical and target columns alike (``NaN`` used to be 'not a number')."""
    from churn_core.data.infer import infer_schema
    from churn_core.data.cells import MISSING_TOKENS
    from churn_core.data.validate import validate

    assert token.strip().casefold() in MISSING_TOKENS
    rows = ["id,Age,Geo,Exited"] + [f"{i},{20 + i % 40},{['France', 'Spain'][i % 2]},{i % 2}" for i in range(60)]
    rows += [f"100,{token},France,1", f"101,30, {token} ,0", f"102,30,France,{token}"]
    df, _ = read_table(("\n".join(rows) + "\n").encode(), name="na.csv")
    schema = infer_schema(df)
    res = validate(df, schema, require_target=True)
    assert res.report.blanks["Age"] == 1 and res.report.blanks["Geo"] == 1
    assert res.rejected["id"].tolist() == ["102"] and "the target is blank" in res.rejected["reason"].iloc[0]


# ----------------------------------------------------------------------------- damaged bundle
def test_model_keras_that_is_not_a_zip_is_reported_damaged(models_dir, tmp_path):
    from churn_core.model.bundle import load_bundle

    shutil.copytree(models_dir / "tiny", tmp_path / "broken")
    (tmp_path / "broken" / "model.keras").write_bytes(b"this is not a zip archive")
    with pytest.raises(BundleError) as exc:
        load_bundle("broken", tmp_path)
    msg = str(exc.value)
    assert "model.keras is damaged" in msg and "not a Keras (zip) file" in msg and "not found" not in msg


# ----------------------------------------------------------------------------- headers
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_blank_or_merged_first_row_names_the_blank_columns(tmp_path, fmt):
    """A title in a merged cell above the column names: row 1 is mostly blank. The error names
    the row and the blank columns (position and letter)."""
    body = pd.DataFrame([["Churn report", None, None, None], ["CustomerId", "Age", "Balance", "Exited"],
                         ["1", "40", "10", "0"], ["2", "35", "20", "1"]])
    path = tmp_path / f"merged.{fmt}"
    if fmt == "csv":  # as Excel saves it: "Churn report,,,"
        path.write_text(body.fillna("").to_csv(index=False, header=False))
    else:
        body.to_excel(path, index=False, header=False)
    with pytest.raises(DataFileError) as exc:
        read_table(path)
    msg = str(exc.value)
    assert "row 1 should hold the column names" in msg and "columns 2 (B), 3 (C), 4 (D)" in msg
    assert "'Churn report'" in msg


def test_duplicated_and_blank_header_names_are_located(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("CustomerId,Age,,Age,Exited\n1,40,x,41,0\n")
    df, rep = read_table(path)
    assert list(df.columns) == ["CustomerId", "Age", "column_3", "Age.1", "Exited"]
    assert "column 3 (C) has no header" in rep.warnings[0]
    assert "columns 2 (B) and 4 (D)" in rep.warnings[1] and "renamed 'Age.1'" in rep.warnings[1]
    assert np.array_equal(df.index, [2])


# ----------------------------------------------------------------------------- XLSX sheets in the CLI
def test_cli_score_asks_for_a_sheet_and_reads_the_one_given(models_dir, sample_frame, tmp_path, capsys):
    from churn_core.cli import main

    book = tmp_path / "months.xlsx"
    with pd.ExcelWriter(book) as xw:
        sample_frame.head(30).to_excel(xw, sheet_name="October", index=False)
        sample_frame.iloc[30:50].to_excel(xw, sheet_name="November", index=False)
    args = ["-q", "score", "--model", str(models_dir / "tiny"), "--data", str(book), "--out", str(tmp_path / "s.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "2 sheets hold customer tables" in err and "'October' (30 rows)" in err and "--sheet" in err
    assert main([*args, "--sheet", "November"]) == 0
    scored = pd.read_csv(tmp_path / "s.csv")
    assert len(scored) == 20 and scored["source_row"].tolist() == list(range(2, 22))
