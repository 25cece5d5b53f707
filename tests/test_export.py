"""Target list export: accounting, formula neutralising, numbers stay numbers, decision log."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from churn_core.errors import ChurnError, MissingColumnsError
from churn_core.campaign.export import (
    build_target_list,
    decision_log,
    decision_log_json,
    export_filename,
    to_csv_bytes,
    to_xlsx_bytes,
)
from churn_core.io.writer import neutralise_formulas

EVIL = '=HYPERLINK("x")'


@pytest.fixture()
def scored():
    # As scoring returns it: original cells as text, plus the probability.
    return pd.DataFrame({
        "CustomerId": ["101", "102", "103", "104", "105", "106", "107"],
        "Surname": ["Smith", EVIL, "Okafor", "@SUM(A1)", "Lee", "-2+3", "Chen"],
        "Balance": ["100.0", "-12.5", "0", "2500", "300", "", "50"],
        "churn_probability": [0.30, 0.91, 0.55, 0.55, 0.10, 0.70, 0.26],
    }, index=pd.Index([2, 3, 4, 5, 6, 7, 8], name="source_row"))


@pytest.fixture()
def rejected():
    return pd.DataFrame({"CustomerId": ["108", "109", "110"],
                         "reason": ["Age: not a number", "Age: not a number", "blank Geography"]})


def _csv_rows(data: bytes):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_rows_add_up_and_order(scored, rejected):
    tl = build_target_list(scored, ["CustomerId"], ("High", "Medium"),
                           extra_columns=["Surname", "Balance"],
                           rejected=rejected, cutoffs={"high": 0.5, "medium": 0.25})
    # High: .91, .70, .55, .55 ; Medium: .30, .26 ; Low: .10 ; 3 rejected
    assert tl["CustomerId"].tolist() == ["102", "106", "103", "104", "101", "107"]
    assert tl["rank"].tolist() == [1, 2, 3, 4, 5, 6]   # tie .55: row order (103 before 104)
    assert tl["risk_tier"].tolist() == ["High"] * 4 + ["Medium"] * 2
    assert tl.attrs["excluded"] == {"risk tier Low not selected": 1,
                                    "could not be scored: Age: not a number": 2,
                                    "could not be scored: blank Geography": 1}
    assert tl.attrs["rows_in"] == 10 == len(tl) + sum(tl.attrs["excluded"].values())
    budget = build_target_list(scored, ["CustomerId"], ("High",), max_rows=3)
    assert len(budget) == 3
    assert budget.attrs["excluded"] == {"risk tier Medium not selected": 2,
                                        "risk tier Low not selected": 1,
                                        "beyond the contact budget of 3": 1}


def test_columns_reasons_expected_value_and_actions(scored):
    reasons = pd.DataFrame({"reason_1": list("abcdefg"), "reason_2": [""] * 7,
                            "reason_3": [""] * 7}, index=scored.index)
    tl = build_target_list(scored, ["CustomerId"], ("High",), actions={"High": "Call today"},
                           reasons=reasons, value=1000.0,
                           success_rate=0.5, cost_per_contact=20)
    assert tl.columns.tolist() == ["CustomerId", "churn_probability", "risk_tier", "rank",
                                   "reason_1", "reason_2", "reason_3", "expected_value",
                                   "recommended_action"]
    assert tl["reason_1"].tolist() == ["b", "f", "c", "d"]  # follow their customers
    np.testing.assert_allclose(tl["expected_value"], np.array([.91, .70, .55, .55]) * 500 - 20)
    assert (tl["recommended_action"] == "Call today").all()


def test_value_column_with_blank_is_refused(scored):
    with pytest.raises(ChurnError, match="value"):
        build_target_list(scored, ["CustomerId"], value="Balance")
    with pytest.raises(MissingColumnsError, match="Email"):
        build_target_list(scored, ["CustomerId", "Email"])


def test_formula_surname_neutralised_and_negative_balance_stays_number_csv(scored):
    tl = build_target_list(scored, ["CustomerId"], ("High", "Medium", "Low"),
                           extra_columns=["Surname", "Balance"])
    rows = _csv_rows(to_csv_bytes(tl))
    header, body = rows[0], rows[1:]
    by_id = {r[header.index("CustomerId")]: r for r in body}
    s, b = header.index("Surname"), header.index("Balance")
    assert by_id["102"][s] == "'" + EVIL
    assert by_id["104"][s] == "'@SUM(A1)"
    assert by_id["106"][s] == "'-2+3"
    assert by_id["101"][s] == "Smith"
    assert by_id["102"][b] == "-12.5"          # a number, no apostrophe
    assert float(by_id["102"][b]) == -12.5
    assert len(body) == len(scored)
    back = pd.read_csv(io.BytesIO(to_csv_bytes(tl)))
    assert back["Balance"].dtype.kind == "f" and back["Balance"].min() == -12.5


def test_formula_neutralised_and_numbers_in_xlsx_with_decision_log(scored):
    tl = build_target_list(scored, ["CustomerId"], ("High", "Medium", "Low"),
                           extra_columns=["Surname", "Balance"])
    log = decision_log("default", "abc123", "max_f1", 0.42, {}, {"high": .5, "medium": .25},
                       tl.attrs["rows_in"], len(tl), tl.attrs["excluded"])
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(tl, log)))
    assert wb.sheetnames == ["retention_targets", "decision_log"]
    ws = wb["retention_targets"]
    header = [c.value for c in ws[1]]
    cells = {ws.cell(r, header.index("CustomerId") + 1).value: r for r in range(2, ws.max_row + 1)}
    surname = ws.cell(cells[102], header.index("Surname") + 1)
    # the text as it is, no visible apostrophe: a text cell with Excel's quote prefix
    assert surname.value == EVIL and surname.data_type == "s" and surname.quotePrefix
    bal = ws.cell(cells[102], header.index("Balance") + 1)
    assert bal.value == -12.5 and bal.data_type == "n"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    items = {r[0].value: r[1].value for r in wb["decision_log"].iter_rows(min_row=2)}
    assert items["rows_in"] == 7 and items["rows_listed"] == 7
    assert items["decision_threshold"] == 0.42 and items["model_name"] == "default"


def test_decision_log_matches_export(scored, rejected):
    tl = build_target_list(scored, ["CustomerId"], ("High",), rejected=rejected)
    log = decision_log("default", "f" * 64, "target_recall", 0.5, {"cost_per_contact": 5},
                       {"high": 0.5, "medium": 0.25}, tl.attrs["rows_in"], len(tl),
                       tl.attrs["excluded"], tiers_included=["High"])
    listed = _csv_rows(to_csv_bytes(tl))[1:]
    assert log["rows_listed"] == len(listed) == 4
    assert log["rows_in"] == len(scored) + len(rejected)
    assert log["rows_excluded"] == sum(tl.attrs["excluded"].values()) == 6
    assert json.loads(decision_log_json(log)) == log
    name = export_filename(log["model_name"], log["decision_threshold"], dt.date(2026, 11, 29))
    assert name == "retention_targets_default_2026-11-29_t0.50.csv"
    with pytest.raises(ChurnError, match="add up"):
        decision_log("m", None, "manual", 0.5, {}, {}, 10, 4, {"x": 5})


def test_neutralise_rules():
    df = pd.DataFrame({"t": ["=1+1", "+1", "-3", "@x", "\tx", "\rx", "a=b", None, "-2+3"],
                       "n": [-1.0, 2, 3, 4, 5, 6, 7, 8, 9]})
    out = neutralise_formulas(df)
    assert out["t"].tolist()[:7] == ["'=1+1", "+1", "-3", "'@x", "'\tx", "'\rx", "a=b"]
    assert out["t"].iloc[8] == "'-2+3" and pd.isna(out["t"].iloc[7])
    assert out["n"].tolist() == df["n"].tolist()
    assert neutralise_formulas(pd.DataFrame({"=bad": [1]})).columns.tolist() == ["'=bad"]


def test_codes_with_leading_zero_stay_text():
    df = pd.DataFrame({"id": ["0123", "0456"], "big": ["12345678901234567", "1"],
                       "x": ["1", "2.5"]})
    rows = _csv_rows(to_csv_bytes(df))
    assert rows[1] == ["0123", "12345678901234567", "1.0"]
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    assert ws["A2"].value == "0123" and ws["B2"].value == "12345678901234567"
    assert ws["C3"].value == 2.5


def test_export_filename_sanitised():
    assert export_filename("../../etc/pass wd", 0.4249, "2026-11-29", "xlsx") == \
        "retention_targets_etc_pass_wd_2026-11-29_t0.42.xlsx"
    assert export_filename("", 0.5, "2026-01-02").startswith("retention_targets_model_")
    with pytest.raises(ChurnError):
        export_filename("m", 0.5, ext="exe")


def test_streamed_csv_output_neutralises_formulas_and_keeps_numbers(tmp_path):
    """The CLI's streamed CSV writer applies the same neutralising as the dashboard export."""
    import pyarrow as pa

    from churn_core.io.writer import neutralise_arrow_table, neutralise_formulas

    frame = pd.DataFrame({
        "Surname": ['=HYPERLINK("x")', "Smith", "-Jones", "@SUM(A1)", "\tx", None, "-12.5"],
        "Balance": [-12.5, 3.0, 0.0, 1.0, 2.0, 4.0, 5.0],
        "+odd": ["a", "b", "c", "d", "e", "f", "g"],
    })
    table = neutralise_arrow_table(pa.Table.from_pandas(frame, preserve_index=False))
    expected = neutralise_formulas(frame)
    assert table.column_names == list(expected.columns) == ["Surname", "Balance", "'+odd"]
    got = table.column("Surname").to_pylist()
    assert got == ["'=HYPERLINK(\"x\")", "Smith", "'-Jones", "'@SUM(A1)", "'\tx", None, "-12.5"]
    assert got == [None if pd.isna(v) else v for v in expected["Surname"]]
    assert table.column("Balance").to_pylist() == [-12.5, 3.0, 0.0, 1.0, 2.0, 4.0, 5.0]


