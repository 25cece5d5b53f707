"""infer.infer_schema on the real bank/telco headers, the inference rules and every override."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import MissingColumnsError, SchemaError
from churn_core.data.infer import (infer_schema, looks_like_id, other_labels_warning, suggest_positive_label,
                                   target_values)
from churn_core.io.reader import read_table


@pytest.mark.realdata
def test_bank_schema(bank_csv):
    df, _ = read_table(bank_csv)
    s = infer_schema(df)
    assert (s.target, s.positive_label, s.negative_label) == ("Exited", "1", "0")
    assert s.id_columns == ["RowNumber", "CustomerId"]
    assert s.personal_columns == ["Surname"]
    assert s.numeric == ["CreditScore", "Age", "Tenure", "Balance", "EstimatedSalary"]
    assert s.categorical == ["Geography", "Gender", "NumOfProducts", "HasCrCard", "IsActiveMember"]
    assert s.excluded == []


@pytest.mark.realdata
def test_telco_schema(telco_csv):
    df, _ = read_table(telco_csv)
    s = infer_schema(df)
    assert (s.target, s.positive_label, s.negative_label) == ("Churn", "Yes", "No")
    assert s.id_columns == ["customerID"]
    assert s.numeric == ["tenure", "MonthlyCharges", "TotalCharges"]  # despite the " " cells
    assert "SeniorCitizen" in s.categorical
    expected_cats = [c for c in df.columns if c not in {"customerID", "Churn", "tenure", "MonthlyCharges", "TotalCharges"}]
    assert s.categorical == expected_cats


@pytest.fixture()
def table():
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame({
        "customer_id": [f"X{i}" for i in range(n)],
        "Email": [f"u{i}@example.com" for i in range(n)],
        "Spend": rng.normal(100, 10, n).round(2).astype(str),
        "Plan": rng.choice(["basic", "plus"], n),
        "Children": rng.integers(0, 4, n).astype(str),
        "Visits": rng.integers(0, 40, n).astype(str),
        "Churn Reason": rng.choice(["price", "service", ""], n),
        "is_churn": rng.choice(["Y", "N"], n),
    })


def test_rules_on_a_synthetic_table(table):
    s = infer_schema(table)
    assert (s.target, s.positive_label, s.negative_label) == ("is_churn", "Y", "N")
    assert s.id_columns == ["customer_id"] and s.personal_columns == ["Email"]
    assert s.numeric == ["Spend", "Visits"]
    assert s.categorical == ["Plan", "Children"]  # integers with <= 10 levels
    assert s.excluded == ["Churn Reason"] and "leak" in s.reasons["Churn Reason"]


@pytest.mark.parametrize("share_numeric, role", [(0.97, "numeric"), (0.90, "categorical")])
def test_numeric_share_threshold(share_numeric, role):
    n = 200
    k = int(round(share_numeric * n))
    col = [f"{(i % 20) * 1.5:.1f}" for i in range(k)] + ["unknown"] * (n - k)
    s = infer_schema(pd.DataFrame({"x": col, "Exited": ["0", "1"] * (n // 2)}))
    assert (s.numeric if role == "numeric" else s.categorical) == ["x"]


def test_free_text_excluded():
    n = 300
    df = pd.DataFrame({"comment": [f"note number {i}" for i in range(n)], "Exited": ["0", "1"] * (n // 2)})
    s = infer_schema(df, id_columns=[])
    assert s.excluded == ["comment"] and "free text" in s.reasons["comment"]


def test_overrides_replace_inference(table):
    s = infer_schema(table, target="Plan", positive_label="plus", id_columns=["Email"],
                     personal_columns=[], numeric=["Children"], categorical=["Visits"],
                     excluded=["Spend"])
    assert (s.target, s.positive_label, s.negative_label) == ("Plan", "plus", "basic")
    assert s.id_columns == ["Email"] and s.personal_columns == []
    assert s.numeric == ["Children"] and "Visits" in s.categorical and "Spend" in s.excluded
    assert s.reasons["Spend"] == "excluded by the user"
    # customer_id is no longer an ID (id_columns given), so it is typed like any column
    assert "customer_id" in s.features or "customer_id" in s.excluded


def test_numeric_and_categorical_given_are_the_feature_list(table):
    s = infer_schema(table, numeric=["Spend"], categorical=["Plan"])
    assert s.features == ["Spend", "Plan"]
    assert {"Visits", "Children"} <= set(s.excluded)


def test_overrides_matched_case_insensitively(table):
    s = infer_schema(table, target=" IS_CHURN ", numeric=["spend"])
    assert s.target == "is_churn" and "Spend" in s.numeric


def test_override_errors(table):
    with pytest.raises(MissingColumnsError) as exc:
        infer_schema(table, numeric=["Nope", "Spend", "Gone"])
    assert exc.value.missing == ["Nope", "Gone"]
    with pytest.raises(SchemaError, match="two roles"):
        infer_schema(table, numeric=["Spend"], excluded=["Spend"])
    with pytest.raises(SchemaError, match="target"):
        infer_schema(table, target="is_churn", numeric=["is_churn"])
    # a churn-named column given another role is not taken as the target by name
    s = infer_schema(table, numeric=["is_churn"])
    assert s.target != "is_churn" and "is_churn" in s.numeric
    with pytest.raises(SchemaError, match="not a value"):
        infer_schema(table, positive_label="Yes")


def test_no_target_for_scoring_files(table):
    s = infer_schema(table.drop(columns=["is_churn"]))
    assert s.target is None and s.positive_label is None
    assert "Churn Reason" in s.categorical  # no target: nothing to leak


@pytest.mark.parametrize("values, expected", [
    (["0", "1"], "1"), ([1, 0], "1"), ([1.0, 0.0], "1"), (["Yes", "No"], "Yes"), (["no", "yes"], "yes"),
    (["True", "False"], "True"), ([True, False], "True"), (["Y", "N"], "Y"),
    (["Existing Customer", "Attrited Customer"], "Attrited Customer"), (["stayed", "churned"], "churned"),
    (["Churned", "Not churned"], "Churned"), (["retained", "left"], "left"),
    (["A", "B"], None), (["1", "2"], None), ([], None), (["No"], None),
    # a value naming churn wins, also among three labels; one naming staying never does
    (["No", "Yes", "maybe"], "Yes"), (["No", "yes", "MAYBE"], "yes"), (["false", "TRUE", "unknown"], "TRUE"),
    (["Renewed", "Churned"], "Churned"), (["active", "Exited", "paused"], "Exited"),
    (["stayed", "maybe"], None), (["No", "maybe"], None), (["Yes", "maybe"], None),
    (["Yes", "Y", "No"], None),  # two churned spellings: the analyst chooses
])
def test_suggest_positive_label(values, expected):
    assert suggest_positive_label(values) == expected


def test_suggest_never_alphabetical():
    assert suggest_positive_label(["apple", "banana"]) is None


def test_target_values_text_most_frequent_first():
    s = pd.Series(["1", "0", "0", None, " ", "1.0", "0"])
    assert target_values(s) == ["0", "1"]
    assert target_values(pd.Series([True, False, False])) == ["False", "True"]


@pytest.mark.parametrize("name, values, expected", [
    ("RowNumber", None, True), ("CustomerId", None, True), ("customerID", None, True),
    ("CLIENTNUM", None, True), ("account_id", None, True), ("Paid", None, False), ("Valid", None, False),
    ("code", [f"K{i}" for i in range(50)], True),
    ("n", list(range(50)), True),
    ("amount", list(np.random.default_rng(0).permutation(50)), False),
    ("code", [f"K{i}" for i in range(10)], False),  # too few rows to judge by uniqueness
])
def test_looks_like_id(name, values, expected):
    series = None if values is None else pd.Series(values)
    if series is not None and name == "code":
        series = series.astype("str")
    assert looks_like_id(name, series) is expected


def test_big_table_inferred_from_sample():
    from churn_core.data import infer

    n = infer.INFER_SAMPLE_ROWS + 5_000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"v": rng.normal(size=n).astype(str), "Exited": rng.integers(0, 2, n).astype(str)})
    df.loc[n - 1, "Exited"] = "1"
    s = infer_schema(df)
    assert s.numeric == ["v"] and s.positive_label == "1"


def test_target_suggested_from_churn_like_values_not_from_generic_flags():
    n = 40
    base = pd.DataFrame({"id": [f"c{i}" for i in range(n)], "HasCard": ["1", "0"] * (n // 2),
                         "Promo": ["Yes", "No"] * (n // 2), "Spend": [str(i * 1.5) for i in range(n)]})
    assert infer_schema(base).target is None  # 1/0 and Yes/No flags are no churn outcome
    s = infer_schema(base.assign(status=["Churned", "Stayed", "Stayed", "Stayed"] * (n // 4)))
    assert (s.target, s.positive_label, s.negative_label) == ("status", "Churned", "Stayed")
    s = infer_schema(base.assign(account_state=["active", "cancelled"] * (n // 2)))
    assert (s.target, s.positive_label) == ("account_state", "cancelled")
    # three labels, or a column given another role, is not suggested
    three = base.assign(status=["Churned", "Stayed", "Paused", "Stayed"] * (n // 4))
    assert infer_schema(three).target is None
    two = base.assign(status=["Churned", "Stayed"] * (n // 2))
    assert infer_schema(two, categorical=["status"]).target is None


# --------------------------------------------------------------------------- label rules (breakit 1, 4)
def _maybe_frame(df: pd.DataFrame, column: str = "Churn") -> pd.DataFrame:
    """The break-it file: every 7th row's label set to 'maybe' (72 of 500 rows)."""
    df = df.head(500).copy()
    df.loc[df.index[::7], column] = "maybe"
    return df


