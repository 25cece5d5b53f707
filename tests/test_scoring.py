"""Scoring: rows in = scored + rejected, original columns kept, blanks imputed, chunked files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import DataFileError, MissingColumnsError
from churn_core.io.reader import read_table
from churn_core.campaign.scoring import rejected_path, score_file, score_frame
from churn_core.data.validate import validate


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
    assert res.rejected["source_row"].tolist() == [5]  # row 3 -> line 5 (header is line 1)
    assert "Age" in res.rejected["reason"].iloc[0]
    assert sorted(res.scored["source_row"].tolist() + res.rejected["source_row"].tolist()) == \
        list(range(2, len(df) + 2))


def test_scored_rows_keep_columns_and_match_bundle(tiny_bundle, messy_csv):
    df, _ = read_table(messy_csv)
    res = score_frame(tiny_bundle, df, threshold=0.4)
    s = res.scored
    assert list(s.columns) == ["source_row", *df.columns, "churn_probability", "predicted_churn"]
    assert np.isfinite(s["churn_probability"]).all()
    assert ((s["churn_probability"] >= 0) & (s["churn_probability"] <= 1)).all()
    np.testing.assert_array_equal(s["predicted_churn"], (s["churn_probability"] >= 0.4).astype(int))
    valid = validate(df, tiny_bundle.schema, require_target=False).valid
    np.testing.assert_allclose(s["churn_probability"], tiny_bundle.predict_proba(valid), atol=1e-12)
    # original cells come back untouched, IDs included
    line7 = s.set_index("source_row").loc[9]  # df row 7 (blank Balance)
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
    # chunks of 64 rows vs one frame: float32 network outputs may differ in their last bits
    # across batch shapes (other BLAS kernels); 1e-6 is a few float32 ulps on [0, 1]
    np.testing.assert_allclose(got["churn_probability"], ref.scored["churn_probability"], rtol=0, atol=1e-6)
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()
    assert not list(tmp_path.glob(".*partial"))


def test_score_file_gzip_input_equals_plain(tiny_bundle, messy_csv, tmp_path):
    import gzip

    src = tmp_path / "messy.csv.gz"
    src.write_bytes(gzip.compress(messy_csv.read_bytes()))
    plain = score_file(tiny_bundle, messy_csv, tmp_path / "plain.csv", chunksize=64)
    gz = score_file(tiny_bundle, src, tmp_path / "gz.csv", chunksize=64)
    assert {k: gz[k] for k in ("rows_in", "rows_scored", "rows_rejected")} == \
        {k: plain[k] for k in ("rows_in", "rows_scored", "rows_rejected")} and gz["rows_in"] == 200
    assert (tmp_path / "gz.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert (tmp_path / "gz_rejected.csv").read_bytes() == (tmp_path / "plain_rejected.csv").read_bytes()


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
    assert got.loc[got["source_row"] == 2, "Surname"].item() == '\'=HYPERLINK("http://x")'
    assert got.loc[got["source_row"] == 3, "Surname"].item() == "'@cmd"
    assert got["Surname"].iloc[2:].tolist() == df["Surname"].iloc[2:].tolist()
    assert pd.api.types.is_float_dtype(got["churn_probability"])


def test_parallel_workers_write_the_same_file_in_input_order(tiny_bundle, messy_csv, tmp_path):
    """Chunks scored by two worker threads come out byte for byte as with one worker."""
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    c1 = score_file(tiny_bundle, messy_csv, one, chunksize=16, workers=1)
    c2 = score_file(tiny_bundle, messy_csv, two, chunksize=16, workers=2)
    assert one.read_bytes() == two.read_bytes()
    assert rejected_path(one).read_bytes() == rejected_path(two).read_bytes()
    d1, d2 = c1.pop("drift").to_dict(), c2.pop("drift").to_dict()
    d1.pop("created"), d2.pop("created")  # the time each report was made
    assert d1 == d2
    assert c1 == {**c2, "out": c1["out"], "rejected_out": c1["rejected_out"]}
    lines = pd.read_csv(two)["source_row"].tolist()
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
    assert got.loc[got["source_row"] == 3, "Balance"].item() == "-2500.5"


def test_score_file_never_overwrites_its_input_with_the_rejected_file(tiny_bundle, messy_csv, tmp_path):
    """Re-scoring a fixed ``scored_rejected.csv`` with ``--out scored.csv`` must not replace it
    (found by a break-it pass: the input became the new rejected rows)."""
    src = tmp_path / "scored_rejected.csv"
    src.write_bytes(messy_csv.read_bytes())
    before = src.read_bytes()
    with pytest.raises(DataFileError, match="rejected-rows file scored_rejected.csv would overwrite"):
        score_file(tiny_bundle, src, tmp_path / "scored.csv")
    assert src.read_bytes() == before and not (tmp_path / "scored.csv").exists()


def test_rejected_rows_start_with_source_row_and_end_with_reason(tiny_bundle, messy_csv, tmp_path):
    """Rejected files have one layout whether empty or not (break-it: source_row moved)."""
    res = score_frame(tiny_bundle, read_table(messy_csv)[0])
    assert len(res.rejected) >= 1
    cols = list(res.rejected.columns)
    assert cols[0] == "source_row" and cols[-1] == "reason"
    assert cols[1:-1] == [c for c in read_table(messy_csv)[0].columns]
    score_file(tiny_bundle, messy_csv, tmp_path / "s.csv")
    header = rejected_path(tmp_path / "s.csv").read_text().splitlines()[0]
    assert header.startswith("source_row,") and header.endswith(",reason")


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
    from churn_core.campaign.id_counts import count_shared_ids, id_keys

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


# ---------------------------------------------------------------- id_keys / count_shared_ids fast paths
_CANONICAL_INT = r"0|-?[1-9][0-9]{0,17}"


def _py_id_keys(values):
    """Independent reference for :func:`id_keys`: a Python ``re.fullmatch`` loop."""
    import re

    cells = [v for v in values if v is not None]
    ints = np.array([int(v) for v in cells if re.fullmatch(_CANONICAL_INT, v)], dtype=np.int64)
    rest = [v for v in cells if not re.fullmatch(_CANONICAL_INT, v)]
    hashes = pd.util.hash_array(np.array(rest, dtype=object)) if rest else np.zeros(0, np.uint64)
    return ints, np.asarray(hashes, np.uint64)


_AWKWARD_IDS = ["0", "-0", "00", "007", "+5", " 5", "5 ", "5.0", "1e3", "-", "", "0x10", "x",
                "A-1", "5-", "--5", "-05", "١٢", "９", "1_0", "é", "😀", "123456789012345678",
                "-123456789012345678", "1234567890123456789", "-1234567890123456789",
                "999999999999999999", "1000000000000000000", "9223372036854775807",
                "9223372036854775808", "-9223372036854775808", "12\n", "\n12"]


def _random_ids(rng, n, awkward_share):
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.03:
            out.append(None)
        elif r < 0.03 + awkward_share:
            out.append(str(rng.choice(_AWKWARD_IDS)))
        elif r < 0.5:
            out.append(str(int(rng.integers(15_565_701, 15_565_701 + 2 * n + 1))))
        else:
            out.append(str(int(rng.integers(-10 ** 18 + 1, 10 ** 18))))
    return out


@pytest.mark.parametrize("awkward_share", [0.0, 0.01, 0.3])
def test_id_keys_match_regex_reference(awkward_share):
    """All-integer columns (the cast fast path) and mixed ones: the same ints and hashes, in
    the same order, as a Python regex loop; plain, sliced, multi-chunk and object Series."""
    import pyarrow as pa

    from churn_core.campaign.id_counts import id_keys

    rng = np.random.default_rng(int(awkward_share * 100))
    for trial in range(30):
        values = _random_ids(rng, int(rng.integers(0, 80)), awkward_share)
        if trial % 3 == 0:
            values = [v for v in values if v is not None]
        k = int(rng.integers(0, len(values) + 1))
        series = [
            pd.Series(values, dtype="str"),
            pd.Series(values, dtype=object),
            pd.Series(["1", *values, "x"], dtype="str").iloc[1:-1],  # nonzero Arrow offset
            pd.concat([pd.Series(values[:k], dtype="str"), pd.Series(values[k:], dtype="str")]),
            pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
                [pa.array(values[:k], pa.large_string()), pa.array(values[k:], pa.large_string())],
                pa.large_string()))),
            pd.Series(pd.arrays.ArrowStringArray(pa.array(values, pa.string()))),
        ]
        want_ints, want_hashes = _py_id_keys(values)
        for s in series:
            ints, hashes = id_keys(s)
            assert ints.dtype == np.int64 and hashes.dtype == np.uint64
            np.testing.assert_array_equal(ints, want_ints)
            np.testing.assert_array_equal(hashes, want_hashes)
    for v in _AWKWARD_IDS:  # each awkward value alone and among canonical integers
        for values in ([v], ["12", v, "-3"], [v, v], ["7", "12", v], [v, "12", "7"]):
            for s in (pd.Series(values, dtype="str"), pd.Series(values, dtype="str").iloc[1:]):
                ints, hashes = id_keys(s)  # .iloc[1:]: an Arrow array with offset 1
                want_ints, want_hashes = _py_id_keys(list(s))
                np.testing.assert_array_equal(ints, want_ints)
                np.testing.assert_array_equal(hashes, want_hashes)
    ints, hashes = id_keys(pd.Series([15565701, 7, -2]))  # int64 column: cast to text first
    np.testing.assert_array_equal(ints, [15565701, 7, -2])
    assert len(hashes) == 0


@pytest.mark.parametrize("kind", ["increasing", "dense", "sparse", "text", "mixed", "tiny"])
def test_count_shared_ids_matches_pandas_duplicated(kind):
    """Strictly increasing, dense (bincount) and sparse (sort) integer keys, text hashes and
    mixes, over several chunks: the same count as ``Series.duplicated(keep=False).sum()``;
    the chunks' key arrays are left untouched."""
    from churn_core.campaign.id_counts import count_shared_ids, id_keys

    rng = np.random.default_rng(len(kind))
    for trial in range(12):
        n = int(rng.integers(0, 3000)) if kind != "tiny" else int(rng.integers(0, 4))
        if kind == "increasing":
            ids = np.arange(n) * int(rng.integers(1, 3)) - 5
            if trial % 2 and n > 1:
                ids[int(rng.integers(1, n))] = ids[0]  # one repeat late in the run
            values = [str(v) for v in ids]
        elif kind == "dense":
            values = [str(v) for v in 15_565_701 + rng.integers(0, max(1, 2 * n - 1), n)]
            if trial % 3 == 0:
                values = [str(v) for v in rng.integers(-n, n, n)]
        elif kind == "sparse":
            values = [str(v) for v in rng.integers(-10 ** 17, 10 ** 17, n)]
            values[: n // 3] = values[n // 2: n // 2 + n // 3]  # some repeats
        elif kind == "text":
            values = [f"C{v}" for v in rng.integers(0, max(1, n), n)]
            if trial % 4 == 0:
                values = ["same"] * n  # equal hashes: a dense uint64 span of 0
        else:
            values = [str(rng.choice(_AWKWARD_IDS)) if rng.random() < 0.3 else str(v)
                      for v in rng.integers(0, max(1, n), n)]
        cuts = np.sort(rng.integers(0, len(values) + 1, size=int(rng.integers(0, 6))))
        chunks = np.split(np.array(values, dtype=object), cuts)
        keys = [id_keys(pd.Series(list(c), dtype="str")) for c in chunks]
        before = [(a.copy(), b.copy()) for a, b in keys]
        expect = int(pd.Series(values, dtype=object).duplicated(keep=False).sum())
        assert count_shared_ids(keys) == expect
        for (a, b), (a0, b0) in zip(keys, before):
            np.testing.assert_array_equal(a, a0)
            np.testing.assert_array_equal(b, b0)
    assert count_shared_ids([]) == 0
    extreme = [(np.array([-(10 ** 18) + 1, 10 ** 18 - 1, 10 ** 18 - 1], np.int64), np.zeros(0, np.uint64))]
    assert count_shared_ids(extreme) == 2  # span near 2**61: the sort path, no overflow


def test_prefer_system_arrow_pool_respects_the_users_choice(monkeypatch):
    import pyarrow as pa

    from churn_core.campaign.scoring import prefer_system_arrow_pool

    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.mimalloc_memory_pool())
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
        assert prefer_system_arrow_pool() == "mimalloc"  # the user's pool is kept
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
        assert prefer_system_arrow_pool() == "system"
        assert pa.default_memory_pool().backend_name == "system"
    finally:
        pa.set_memory_pool(before)


def test_score_file_rejects_a_row_of_empty_fields(tiny_bundle, sample_frame, tmp_path):
    """A ``,,,,`` row (an empty spreadsheet row) is rejected with its line, never scored as
    an imputed customer, whether or not a blank line elsewhere changes how the file is read."""
    frame = sample_frame.drop(columns=["Exited"]).head(300)
    lines = frame.to_csv(index=False).splitlines()
    lines.insert(51, "," * (frame.shape[1] - 1))  # after data row 50: file line 52
    for blank in (False, True):
        text = lines[:200] + ([""] if blank else []) + lines[200:]
        src = tmp_path / f"empty_{blank}.csv"
        src.write_text("\n".join(text) + "\n")
        counts = score_file(tiny_bundle, src, tmp_path / f"out_{blank}.csv", chunksize=64)
        assert counts["rows_in"] == 301 and counts["rows_scored"] == 300 and counts["rows_rejected"] == 1
        rej = pd.read_csv(rejected_path(tmp_path / f"out_{blank}.csv"))
        assert rej["source_row"].tolist() == [52] and "the row is empty" in rej["reason"][0]