# ---------------------------------------------------------------- neutralise_arrow_table fast screen
_FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r", "\n")
_BLANKS = " \t\r\n\f\v"
#: first characters the buffer screen looks for: formula characters and blanks (a formula may follow)
_SCREEN_CHARS = _FORMULA_CHARS + (" ", "\f", "\v")
_PY_NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"  # ASCII inputs: same as RE2


def _py_neutralised(values):
    """Independent reference: a plain Python loop over the cells."""
    import re

    def risky(v):
        body = v.lstrip(_BLANKS)
        return v.startswith(_FORMULA_CHARS) or (body != v and body[:1] != "" and body[0] in "=+-@")

    return [v if v is None or not risky(v) or re.match(_PY_NUMBER, v) else "'" + v for v in values]


def _awkward_cells(rng, n, formula_share):
    """Random cells: formulas, plain numbers (-5, +1e3), empty strings, nulls, non-ASCII starts."""
    pool = ["", "é", "éa=", "😀", "😀-1", "Zoë", "a-b", " -5", "x", "12", "0", "007", "A-1",
            "-5", "+1e3", "-12.5", " =x", "-.5", "+", "-", "=", "@", "\t", "\r", "-Jones",
            "=SUM(A1)", "@x", "\tx", "\rx", "+x", "-1-2", "-5 ", "-5\n", "\n-5"]
    risky = {v for v in pool if v.startswith(_FORMULA_CHARS)}
    safe = [v for v in pool if v not in risky]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05:
            out.append(None)
        elif r < 0.05 + formula_share:
            out.append(rng.choice(sorted(risky)))
        elif r < 0.6:
            out.append(rng.choice(safe))
        else:  # random text over an alphabet with formula characters inside, not first
            k = int(rng.integers(0, 6))
            out.append("".join(rng.choice(list("ab1.é😀=+-@\t\r ")) for _ in range(k)))
    return out