@pytest.mark.realdata
def test_a_value_naming_churn_wins_over_the_most_frequent(telco_csv):
    """Yes/No/maybe: 'No' (the most frequent) was pre-filled as churned."""
    from churn_core.data.validate import validate
    from churn_core.io.reader import read_table

    df = _maybe_frame(read_table(telco_csv)[0])
    s = infer_schema(df)
    assert (s.target, s.positive_label, s.negative_label) == ("Churn", "Yes", "No")
    res = validate(df, s, require_target=True)
    assert (len(res.valid), len(res.rejected), int(res.y.sum())) == (428, 72, 112)
    assert res.rejected["reason"].iloc[0] == ("column 'Churn', row 2: target value 'maybe' is neither "
                                              "churned ('Yes') nor not churned ('No')")
    assert other_labels_warning(df, "Churn", "Yes") == (
        "column 'Churn' has 3 labels: churned = 'Yes' (112 rows); not churned = 'No' (316 rows); "
        "rejected as neither churned nor not churned = 'maybe' (72 rows)")


@pytest.mark.realdata
def test_labels_differing_only_in_case_are_one_label(orange_csv):
    """Orange: FALSE 2275, False 572, TRUE 386, True 95 was warned as '3 labels' while True
    was counted as churned too."""
    from churn_core.data.infer import label_groups
    from churn_core.data.validate import validate
    from churn_core.io.reader import read_table

    df = read_table(orange_csv)[0]
    assert label_groups(df, "Churn") == [("FALSE", ["FALSE", "False"], 2847),
                                         ("TRUE", ["TRUE", "True"], 481)]
    s = infer_schema(df)
    assert (s.positive_label, s.negative_label) == ("TRUE", "FALSE")
    assert other_labels_warning(df, "Churn", s.positive_label) is None
    res = validate(df, s, require_target=True)
    assert (len(res.valid), len(res.rejected), int(res.y.sum())) == (3328, 0, 481)


