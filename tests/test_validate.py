"""validate.validate / parse_numeric / check_trainable: typing, row accounting, messages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import SchemaError, TrainingDataError
from churn_core.data.infer import infer_schema
from churn_core.io.reader import read_table
from churn_core.data.schema import FeatureSchema
from churn_core.data.cells import label_text, parse_numeric
from churn_core.data.validate import check_trainable, validate


def test_numeric_equals_pandas_on_clean_text():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1e4, 1000)
    text = pd.Series([repr(float(v)) for v in x], dtype="str")
    vals, blank, bad = parse_numeric(text)
    np.testing.assert_array_equal(vals, pd.to_numeric(pd.Series([repr(float(v)) for v in x])).to_numpy())
    assert not blank.any() and not bad.any()


@pytest.mark.parametrize("cells, decimal, expected_vals, expected_bad", [
    (["1", " 2.5 ", "", "  ", "NA", "n/a"], None, [1, 2.5, np.nan, np.nan, np.nan, np.nan], [0, 0, 0, 0, 0, 0]),
    (["1e3", "-4", "+5", "abc", "inf", "1_000"], None, [1000, -4, 5, np.nan, np.nan, np.nan], [0, 0, 0, 1, 1, 1]),
    (["1.234,56", "7,5", "1.000"], None, [1234.56, 7.5, 1000], [0, 0, 0]),
    (["125,510.82", "1,000,000", "3"], None, [125510.82, 1e6, 3], [0, 0, 0]),
    (["1,234"], ",", [1.234], [0]),
    (["1,234"], ".", [1234], [0]),
    (["€1.234,50", "1 234,5", "$12"], None, [1234.5, 1234.5, 12], [0, 0, 0]),
    (["1,2,3", "12..5"], None, [np.nan, np.nan], [1, 1]),
])
def test_parse_numeric_styles(cells, decimal, expected_vals, expected_bad):
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"), decimal)
    np.testing.assert_allclose(vals, np.array(expected_vals, dtype=float))
    assert bad.tolist() == [bool(b) for b in expected_bad]
    assert (blank | bad | ~np.isnan(vals)).all()


def test_parse_numeric_typed_columns():
    vals, blank, bad = parse_numeric(pd.Series([1, None, 3], dtype="Int64"))
    np.testing.assert_allclose(vals, [1, np.nan, 3])
    assert blank.tolist() == [False, True, False] and not bad.any()


@pytest.mark.parametrize("value, text", [
    (1, "1"), (1.0, "1"), ("1.0", "1"), (" Yes ", "Yes"), (True, "True"), (np.nan, None), ("", None),
    ("NA", None), (0.5, "0.5"), ("+1.00", "1"),
])
def test_label_text(value, text):
    assert label_text(value) == text


@pytest.fixture()
def messy():
    df = pd.DataFrame({
        "CustomerId": ["a", "b", "c", "d", "e", "f"],
        "Age": ["40", "x", "", "51", "33", "29"],
        "Plan": [" gold", "silver ", None, "gold", "1.0", "gold"],
        "Exited": ["1", "0", "1", "", "0", "2"],
        "Note": ["n1", "n2", "n3", "n4", "n5", "n6"],
    })
    df.index = pd.Index(range(10, 16), name="source_row")
    return df


SCHEMA = FeatureSchema(target="Exited", positive_label="1", negative_label="0", numeric=["Age"],
                       categorical=["Plan"], id_columns=["CustomerId"])


def test_accounting_and_types(messy):
    res = validate(messy, SCHEMA, require_target=True, source_name="m.csv")
    assert len(res.valid) + len(res.rejected) == len(messy)
    assert res.valid["source_row"].tolist() == [10, 12, 14]
    assert res.rejected["source_row"].tolist() == [11, 13, 15]
    assert res.valid["Age"].dtype == np.float64
    assert res.valid["Plan"].tolist()[0] == "gold" and res.valid["Plan"].tolist()[2] == "1"
    assert res.valid["Note"].tolist() == ["n1", "n3", "n5"]  # extra column passed through
    assert res.y.tolist() == [1, 1, 0] and len(res.y) == len(res.valid)
    assert list(res.rejected.columns) == list(messy.columns) + ["source_row", "reason"]
    assert res.rejected["Age"].tolist() == ["x", "51", "29"]  # original cells
    assert res.report.rows_in == 6 and res.report.rows_valid == 3 and res.report.rows_rejected == 3
    assert res.report.blanks == {"Age": 1, "Plan": 1}


def test_row_with_two_problems_lists_both(messy):
    df = messy.copy()
    df.loc[11, "Exited"] = ""
    res = validate(df, SCHEMA, require_target=True)
    reason = res.rejected.set_index("source_row").loc[11, "reason"]
    assert "'x' is not a number" in reason and "blank" in reason


def test_scoring_mode_needs_no_target(messy):
    res = validate(messy.drop(columns=["Exited"]), SCHEMA, require_target=False)
    assert res.y is None and len(res.valid) == 5  # only the bad Age row is rejected
    res = validate(messy, SCHEMA, require_target=False)
    assert len(res.valid) == 5 and "Exited" in res.valid  # target kept as text, not checked


def test_training_needs_positive_label(messy):
    schema = FeatureSchema(target="Exited", numeric=["Age"])
    with pytest.raises(SchemaError, match="positive"):
        validate(messy, schema, require_target=True)


def test_without_negative_label_only_the_opposite_counts_as_not_churned(messy):
    """'2' was counted as not churned: a value that is neither churned nor not churned is
    rejected with that reason, in training and evaluation alike."""
    schema = FeatureSchema(target="Exited", positive_label="1", numeric=["Age"], categorical=["Plan"])
    res = validate(messy, schema, require_target=True)
    assert res.y.tolist() == [1, 1, 0]  # "0" names staying; blank and "2" rejected
    rej = res.rejected.set_index("source_row")["reason"]
    assert rej[15] == "column 'Exited', row 15: target value '2' is neither churned ('1') nor not churned ('0')"
    assert res.report.rejected_reasons["Exited: unknown label"] == 1
    assert len(res.valid) + len(res.rejected) == len(messy)


def test_a_churned_value_naming_staying_flips_the_rule():
    """Churned = 'No' (e.g. a column 'Renewed'): 'Yes' is then not churned, 'maybe' neither."""
    df = pd.DataFrame({"Age": ["1", "2", "3", "4"], "Renewed": ["No", "Yes", "maybe", "YES"]})
    res = validate(df, FeatureSchema(target="Renewed", positive_label="No", numeric=["Age"]), True)
    assert res.y.tolist() == [1, 0, 0] and res.rejected["source_row"].tolist() == [4]
    assert "target value 'maybe' is neither churned ('No') nor not churned ('Yes')" in res.rejected["reason"][0]


def test_missing_passthrough_columns_are_optional(messy):
    res = validate(messy.drop(columns=["CustomerId"]), SCHEMA, require_target=True)
    assert "CustomerId" not in res.valid and len(res.valid) == 3


def test_plain_frame_without_row_index():
    df = pd.DataFrame({"Age": ["1", "oops"], "Exited": ["1", "0"]})
    res = validate(df, FeatureSchema(target="Exited", positive_label="1", numeric=["Age"]), True)
    assert res.rejected["source_row"].tolist() == [3]
    assert res.rejected["reason"].iloc[0] == "column 'Age', row 3: 'oops' is not a number"


def test_typed_parquet_columns(tmp_path):
    df = pd.DataFrame({"Age": [30, 40.5, None], "Active": [True, False, True], "Churned": [True, False, False]})
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    read, _ = read_table(path)
    schema = infer_schema(read)
    assert schema.target == "Churned" and schema.positive_label == "True"
    res = validate(read, schema, require_target=True)
    assert res.y.tolist() == [1, 0, 0]
    np.testing.assert_allclose(res.valid["Age"], [30, 40.5, np.nan])
    assert res.report.rejected_reasons == {}
    assert res.rejected.empty and res.rejected["source_row"].dtype.kind == "i"


@pytest.mark.realdata
def test_real_files_trainable(bank_csv, telco_csv):
    for path, rate in ((bank_csv, 0.2037), (telco_csv, 1869 / 7043)):
        df, _ = read_table(path)
        schema = infer_schema(df)
        res = validate(df, schema, require_target=True)
        assert len(res.rejected) == 0
        assert res.y.mean() == pytest.approx(rate)
        check_trainable(res.valid, res.y, schema)


def test_check_trainable_lists_every_problem():
    valid = pd.DataFrame({"a": [1.0] * 10, "b": [np.nan] * 10})
    schema = FeatureSchema(target="t", positive_label="1", numeric=["a", "b"])
    with pytest.raises(TrainingDataError) as exc:
        check_trainable(valid, np.zeros(10), schema)
    msg = str(exc.value)
    for words in ("only 10 valid rows", "one class only", "'a' has the same value", "'b' is blank"):
        assert words in msg


def test_spaces_count_as_thousands_separators_only_between_digit_groups():
    """'1 234' and '1 234,56 €' are numbers; '4 2' and a line break inside a cell ('4\\n2',
    read from a quoted multi-line cell) were read as 42 and are now rejected."""
    from churn_core.data.cells import parse_numeric

    cells = ["1 234", "4 2", "4\n2", "42\t", " 42 ", "12 345 6", "1\u00a0234", "1 23"]
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"), ".")
    np.testing.assert_array_equal(bad, [False, True, True, False, False, True, False, True])
    np.testing.assert_array_equal(vals[~bad], [1234.0, 42.0, 42.0, 1234.0])
    vals, _, bad = parse_numeric(pd.Series(["1 234,56 €", "12,5 %", "4 2"], dtype="str"), ",")
    np.testing.assert_allclose(vals[:2], [1234.56, 0.125])
    assert bad.tolist() == [False, False, True]