@pytest.mark.parametrize("arrow_type", ["string", "large_string"])
@pytest.mark.parametrize("formula_share", [0.0, 0.002, 0.3])
def test_neutralise_arrow_table_screen_matches_python_loop(arrow_type, formula_share, monkeypatch):
    """Chunked, sliced (nonzero offset), null, empty and non-ASCII cells: the buffer screen and
    the whole function agree with a Python ``str.startswith`` loop, and with the exact
    ``pyarrow.compute`` path alone (screen switched off)."""
    import pyarrow as pa

    import churn_core.io.writer as writer
    from churn_core.io.writer import _may_start_formula, neutralise_arrow_table

    typ = getattr(pa, arrow_type)()
    rng = np.random.default_rng(int(formula_share * 1000) + len(arrow_type))
    for trial in range(40):
        values = _awkward_cells(rng, int(rng.integers(0, 60)), formula_share)
        if trial % 5 == 0:  # no formula anywhere (only safe cells and nulls), the usual case
            values = [v if v is None or not v.startswith(_SCREEN_CHARS) else "ok" + v for v in values]
        # a chunked column: slices of one bigger array (nonzero offsets) plus fresh chunks
        pad = ["=pad", "", None, "-x"]
        big = pa.array(pad + values + pad, typ)
        cut = sorted(rng.integers(0, len(values) + 1, size=2))
        pieces = [big.slice(len(pad), cut[0]),
                  pa.array(values[cut[0]:cut[1]], typ),
                  big.slice(len(pad) + cut[1], len(values) - cut[1])]
        col = pa.chunked_array(pieces, typ)
        expect_any = any(v is not None and v.startswith(_SCREEN_CHARS) for v in values)
        assert _may_start_formula(col) == expect_any
        for piece in pieces:
            assert _may_start_formula(piece) == any(
                v is not None and v.startswith(_SCREEN_CHARS) for v in piece.to_pylist())
        table = pa.table({"text": col, "n": pa.array(np.arange(len(values)))})
        got = neutralise_arrow_table(table)
        assert got.column("text").to_pylist() == _py_neutralised(values)
        with monkeypatch.context() as m:
            m.setattr(writer, "_may_start_formula", lambda col: True)
            assert neutralise_arrow_table(table).equals(got)
        assert got.column("text").type == typ
        assert got.column("n").to_pylist() == list(range(len(values)))
        assert neutralise_arrow_table(table, skip={"text"}).column("text").to_pylist() == values


