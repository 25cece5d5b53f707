"""Preprocessor: equal to scikit-learn's imputer/scaler/one-hot, train-only fit, JSON round trip."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from churn_core.errors import MissingColumnsError
from churn_core.model.preprocess import Preprocessor
from churn_core.data.schema import FeatureSchema

SCHEMA = FeatureSchema(target="y", positive_label="1", numeric=["a", "b"], categorical=["c", "d"])


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(5, 2, n)
    a[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "a": a,
        "b": rng.integers(0, 100, n).astype(float),
        "c": rng.choice(["France", "Germany", "Spain"], n, p=[0.5, 0.3, 0.2]),
        "d": rng.choice(["x", "y"], n),
        "y": rng.integers(0, 2, n),
    })


def test_numeric_equals_sklearn_imputer_then_scaler():
    df = _frame()
    pre = Preprocessor.fit(df, SCHEMA)
    X = pre.transform(df)
    ref = StandardScaler().fit_transform(SimpleImputer(strategy="median").fit_transform(df[["a", "b"]]))
    np.testing.assert_allclose(X[:, :2], ref, rtol=1e-5, atol=1e-5)
    assert np.isfinite(X).all()


def test_one_hot_equals_sklearn_with_unknown_ignored():
    train = _frame()
    pre = Preprocessor.fit(train, SCHEMA)
    new = _frame(50, seed=1)
    new.loc[:4, "c"] = ["Italy", None, "  france ", "GERMANY", "spain"]
    X = pre.transform(new)
    cats = [pre.categories["c"], pre.categories["d"]]
    enc = OneHotEncoder(categories=cats, handle_unknown="ignore", sparse_output=False)
    norm = new[["c", "d"]].fillna("??").apply(lambda s: s.str.strip().str.capitalize())
    norm["d"] = new["d"]
    ref = enc.fit(pd.DataFrame({"c": cats[0][:1], "d": cats[1][:1]})).transform(norm)
    np.testing.assert_array_equal(X[:, 2:], ref)
    # unseen and missing -> all zero in the block; unseen is reported, missing is not
    c0, c1 = [b[1:] for b in pre.blocks if b[0] == "c"][0]
    assert X[0, c0:c1].sum() == 0 and X[1, c0:c1].sum() == 0
    assert pre.unseen_categories(new) == {"c": {"Italy": 1}}


def test_categories_most_frequent_first_and_blocks_cover_columns():
    df = _frame()
    pre = Preprocessor.fit(df, SCHEMA)
    counts = df["c"].value_counts()
    assert pre.categories["c"] == list(counts.index)
    stops = [0] + [stop for _, _, stop in pre.blocks]
    assert [start for _, start, _ in pre.blocks] == stops[:-1]
    assert stops[-1] == pre.n_features_out == len(pre.feature_names_out)
    assert [b[0] for b in pre.blocks] == SCHEMA.features


def test_fitted_on_training_rows_only():
    df = _frame(400)
    train_pos = np.arange(300)
    pre1 = Preprocessor.fit(df.iloc[train_pos], SCHEMA).to_dict()
    changed = df.copy()
    changed.loc[300:, "a"] = 1e6
    changed.loc[300:, "c"] = "Atlantis"
    pre2 = Preprocessor.fit(changed.iloc[train_pos], SCHEMA).to_dict()
    assert pre1 == pre2


def test_json_round_trip_and_missing_indicator():
    df = _frame()
    pre = Preprocessor.fit(df, SCHEMA, missing_indicator=True)
    assert pre.missing_indicator == ["a"]
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(df), pre.transform(df))
    X = pre.transform(df)
    np.testing.assert_array_equal(X[:, 1], df["a"].isna().to_numpy().astype(np.float32))


def test_text_cells_and_integral_categories():
    df = pd.DataFrame({"a": ["1.5", " ", "3"], "b": ["1", "2", "3"], "c": [1.0, 2.0, 1.0], "d": ["x", "y", "x"]})
    pre = Preprocessor.fit(df, SCHEMA)
    assert pre.categories["c"] == ["1", "2"]
    X = pre.transform(pd.DataFrame({"a": [np.nan], "b": [2.0], "c": ["2"], "d": ["X"]}))
    assert np.isfinite(X).all() and X[0, pre.feature_names_out.index("c=2")] == 1


def test_missing_columns_named():
    pre = Preprocessor.fit(_frame(), SCHEMA)
    with pytest.raises(MissingColumnsError) as err:
        pre.transform(_frame().drop(columns=["b", "d"]))
    assert err.value.missing == ["b", "d"]


def test_absurd_numbers_never_make_inf_or_nan(sample_frame, sample_schema):
    """A value beyond float32's range (fuzz found 1e39 in Balance) is clipped, not inf/NaN."""
    import warnings

    from churn_core.model.preprocess import Z_CLIP, Preprocessor

    train = sample_frame.head(500)
    pre = Preprocessor.fit(train, sample_schema)
    rows = train.head(3).copy()
    rows["Balance"] = [1.0010525086698931e39, -1e300, 50_000.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = pre.transform(rows)
    assert np.isfinite(out).all()
    start = next(s for c, s, _ in pre.blocks if c == "Balance")
    low, high = pre.bounds["Balance"]  # clipped to the fitted fences first, then standardised
    z = [(v - pre.means["Balance"]) / pre.scales["Balance"] for v in (high, low)]
    assert out[0, start] == pytest.approx(min(z[0], Z_CLIP)) and out[1, start] == pytest.approx(max(z[1], -Z_CLIP))
    assert abs(out[2, start]) < 10
    # without fences (a bundle saved before them) the Z_CLIP guard still keeps it finite
    old = Preprocessor.from_dict({k: v for k, v in pre.to_dict().items() if k != "bounds"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        raw = old.transform(rows)
    assert raw[0, start] == Z_CLIP and raw[1, start] == -Z_CLIP


def test_values_outside_the_training_range_are_counted():
    train, new = _frame(300, seed=0), _frame(50, seed=1)
    new.loc[0, "a"], new.loc[1, "a"], new.loc[2, "b"] = 1e39, -50.0, 1000.0
    pre = Preprocessor.fit(train, SCHEMA, numeric_encoding="ple")
    got = pre.outside_training_range(new)
    for col in ("a", "b"):  # independent count against the training min / max (blanks ignored)
        lo, hi = np.nanmin(train[col]), np.nanmax(train[col])
        x = new[col].to_numpy()
        expect = int(np.sum(x < lo) + np.sum(x > hi))
        assert got.get(col, 0) == expect
    assert got["a"] >= 2 and got["b"] >= 1
    # without edges (standard encoding) the gross-outlier fences are the range checked
    std = Preprocessor.fit(train, SCHEMA)
    expect = {c: int(np.sum((new[c] < std.bounds[c][0]) | (new[c] > std.bounds[c][1]))) for c in ("a", "b")}
    assert std.outside_training_range(new) == {c: n for c, n in expect.items() if n} == {"a": 1}


def test_a_gross_outlier_does_not_squash_a_feature():
    """One absurd training value (break-it: Age 1e39) is left out of the statistics and clipped."""
    train = _frame(400, seed=2)
    bad = train.copy()
    bad.loc[5, "a"], bad.loc[9, "b"] = 1e39, -1e12
    pre_bad = Preprocessor.fit(bad, SCHEMA, numeric_encoding="ple")
    assert pre_bad.fit_outliers == {"a": 1, "b": 1}
    for col, row in (("a", 5), ("b", 9)):  # same statistics as without the outlier's row
        pre_ref = Preprocessor.fit(train.drop(index=[row]), SCHEMA, numeric_encoding="ple")
        assert pre_bad.medians[col] == pytest.approx(pre_ref.medians[col])
        assert pre_bad.means[col] == pytest.approx(pre_ref.means[col])
        assert pre_bad.scales[col] == pytest.approx(pre_ref.scales[col])
        assert pre_bad.edges[col] == pytest.approx(pre_ref.edges[col])
    # transform clips to the fitted fence: 1e39 encodes like the fence value itself
    low, high = pre_bad.bounds["a"]
    q_lo, q_hi = np.nanquantile(bad["a"].to_numpy(), [0.25, 0.75])
    assert high == pytest.approx(q_hi + 100 * (q_hi - q_lo))
    rows = bad.loc[[5, 5]].copy()
    rows.iloc[1, rows.columns.get_loc("a")] = high
    X = pre_bad.transform(rows)
    np.testing.assert_array_equal(X[0], X[1])
    # ordinary data: nothing excluded, the fences survive a JSON round trip, old dicts still load
    assert Preprocessor.fit(train, SCHEMA).fit_outliers == {}
    back = Preprocessor.from_dict(json.loads(json.dumps(pre_bad.to_dict())))
    np.testing.assert_array_equal(back.transform(bad), pre_bad.transform(bad))
    old = {k: v for k, v in pre_bad.to_dict().items() if k != "bounds"}
    assert Preprocessor.from_dict(old).bounds == {}


def test_a_column_that_is_almost_always_one_value_keeps_its_rare_values():
    """Break-it: 99.5 % zeros and a few real amounts must not be clipped as outliers."""
    rng = np.random.default_rng(4)
    train = _frame(1000, seed=4)
    train["a"] = 0.0
    train.loc[rng.choice(1000, 5, replace=False), "a"] = [1e3, 5e4, 2e5, 4.9e5, 7e3]
    pre = Preprocessor.fit(train, SCHEMA, numeric_encoding="ple")
    assert "a" not in pre.bounds and pre.fit_outliers == {}
    X = pre.transform(train)
    z = (train["a"].to_numpy() - train["a"].mean()) / train["a"].std(ddof=0)
    np.testing.assert_allclose(X[:, 0], z, rtol=1e-5)  # nothing clipped
    new = train.head(3).copy()
    new["a"], new["b"] = [0.0, 1e9, -5.0], [1e9, 50.0, 50.0]
    assert "a" not in pre.edges  # two distinct quantiles: no PLE bins, and no fences either
    assert pre.outside_training_range(new) == {"b": 1}  # b: beyond the training maximum


def test_range_check_uses_the_fences_for_columns_without_edges():
    pre = Preprocessor.fit(_frame(300), SCHEMA)  # standard encoding: no edges
    low, high = pre.bounds["b"]
    new = _frame(4, seed=9)
    new["b"] = [high + 1, low - 1, 50.0, np.nan]
    assert pre.outside_training_range(new) == {"b": 2}


def _column_by_column(pre, df):
    """Reference encoding, one raw column at a time (the definition in the module docstring)."""
    from churn_core.model.encoding import Z_CLIP, as_float as _as_float, category_codes

    out = np.zeros((len(df), pre.n_features_out), dtype=np.float32)
    for col, start, stop in pre.blocks[: len(pre.numeric)]:
        x = _as_float(df[col])
        blank = ~np.isfinite(x)
        x = np.clip(np.where(blank, pre.medians[col], x), *pre.bounds.get(col, (-np.inf, np.inf)))
        out[:, start] = np.clip((x - pre.means[col]) / pre.scales[col], -Z_CLIP, Z_CLIP)
        k = start + 1
        if col in pre.missing_indicator:
            out[:, k], k = blank, k + 1
        if col in pre.edges:
            e = np.asarray(pre.edges[col])
            out[:, k:stop] = np.clip((x[:, None] - e[:-1]) / (e[1:] - e[:-1]), 0.0, 1.0)
    for col, start, _ in pre.blocks[len(pre.numeric):]:
        codes = category_codes(df[col], pre._index[col]).codes
        rows = np.flatnonzero(codes >= 0)
        out[rows, start + codes[rows]] = 1.0
    return out


@pytest.mark.parametrize("encoding", ["standard", "ple"])
def test_transform_equals_column_by_column_encoding_bit_for_bit(monkeypatch, encoding):
    """The vectorised, row-blocked transform gives exactly the per-column float32 result."""
    import churn_core.model.encoding as encoding_module

    train = _frame(400, seed=2)
    train.loc[5, "a"] = 1e39  # a gross outlier: fences are fitted
    pre = Preprocessor.fit(train, SCHEMA, numeric_encoding=encoding, missing_indicator=True)
    assert pre.bounds and pre.missing_indicator == ["a"] and (encoding == "standard" or pre.edges)
    new = _frame(23, seed=3)
    new["a"] = [np.nan, -0.0, 0.0, 1e39, -1e300, np.inf, -1e-320, *new["a"][7:]]
    new["b"] = [-0.0, 0.0, 99.0, 1e12, np.nan, *new["b"][5:]]
    new.loc[15:20, "c"] = ["Italy", None, "  france ", "", "   ", "GERMANY"]
    new.loc[17:19, "d"] = ["z", None, " Y"]
    monkeypatch.setattr(encoding_module, "ROW_BLOCK", 4)  # several row blocks, a partial last one
    for df in (new, new.astype({"c": "string[pyarrow]", "d": "string[pyarrow]"}), new.iloc[:1], new.iloc[:0]):
        got, ref = pre.transform(df), _column_by_column(pre, df)
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))  # signed zeros too
        codes = pre.category_codes(df)
        np.testing.assert_array_equal(pre.transform(df, codes).view(np.uint32), ref.view(np.uint32))
        for step in (3, 5, 100):  # batch by batch: the same rows, bit for bit, in order
            seen = 0
            for rows, block in pre.transform_batches(df, step, codes if step == 5 else None):
                assert rows == slice(seen, seen + len(block)) and 0 < len(block) <= step
                np.testing.assert_array_equal(block.view(np.uint32), ref[rows].view(np.uint32))
                seen += len(block)
            assert seen == len(df)
