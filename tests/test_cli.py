"""CLI end to end on the sample (in-process) and user errors (exit 2, one line, no traceback)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from churn_core import config
from churn_core.bundle import load_bundle
from churn_core.cli import main

TINY = ["--hidden", "16,8", "--max-epochs", "6", "--patience", "2", "--batch-size", "128",
        "--learning-rate", "0.01"]


@pytest.fixture(scope="module")
def trained_cli(sample_csv, tmp_path_factory):
    models = tmp_path_factory.mktemp("cli_models")
    code = main(["-q", "train", "--data", str(sample_csv), "--target", "Exited",
                 "--out", str(models / "cli"), *TINY, "--seed", "5"])
    assert code == 0
    return models


def test_train_writes_bundle_with_given_hyperparameters(trained_cli, sample_csv):
    b = load_bundle("cli", trained_cli)
    hp = b.card["hyperparameters"]
    assert hp["hidden"] == [16, 8] and hp["max_epochs"] == 6 and hp["seed"] == 5
    import hashlib

    assert b.card["data_sha256"] == hashlib.sha256(sample_csv.read_bytes()).hexdigest()


def test_evaluate_stored_and_on_file(trained_cli, sample_csv, capsys):
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--json"]) == 0
    out = capsys.readouterr().out
    stored = json.loads(out[out.index("{"):])
    assert stored == load_bundle("cli", trained_cli).metrics["test"]
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(sample_csv)]) == 0
    assert "3000 rows evaluated" in capsys.readouterr().out


def test_score_end_to_end(trained_cli, sample_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(out), "--threshold", "0.3", "--chunksize", "1000"]) == 0
    scores = pd.read_csv(out)
    assert len(scores) == 3000 and (scores["predicted_churn"] == (scores["churn_probability"] >= 0.3)).all()
    assert (tmp_path / "scores_rejected.csv").exists()
    assert "3000 rows in = 3000 scored + 0 rejected" in capsys.readouterr().out


def test_sample_command_writes_the_shipped_sample(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sample", "--out", str(out)]) == 0
    assert out.read_bytes() == config.SAMPLE_CSV.read_bytes()


def test_user_errors_exit_2_with_one_line(trained_cli, sample_csv, tmp_path, capsys):
    df = pd.read_csv(sample_csv).drop(columns=["Age", "Exited"])
    bad = tmp_path / "no_age.csv"
    df.to_csv(bad, index=False)
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(bad),
                 "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Age" in err and "no_age.csv" in err and len(err.splitlines()) == 1
    assert main(["train", "--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "absent.csv" in capsys.readouterr().err
    assert main(["evaluate", "--model", "../escape"]) == 2
    assert main(["train", "--data", str(sample_csv), "--target", "Nope", "--out", str(tmp_path / "m")]) == 2
    assert "Nope" in capsys.readouterr().err


def test_python_m_entry_point_reports_errors_without_traceback(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-m", "churn_core", "score", "--model", "models/absent_model",
                        "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o.csv")],
                       capture_output=True, text=True, cwd=config.ROOT, env=env, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "absent_model" in r.stderr


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("which,target,label,min_auc", [("bank", "Exited", "1", 0.80),
                                                        ("telco", "Churn", "Yes", 0.80)])
def test_cli_on_real_files(which, target, label, min_auc, bank_csv, telco_csv, tmp_path, capsys):
    """Train (small, fast settings) and score the real public files through the CLI."""
    data = bank_csv if which == "bank" else telco_csv
    assert main(["-q", "train", "--data", str(data), "--target", target, "--positive-label", label,
                 "--out", str(tmp_path / which), "--max-epochs", "12", "--patience", "3"]) == 0
    b = load_bundle(which, tmp_path)
    assert b.card["rows"]["input"] == b.card["rows"]["valid"] + b.card["rows"]["rejected"]
    assert b.metrics["test"]["roc_auc"] > min_auc
    out = tmp_path / "scores.parquet"
    assert main(["-q", "score", "--model", str(tmp_path / which), "--data", str(data), "--out", str(out)]) == 0
    scores = pd.read_parquet(out)
    rejected = pd.read_parquet(tmp_path / "scores_rejected.parquet")
    assert len(scores) + len(rejected) == b.card["rows"]["input"]
    assert scores["churn_probability"].notna().all()
    if which == "telco":  # 11 blank TotalCharges cells are imputed, not rejected
        assert scores["TotalCharges"].isna().sum() + (scores["TotalCharges"].astype(str).str.strip() == "").sum() == 11


def test_train_warns_about_a_gross_outlier_and_keeps_the_feature(sample_csv, tmp_path, capsys):
    """Break-it: Age = 1e39 in one training row squashed Age for every customer."""
    import json

    import pandas as pd

    df = pd.read_csv(sample_csv, dtype=str).head(3000)
    df.loc[10, "Age"] = "1e39"
    df.loc[20, "CreditScore"] = "=1+1"  # rejected: its file must be inert in a spreadsheet
    data = tmp_path / "with_outlier.csv"
    df.to_csv(data, index=False)
    assert main(["train", "--data", str(data), "--target", "Exited", "--out", str(tmp_path / "m"),
                 *TINY, "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 value(s) of Age in the training split are so far from the others" in out
    rejected = pd.read_csv(tmp_path / "m_rejected_rows.csv", dtype=str)
    assert list(rejected.columns)[0] == "source_line" and list(rejected.columns)[-1] == "reason"
    assert rejected["CreditScore"].tolist() == ["'=1+1"] and rejected["source_line"].tolist() == ["22"]
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["scaling_outliers"] == {"Age": 1}
    pre = load_bundle("m", tmp_path).preprocessor
    ages = pd.to_numeric(df["Age"]).drop(index=10)
    assert pre.scales["Age"] < 100 and abs(pre.means["Age"] - ages.mean()) < 1.0