def test_neutralise_arrow_table_edge_columns():
    """All-null, all-empty, empty and zero-chunk columns; dictionary, numeric and binary
    columns are left alone (as before); formula names are still neutralised."""
    import pyarrow as pa

    from churn_core.io.writer import _may_start_formula, neutralise_arrow_table

    for typ in (pa.string(), pa.large_string()):
        for values in ([], [None, None], ["", ""], ["", None, ""], ["", "", "=x"], ["=x", "", ""],
                       ["é", "😀", ""], ["-5", "", None]):
            col = pa.array(values, typ)
            assert _may_start_formula(col) == any(v and v.startswith(_FORMULA_CHARS) for v in values)
            got = neutralise_arrow_table(pa.table({"c": col})).column("c").to_pylist()
            assert got == _py_neutralised(values)
        assert _may_start_formula(pa.chunked_array([], typ)) is False
        assert _may_start_formula(pa.nulls(3, typ)) is False
        # a null cell whose (ignored) bytes start with "=": not a formula
        src = pa.array(["=x", "a", "-y"], typ)
        _, offsets, data = src.buffers()
        masked = pa.Array.from_buffers(typ, 3, [pa.py_buffer(bytes([0b010])), offsets, data], null_count=2)
        assert masked.to_pylist() == [None, "a", None]
        assert _may_start_formula(masked) is False
        assert _may_start_formula(masked.slice(1)) is False
        got = neutralise_arrow_table(pa.table({"c": masked})).column("c")
        assert got.to_pylist() == [None, "a", None]
    table = pa.table({
        "d": pa.array(["=x", "y", "=x"]).dictionary_encode(),
        "b": pa.array([b"=x", b"y", b"-"]),
        "f": pa.array([-1.5, 2.0, 3.0]),
        "=name": pa.array(["a", "b", "c"]),
    })
    got = neutralise_arrow_table(table)
    assert got.column_names == ["d", "b", "f", "'=name"]
    for name, new_name in zip(table.column_names, got.column_names):
        assert got.column(new_name).equals(table.column(name))


# ---------------------------------------------------------------- injection through line breaks and blanks
_INJECTIONS = ["\r=cmd|' /C calc'!A0", "\n=cmd|' /C calc'!A0", "\t=1+1", "   =1+1", " @SUM(A1)",
               "Smith\r=cmd|' /C calc'!A0", "Smith\n=2+2"]