def test_mixed_case_labels_warning_names_every_spelling():
    df = pd.DataFrame({"Churn": ["FALSE"] * 5 + ["False"] * 3 + [" TRUE "] * 2 + ["True"] + ["maybe"] * 2})
    assert other_labels_warning(df, "churn", "true") == (
        "column 'churn' has 3 labels: churned = 'TRUE', 'True' (3 rows); not churned = 'FALSE', "
        "'False' (8 rows); rejected as neither churned nor not churned = 'maybe' (2 rows)")
    # 'no' counts as not churned too (it names staying): four labels, none hidden
    df.loc[len(df)] = ["No"]
    df.loc[len(df)] = ["no"]
    assert other_labels_warning(df, "Churn", "TRUE") == (
        "column 'Churn' has 4 labels: churned = 'TRUE', 'True' (3 rows); not churned = 'FALSE', "
        "'False', 'No', 'no' (10 rows); rejected as neither churned nor not churned = 'maybe' (2 rows)")
    assert other_labels_warning(df.iloc[:11], "Churn", "TRUE") is None  # TRUE/True/FALSE/False


def test_label_class_rules():
    from churn_core.data.infer import label_class, negative_label_for

    assert [label_class(v, "Yes") for v in ("yes", "No", "maybe", "Y", None)] == [1, 0, -2, -2, -1]
    assert [label_class(v, "1", "0") for v in ("True", "false", "2")] == [1, 0, -2]
    assert [label_class(v, "No") for v in ("Yes", "maybe")] == [0, -2]  # churned = 'No'
    assert negative_label_for(["No", "Yes", "maybe"], "Yes") == "No"
    assert negative_label_for(["No", "Yes", "N", "maybe"], "Yes") is None  # two: by the word rule
