"""io.read_table / iter_table_chunks: formats, sources, line numbers, file-level errors."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnError, DataFileError
from churn_core.io.reader import PARSE_ERROR_COLUMN, ReadReport, iter_table_chunks, read_table

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    n = 50
    return pd.DataFrame({
        "CustomerId": np.arange(1000, 1000 + n),
        "Surname": rng.choice(["Lefèvre", "Smith", "O'Brien"], n),
        "Balance": np.round(rng.uniform(0, 1e5, n), 2),
        "Exited": rng.integers(0, 2, n),
    })


def test_csv_cells_are_text_with_row_index(frame, tmp_path):
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    df, rep = read_table(path)
    assert isinstance(rep, ReadReport) and rep.format == "csv" and rep.rows_read == len(frame)
    assert all(pd.api.types.is_string_dtype(df[c]) for c in df.columns)
    assert df.index.name == "source_row" and df.index.tolist() == list(range(2, len(frame) + 2))
    expected = frame.astype(str)
    pd.testing.assert_frame_equal(df.reset_index(drop=True).astype(object), expected.astype(object))
    assert df.attrs["source_name"] == "f.csv" and df.attrs["line_word"] == "row"


@pytest.mark.parametrize("kind", ["bytes", "bytesio", "uploaded"])
def test_sources_bytes_and_file_like_equal_path(frame, tmp_path, kind):
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    raw = path.read_bytes()

    class Uploaded(io.BytesIO):  # like streamlit's UploadedFile: getvalue() and a name
        name = "upload.csv"

    source = {"bytes": raw, "bytesio": io.BytesIO(raw), "uploaded": Uploaded(raw)}[kind]
    df, rep = read_table(source, name=None if kind == "uploaded" else "given.csv")
    ref, _ = read_table(path)
    pd.testing.assert_frame_equal(df, ref)
    assert rep.source == ("upload.csv" if kind == "uploaded" else "given.csv")


def test_parquet_by_magic_bytes(frame, tmp_path):
    path = tmp_path / "f.bin"  # extension does not matter: magic bytes decide
    frame.to_parquet(path, index=False)
    df, rep = read_table(path)
    assert rep.format == "parquet" and rep.line_word == "row"
    pd.testing.assert_frame_equal(df.reset_index(drop=True), frame)
    assert df.index.tolist()[:2] == [1, 2]


def test_xlsx_read_as_text_rows_numbered_like_excel(frame, tmp_path):
    path = tmp_path / "f.xlsx"
    frame.to_excel(path, index=False)
    df, rep = read_table(path.read_bytes(), name="f.xlsx")
    assert rep.format == "xlsx" and rep.line_word == "row"
    assert df["Surname"].tolist() == frame["Surname"].tolist()
    np.testing.assert_allclose(df["Balance"].astype(float), frame["Balance"])
    assert df["CustomerId"].tolist() == frame["CustomerId"].astype(str).tolist()
    assert df.index.tolist()[:2] == [2, 3]  # header is spreadsheet row 1


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"a,b\n1,\x00\x002\n", "NUL"),
])
def test_file_level_errors(data, words):
    with pytest.raises(DataFileError) as exc:
        read_table(data, name="bad.csv")
    assert words in str(exc.value) and "bad.csv" in str(exc.value)


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="Parquet"):
        read_table(b"a,b\n1,2\n", name="x.parquet")
    with pytest.raises(DataFileError, match="xlsx"):
        read_table(b"PK\x03\x04garbage", name="x.xlsx")


def test_ragged_rows_kept_with_line_numbers():
    df, rep = read_table(DATA / "ragged_rows.csv")
    # rows: 2 ok, 3 one field too many, 4 one field short (cut off), 5 blank (skipped), 6 ok
    assert df.index.tolist() == [2, 3, 4, 6]
    assert df[PARSE_ERROR_COLUMN].notna().tolist() == [False, True, True, False]
    assert "row 3 has 4 fields but the header has 3" in df[PARSE_ERROR_COLUMN].iloc[1]
    assert "row 4 has 2 fields but the header has 3" in df[PARSE_ERROR_COLUMN].iloc[2]
    assert pd.isna(df["Exited"].loc[4])
    # both say the rows are rejected (the longer one did not: break-it 2.2)
    assert rep.warnings == ["1 row(s) have more fields than the header: rejected",
                            "1 row(s) have fewer fields than the header: rejected"]


def test_ragged_row_rejected_by_validation_not_dropped():
    from churn_core.data.schema import FeatureSchema
    from churn_core.data.validate import validate

    df, _ = read_table(DATA / "ragged_rows.csv")
    schema = FeatureSchema(target="Exited", positive_label="1", negative_label="0", numeric=["Age"],
                           id_columns=["CustomerId"])
    res = validate(df, schema, require_target=True)
    assert res.rejected["source_row"].tolist() == [3, 4]  # too many fields; too few (cut off)
    assert "4 fields" in res.rejected["reason"].iloc[0]
    assert "2 fields but the header has 3" in res.rejected["reason"].iloc[1]
    assert len(res.valid) + len(res.rejected) == len(df)


def test_quoted_newline_is_one_row():
    df, _ = read_table(DATA / "quoted_newline.csv")
    assert df["Note"].iloc[0] == "two\nlines"
    assert df.index.tolist() == [2, 3]  # a record with a line break in a quoted cell is one row (as in Excel)


def test_blank_lines_are_rows_but_no_customers():
    df, _ = read_table(b"a,b\n1,2\n\n3,4\n", name="x.csv")
    assert df.index.tolist() == [2, 4] and df["a"].tolist() == ["1", "3"]


def test_header_only_gives_empty_frame():
    df, rep = read_table(b"a,b\n", name="x.csv")
    assert list(df.columns) == ["a", "b"] and len(df) == 0 and rep.rows_read == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_iter_table_chunks_equals_whole_read(frame, tmp_path, fmt):
    path = tmp_path / f"f.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    whole, _ = read_table(path)
    chunks = list(iter_table_chunks(path, chunksize=16))
    assert [len(c) for c, _ in chunks] == [16, 16, 16, 2]
    assert [first for _, first in chunks] == [int(c.index[0]) for c, _ in chunks]
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)


def test_iter_table_chunks_cp1252(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes((DATA / "enc_cp1252.csv").read_bytes())
    chunks = list(iter_table_chunks(path, chunksize=2))
    assert pd.concat([c for c, _ in chunks])["Surname"].tolist() == ["Lefèvre", "Müller", "García"]


def test_errors_are_churn_errors():
    assert issubclass(DataFileError, ChurnError) and issubclass(ChurnError, ValueError)


def test_iter_table_chunks_streams_big_files(frame, tmp_path):
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    whole, _ = read_table(path)
    chunks = list(iter_table_chunks(path, chunksize=16, block_size=256))  # many pyarrow blocks
    assert [len(c) for c, _ in chunks] == [16, 16, 16, 2]
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)


def test_iter_table_chunks_streaming_keeps_ragged_rows(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n")
    df = pd.concat([c for c, _ in iter_table_chunks(path, chunksize=2, block_size=8)])
    assert len(df) == 5  # 3 good rows + 2 ragged rows flagged, none dropped
    assert df[PARSE_ERROR_COLUMN].notna().sum() == 2


class _Exploit:
    """Unpickling this would create a file: read_table must never unpickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_upload_is_never_unpickled(tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(str(marker)))
    for name in ("model.pkl", "data.csv", "data.parquet"):
        try:
            read_table(payload, name=name)
        except DataFileError:
            pass
        assert not marker.exists()