def _sheet_cells(data: bytes) -> list[list[str]]:
    """Rows as a spreadsheet (or any CSV reader splitting records at CR, LF or CRLF) sees them."""
    import csv

    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("evil", _INJECTIONS)
def test_cr_lf_tab_and_blank_led_formulas_cannot_start_a_row_or_run(evil):
    """The app's CSV download: a cell with a CR (or LF) stays one quoted cell of its row, so
    two customers stay two rows, and no cell of the file (nor any line after a line break)
    is a formula; blanks before '=' are screened too. The same in the XLSX download."""
    import openpyxl

    df = pd.DataFrame({"CustomerId": ["1", "2"], "Surname": [evil, "Jones"], "Balance": ["-12.5", "3"]})
    data = to_csv_bytes(df)
    rows = _sheet_cells(data)
    assert len(rows) == 3 and rows[1][0] == "1" and rows[2][:2] == ["2", "Jones"]  # two customers, two rows
    cell, risky = rows[1][1], not evil.startswith("Smith")
    assert cell == ("'" + evil if risky else evil)  # the whole cell, line breaks included
    assert cell.lstrip(" \t\r\n")[:1] not in ("=", "+", "-", "@")
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    xcell = ws.cell(row=2, column=2)
    expect = evil.replace("\r", "\n")  # XML text keeps a CR as LF
    # XLSX: the text unchanged (no visible apostrophe), a text cell with the quote prefix
    assert xcell.data_type == "s" and xcell.value.replace("\r", "\n") == expect
    assert xcell.quotePrefix == risky
    assert ws.max_row == 3 and ws.cell(row=2, column=3).value == -12.5  # numbers stay numbers


def test_cli_score_file_quotes_cr_cells_and_neutralises(tiny_bundle, sample_frame, tmp_path):
    """The command line's scored and rejected files: same screen, same quoting."""
    from churn_core.campaign.scoring import rejected_path, score_file

    df = sample_frame.head(6).astype(str)
    df.iloc[0, df.columns.get_loc("Surname")] = "\r=cmd|' /C calc'!A0"
    df.iloc[1, df.columns.get_loc("Surname")] = "  =1+1"
    df.iloc[2, df.columns.get_loc("Age")] = "\n=2+2"  # a bad number: rejected, then written
    src = tmp_path / "in.parquet"
    df.to_parquet(src, index=False)
    counts = score_file(tiny_bundle, src, tmp_path / "out.csv", chunksize=4)
    scored = _sheet_cells((tmp_path / "out.csv").read_bytes())
    rejected = _sheet_cells(rejected_path(tmp_path / "out.csv").read_bytes())
    assert len(scored) - 1 == counts["rows_scored"] == 5 and len(rejected) - 1 == counts["rows_rejected"] == 1
    surname = scored[0].index("Surname")
    assert scored[1][surname] == "'\r=cmd|' /C calc'!A0" and scored[2][surname] == "'  =1+1"
    assert rejected[1][rejected[0].index("Age")] == "'\n=2+2"


def test_decision_log_value_longer_than_an_excel_cell_is_cut_with_a_note():
    """A control group's member IDs (thousands of customers) do not fit one Excel cell: the
    decision_log sheet says where the whole value is instead of Excel truncating it."""
    import warnings

    from churn_core.campaign.export import EXCEL_CELL_CHARS, to_xlsx_bytes

    ids = [f"C{i:07d}" for i in range(5000)]
    log = {"rows_in": 5000, "campaign": {"seed": 42, "members": {"ids": ids}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # openpyxl/pandas warn when they truncate a cell
        data = to_xlsx_bytes(pd.DataFrame({"CustomerId": ids[:3]}), log)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["decision_log"]
    cells = {r[0].value: r[1].value for r in sheet.iter_rows(min_row=2)}
    assert cells["campaign: seed"] == 42 and cells["rows_in"] == 5000
    members = cells["campaign: members"]
    assert len(members) < EXCEL_CELL_CHARS and "decision log JSON" in members
    assert members.startswith('{"ids": ["C0000000", "C0000001"')
