"""infer.infer_schema on the real bank/telco headers, the inference rules and every override."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import MissingColumnsError, SchemaError
from churn_core.data.infer import infer_schema, looks_like_id, suggest_positive_label, target_values
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
    (["A", "B"], None), (["1", "2"], None), (["Yes", "No", "Maybe"], None), ([], None), (["No"], None),
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