def test_xlsx_with_several_sheets_of_customers_asks_which(frame, tmp_path):
    """Two sheets with the same columns: reading one would silently leave the other's
    customers out, so the analyst chooses (``sheet=``); a notes sheet beside one table is
    named in a note, not read."""
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as xw:
        frame.to_excel(xw, sheet_name="Customers", index=False)
        frame.head(3).to_excel(xw, sheet_name="Other", index=False)
    with pytest.raises(DataFileError, match=r"two.xlsx: 2 sheets .*'Customers' \(50 rows\), 'Other' \(3 rows\)"):
        read_table(path)
    df, rep = read_table(path, sheet="other")  # names match case-insensitively
    assert len(df) == 3 and rep.sheet == "Other" and "'Customers'" in rep.warnings[0]
    assert df.index.tolist() == [2, 3, 4]
    with pytest.raises(DataFileError, match="no sheet 'Nope'.*'Customers', 'Other'"):
        read_table(path, sheet="Nope")
    notes = tmp_path / "notes.xlsx"
    with pd.ExcelWriter(notes) as xw:
        pd.DataFrame({"About": ["exported 2026-11-30"]}).to_excel(xw, sheet_name="Read me", index=False)
        frame.to_excel(xw, sheet_name="Customers", index=False)
    df, rep = read_table(notes)
    assert len(df) == len(frame) and rep.sheet == "Customers"
    assert "read sheet 'Customers'; not read: 'Read me'" in rep.warnings[0]
    chunks = list(iter_table_chunks(path, chunksize=2, sheet="Customers"))
    assert sum(len(c) for c, _ in chunks) == len(frame)


