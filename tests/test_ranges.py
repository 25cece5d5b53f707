"""No false alarm on the training file (issue 14, item 7): scoring a model's own training file
raises no "values outside the training range" note; where the note is right it names the
customers (IDs, lines) and the range."""
from __future__ import annotations

import numpy as np
import pytest

from churn_core import config
from churn_core.campaign.scoring import score_frame
from churn_core.data.validate import validate
from churn_core.model.ranges import describe


def test_the_training_file_raises_no_range_warning(trained_bundle, sample_df):
    res = score_frame(trained_bundle, sample_df)
    assert res.report["outside_training_range"] == {}
    assert res.report["outside_training_range_detail"] == {}
    # the range recorded is the whole training file's (every valid row), not only the
    # training split's
    valid = validate(sample_df, trained_bundle.schema, require_target=False).valid
    for col, (lo, hi) in trained_bundle.card["data_ranges"].items():
        x = valid[col].to_numpy(float)
        assert (lo, hi) == (np.nanmin(x), np.nanmax(x))


def test_a_value_outside_the_range_names_the_customer_and_the_range(trained_bundle, sample_df):
    df = sample_df.copy()
    lo, hi = trained_bundle.card["data_ranges"]["Age"]
    df.iloc[4, df.columns.get_loc("Age")] = str(int(hi) + 50)
    df.iloc[9, df.columns.get_loc("Age")] = str(int(lo) - 10)
    res = score_frame(trained_bundle, df)
    d = res.report["outside_training_range_detail"]
    assert set(d) == {"Age"} and res.report["outside_training_range"] == {"Age": 2}
    assert (d["Age"]["low"], d["Age"]["high"]) == (lo, hi)
    assert d["Age"]["lines"] == [int(df.index[4]), int(df.index[9])]
    ids = [str(df.iloc[i][d["Age"]["id_column"]]) for i in (4, 9)]
    assert d["Age"]["ids"] == ids
    [text] = describe(d)
    assert text == (f"Age: 2 customers outside the training range {lo:g} to {hi:g} "
                    f"({d['Age']['id_column']} {ids[0]}, {ids[1]})")


def test_the_default_model_on_its_own_sample_raises_no_range_warning():
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME)
    df, _ = read_table(config.SAMPLE_CSV)
    assert score_frame(bundle, df).report["outside_training_range"] == {}
    # the training split's extremes (the preprocessing's outer bin edges) flagged a
    # validation/test customer of this very file: the false alarm of the issue
    valid = validate(df, bundle.schema, require_target=False).valid
    assert bundle.preprocessor.outside_training_range(valid) == {"EstimatedSalary": 1}


@pytest.mark.slow
@pytest.mark.realdata
def test_a_bank_model_scoring_the_bank_file_raises_no_range_warning(bank_csv, tmp_path, capsys):
    """The case of the issue: 'EstimatedSalary 1', 'Balance 1' on the bank file."""
    from churn_core.cli import main

    assert main(["-q", "train", "--data", str(bank_csv), "--out", str(tmp_path / "bank"),
                 "--hidden", "8", "--max-epochs", "2", "--patience", "1",
                 "--batch-size", "1024"]) == 0
    capsys.readouterr()
    assert main(["-q", "score", "--model", str(tmp_path / "bank"), "--data", str(bank_csv),
                 "--out", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    assert "10,000 rows in = 10,000 scored + 0 rejected" in out
    assert "outside the range" not in out
