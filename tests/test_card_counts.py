"""Thousands separators in the model card (Model page) and in ``train``'s output (break-it
report 2, section 1): "10,000 valid rows of 10,000; 6,500 / 1,500 / 2,000"."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config, workbench as wb

CARD = {"rows": {"input": 10000, "valid": 9990, "rejected": 10},
        "split_sizes": {"train": 6493, "validation": 1498, "test": 1999},
        "epochs_trained": 60, "best_epoch": 35}


def test_card_counts_have_thousands_separators():
    assert wb.card_counts(CARD) == {"input": "10,000", "valid": "9,990", "rejected": "10",
                                    "train": "6,493", "validation": "1,498", "test": "1,999"}
    assert wb.card_counts({"rows": {"valid": 800}}) == {
        "input": "?", "valid": "800", "rejected": "?", "train": "?", "validation": "?",
        "test": "?"}


def test_train_summary_line_has_thousands_separators(capsys):
    from churn_core.cli_util import _print_trained

    _print_trained(CARD)
    assert capsys.readouterr().out == (
        "rows: 9,990 valid, 10 rejected; split train/validation/test = 6,493/1,498/1,999; "
        "60 epochs (best 35)\n")


@pytest.mark.slow
def test_cli_train_prints_counts_with_separators(tmp_path, capsys):
    from churn_core.cli import main

    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(1500)
    frame.to_csv(tmp_path / "branch.csv", index=False)
    capsys.readouterr()
    assert main(["-q", "train", "--data", str(tmp_path / "branch.csv"), "--target", "Exited",
                 "--out", str(tmp_path / "m"), "--hidden", "8", "--max-epochs", "2",
                 "--patience", "1", "--recipe", "quick"]) == 0
    out = capsys.readouterr().out
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    split = card["split_sizes"]
    assert "branch.csv: 1,500 rows; target 'Exited'" in out
    assert (f"rows: 1,500 valid, 0 rejected; split train/validation/test = "
            f"{split['train']:,}/{split['validation']:,}/{split['test']:,};") in out
    assert sum(split.values()) == 1500


@pytest.mark.slow
def test_model_card_on_the_model_page_has_separators(app_models):  # noqa: F811
    at = open_page("pages/model.py")
    assert_no_exception(at)
    card = json.loads((app_models / "default" / "card.json").read_text())
    rows, split = card["rows"], card["split_sizes"]
    want = (f"({rows['valid']:,} valid rows of {rows['input']:,}); split train / validation / "
            f"test = {split['train']:,} / {split['validation']:,} / {split['test']:,}, seed")
    shown = [m.value.replace("\\", "") for m in at.markdown if "valid rows of" in m.value]
    assert shown and want in shown[0], shown
    if rows["input"] >= 1000:  # the shipped default: 10,000 rows
        assert f"{rows['input']:,}" in shown[0] and "," in f"{rows['input']:,}"