@pytest.fixture(params=["one block", "blocks"])
def reader_mode(request):
    """Keyword arguments of ``iter_table_chunks``: the default block size (these small files
    are one pyarrow block), or tiny blocks (many blocks, records cut at block edges)."""
    return {} if request.param == "one block" else {"block_size": 997}


def _sheet_row(path, prefix: str) -> int:
    """The spreadsheet row of the record starting with ``prefix``: records counted by the csv
    module (a quoted line break stays in its row, a blank line is a row), header = row 1."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))
    return next(k + 1 for k, r in enumerate(records) if r and ",".join(r).startswith(prefix))


def _awkward_csv(n: int, anomaly: str, at: int) -> bytes:
    """``n`` clean rows with one awkward record at row ``at`` (0-based)."""
    rows = [f"{i},{1000 + i},Name{i},{i % 7}.5" for i in range(n)]
    rows[at] = {
        "quoted_newline": f'{at},{1000 + at},"two\nlines",1.5',
        "blank_line": f"\n{at},{1000 + at},Name{at},1.5",
        "ragged": f"{at},{1000 + at},Name{at}",
        "extra_field": f"{at},{1000 + at},Name{at},1.5,oops",
        "quoted_comma": f'{at},{1000 + at},"Doe, Jane",1.5',
        "crlf_blank": f"\r\n{at},{1000 + at},Name{at},1.5",
    }[anomaly]
    return ("id,cust,name,x\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("anomaly", ["quoted_newline", "blank_line", "ragged", "extra_field",
                                     "quoted_comma", "crlf_blank"])
@pytest.mark.parametrize("chunksize", [7, 64, 1000])
def test_iter_table_chunks_pieces_equal_whole_read(tmp_path, reader_mode, anomaly, chunksize):
    """Files read piece by piece give the whole read's cells and exact line numbers, also
    when the awkward record sits in a later piece."""
    path = tmp_path / "awkward.csv"
    path.write_bytes(_awkward_csv(700, anomaly, at=550))
    whole, _ = read_table(path)
    chunks = list(iter_table_chunks(path, chunksize=chunksize, **reader_mode))
    assert all(0 < len(c) <= chunksize for c, _ in chunks)
    assert [first for _, first in chunks] == [int(c.index[0]) for c, _ in chunks]
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)
    # the record after the awkward one is on the row a spreadsheet shows
    row_of_551 = _sheet_row(path, "551,1551,Name551,5.5")
    assert row_of_551 == 553 + (anomaly in ("blank_line", "crlf_blank"))  # a blank line is a row
    assert whole.loc[row_of_551, "id"] == "551"


def test_iter_table_chunks_stray_quote_and_no_final_newline(tmp_path, reader_mode):
    path = tmp_path / "stray.csv"
    body = [f"{i},{i}" for i in range(500)]
    body[300] = '300,5" screen'
    path.write_bytes(("a,b\n" + "\n".join(body)).encode())
    whole, _ = read_table(path)
    chunks = list(iter_table_chunks(path, chunksize=50, **reader_mode))
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)
    assert whole.index[-1] == 501 and len(whole) == 500


def _chunks_equal_whole(path, chunksize, **kwargs):
    whole, _ = read_table(path)
    chunks = list(iter_table_chunks(path, chunksize=chunksize, **kwargs))
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)
    return whole


@pytest.mark.parametrize("chunksize", [7, 1000])
def test_header_with_quoted_newline_is_one_row(tmp_path, reader_mode, chunksize):
    path = tmp_path / "hdr.csv"
    rows = "".join(f"{i},{i * 2}\n" for i in range(600))
    path.write_bytes(('a,"b\nnote"\n' + rows).encode())
    whole = _chunks_equal_whole(path, chunksize, **reader_mode)
    assert whole.index[0] == 2 and whole.loc[2 + 500, "a"] == "500"


@pytest.mark.parametrize("blank_line", [False, True])
@pytest.mark.parametrize("chunksize", [7, 1000])
def test_row_of_empty_fields_is_kept_for_validation(tmp_path, reader_mode, blank_line, chunksize):
    """``,,,`` rows are read as rows (validation rejects them), with or without a blank line
    elsewhere forcing the exact line count: the number of rows does not depend on it."""
    rows = [f"{i},{i},x" for i in range(600)]
    rows[100] = ",,"
    if blank_line:
        rows[400] = "\n" + rows[400]
    path = tmp_path / "empty.csv"
    path.write_bytes(("a,b,c\n" + "\n".join(rows) + "\n").encode())
    whole = _chunks_equal_whole(path, chunksize, **reader_mode)
    assert len(whole) == 600 and whole.loc[102].isna().all()
    assert whole.loc[403 if blank_line else 402, "a"] == "400"


@pytest.mark.parametrize("quoted", [False, True])
def test_lone_cr_does_not_cancel_a_blank_line(tmp_path, reader_mode, quoted):
    """A lone CR ends a record (for pyarrow, the csv module and spreadsheets); with a blank
    line (or a quoted newline) nearby every row is still the one a spreadsheet shows."""
    rows = [f"{i},{i}" for i in range(600)]
    rows[300] = "300,300\r9300,9300"  # a lone CR: one more record and one more editor line
    rows[350] = ('350,"a\nb"' if quoted else "\n350,350")
    path = tmp_path / "cr.csv"
    path.write_bytes(("a,b\n" + "\n".join(rows) + "\n").encode())
    whole = _chunks_equal_whole(path, 1000, **reader_mode)
    for key in ("299", "9300", "400", "599"):
        row = _sheet_row(path, f"{key},")
        assert whole.loc[row, "a"] == key
    assert _sheet_row(path, "599,") == 602 + (not quoted)  # header, 600 records, the CR's record, a blank


def test_stray_quote_before_a_quoted_newline_is_not_a_cut(tmp_path, reader_mode):
    """A stray quote (``5'11"``, text for both parsers) flips the quote parity, so a cut by
    parity lands inside the next quoted multi-line field; such cuts are found and the records
    walked field by field: same rows, cells and lines as the whole read."""
    rows = [f"{i},{i},plain" for i in range(900)]
    rows[100] = "100,100,5'11\" tall"
    for k in range(101, 900, 9):
        rows[k] = f'{k},{k},"note\nline two"'
    path = tmp_path / "stray_multi.csv"
    path.write_bytes(("a,b,c\n" + "\n".join(rows) + "\n").encode())
    whole = _chunks_equal_whole(path, 40, **reader_mode)
    assert len(whole) == 900 and whole["c"].str.startswith("note\nline").sum() == len(range(101, 900, 9))
    assert whole.loc[whole["a"] == "899"].index[0] == 900 + 1  # records are rows, line breaks or not


def test_random_awkward_files_read_in_blocks_equal_the_whole_read(tmp_path):
    """Seeded fuzz: files mixing blank lines, quoted newlines and commas, doubled quotes,
    stray quotes, ragged rows, CRLF and empty rows, read block by block (block sizes from
    61 bytes) in chunks of 3 to 500 rows, give the whole read's frame exactly."""
    rng = np.random.default_rng(11)
    kinds = ["plain"] * 12 + ["blank", "qnl", "qcomma", "dq", "stray", "short", "long", "crlf", "empty"]
    for trial in range(30):
        rows = []
        for i in range(int(rng.integers(1, 400))):
            k = kinds[rng.integers(len(kinds))]
            rows.append({"plain": f"{i},{i * 3},n{i}", "blank": f"\n{i},{i},b", "qnl": f'{i},{i},"x\ny"',
                         "qcomma": f'{i},{i},"D, J"', "dq": f'{i},{i},"say ""hi"""', "stray": f"{i},{i},5'1\"",
                         "short": f"{i},{i}", "long": f"{i},{i},a,b", "crlf": f"{i},{i},c\r",
                         "empty": ",,"}[k])
        path = tmp_path / f"fuzz{trial}.csv"
        path.write_bytes(("a,b,c\n" + "\n".join(rows) + ("\n" if trial % 3 else "")).encode())
        whole, _ = read_table(path)
        for block, chunk in ((61, 3), (997, 17), (1 << 16, 500)):
            got = pd.concat([c for c, _ in iter_table_chunks(path, chunksize=chunk, block_size=block)])
            pd.testing.assert_frame_equal(got, whole, check_exact=True, obj=f"{path.name} block {block}")


def test_big_file_encodings_decided_like_the_whole_read(tmp_path):
    """Block by block: a Windows-1252 byte after megabytes of ASCII makes the file cp1252
    (as the whole read decides); UTF-16 and a UTF-8 BOM read as whole; UTF-8 text followed
    by a cp1252 byte is refused naming that row and column."""

    rows = [f"{i},{i},name{i}" for i in range(3000)]
    rows[2500] = "2500,2500,Müller"
    text = "a,b,c\n" + "\n".join(rows) + "\n"
    files = {"cp1252.csv": text.encode("cp1252"), "utf16.csv": text.encode("utf-16"),
             "bom.csv": b"\xef\xbb\xbf" + text.encode()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    wholes = {name: read_table(tmp_path / name)[0] for name in files}
    for name in files:
        chunks = list(iter_table_chunks(tmp_path / name, chunksize=700, block_size=4096))
        pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), wholes[name], check_exact=True)
        assert wholes[name].loc[2502, "c"] == "Müller"
    mixed = text.replace(",name10\n", ",Zoë\n").encode().replace("Müller".encode(), "Müller".encode("cp1252"))
    (tmp_path / "mixed.csv").write_bytes(mixed)
    with pytest.raises(DataFileError, match=r"mixed.csv: row 2502, column 'c'.*mixed encodings"):
        list(iter_table_chunks(tmp_path / "mixed.csv", chunksize=700, block_size=4096))


