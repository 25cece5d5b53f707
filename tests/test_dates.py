"""Date columns are left out of the model with a note (break-it 2, item 2.2): never a
categorical feature (one category per day, then a call reason), never an ID column."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_core import config
from churn_core.cli_util import _print_other_labels
from churn_core.data.dates import date_notes, date_reason, looks_like_dates
from churn_core.data.infer import infer_schema
from churn_core.io.reader import read_table

NOTE = ("LastContact looks like dates (21/02/2024): left out of the model; a date is not a "
        "reason an agent can act on. Derive a number such as days since last contact to use it")


def _bank_with(column: str, cells: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(len(cells))
    frame.insert(3, column, cells)
    return frame


def _random_dates(n: int, distinct: int, fmt: str, seed: int = 0) -> list[str]:
    days = pd.date_range("2024-01-01", periods=distinct, freq="D")
    pick = np.random.default_rng(seed).integers(0, distinct, n)
    return [days[i].strftime(fmt) for i in pick]


@pytest.mark.parametrize("cells", [
    ["21/02/2024", "08/02/2024", "13/02/2024", "31/01/2024"],           # day first
    ["02/21/2024", "02/08/2024", "12/31/2023", "01/05/2024"],           # month first
    ["2024-02-21", "2024-02-08", "2023-12-31", "2024-01-05"],           # ISO
    ["2024-02-21 10:22:00", "2024-02-08T08:00:00Z", "2023-12-31 23:59", "2024-01-05 00:00:00"],
    ["21.02.2024", "08.02.2024", "13.02.24", "31.01.2024"],             # German, 2-digit year
    ["21 Feb 2024", "8 Feb 2024", "13-Feb-24", "31 Jan 2024"],
    ["Feb 21, 2024", "Feb 8, 2024", "Dec 31, 2023", "Jan 5, 2024"],
    ["21/02/2024", "", "13/02/2024", " "],                              # blanks do not count
])
def test_dates_written_in_common_formats_are_dates(cells):
    assert looks_like_dates(pd.Series(cells * 10))


@pytest.mark.parametrize("cells", [
    ["20240221", "20240208", "20231231", "20240105"],    # plain integers (yyyymmdd)
    ["1.5", "2.25", "1.234,5", "42"],                    # numbers, decimal comma
    ["7590-VHVEG", "5575-GNVDE", "3668-QPYBK", "9237-HQITU"],  # telco customer IDs
    ["555-123-4567", "10.0.0.1", "1.2.3", "2.0.1"],      # phone, IP, versions
    ["31/31/2024", "45/13/2024", "00/00/0000", "99/99/9999"],  # date shape, no date
    ["2024-02", "2024-03", "10:22", "February"],         # month periods, times, month names
    ["21/02/2024"] * 8 + ["unknown"] * 2,                # 80 % dates: under the 90 % bar
    ["France", "Spain", "Germany", "France"],
])
def test_numbers_ids_and_text_are_not_dates(cells):
    assert not looks_like_dates(pd.Series(cells * 10))


def test_numeric_and_datetime_dtypes():
    assert not looks_like_dates(pd.Series([20240221, 20240208]))
    assert looks_like_dates(pd.Series(pd.to_datetime(["2024-02-21", "2024-02-08"])))
    assert not looks_like_dates(pd.Series(["", " ", None]))


def test_sixty_repeated_dates_are_left_out_not_a_categorical_feature():
    frame = _bank_with("LastContact", ["21/02/2024"] + _random_dates(599, 60, "%d/%m/%Y"))
    assert frame["LastContact"].nunique() == 60
    schema = infer_schema(frame)
    assert "LastContact" not in schema.categorical + schema.numeric + schema.id_columns
    assert schema.excluded == ["LastContact"]
    assert schema.reasons["LastContact"] == NOTE.removeprefix("LastContact ")
    assert date_notes(schema) == [NOTE]
    # the bank's own columns keep their roles
    assert schema.id_columns == ["RowNumber", "CustomerId"]
    assert schema.categorical == ["Geography", "Gender", "NumOfProducts", "HasCrCard",
                                  "IsActiveMember"]


def test_unique_dates_are_not_a_customer_id():
    days = pd.date_range("2015-01-01", periods=500, freq="7D").strftime("%Y-%m-%d").tolist()
    frame = _bank_with("SignupDate", days)
    schema = infer_schema(frame)
    assert schema.id_columns == ["RowNumber", "CustomerId"]
    assert schema.excluded == ["SignupDate"]
    assert date_notes(schema) == [
        "SignupDate looks like dates (2015-01-01): left out of the model; a date is not a "
        "reason an agent can act on. Derive a number such as days since signup date to use it"]


def test_the_analyst_can_still_make_a_date_a_feature_and_the_note_survives_exclusion():
    frame = _bank_with("LastContact", ["21/02/2024"] + _random_dates(299, 60, "%d/%m/%Y"))
    forced = infer_schema(frame, categorical=["LastContact"])
    assert "LastContact" in forced.categorical and date_notes(forced) == []
    # the Data page's Apply gives every role: an excluded date keeps its note
    s = infer_schema(frame)
    again = infer_schema(frame, target="Exited", id_columns=s.id_columns,
                         personal_columns=s.personal_columns, excluded=s.excluded,
                         numeric=s.numeric, categorical=s.categorical)
    assert date_notes(again) == [NOTE]


def test_date_reason_wording():
    assert date_reason("signup_date") == (
        "looks like dates: left out of the model; a date is not a reason an agent can act on. "
        "Derive a number such as days since signup date to use it")


def test_train_prints_the_note(capsys):
    frame = _bank_with("LastContact", ["21/02/2024"] + _random_dates(299, 60, "%d/%m/%Y"))
    _print_other_labels(frame, infer_schema(frame))  # what ``train`` prints after inference
    assert capsys.readouterr().out == f"note: {NOTE}\n"


@pytest.mark.realdata
def test_real_files_have_no_date_columns_and_the_breakit_file_has_one(bank_csv, telco_csv,
                                                                      orange_csv):
    for path in (bank_csv, telco_csv, orange_csv):
        df, _ = read_table(path)
        assert date_notes(infer_schema(df)) == []
    # the break-it file: the real bank rows plus LastContact (60 random dd/mm/yyyy dates)
    df, _ = read_table(bank_csv)
    days = _random_dates(len(df) - 1, 60, "%d/%m/%Y", seed=1)
    df.insert(3, "LastContact", ["21/02/2024"] + days)
    schema = infer_schema(df)
    assert schema.excluded == ["LastContact"] and date_notes(schema) == [NOTE]
    assert schema.categorical == ["Geography", "Gender", "NumOfProducts", "HasCrCard",
                                  "IsActiveMember"]
