"""Partitions of one big file (``churn_core.io.partitions``): byte ranges of a CSV file read
one by one give exactly the rows, cells and line numbers of the whole file."""
from __future__ import annotations

import pandas as pd
import pytest

from churn_core.io.partitions import plan_partitions, read_partition
from churn_core.io.reader import read_table


@pytest.fixture(scope="module")
def quoted_csv(sample_frame, tmp_path_factory):
    """A title line, then 1,500 customers; three surnames hold quoted line breaks and quotes."""
    df = sample_frame.drop(columns=["Exited"]).head(1500).astype(str).reset_index(drop=True)
    for i in (10, 611, 1203):
        df.loc[i, "Surname"] = f'Smith\n"Jr" {i}\n'
    path = tmp_path_factory.mktemp("partitions") / "big.csv"
    path.write_text("Customer extract 2026-12-05\n" + df.to_csv(index=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_ranges_cover_the_file_in_a_multiple_of_slots(quoted_csv, slots):
    size = quoted_csv.stat().st_size
    specs = plan_partitions([quoted_csv], 9_000, slots=slots)
    assert len(specs) % slots == 0 and len(specs) >= size // 9_000
    assert all(s["kind"] == "csv" for s in specs)
    assert specs[-1]["stop"] == size
    assert all(a["stop"] == b["start"] for a, b in zip(specs, specs[1:]))
    widths = [s["stop"] - s["start"] for s in specs[:-1]]
    assert max(widths) - min(widths) < 1_000  # equal ranges up to the record end after the cut
    raw = quoted_csv.read_bytes()
    assert all(raw[s["stop"] - 1:s["stop"]] == b"\n" for s in specs)


@pytest.mark.parametrize("slots", [1, 2])
def test_ranges_read_back_as_the_whole_file(quoted_csv, slots):
    whole, _ = read_table(quoted_csv)
    parts = [read_partition(s) for s in plan_partitions([quoted_csv], 9_000, slots=slots)]
    got = pd.concat(parts).drop(columns="source_file")
    assert (got["Surname"].str.contains("\n")).sum() == 3  # never cut inside a quoted cell
    assert got.index.tolist() == whole.index.tolist()  # line numbers: title line + header first
    assert got.index[0] == 3 and got.index[-1] == whole.index[-1]
    pd.testing.assert_frame_equal(got.astype(str), whole.astype(str))


def test_small_or_unsplittable_files_stay_whole(quoted_csv, tmp_path):
    import gzip

    gz = tmp_path / "big.csv.gz"
    gz.write_bytes(gzip.compress(quoted_csv.read_bytes()))
    assert plan_partitions([quoted_csv], 10 ** 9, slots=2) == [{"kind": "file", "path": str(quoted_csv)}]
    assert [s["kind"] for s in plan_partitions([gz], 100, slots=2)] == ["file"]


def test_a_range_with_cut_off_or_over_long_records_reads_as_in_the_whole_file(sample_frame, tmp_path):
    """A record with too few or too many fields, far into the file: its range gets the reader's
    parse-error column (those rows are rejected later, with a reason), not a refusal."""
    from churn_core.io.report import PARSE_ERROR_COLUMN

    df = sample_frame.drop(columns=["Exited"]).head(1500).astype(str)
    lines = df.to_csv(index=False).splitlines()
    lines[1100] = ",".join(lines[1100].split(",")[:5])          # cut off: 5 fields
    lines[1300] = lines[1300] + ",extra,fields"                  # over-long
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole, _ = read_table(path)
    specs = plan_partitions([path], 9_000, slots=2)
    parts = [read_partition(s) for s in specs]
    assert sum(PARSE_ERROR_COLUMN in p.columns for p in parts) >= 1
    got = pd.concat(parts).drop(columns="source_file")
    assert got.index.tolist() == whole.index.tolist()
    bad_whole = whole.index[whole[PARSE_ERROR_COLUMN].notna()].tolist()
    bad_got = got.index[got[PARSE_ERROR_COLUMN].notna()].tolist()
    assert bad_got == bad_whole == [1101, 1301]  # the header is line 1
    assert got.loc[bad_got, PARSE_ERROR_COLUMN].tolist() == whole.loc[bad_whole, PARSE_ERROR_COLUMN].tolist()
    assert got.loc[1101, PARSE_ERROR_COLUMN].startswith("row 1101 has 5 fields")
    cols = [c for c in whole.columns if c != PARSE_ERROR_COLUMN]
    pd.testing.assert_frame_equal(got[cols].astype(str), whole[cols].astype(str))


def test_a_quote_inside_an_unquoted_cell_keeps_the_file_whole(sample_frame, tmp_path):
    """``O"Neil`` (a quote the reader takes as text) would flip the quote parity the ranges are
    counted by: such a file is one partition, read as the local engine reads it."""
    df = sample_frame.drop(columns=["Exited"]).head(1500).astype(str)
    df.loc[100, "Surname"] = 'O"Neil'
    df.loc[900, "Surname"] = 'D"Arcy'
    path = tmp_path / "stray.csv"
    # written by hand: no cell is quoted, so the two quotes are plain text to a CSV reader
    path.write_text("\n".join([",".join(df.columns)] + [",".join(r) for r in df.to_numpy()]) + "\n",
                    encoding="utf-8")
    assert 'O"Neil' in path.read_text()
    assert plan_partitions([path], 9_000, slots=2) == [{"kind": "file", "path": str(path)}]
    # a well-quoted file (doubled quotes inside quoted cells) is still split
    ok = tmp_path / "quoted.csv"
    df.to_csv(ok, index=False)  # pandas quotes O""Neil as RFC 4180 says
    specs = plan_partitions([ok], 9_000, slots=2)
    assert len(specs) > 2
    whole, _ = read_table(ok)
    got = pd.concat([read_partition(s) for s in specs]).drop(columns="source_file")
    assert got.index.tolist() == whole.index.tolist()
    assert got.loc[102, "Surname"] == 'O"Neil' and got.loc[902, "Surname"] == 'D"Arcy'


def test_an_error_in_a_later_range_names_the_file_row(sample_frame, tmp_path):
    """An unclosed quote far into the file: the range's error names the row a spreadsheet shows
    for the whole file (as the local engine's message does)."""
    from churn_core.errors import DataFileError

    lines = sample_frame.drop(columns=["Exited"]).astype(str).to_csv(index=False).splitlines()
    lines = lines[:1] + lines[1:] * (30_000 // (len(lines) - 1) + 1)  # past the 1 MB head
    cells = lines[25_000].split(",")
    cells[2] = '"Smith'  # opens a quote that never closes
    lines[25_000] = ",".join(cells)
    path = tmp_path / "open_quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError) as whole:
        read_table(path)
    specs = plan_partitions([path], 200_000, slots=2)
    assert len(specs) > 2 and specs[-1]["line_shift"] > 0
    with pytest.raises(DataFileError) as part:
        for spec in specs:
            read_partition(spec)
    assert "row 25001" in str(whole.value) and str(part.value) == str(whole.value)