@pytest.mark.parametrize("case", ["mixed", "undefined"])
def test_big_file_encoding_error_names_row_and_column_across_blocks(tmp_path, case):
    """The bad byte's row starts in one block and ends in the next: the message still names
    its row and column (';' file), as the whole read does."""

    rows = [f"{i};{i};name{i}" for i in range(6000)]
    if case == "mixed":  # UTF-8 early, a Windows-1252 byte late
        rows[10], rows[5000] = "10;10;Zoë", "5000;5000;M\udcfcller"
    else:  # Windows-1252 early, a byte Windows-1252 leaves undefined late
        rows[10], rows[5000] = "10;10;M\udcfcller", "5000;5000;x\udc81y"
    data = ("a;b;c\n" + "\n".join(rows) + "\n").encode("utf-8", "surrogateescape")
    path = tmp_path / "enc.csv"
    path.write_bytes(data)
    with pytest.raises(DataFileError) as whole:
        read_table(path)
    line_start = data.index(b"\n5000;") + 1
    with pytest.raises(DataFileError) as blocks:  # the 2nd raw block starts in "5000;"
        list(iter_table_chunks(path, chunksize=700, block_size=line_start + 3 - 65536))
    assert "row 5002, column 'c'" in str(whole.value)
    assert str(blocks.value) == str(whole.value)


