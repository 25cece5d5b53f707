"""The column-role form cannot trap the analyst (issue 14, item 5), on the Data page.

Traps: a target whose name is no churn name (``status`` = Churned/Stayed, ``account_state`` =
cancelled/active) is suggested from its values; choosing a column as target takes it out of
the role lists in the same rerun; no combination of choices gives an error on Apply."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config, workbench as wb

ROLE_LABELS = {"id_columns": "Customer ID columns", "personal_columns": "Personal data",
               "excluded": "Excluded columns", "numeric": "Numeric features",
               "categorical": "Categorical features"}


def _frame(column: str, churned: str, stayed: str, n: int = 300) -> pd.DataFrame:
    df = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(n)
    df[column] = np.where(df.pop("Exited") == "1", churned, stayed)
    return df


def _upload(frame: pd.DataFrame, name: str):
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        (name, frame.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    return at


def _select(at, prefix: str):
    return [s for s in at.selectbox if s.label.startswith(prefix)][0]


def _multi(at, role: str):
    return [m for m in at.multiselect if m.label.startswith(ROLE_LABELS[role])][0]


def _apply(at):
    [b for b in at.button if "Apply" in b.label][0].click().run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]


@pytest.mark.slow
@pytest.mark.parametrize("column, churned, stayed", [("status", "Churned", "Stayed"),
                                                     ("account_state", "cancelled", "active")])
def test_a_target_without_a_churn_name_is_suggested_from_its_values(app_models, column,  # noqa: F811
                                                                   churned, stayed):
    at = _upload(_frame(column, churned, stayed), f"{column}.csv")
    assert _select(at, "Target column").value == column
    assert _select(at, "Value that means").value == churned
    assert column not in _multi(at, "categorical").options
    _apply(at)
    data = at.session_state["active_data"]
    assert (data.schema.target, data.schema.positive_label) == (column, churned)
    assert data.has_labels and data.validation.report.rows_rejected == 0
    assert column not in data.schema.features


@pytest.mark.slow
def test_choosing_a_target_takes_it_out_of_the_inputs_in_the_same_rerun(app_models):  # noqa: F811
    at = _upload(_frame("status", "Churned", "Stayed"), "status.csv")
    assert "Geography" in _multi(at, "categorical").value
    _select(at, "Target column").set_value("Geography").run()  # no Apply yet
    assert_no_exception(at)
    for role in ROLE_LABELS:
        assert "Geography" not in _multi(at, role).options
        assert "Geography" not in _multi(at, role).value
    # the churned value is chosen among the new target's values at once
    assert sorted(_select(at, "Value that means").options) == ["France", "Germany", "Spain"]
    assert "status" in _multi(at, "categorical").options
    _apply(at)
    data = at.session_state["active_data"]
    assert data.schema.target == "Geography" and "Geography" not in data.schema.features


@pytest.mark.slow
def test_contradicting_choices_apply_without_an_error(app_models):  # noqa: F811
    at = _upload(_frame("status", "Churned", "Stayed"), "status.csv")
    _multi(at, "numeric").select("Tenure")  # already categorical? make it both
    _multi(at, "categorical").select("Tenure").select("CreditScore")  # numeric AND categorical
    _multi(at, "id_columns").select("Age")          # numeric feature AND ID
    _multi(at, "personal_columns").select("Surname")
    _multi(at, "excluded").select("Surname")        # personal AND excluded
    _multi(at, "numeric").select("Gender")          # text forced numeric
    _apply(at)
    schema = at.session_state["active_data"].schema
    assert "Age" in schema.id_columns and "Age" not in schema.features
    assert "CreditScore" in schema.numeric and "CreditScore" not in schema.categorical
    assert "Surname" in schema.personal_columns and "Surname" not in schema.excluded
    notes = " ".join(i.value.replace("\\", "") for i in at.info)
    assert "CreditScore was picked as numeric feature and as categorical feature" in notes
    assert "Age was picked as customer ID and as numeric feature" in notes


def test_no_random_combination_of_roles_raises(sample_csv):
    """Pure check of the form's logic over 150 random forms (seeded)."""
    data = wb.load_data(sample_csv, name="s.csv")
    columns = list(data.frame.columns)
    rng = np.random.default_rng(0)
    for _ in range(150):
        target = rng.choice([None, *columns])
        target = None if target is None else str(target)
        picks = {role: [c for c in columns if rng.random() < 0.25] for role in ROLE_LABELS}
        labels = wb.target_labels(data, target)
        positive = str(rng.choice(labels)) if labels and rng.random() < 0.8 else None
        new, notes = wb.apply_roles(data, target, positive, picks)
        assert new.schema.target == target
        assert target is None or target not in new.schema.features + new.schema.passthrough
        assert len(new.validation.valid) + len(new.validation.rejected) == len(data.frame)


