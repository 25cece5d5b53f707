"""Regression tests for faults found by trying to break load -> validate -> train/score.

Each test names the analyst's situation it protects. Kept fast: the shipped default bundle is
loaded once per session and only small frames are scored.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from churn_core import config  # noqa: E402
from churn_core.errors import BundleError  # noqa: E402


@pytest.fixture(scope="module")
def default_bundle():
    from churn_core.bundle import load_bundle

    return load_bundle(config.DEFAULT_MODEL_NAME)


# --------------------------------------------------------------------------- bundle folders
def test_save_bundle_never_replaces_a_folder_that_is_not_a_bundle(default_bundle, tmp_path):
    """``train --out ../../etc`` once replaced /etc with a bundle: a non-bundle folder stays."""
    from churn_core.bundle import save_bundle

    victim = tmp_path / "etc"
    victim.mkdir()
    (victim / "passwd").write_text("root:x:0:0")
    (victim / "card.json").write_text("{}")
    (victim / "schema.json").write_text("{}")
    with pytest.raises(BundleError, match="not a model bundle"):
        save_bundle(default_bundle, "etc", tmp_path)
    assert (victim / "passwd").read_text() == "root:x:0:0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc"]  # no temp folder left


def test_save_bundle_replaces_an_existing_bundle_and_fills_an_empty_folder(default_bundle, tmp_path):
    from churn_core.bundle import load_bundle, save_bundle

    (tmp_path / "empty").mkdir()
    save_bundle(default_bundle, "empty", tmp_path)
    save_bundle(default_bundle, "empty", tmp_path)  # second save replaces the first
    again = load_bundle("empty", tmp_path)
    assert again.schema.features == default_bundle.schema.features
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize("out", ["../../etc", "models/../../x", "a/../b"])
def test_cli_refuses_parent_folder_in_model_paths(out, tmp_path, capsys):
    from churn_core.cli import main

    csv = tmp_path / "d.csv"
    csv.write_text("a,Exited\n1,0\n")
    assert main(["-q", "train", "--data", str(csv), "--out", out]) == 2
    assert "'..' is not allowed" in capsys.readouterr().err
    assert main(["-q", "evaluate", "--model", out]) == 2


# --------------------------------------------------------------------------- columns
def test_score_frame_matches_headers_by_name_ignoring_case_space_and_order(default_bundle):
    """A CRM export with ``tenure``/`` AGE `` headers in another order scores like the original."""
    from churn_core.io import read_table
    from churn_core.scoring import score_frame

    ref, _ = read_table(config.SAMPLE_CSV)
    ref = ref.iloc[:300]
    odd = ref[list(reversed(ref.columns))].copy()
    odd.columns = [f" {c.upper()} " if i % 2 else c.lower() for i, c in enumerate(odd.columns)]
    a = score_frame(default_bundle, ref, source_name="ref.csv")
    b = score_frame(default_bundle, odd, source_name="odd.csv")
    assert len(b.scored) == len(ref) and len(b.rejected) == 0
    np.testing.assert_array_equal(a.scored["churn_probability"].to_numpy(),
                                  b.scored["churn_probability"].to_numpy())


# --------------------------------------------------------------------------- numbers
def test_one_decimal_comma_cell_does_not_reject_a_column_of_period_numbers():
    """One hand-typed ``1 234,50`` among ``118236.59`` balances rejected 196 of 200 rows."""
    from churn_core.validate import parse_numeric

    cells = ["118236.59", "0.0", "1 234,50", "97086.4", "N/A", "-", "?", "125510.82"]
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"))
    assert list(blank) == [False, False, False, False, True, True, True, False]
    # the odd cell is the only bad one, and the message will name it; the others parse
    assert list(bad) == [False, False, True, False, False, False, False, False]
    np.testing.assert_array_equal(vals[[0, 1, 3, 7]], [118236.59, 0.0, 97086.4, 125510.82])


def test_decimal_comma_column_keeps_plain_period_cells():
    """A genuine decimal-comma column still reads ``1.234,56``/``12,5``; a stray ``0.5`` is 0.5."""
    from churn_core.validate import parse_numeric

    cells = ["1.234,56", "12,5", "7,25", "0.5", "1.000"]
    vals, blank, bad = parse_numeric(pd.Series(cells, dtype="str"))
    assert not bad.any() and not blank.any()
    np.testing.assert_array_equal(vals, [1234.56, 12.5, 7.25, 0.5, 1000.0])