def test_gzip_csv_reads_like_the_plain_file(tmp_path):
    """A .csv.gz (an awkward one: blank line, quoted newline, cut-off line) gives the plain
    file's frame, read whole or streamed in chunks; the messages name the .gz file."""
    import gzip

    plain = _awkward_csv(3000, "quoted_newline", at=2000).replace(b"\n5,", b"\n\n5,").replace(
        b"\n7,1007,Name7,0.5", b"\n7,1007")
    (tmp_path / "c.csv").write_bytes(plain)
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(plain))
    whole, rep = read_table(tmp_path / "c.csv")
    gz, gz_rep = read_table(tmp_path / "c.csv.gz")
    pd.testing.assert_frame_equal(gz, whole, check_exact=True)
    assert gz.attrs["source_name"] == "c.csv.gz" and gz_rep.warnings == rep.warnings
    assert whole.index[5] == 8 and whole[PARSE_ERROR_COLUMN].notna().sum() == 1  # the awkward rows
    chunks = list(iter_table_chunks(tmp_path / "c.csv.gz", chunksize=256))
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), whole, check_exact=True)


def test_gzip_parquet_and_damaged_gzip(frame, tmp_path, monkeypatch):
    import gzip

    import churn_core.io.reader as cio
    from churn_core.io.reader import DataFileError

    frame.to_parquet(tmp_path / "f.parquet")
    (tmp_path / "f.parquet.gz").write_bytes(gzip.compress((tmp_path / "f.parquet").read_bytes()))
    ref = read_table(tmp_path / "f.parquet")[0]
    pd.testing.assert_frame_equal(read_table(tmp_path / "f.parquet.gz")[0], ref)
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in iter_table_chunks(tmp_path / "f.parquet.gz", 7)]), ref)
    body = gzip.compress(b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(50_000)))
    (tmp_path / "cut.csv.gz").write_bytes(body[: len(body) // 2])
    with pytest.raises(DataFileError, match="cut.csv.gz: damaged or cut-off gzip file"):
        read_table(tmp_path / "cut.csv.gz")
    with pytest.raises(DataFileError, match="cut.csv.gz: damaged or cut-off gzip file"):
        list(iter_table_chunks(tmp_path / "cut.csv.gz", chunksize=1000))
    (tmp_path / "big.csv.gz").write_bytes(body)
    monkeypatch.setattr(cio, "MAX_GUNZIP_BYTES", 100_000)  # a zip bomb stops at the cap
    with pytest.raises(DataFileError, match="big.csv.gz: decompresses to more than"):
        read_table(tmp_path / "big.csv.gz")
    assert sum(len(c) for c, _ in iter_table_chunks(tmp_path / "big.csv.gz", 7000)) == 50_000  # streams


@pytest.mark.parametrize("title", ["Customer export\n", "Churn report, November 2026\r\nRun: 2026-11-30\r\n\r\n",
                                   "\n\nMonthly list\n"])
@pytest.mark.parametrize("sep", [",", ";"])
def test_title_lines_above_the_header_are_skipped(tmp_path, reader_mode, title, sep):
    """A report title (and a date, blank lines) above the header: skipped with a warning,
    and every row keeps the line an editor shows."""
    rows = [sep.join([str(i), f"C{i}", f"{i % 50}.5", "France", "1", "0"]) for i in range(3000)]
    rows[1500] = "\n" + rows[1500]  # a blank line further down still counts
    body = sep.join(["id", "cust", "x", "country", "active", "card"]) + "\n" + "\n".join(rows) + "\n"
    path = tmp_path / "titled.csv"
    path.write_bytes((title + body).encode())
    df, rep = read_table(path)
    skipped = title.count("\n")
    assert list(df.columns) == ["id", "cust", "x", "country", "active", "card"] and len(df) == 3000
    assert rep.header_line == skipped + 1 and "above the header" in rep.warnings[0]
    editor = path.read_text().split("\n")
    for i in (0, 1499, 1500, 2999):
        assert editor[df.index[i] - 1].startswith(f"{i}{sep}C{i}{sep}")
    chunks = list(iter_table_chunks(path, chunksize=700))
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), df, check_exact=True)