# --------------------------------------------------------------------------- the churned value (breakit 1, 4)
def _checkbox_labels(at) -> list[str]:
    return [c.label.replace("\\", "") for c in at.checkbox]


@pytest.mark.slow
@pytest.mark.realdata
def test_yes_no_maybe_preselects_yes_and_says_what_each_value_counts_as(app_models, telco_csv):  # noqa: F811
    """'No' (the most frequent value) was pre-filled as churned on Yes/No/maybe."""
    df = pd.read_csv(telco_csv, dtype=str, keep_default_na=False).head(500)
    df.loc[df.index[::7], "Churn"] = "maybe"  # 72 rows, as /work/breakit-tmp/bad/target_maybe.csv
    at = _upload(df, "target_maybe.csv")
    assert _select(at, "Target column").value == "Churn"
    assert _select(at, "Value that means").value == "Yes"
    warned = [w.value.replace("\\", "") for w in at.warning]
    assert any("Column 'Churn' has 3 labels: churned = 'Yes' (112 rows); not churned = 'No' "
               "(316 rows); rejected as neither churned nor not churned = 'maybe' (72 rows)" in w
               for w in warned), warned
    assert not any("could not be recognised" in w for w in warned)
    _apply(at)
    data = at.session_state["active_data"]
    assert (data.schema.positive_label, data.schema.negative_label) == ("Yes", "No")
    y = data.labels
    assert (int((y == 1).sum()), int((y == 0).sum()), int(np.isnan(y).sum())) == (112, 316, 72)
    assert any("Churn = Yes** means the customer churned" in c for c in _checkbox_labels(at))


@pytest.mark.slow
def test_no_value_naming_churn_preselects_nothing_and_training_waits(app_models):  # noqa: F811
    """Labels naming neither churn nor staying are never guessed (first or most frequent)."""
    at = _upload(_frame("Churn", "Gold", "Silver"), "gold_silver.csv")
    assert _select(at, "Target column").value == "Churn"
    assert _select(at, "Value that means").value is None
    assert sorted(_select(at, "Value that means").options) == ["Gold", "Silver"]
    warned = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "could not be recognised from the values" in warned
    assert not any("means the customer churned" in c for c in _checkbox_labels(at))
    _apply(at)  # Apply without choosing: still no churned value
    assert at.session_state["active_data"].schema.positive_label is None
    assert _select(at, "Value that means").value is None
    at.switch_page("pages/model.py").run()
    assert_no_exception(at)
    assert any("choose the value of Churn that means churned" in w.value.replace("\\", "")
               for w in at.warning)
    assert not [b for b in at.button if "Train" in b.label]
    # once chosen, the confirmation names the chosen value
    at.switch_page("pages/data.py").run()
    _select(at, "Value that means").set_value("Silver").run()
    _apply(at)
    assert at.session_state["active_data"].schema.positive_label == "Silver"
    assert any("Churn = Silver** means the customer churned" in c for c in _checkbox_labels(at))


@pytest.mark.slow
@pytest.mark.realdata
def test_orange_true_false_in_two_cases_is_no_three_label_warning(app_models, orange_csv):  # noqa: F811
    df = pd.read_csv(orange_csv, dtype=str, keep_default_na=False)
    at = _upload(df, "Orange_Telecom_Churn.csv")
    assert _select(at, "Value that means").value == "TRUE"
    assert not [w.value for w in at.warning if "labels" in w.value]
    y = at.session_state["active_data"].labels
    assert (int((y == 1).sum()), int((y == 0).sum())) == (481, 2847)
