"""The speed paths of scoring give the same answers as the plain ones.

* ``validate.count_duplicated`` (int64 hashing of integer-looking IDs) equals pandas'
  ``duplicated(keep=False)`` on text, including leading zeros, signs and blanks;
* the pyarrow CSV writer of ``score_file`` reads back to the same cells as ``DataFrame.to_csv``;
* ``risk_tier`` in ``score_file`` output equals ``tiers.assign_tiers`` at the bundle's cutoffs;
* the pipelined ``score_file`` (background read and write threads) leaves no partial file and
  no thread behind when a chunk fails.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from churn_core.io.writer import TableWriter, neutralise_formulas
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn_core.errors import MissingColumnsError
from churn_core.campaign.scoring import score_file
from churn_core.campaign.tiers import assign_tiers
from churn_core.data.validate import count_duplicated

_ID_TEXT = st.one_of(st.none(), st.sampled_from(["1", "01", "7", "007", "+7", "-0", "0", " 7", "x7", "",
                                                  "9223372036854775808", "12345678901"]),
                     st.integers(-50, 50).map(str))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_ID_TEXT, max_size=30))
def test_count_duplicated_equals_pandas(values):
    s = pd.Series(values, dtype="str")
    assert count_duplicated(s) == int(s.dropna().duplicated(keep=False).sum())


def test_count_duplicated_numeric_and_object_columns():
    for s in (pd.Series([1, 2, 2, np.nan]), pd.Series(["a", 1, "a", None], dtype=object)):
        assert count_duplicated(s) == int(s.dropna().duplicated(keep=False).sum())


def test_csv_writer_round_trip_equals_pandas(tmp_path):
    df = pd.DataFrame({
        "text": pd.array(['a,b', 'say "hi"', None, "line\nbreak", "=1+2", "007", "Lefèvre"], dtype="str"),
        "p": [0.1, 1e-8, 0.5, 1.0, 0.0, 0.123456789012345, np.nan],
        "k": np.array([0, 1, 0, 1, 1, 0, 1], dtype=np.int8),
    })
    w = TableWriter(tmp_path / "a.csv", "csv")
    w.write(df.iloc[:3])
    w.write(df.iloc[3:])
    w.close(list(df.columns))
    # the streamed writer neutralises spreadsheet formulas like every export ("=1+2" -> "'=1+2")
    neutralise_formulas(df).to_csv(tmp_path / "b.csv", index=False)
    got = pd.read_csv(tmp_path / "a.csv", dtype={"text": "str"}, keep_default_na=False, na_values=[""])
    assert "'=1+2" in got["text"].tolist()
    ref = pd.read_csv(tmp_path / "b.csv", dtype={"text": "str"}, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(got, ref)


def test_score_file_risk_tier_matches_assign_tiers(tiny_bundle, sample_df, tmp_path):
    src = tmp_path / "in.csv"
    sample_df.drop(columns=["Exited"]).to_csv(src, index=False)
    counts = score_file(tiny_bundle, src, tmp_path / "out.parquet", chunksize=700)
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert counts["rows_scored"] == len(got) == len(sample_df)
    expected = assign_tiers(got["churn_probability"].to_numpy(), tiny_bundle.tier_cutoffs)
    assert got["risk_tier"].tolist() == list(expected)


def test_failing_chunk_leaves_no_partial_output_or_thread(tiny_bundle, sample_df, tmp_path):
    src = tmp_path / "in.csv"
    sample_df.drop(columns=["Age"]).to_csv(src, index=False)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(MissingColumnsError, match="Age"):
        score_file(tiny_bundle, src, tmp_path / "out.csv", chunksize=500)
    assert not list(tmp_path.glob("*out*"))
    left = {t.name for t in threading.enumerate()} - before
    assert not [n for n in left if n.startswith(("score-prefetch", "score-writer"))]


@pytest.mark.parametrize("variant", ["exact", "case_space_unseen_blank"])
def test_category_fast_path_equals_normalising_path(tiny_bundle, sample_df, variant):
    from churn_core.data.validate import validate

    pre = tiny_bundle.preprocessor
    valid = validate(sample_df.head(400), tiny_bundle.schema, require_target=False).valid.copy()
    col = pre.categorical[0]
    if variant != "exact":
        cells = valid[col].astype(object)
        cells.iloc[0] = f" {str(cells.iloc[1]).upper()} "
        cells.iloc[2] = "Atlantis"
        cells.iloc[3] = None
        cells.iloc[4] = "   "
        valid[col] = pd.array(cells.tolist(), dtype="str")
    as_object = valid.copy()
    for c in pre.categorical:  # object dtype forces the factorise-and-normalise path
        as_object[c] = valid[c].astype(object)
    np.testing.assert_array_equal(pre.transform(valid), pre.transform(as_object))
    assert pre.unseen_categories(valid) == pre.unseen_categories(as_object)
    if variant != "exact":
        assert pre.unseen_categories(valid) == {col: {"Atlantis": 1}}
    # the category codes computed once (score_frame) give the same encoding and counts
    for frame in (valid, as_object):
        codes = pre.category_codes(frame)
        assert codes[col].exact == (variant == "exact" and frame is valid)
        np.testing.assert_array_equal(pre.transform(frame, codes), pre.transform(frame))
        assert pre.unseen_categories(frame, codes) == pre.unseen_categories(frame)
        assert pre.missing_counts(frame, codes) == pre.missing_counts(frame)
        probe = frame.copy()
        probe[col] = pd.array([None, "  ", *frame[col].iloc[2:].astype(object)], dtype="str")  # blank text
        assert pre.missing_counts(probe, pre.category_codes(probe)) == pre.missing_counts(probe)
    p = tiny_bundle.predict_proba(valid)
    assert np.array_equal(p, tiny_bundle.predict_proba(valid, codes=pre.category_codes(valid)))
    # scoring's fused first layer vs the encoded matrix: float32 rounding apart (the same
    # bytes before the fused layer, only because both ran the same dense product)
    raw = tiny_bundle.predict_proba(valid, calibrated=False)
    assert np.abs(raw - tiny_bundle.predict_encoded(pre.transform(valid))).max() <= 2e-6


_NUM_TEXT = st.one_of(st.none(), st.sampled_from(["1", " 2 ", "3.5", "1e3", "-0", "nan", "NaN", "inf", "-inf", "NA",
                                                   "", "  ", "?", "1,234.5", "1.234,5", "12abc", "€5", "0x10"]),
                      st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_NUM_TEXT, min_size=1, max_size=25))
def test_parse_numeric_fast_path_equals_trimming_path(values):
    """Plain-number columns take the direct Arrow cast; padding one cell with spaces forces the
    trimming path, which must give the same values, blanks and bad cells."""
    from churn_core.data.cells import parse_numeric

    s = pd.Series(values, dtype="str")
    padded = pd.Series([None if v is None else f" {v} " for v in values], dtype="str")
    got, ref = parse_numeric(s), parse_numeric(padded)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[2], ref[2])


def test_streamed_score_file_equals_score_frame(tiny_bundle, sample_df, tmp_path):
    """The streaming reader (tiny blocks) + pipelined scoring gives the in-memory rows and
    rejections exactly, and the in-memory scores to float32 precision, row for row."""
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import rejected_path, score_frame

    df = sample_df.drop(columns=["Exited"]).head(1500).copy()
    df.iloc[10, df.columns.get_loc("Age")] = "old"
    df.iloc[700, df.columns.get_loc("Balance")] = None
    src = tmp_path / "in.csv"
    df.to_csv(src, index=False)
    counts = score_file(tiny_bundle, src, tmp_path / "out.parquet", chunksize=333, block_size=4096)
    got, rej = pd.read_parquet(tmp_path / "out.parquet"), pd.read_parquet(rejected_path(tmp_path / "out.parquet"))
    ref = score_frame(tiny_bundle, read_table(src)[0])
    assert counts["rows_in"] == 1500 and counts["rows_rejected"] == 1 == len(ref.rejected)
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()
    # The network computes in float32: a batch of 333 rows and one of 1,499 may take other
    # BLAS kernels (blocking, FMA order), so the same row's probability may differ in its last
    # float32 bits (seen: 6e-8 on an AMD EPYC). float32 has 24 significant bits, so 1e-6
    # absolute on values in [0, 1] allows about 8 ulps and still catches any real difference.
    np.testing.assert_allclose(got["churn_probability"], ref.scored["churn_probability"], rtol=0, atol=1e-6)
    assert rej["source_row"].tolist() == [12] and rej["reason"].tolist() == ref.rejected["reason"].tolist()


def test_streamed_awkward_file_rejects_at_the_rows_a_spreadsheet_shows(tiny_bundle, sample_df, tmp_path):
    """A file streamed in small blocks with blank lines, a quoted newline, a cut-off row and
    a row with an extra field: the rejected rows carry the row a spreadsheet shows (a quoted
    line break stays in its row; a blank line is a row), the same as the whole read, and no
    row is lost."""
    import csv
    import io

    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import rejected_path, score_frame

    df = sample_df.drop(columns=["Exited"]).head(1200).copy()
    df["Surname"] = df["Surname"].astype(str)
    df.iloc[300, df.columns.get_loc("Surname")] = "two\nlines"
    lines = df.to_csv(index=False).splitlines(keepends=True)
    lines[100] = "\n" + lines[100]  # a blank line before data row 100
    lines[700] = ",".join(lines[700].rstrip("\n").split(",")[:4]) + "\n"  # cut off
    lines[900] = lines[900].rstrip("\n") + ",oops\n"  # one field too many
    lines[1100] = "\n\n" + lines[1100]
    src = tmp_path / "awkward.csv"
    src.write_text("".join(lines))
    ref = score_frame(tiny_bundle, read_table(src)[0])
    counts = score_file(tiny_bundle, src, tmp_path / "out.csv", chunksize=97, block_size=5000)
    got, rej = pd.read_csv(tmp_path / "out.csv"), pd.read_csv(rejected_path(tmp_path / "out.csv"))
    sheet = list(csv.reader(io.StringIO(src.read_text(), newline="")))  # row r is sheet[r - 1]
    assert counts["rows_in"] == 1200 == counts["rows_scored"] + counts["rows_rejected"]
    assert sorted(rej["source_row"]) == sorted(ref.rejected["source_row"]) and len(rej) == 2
    for row in rej["source_row"]:  # the rejected row is the cut-off one or the one with "oops"
        cells = sheet[row - 1]
        assert len(cells) < len(sheet[0]) or cells[-1] == "oops"
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()
    for row, cid in zip(got["source_row"], got["CustomerId"]):  # spot checks against the text
        if row % 97 == 0 or row > 1100:
            assert sheet[row - 1][1] == str(cid)


@pytest.mark.parametrize("cells", [["France", "Spain", None, "France"], ["1", "0", "1"], ["a", " a", None],
                                   ["1.0", "2"], ["NA", "x"], [None, None]])
def test_map_unique_unchanged_path_equals_take_path(cells):
    """A text column whose distinct values all map to themselves is returned as is; the
    object-dtype column (always the take path) gives the same cells."""
    from churn_core.data.cells import normalize_categories

    idx = pd.Index(range(2, 2 + len(cells)), name="source_row")
    fast = normalize_categories(pd.Series(cells, dtype="str", index=idx))
    slow = normalize_categories(pd.Series(cells, dtype=object, index=idx))
    pd.testing.assert_series_equal(fast, slow)
