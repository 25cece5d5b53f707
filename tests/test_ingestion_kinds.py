"""Issue 6: one parametrised test per kind of input fault, each with a small file in tests/data.

Kinds 1-7 (encodings, delimiters/number formats, blanks, categories, columns, targets,
training data that cannot work). Expected values are written out by hand from the files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core import config
from churn_core.errors import DataFileError, MissingColumnsError, TrainingDataError
from churn_core.data.infer import infer_schema
from churn_core.io.reader import read_table
from churn_core.data.schema import FeatureSchema
from churn_core.data.validate import check_trainable, validate

DATA = Path(__file__).parent / "data"
SURNAMES = ["Lefèvre", "Müller", "García"]


def _read(name):
    return read_table(DATA / name)


# ----------------------------------------------------------------------------- 1 encodings
@pytest.mark.parametrize("name, encoding", [
    ("enc_utf8.csv", "utf-8"),
    ("enc_utf8_bom.csv", "utf-8-sig"),
    ("enc_cp1252.csv", "cp1252"),
    ("enc_utf16.csv", "utf-16"),
])
def test_kind1_encodings_decoded_and_reported(name, encoding):
    df, rep = _read(name)
    assert rep.encoding == encoding
    assert list(df.columns) == ["CustomerId", "Surname", "Age", "Balance", "Geography", "Exited"]
    assert df["Surname"].tolist() == SURNAMES


@pytest.mark.parametrize("name, line, column, words", [
    ("enc_undecodable.csv", 3, "Surname", "Windows-1252"),
    ("enc_mixed.csv", 4, "Surname", "mixed encodings"),
])
def test_kind1_undecodable_bytes_message(name, line, column, words):
    with pytest.raises(DataFileError) as exc:
        _read(name)
    msg = str(exc.value)
    assert name in msg and f"row {line}" in msg and repr(column) in msg and words in msg
    assert "CSV UTF-8" in msg  # how to fix it


# ----------------------------------------------------------------------------- 2 delimiters, numbers
@pytest.mark.parametrize("name, delimiter", [
    ("delim_comma.csv", ","), ("delim_semicolon.csv", ";"), ("delim_tab.tsv", "\t"), ("delim_pipe.txt", "|"),
])
def test_kind2_delimiters_detected(name, delimiter):
    df, rep = _read(name)
    ref, _ = _read("enc_utf8.csv")
    assert rep.delimiter == delimiter
    pd.testing.assert_frame_equal(df.reset_index(drop=True), ref.reset_index(drop=True))


@pytest.mark.parametrize("name, column, expected", [
    ("num_decimal_comma.csv", "Balance", [1234.56, 0.5, 12.0]),
    ("num_decimal_comma.csv", "Salary", [52000.0, 1000.0, 750.25]),
    ("num_thousands_quoted.csv", "Balance", [125510.82, 83807.86, 0.0]),
    ("num_thousands_quoted.csv", "Salary", [1_000_000.0, 52000.5, 7.0]),
])
def test_kind2_number_formats(name, column, expected):
    df, rep = _read(name)
    schema = infer_schema(df, decimal=rep.decimal)
    assert column in schema.numeric
    res = validate(df, schema, require_target=True, decimal=rep.decimal)
    np.testing.assert_allclose(res.valid[column].to_numpy(), expected)
    assert len(res.rejected) == 0


def test_kind2_decimal_comma_reported():
    _, rep = _read("num_decimal_comma.csv")
    assert (rep.delimiter, rep.decimal, rep.thousands) == (";", ",", ".")


def test_kind2_one_column_with_semicolons_is_an_error():
    with pytest.raises(DataFileError) as exc:
        _read("one_column_semicolons.csv")
    assert "';'" in str(exc.value) and "single column" in str(exc.value)


def test_kind2_unparseable_numeric_cell_names_column_line_value():
    df, _ = _read("num_bad_cell.csv")
    schema = FeatureSchema(target="Exited", positive_label="1", negative_label="0",
                           numeric=["Age", "Balance"], id_columns=["CustomerId"])
    res = validate(df, schema, require_target=True)
    assert res.rejected["source_row"].tolist() == [3, 4]
    assert res.rejected["reason"].tolist() == [
        "column 'Balance', row 3: 'abc' is not a number",
        "column 'Balance', row 4: '12x' is not a number",
    ]
    assert res.rejected["Balance"].tolist() == ["abc", "12x"]  # original cells kept
    assert res.report.rejected_reasons == {"Balance: not a number": 2}
    assert res.report.blanks["Balance"] == 1  # line 5 blank: kept, imputed later
    assert len(res.valid) + len(res.rejected) == len(df)


# ----------------------------------------------------------------------------- 3 blank cells
def test_kind3_blank_numeric_cells_missing_and_counted():
    df, _ = _read("blanks.csv")
    schema = infer_schema(df)
    assert schema.target == "Churn" and "TotalCharges" in schema.numeric
    res = validate(df, schema, require_target=True)
    assert len(res.valid) == 5 and len(res.rejected) == 0  # no customer dropped
    total = res.valid["TotalCharges"].to_numpy()
    np.testing.assert_array_equal(np.isnan(total), [False, True, False, True, False])
    assert res.report.blanks["TotalCharges"] == 2
    np.testing.assert_allclose(total[[0, 2, 4]], [29.85, 1889.5, 108.15])


# ----------------------------------------------------------------------------- 4 categories
def test_kind4_category_spaces_stripped_case_kept_for_preprocessor():
    df, _ = _read("cat_spaces.csv")
    schema = FeatureSchema(categorical=["Geography", "Gender"], id_columns=["CustomerId"])
    res = validate(df, schema, require_target=False)
    assert res.valid["Geography"].tolist() == ["france", "France", "GERMANY"]
    assert res.valid["Gender"].iloc[:2].tolist() == ["Female", "Male"]
    assert pd.isna(res.valid["Gender"].iloc[2]) and res.report.blanks["Gender"] == 1


# ----------------------------------------------------------------------------- 5 columns
COLS_SCHEMA = FeatureSchema(target="Exited", positive_label="1", negative_label="0",
                            numeric=["Age", "Balance"], categorical=["Geography", "Gender"],
                            id_columns=["CustomerId"])


@pytest.mark.parametrize("name", ["cols_reordered.csv", "cols_header_case.csv", "cols_extra.csv"])
def test_kind5_columns_matched_by_name(name):
    ref = validate(_read("cols_reference.csv")[0], COLS_SCHEMA, require_target=True)
    res = validate(_read(name)[0], COLS_SCHEMA, require_target=True)
    cols = COLS_SCHEMA.passthrough + COLS_SCHEMA.features + ["source_row"]
    pd.testing.assert_frame_equal(res.valid[cols], ref.valid[cols])
    np.testing.assert_array_equal(res.y, ref.y)


def test_kind5_extra_columns_passed_through():
    res = validate(_read("cols_extra.csv")[0], COLS_SCHEMA, require_target=True)
    assert res.report.extra_columns == ["Notes", "Branch"]
    assert res.valid["Branch"].tolist() == ["North", "South", "North"]


def test_kind5_header_case_reported():
    res = validate(_read("cols_header_case.csv")[0], COLS_SCHEMA, require_target=True)
    assert res.report.renamed_columns["AGE"] == "Age"


def test_kind5_missing_columns_listed_together():
    df, _ = _read("cols_missing.csv")
    with pytest.raises(MissingColumnsError) as exc:
        validate(df, COLS_SCHEMA, require_target=True)
    assert exc.value.missing == ["Age", "Balance", "Gender"]
    assert "Age, Balance, Gender" in str(exc.value) and "cols_missing.csv" in str(exc.value)


def test_kind5_duplicate_and_blank_headers_renamed():
    df, rep = _read("cols_dup_blank_headers.csv")
    assert list(df.columns) == ["CustomerId", "Age", "column_3", "Age.1", "Exited"]
    assert len(rep.warnings) == 2


# ----------------------------------------------------------------------------- 6 targets
@pytest.mark.parametrize("name, target, positive, y", [
    ("target_01.csv", "Exited", "1", [1, 0, 1, 0]),
    ("target_yes_no.csv", "Churn", "Yes", [1, 0, 1, 0]),
    ("target_true_false.csv", "churned", "True", [1, 0, 1, 0]),
    ("target_text_labels.csv", "Attrition_Flag", "Attrited Customer", [0, 1, 0, 1]),
])
def test_kind6_targets_mapped_with_positive_label(name, target, positive, y):
    df, _ = _read(name)
    schema = infer_schema(df)
    assert schema.target == target
    assert schema.positive_label.casefold() == positive.casefold()  # "True"/"TRUE" are one label
    res = validate(df, schema, require_target=True)
    assert res.y.tolist() == y


def test_kind6_string_false_is_not_truthy():
    df, _ = _read("target_true_false.csv")
    assert bool("False")  # the trap this guards against
    res = validate(df, infer_schema(df), require_target=True)
    assert res.y[df["churned"].str.casefold().to_numpy() == "false"].tolist() == [0, 0]


def test_kind6_user_chosen_positive_label_inverts():
    df, _ = _read("target_text_labels.csv")
    schema = infer_schema(df, positive_label="existing customer")
    assert schema.positive_label == "Existing Customer"
    assert validate(df, schema, require_target=True).y.tolist() == [1, 0, 1, 0]


def test_kind6_blank_and_unknown_targets_rejected_not_churners():
    df, _ = _read("target_blank_unknown.csv")
    schema = infer_schema(df)  # 3 labels: 'Yes' names churn, 'No' staying, 'Maybe' neither
    assert (schema.positive_label, schema.negative_label) == ("Yes", "No")
    assert infer_schema(df, positive_label="Yes").negative_label == "No"
    res = validate(df, schema, require_target=True)
    assert res.y.tolist() == [1, 0]
    assert res.rejected["source_row"].tolist() == [3, 5, 6]
    reasons = res.rejected["reason"].tolist()
    assert "row 3" in reasons[0] and "blank" in reasons[0]
    assert "'Maybe'" in reasons[1] and "row 5" in reasons[1]
    assert "blank" in reasons[2]
    assert res.report.rejected_reasons == {"Churn: blank target": 2, "Churn: unknown label": 1}


# ----------------------------------------------------------------------------- 7 cannot train
def _trainable_frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "CustomerId": [f"C{i:05d}" for i in range(n)],
        "Age": rng.integers(18, 80, n).astype(str),
        "Plan": rng.choice(["a", "b", "c"], n),
        "Exited": (rng.random(n) < 0.3).astype(int).astype(str),
    })


def _check(df, **overrides):
    schema = infer_schema(df, target="Exited", positive_label="1", **overrides)
    res = validate(df, schema, require_target=True)
    check_trainable(res.valid, res.y, schema)


@pytest.mark.parametrize("mutate, overrides, words", [
    (lambda d: d.assign(Exited="0"), {}, "one class only"),
    (lambda d: d.head(config.MIN_TRAIN_ROWS - 1), {}, f"at least {config.MIN_TRAIN_ROWS}"),
    (lambda d: d.assign(Exited=["1"] * 5 + ["0"] * (len(d) - 5)), {}, f"only 5 churners"),
    (lambda d: d.assign(Plan=np.nan), {"categorical": ["Plan"]}, "'Plan' is blank in every row"),
    (lambda d: d.assign(Plan="gold"), {"categorical": ["Plan"]}, "'Plan' has the same value"),
    (lambda d: d, {"id_columns": [], "categorical": ["CustomerId"]}, "'CustomerId' looks like a customer ID"),
])
def test_kind7_training_data_that_cannot_work(mutate, overrides, words):
    _check(_trainable_frame())  # the unmodified frame trains
    with pytest.raises(TrainingDataError) as exc:
        _check(mutate(_trainable_frame()), **overrides)
    assert words in str(exc.value)


def test_kind7_inference_excludes_blank_and_constant_columns_with_reason():
    df = _trainable_frame().assign(Empty=np.nan, Same="x")
    schema = infer_schema(df)
    assert "Empty" in schema.excluded and "Same" in schema.excluded
    assert schema.reasons["Empty"] == "every cell is blank"
    assert schema.reasons["Same"] == "constant: every value is 'x'"


def test_kind7_duplicate_ids_warned():
    df = _trainable_frame()
    df.loc[[1, 2], "CustomerId"] = "C00000"
    schema = infer_schema(df, id_columns=["CustomerId"])
    res = validate(df, schema, require_target=True)
    assert res.report.duplicate_ids == {"CustomerId": 3}
    assert any("duplicate" in w for w in res.report.warnings)


@pytest.mark.parametrize("data, decimal, expected", [
    (b"id;Balance\n1;1,234\n2;2,500\n", ",", [1.234, 2.5]),      # ";" file: decimal comma
    (b'id,Balance\n1,"1,234"\n2,"2,500.5"\n', ".", [1234.0, 2500.5]),  # ',' file: thousands
])
def test_kind2_ambiguous_numbers_follow_the_file_style(data, decimal, expected):
    df, rep = read_table(data, name="x.csv")
    assert rep.decimal == decimal
    res = validate(df, FeatureSchema(numeric=["Balance"]), require_target=False)  # decimal from df.attrs
    np.testing.assert_allclose(res.valid["Balance"], expected)