def test_a_header_short_of_one_name_is_not_a_title(tmp_path):
    """Data lines with one field more than the header (an unnamed last column): the header
    is not skipped as a title (the file is refused as before, naming the delimiter)."""
    from churn_core.io.layout import title_lines as _title_lines

    data = ("a,b,c,d,e\n" + "".join(f"{i},{i},{i},{i},{i},extra\n" for i in range(40))).encode()
    assert _title_lines(data) == 0
    with pytest.raises(DataFileError, match="the header splits on ','"):
        read_table(data, "short_header.csv")


def _rows_bytes(n: int, head: bytes = b"a,b,c\n") -> bytearray:
    return bytearray(head + b"".join(b"%d,%d,name%d\n" % (i, i, i) for i in range(n)))


def _cp1252_on_a_block_edge() -> bytes:
    data = _rows_bytes(6000)
    nl = data.rfind(b"\n", 0, 65536 - 4)
    data[nl + 1:nl + 1] = b"Z\xe9"  # the first non-ASCII byte, on the line crossing byte 65536
    return bytes(data)


def _cp1252_then_utf8_within_1mb() -> bytes:
    data = _rows_bytes(9000)
    i = data.find(b"\n", 70_000) + 1
    data[i:i] = b"1,1,Ren\xe9\n"
    j = data.find(b"\n", 90_000) + 1
    data[j:j] = "2,2,Zoë\n".encode()
    return bytes(data)


