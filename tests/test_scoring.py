"""Scoring: rows in = scored + rejected, original columns kept, blanks imputed, chunked files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import DataFileError, MissingColumnsError
from churn_core.io import read_table
from churn_core.scoring import rejected_path, score_file, score_frame
from churn_core.validate import validate


@pytest.fixture(scope="module")
def messy_csv(sample_frame, tmp_path_factory):
    """200 customers without the target; a bad Age, blank numeric cells, an unseen country."""
    df = sample_frame.drop(columns=["Exited"]).head(200).astype(str)
    df.loc[3, "Age"] = "forty"
    df.loc[7, "Balance"] = ""
    df.loc[8, "CreditScore"] = ""
    df.loc[9, "Geography"] = "Atlantis"
    df.loc[10, "Geography"] = " GERMANY "
    path = tmp_path_factory.mktemp("score") / "customers.csv"
    df.to_csv(path, index=False)
    return path


def test_rows_in_equal_scored_plus_rejected(tiny_bundle, messy_csv):
    df, _ = read_table(messy_csv)
    res = score_frame(tiny_bundle, df)
    assert len(res.scored) + len(res.rejected) == len(df) == res.report["rows_in"]
    assert res.rejected["source_line"].tolist() == [5]  # row 3 -> line 5 (header is line 1)
    assert "Age" in res.rejected["reason"].iloc[0]
    assert sorted(res.scored["source_line"].tolist() + res.rejected["source_line"].tolist()) == \
        list(range(2, len(df) + 2))


def test_scored_rows_keep_columns_and_match_bundle(tiny_bundle, messy_csv):
    df, _ = read_table(messy_csv)
    res = score_frame(tiny_bundle, df, threshold=0.4)
    s = res.scored
    assert list(s.columns) == ["source_line", *df.columns, "churn_probability", "predicted_churn"]
    assert np.isfinite(s["churn_probability"]).all()
    assert ((s["churn_probability"] >= 0) & (s["churn_probability"] <= 1)).all()
    np.testing.assert_array_equal(s["predicted_churn"], (s["churn_probability"] >= 0.4).astype(int))
    valid = validate(df, tiny_bundle.schema, require_target=False).valid
    np.testing.assert_allclose(s["churn_probability"], tiny_bundle.predict_proba(valid), atol=1e-12)
    # original cells come back untouched, IDs included
    line7 = s.set_index("source_line").loc[9]  # df row 7 (blank Balance)
    assert pd.isna(line7["Balance"]) or line7["Balance"] == ""
    assert res.report["imputed_cells"] == {"CreditScore": 1, "Balance": 1}
    assert res.report["unseen_categories"] == {"Geography": {"Atlantis": 1}}
    assert res.report["threshold"] == 0.4


def test_default_threshold_and_target_ignored(tiny_bundle, sample_df):
    res = score_frame(tiny_bundle, sample_df.head(50))
    assert res.report["threshold"] == tiny_bundle.default_threshold
    assert "Exited" in res.scored.columns and len(res.scored) == 50


def test_missing_feature_column_named(tiny_bundle, sample_df):
    with pytest.raises(MissingColumnsError, match="Age"):
        score_frame(tiny_bundle, sample_df.drop(columns=["Age"]))


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_score_file_chunked_equals_score_frame(tiny_bundle, messy_csv, tmp_path, ext):
    out = tmp_path / f"scores{ext}"
    seen = []
    counts = score_file(tiny_bundle, messy_csv, out, chunksize=64, progress=lambda d, t: seen.append(d))
    assert counts["rows_in"] == 200 and counts["rows_scored"] + counts["rows_rejected"] == 200
    assert seen[-1] == 200 and len(seen) == 4
    got = pd.read_csv(out) if ext == ".csv" else pd.read_parquet(out)
    rej = pd.read_csv(rejected_path(out)) if ext == ".csv" else pd.read_parquet(rejected_path(out))
    ref = score_frame(tiny_bundle, read_table(messy_csv)[0])
    assert len(got) == len(ref.scored) and len(rej) == len(ref.rejected) == 1
    np.testing.assert_allclose(got["churn_probability"], ref.scored["churn_probability"], atol=1e-9)
    assert got["source_line"].tolist() == ref.scored["source_line"].tolist()
    assert not list(tmp_path.glob(".*partial"))


def test_score_file_refuses_bad_output(tiny_bundle, messy_csv, tmp_path):
    with pytest.raises(DataFileError):
        score_file(tiny_bundle, messy_csv, tmp_path / "scores.json")


def test_score_file_csv_neutralises_formula_cells(tiny_bundle, sample_frame, tmp_path):
    """A surname that a spreadsheet would run as a formula comes out inert; numbers stay numbers."""
    df = sample_frame.drop(columns=["Exited"]).head(20).astype(str)
    df.loc[0, "Surname"] = '=HYPERLINK("http://x")'
    df.loc[1, "Surname"] = "@cmd"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "scored.csv"
    score_file(tiny_bundle, src, out)
    got = pd.read_csv(out, dtype={"Surname": str})
    assert got.loc[got["source_line"] == 2, "Surname"].item() == '\'=HYPERLINK("http://x")'
    assert got.loc[got["source_line"] == 3, "Surname"].item() == "'@cmd"
    assert got["Surname"].iloc[2:].tolist() == df["Surname"].iloc[2:].tolist()
    assert pd.api.types.is_float_dtype(got["churn_probability"])


def test_parallel_workers_write_the_same_file_in_input_order(tiny_bundle, messy_csv, tmp_path):
    """Chunks scored by two worker threads come out byte for byte as with one worker."""
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    c1 = score_file(tiny_bundle, messy_csv, one, chunksize=16, workers=1)
    c2 = score_file(tiny_bundle, messy_csv, two, chunksize=16, workers=2)
    assert one.read_bytes() == two.read_bytes()
    assert rejected_path(one).read_bytes() == rejected_path(two).read_bytes()
    assert c1 == {**c2, "out": c1["out"], "rejected_out": c1["rejected_out"]}
    lines = pd.read_csv(two)["source_line"].tolist()
    assert lines == sorted(lines) and len(lines) == c2["rows_scored"]


def test_formula_in_a_numeric_column_is_rejected_and_neutralised(tiny_bundle, sample_frame, tmp_path):
    """Numeric columns of scored rows skip the formula scan: only numbers get there."""
    df = sample_frame.drop(columns=["Exited"]).head(10).astype(str)
    df.loc[0, "Age"] = "=1+1"
    df.loc[1, "Balance"] = "-2500.5"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "scored.csv"
    counts = score_file(tiny_bundle, src, out)
    assert counts["rows_rejected"] == 1
    rej = pd.read_csv(rejected_path(out), dtype=str)
    assert rej["Age"].tolist() == ["'=1+1"]
    got = pd.read_csv(out, dtype={"Balance": str})
    assert got.loc[got["source_line"] == 3, "Balance"].item() == "-2500.5"


def test_score_file_never_overwrites_its_input_with_the_rejected_file(tiny_bundle, messy_csv, tmp_path):
    """Re-scoring a fixed ``scored_rejected.csv`` with ``--out scored.csv`` must not replace it
    (found by a break-it pass: the input became the new rejected rows)."""
    src = tmp_path / "scored_rejected.csv"
    src.write_bytes(messy_csv.read_bytes())
    before = src.read_bytes()
    with pytest.raises(DataFileError, match="rejected-rows file scored_rejected.csv would overwrite"):
        score_file(tiny_bundle, src, tmp_path / "scored.csv")
    assert src.read_bytes() == before and not (tmp_path / "scored.csv").exists()


def test_rejected_rows_start_with_source_line_and_end_with_reason(tiny_bundle, messy_csv, tmp_path):
    """Rejected files have one layout whether empty or not (break-it: source_line moved)."""
    res = score_frame(tiny_bundle, read_table(messy_csv)[0])
    assert len(res.rejected) >= 1
    cols = list(res.rejected.columns)
    assert cols[0] == "source_line" and cols[-1] == "reason"
    assert cols[1:-1] == [c for c in read_table(messy_csv)[0].columns]
    score_file(tiny_bundle, messy_csv, tmp_path / "s.csv")
    header = rejected_path(tmp_path / "s.csv").read_text().splitlines()[0]
    assert header.startswith("source_line,") and header.endswith(",reason")


def test_score_file_reports_values_outside_the_training_range(tiny_bundle, sample_frame, tmp_path, capsys):
    from churn_core.cli import _print_data_notes

    df = sample_frame.drop(columns=["Exited"]).head(30).astype(str)
    df.loc[3, "Age"] = "1e39"
    df.loc[7, "Age"] = "-5"
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    counts = score_file(tiny_bundle, src, tmp_path / "s.csv", chunksize=10)
    assert "Age" in tiny_bundle.preprocessor.edges  # the default (PLE) encoding keeps the range
    assert counts["outside_training_range"]["Age"] == 2
    assert counts["rows_scored"] == 30
    _print_data_notes(counts)
    assert "outside the range seen in training" in capsys.readouterr().out


def test_duplicate_ids_are_counted_over_the_whole_file_not_per_chunk(tiny_bundle, sample_frame, tmp_path):
    """Break-it: IDs repeated 100 rows apart gave no warning with chunks of 50 rows."""
    from churn_core.scoring import count_shared_ids, id_keys

    df = sample_frame.drop(columns=["Exited"]).head(200).astype(str)
    df["CustomerId"] = [str(10_000 + i % 100) for i in range(200)]  # every ID twice, 100 rows apart
    df.loc[5, "CustomerId"], df.loc[6, "CustomerId"] = "007", "7"  # different texts: different IDs
    df.loc[7, "CustomerId"], df.loc[150, "CustomerId"] = "A-1", "A-1"
    src = tmp_path / "dups.csv"
    df.to_csv(src, index=False)
    counts = score_file(tiny_bundle, src, tmp_path / "s.csv", chunksize=50)
    expect = int(df["CustomerId"].duplicated(keep=False).sum())
    assert counts["rows_scored"] == 200
    assert counts["duplicate_ids"] == {"CustomerId": expect}
    # the key function alone: equal keys exactly for equal texts
    keys = [id_keys(pd.Series(["1", "01", "x", None, "-3"], dtype="str")),
            id_keys(pd.Series(["1", "x", "-3", "3"], dtype="str"))]
    assert count_shared_ids(keys) == 6  # "1" x2, "x" x2, "-3" x2; "01" and "3" are unique