def _long_quoted_field() -> bytes:
    rows = [f"{i},{i},x" for i in range(3000)]
    rows[1000] = '1000,1000,"' + "y, " * 70_000 + '"'  # one 210 KB cell, longer than the look-ahead
    return ("a,b,c\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("case", ["header_lone_cr", "cp1252_on_block_edge", "cp1252_then_utf8",
                                  "long_quoted_field", "stray_quote_beyond_max_record",
                                  "stray_quote_then_ragged_quoted_field", "lone_cr_file", "utf16_wide_header"])
def test_block_reader_edge_cases_equal_the_whole_read(tmp_path, case):
    """Found by a break-it pass on the block reader: the first row after a header ended by a
    lone CR was swallowed; a first Windows-1252 byte on a line crossing a block edge crashed
    or was called mixed; UTF-8 text within 1 MB after a Windows-1252 byte was silently
    mis-decoded (the whole read refuses it); a quoted field longer than the look-ahead was cut;
    a stray quote in an unquoted cell far from any record end is text."""

    block = 997
    if case == "header_lone_cr":
        data = b"a,b\r" + b"".join(b"%d,%d\n" % (i, i) for i in range(300))
    elif case == "cp1252_on_block_edge":
        data, block = _cp1252_on_a_block_edge(), 4096
    elif case == "cp1252_then_utf8":
        data, block = _cp1252_then_utf8_within_1mb(), 4096
    elif case == "long_quoted_field":
        data = _long_quoted_field()
    elif case == "stray_quote_then_ragged_quoted_field":  # the extra field is not in the frame
        rows = [f"{i},{i},x" for i in range(900)]
        rows[5] = "5,5,5'11\""
        for k in range(60, 900, 37):
            rows[k] = f'{k},{k},x,"note\nline two"'
        data = ("a,b,c\n" + "\n".join(rows) + "\n").encode()
    elif case == "lone_cr_file":
        data = b"a,b,c\r" + b"".join(b"%d,%d,x\r" % (i, i) for i in range(30_000))
    elif case == "utf16_wide_header":
        head = ",".join(f"column_{i}" for i in range(3000))
        data = (head + "\n" + "".join(",".join(["1"] * 3000) + "\n" for _ in range(40))).encode("utf-16")
    else:
        data = bytes(_rows_bytes(3000)).replace(b"\n5,5,name5\n", b'\n5,5,5\'11" tall\n')
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    try:
        whole, outcome = read_table(path)[0], None
    except DataFileError as exc:
        whole, outcome = None, str(exc)
    if outcome is not None:
        assert case == "cp1252_then_utf8" and "mixed encodings" in outcome
        with pytest.raises(DataFileError) as exc:
            list(iter_table_chunks(path, chunksize=40, block_size=block))
        assert str(exc.value) == outcome
        return
    chunks = [c for c, _ in iter_table_chunks(path, chunksize=40, block_size=block)]
    pd.testing.assert_frame_equal(pd.concat(chunks), whole, check_exact=True)
    assert max(len(c) for c in chunks) <= 40
    if case == "lone_cr_file":  # cut at its CRs: the first chunk comes before the file is read
        import io

        from churn_core.io.csv import iter_csv_chunks

        fh = io.BytesIO(data)
        chunks = iter_csv_chunks(lambda: fh, path.name, 40, block_size=block)
        next(chunks)
        assert fh.tell() < len(data) / 2
        chunks.close()
    assert whole.index[0] == 2 and len(whole) == {
        "header_lone_cr": 300, "long_quoted_field": 3000, "stray_quote_then_ragged_quoted_field": 900,
        "lone_cr_file": 30_000, "utf16_wide_header": 40}.get(case, len(whole))


def test_is_utf8_agrees_with_python_codec():
    from churn_core.io.encoding import is_utf8 as _is_utf8

    rng = np.random.default_rng(0)
    samples = [b"", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"\xc3",
               b"\x80", "Müller, Zoë 😀".encode(), "Müller".encode("cp1252")]
    text = "Ünïcødé 😀 name,1\n".encode() * 20
    for _ in range(400):  # valid text with one random byte changed, and random bytes
        b = bytearray(text)
        b[rng.integers(len(b))] = rng.integers(256)
        samples += [bytes(b), rng.integers(0, 256, rng.integers(1, 40)).astype(np.uint8).tobytes()]
    for b in samples:
        try:
            b.decode("utf-8")
            expected = True
        except UnicodeDecodeError:
            expected = False
        assert _is_utf8(b) == expected, b
