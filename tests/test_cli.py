"""CLI end to end on the sample (in-process) and user errors (exit 2, one line, no traceback)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from churn_core import config
from churn_core.model.bundle import load_bundle
from churn_core.cli import main

TINY = ["--hidden", "16,8", "--max-epochs", "6", "--patience", "2", "--batch-size", "128",
        "--learning-rate", "0.01", "--recipe", "quick"]


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


def test_train_adaptive_recipe_prints_candidates_and_honours_the_time_budget(sample_csv, tmp_path, capsys):
    """--time-budget 0.001: the base always fits, every variant is skipped and the output says so."""
    args = [a for a in TINY if a not in ("--recipe", "quick")]
    assert main(["-q", "train", "--data", str(sample_csv), "--target", "Exited", "--out",
                 str(tmp_path / "ad"), *args, "--recipe", "adaptive", "--time-budget", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "adaptive recipe (time budget 0 s" in out and "validation rows only" in out
    assert out.count("skipped: time budget") == 3
    sel = load_bundle("ad", tmp_path).card["recipe"]
    assert sel["winner"] == "base" and sel["time_budget_s"] == 0.001
    assert [c["status"] for c in sel["candidates"]] == ["fitted", "skipped", "skipped", "skipped"]
    with pytest.raises(SystemExit):
        main(["train", "--data", str(sample_csv), "--out", str(tmp_path / "x"), "--recipe", "slow"])
    assert main(["train", "--data", str(sample_csv), "--target", "Exited", "--out", str(tmp_path / "y"),
                 "--time-budget", "-1"]) == 2


def test_evaluate_challenger_prints_the_verdict(trained_cli, sample_csv, tmp_path, capsys):
    import numpy as np

    from churn_core.data.validate import validate
    from churn_core.evaluate.challenger import challenger_verdict, train_challenger
    from churn_core.io.reader import read_table

    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--challenger"]) == 0
    out = capsys.readouterr().out
    b = load_bundle("cli", trained_cli)
    res = validate(read_table(sample_csv)[0], b.schema, require_target=True)
    _, p_test, _ = train_challenger(b, res.valid, res.y)
    t = b.evaluation["test"]
    v = challenger_verdict(np.asarray(t["y"]), np.asarray(t["p"]), p_test, seed=5, recipe="quick")
    assert f"challenger (gradient boosting on the same split): {v.sentence}" in out
    other = tmp_path / "other.csv"
    other.write_text(sample_csv.read_text()[:-200].rsplit("\n", 1)[0] + "\n")
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(other), "--challenger"]) == 2
    assert "not the file model" in capsys.readouterr().err


def test_evaluate_stored_and_on_file(trained_cli, sample_csv, capsys):
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--json"]) == 0
    out = capsys.readouterr().out
    stored = json.loads(out[out.index("{"):])
    assert stored == load_bundle("cli", trained_cli).metrics["test"]
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(sample_csv)]) == 0
    assert "3,000 rows evaluated" in capsys.readouterr().out


def test_evaluate_reason_breakdown_says_a_row_can_have_two_reasons(trained_cli, sample_csv,
                                                                   tmp_path, capsys):
    """Row 2 has a blank target and a non-number age: it is one rejected row, counted under both
    kinds. The breakdown (1 + 2 = 3 for 2 rows) says so instead of seeming to lose a row."""
    df = pd.read_csv(sample_csv, dtype=str, nrows=40)
    df.loc[0, "Exited"] = ""
    df.loc[0, "Age"] = "forty"
    df.loc[1, "Age"] = "n/a?"
    src = tmp_path / "two_reasons.csv"
    df.to_csv(src, index=False)
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(src)]) == 0
    out = capsys.readouterr().out
    assert "two_reasons.csv: 38 rows evaluated, 2 rejected" in out
    assert ("rejected rows, by reason: Age: not a number (2), Exited: blank target (1) "
            "(a row can have more than one reason)") in out


def test_reason_summary_counts_and_caps_the_kinds():
    from churn_core.data.validate import reason_summary

    assert reason_summary({"b": 1, "a": 3}, 4) == "a (3), b (1)"
    assert reason_summary({"b": 1, "a": 3}, 3) == "a (3), b (1) (a row can have more than one reason)"
    assert reason_summary({"x": 1200, "y": 5, "z": 5}, 1210, top=2) == "x (1,200), y (5), 1 other kind(s)"


def test_score_end_to_end(trained_cli, sample_csv, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(out), "--threshold", "0.3", "--chunksize", "1000"]) == 0
    scores = pd.read_csv(out)
    assert len(scores) == 3000 and (scores["predicted_churn"] == (scores["churn_probability"] >= 0.3)).all()
    assert (tmp_path / "scores_rejected.csv").exists()
    assert "3,000 rows in = 3,000 scored + 0 rejected" in capsys.readouterr().out


def test_no_progress_bar_clutter_when_the_output_is_not_a_terminal(trained_cli, sample_csv, tmp_path,
                                                                  capsys):
    """Without -q, a log file (not a terminal) gets the summary lines and no progress bar."""
    out = tmp_path / "scores.csv"
    assert main(["score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(out), "--chunksize", "1000"]) == 0
    captured = capsys.readouterr()
    assert "3,000 rows in = 3,000 scored + 0 rejected" in captured.out
    assert "rows/s" not in captured.err and "\r" not in captured.err
    assert "scoring:" not in captured.err


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


def test_python_m_into_a_closed_pipe_ends_without_traceback():
    """``python -m churn_core ... | head``: the reader leaves before the output is written.
    Python raises BrokenPipeError on the write (SIGPIPE is ignored); the command ends with
    exit code 1 and no traceback (was a BrokenPipeError traceback from ``print``)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write fails with EPIPE
    try:
        r = subprocess.run([sys.executable, "-m", "churn_core", "models"],
                           stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=config.ROOT,
                           env=env, timeout=120)
    finally:
        os.close(write_end)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr


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
    assert list(rejected.columns)[0] == "source_row" and list(rejected.columns)[-1] == "reason"
    assert rejected["CreditScore"].tolist() == ["'=1+1"] and rejected["source_row"].tolist() == ["22"]
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["scaling_outliers"] == {"Age": 1}
    pre = load_bundle("m", tmp_path).preprocessor
    ages = pd.to_numeric(df["Age"]).drop(index=10)
    assert pre.scales["Age"] < 100 and abs(pre.means["Age"] - ages.mean()) < 1.0


# --------------------------------------------------------------------------- Ctrl-C
def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _assert_interrupted(code, err, note):
    assert code == 130
    assert err == f"interrupted: {note}\n"
    assert "Traceback" not in err


def test_ctrl_c_while_scoring_exits_130_with_one_line(trained_cli, sample_csv, tmp_path, monkeypatch, capsys):
    from churn_core import cli

    monkeypatch.setitem(cli.SCORE_ENGINES, "local", _interrupt)
    code = main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(tmp_path / "o.csv")])
    _assert_interrupted(code, capsys.readouterr().err, "no output written")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_evaluating_exits_130(trained_cli, monkeypatch, capsys):
    from churn_core import cli

    monkeypatch.setattr(cli, "load_bundle", _interrupt)  # the name the CLI calls
    code = main(["evaluate", "--model", str(trained_cli / "cli")])
    _assert_interrupted(code, capsys.readouterr().err, "no output written")


def test_ctrl_c_while_training_keeps_the_existing_model(trained_cli, sample_csv, tmp_path, monkeypatch, capsys):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(trained_cli / "cli", models / "m")
    before = {p.name: p.read_bytes() for p in (models / "m").iterdir()}
    from churn_core.model import train

    monkeypatch.setattr(train, "train_bundle", _interrupt)  # the CLI imports it when it trains
    code = main(["-q", "train", "--data", str(sample_csv), "--target", "Exited", "--out", str(models / "m")])
    _assert_interrupted(code, capsys.readouterr().err,
                        f"no model saved; the existing model {(models / 'm').resolve()} is unchanged")
    assert {p.name: p.read_bytes() for p in (models / "m").iterdir()} == before
    code = main(["-q", "train", "--data", str(sample_csv), "--target", "Exited", "--out", str(models / "new")])
    _assert_interrupted(code, capsys.readouterr().err, "no model saved")
    assert sorted(p.name for p in models.iterdir()) == ["m"]


def test_ctrl_c_while_saving_the_bundle_leaves_no_folder(trained_cli, sample_csv, tmp_path, monkeypatch, capsys):
    import churn_core.model.bundle
    from churn_core.model import train

    monkeypatch.setattr(train, "train_bundle", lambda *a, **k: load_bundle("cli", trained_cli))

    def half_write(bundle, folder):
        (folder / "schema.json").write_text("{")
        raise KeyboardInterrupt

    monkeypatch.setattr(churn_core.model.bundle, "_write_files", half_write)
    code = main(["-q", "train", "--data", str(sample_csv), "--target", "Exited", "--out", str(tmp_path / "m")])
    _assert_interrupted(code, capsys.readouterr().err, "no model saved")
    assert list(tmp_path.iterdir()) == []  # no bundle, no hidden .tmp-m-* folder


def test_ctrl_c_while_writing_the_sample_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    import churn_core.data.synthetic

    out = tmp_path / "s.csv"
    out.write_text("old\n")

    def half_write(path, n, seed):
        path.write_text("RowNumber,Cust")
        raise KeyboardInterrupt

    monkeypatch.setattr(churn_core.data.synthetic, "write_sample", half_write)
    code = main(["sample", "--out", str(out), "--rows", "10"])
    _assert_interrupted(code, capsys.readouterr().err, "no output written")
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["s.csv"]


# --------------------------------------------------------------------------- TensorFlow log lines
TF_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "Could not find cuda drivers",
            "cuda_platform", "cuInit", "cpu_feature_guard")


def test_python_m_score_prints_no_tensorflow_log_lines(models_dir, tiny_bundle, sample_csv, tmp_path):
    small = tmp_path / "small.csv"
    small.write_text("".join(sample_csv.read_text().splitlines(keepends=True)[:51]))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the CLI's own default
    r = subprocess.run([sys.executable, "-m", "churn_core", "-q", "score", "--model", str(models_dir / "tiny"),
                        "--data", str(small), "--out", str(tmp_path / "o.csv")],
                       capture_output=True, text=True, cwd=config.ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if any(n in line for n in TF_NOISE)] == []
    assert "50 rows in = 50 scored + 0 rejected" in r.stdout
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame

    df, _ = read_table(small)
    expected = score_frame(tiny_bundle, df).scored["churn_probability"].to_numpy()
    assert pd.read_csv(tmp_path / "o.csv")["churn_probability"].to_numpy() == pytest.approx(expected, abs=1e-6)


def test_openblas_gets_one_thread_outside_training():
    from churn_core.__main__ import blas_environment

    assert blas_environment(["-q", "score", "--model", "models/default"]) == {"OPENBLAS_NUM_THREADS": "1"}
    assert blas_environment(["evaluate", "--model", "train"]) == {"OPENBLAS_NUM_THREADS": "1"}
    assert blas_environment(["train", "--data", "x.csv"]) == {}
    assert blas_environment(["-q", "train-uplift"]) == {}
    assert blas_environment(["--help"]) == {"OPENBLAS_NUM_THREADS": "1"}


def test_quiet_or_no_terminal_makes_no_progress_bar():
    from types import SimpleNamespace

    from churn_core.cli_util import _HiddenBar, _progress_bar

    bar = _progress_bar(SimpleNamespace(quiet=True), total=3, unit="epoch")
    assert isinstance(bar, _HiddenBar) and bar.total == 3
    bar.update(2)
    bar.set_postfix(loss="0.1")
    assert bar.n == 2
    bar.close()
    # pytest captures stderr (no terminal): hidden without -q too, as tqdm's disable=None
    assert isinstance(_progress_bar(SimpleNamespace(quiet=False), unit="rows"), _HiddenBar)


def test_tensorflow_startup_lines_follow_the_log_level():
    from churn_core.model.tf_quiet import drop_tf_startup_lines

    text = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1.5    5590 port.cc:153] oneDNN custom operations are on.\n"
            "W0000 00:00:1.6    5590 some.cc:1] a warning\n"
            "E0000 00:00:1.7    5590 cuda_platform.cc:52] failed call to cuInit\n"
            "a Python warning\n")
    lines = text.splitlines(keepends=True)
    assert drop_tf_startup_lines(text, None) == text
    assert drop_tf_startup_lines(text, "0") == text
    assert drop_tf_startup_lines(text, "1") == "".join(lines[2:])
    assert drop_tf_startup_lines(text, "2") == "".join(lines[3:])
    assert drop_tf_startup_lines(text, "3") == "a Python warning\n"


# --------------------------------------------------------------------------- evaluate --positive-label
def _report_json(out: str) -> dict:
    return json.loads(out[out.index("{"):])


def test_evaluate_positive_label_for_a_file_labelled_otherwise(trained_cli, sample_csv, tmp_path, capsys):
    df = pd.read_csv(sample_csv)
    df["Exited"] = df["Exited"].map({1: "Churned", 0: "Stayed"})
    relabelled = tmp_path / "relabelled.csv"
    df.to_csv(relabelled, index=False)
    model = str(trained_cli / "cli")
    assert main(["evaluate", "--model", model, "--data", str(sample_csv), "--json"]) == 0
    expected = _report_json(capsys.readouterr().out)
    for label in ("Churned", "churned"):
        assert main(["evaluate", "--model", model, "--data", str(relabelled), "--positive-label", label,
                     "--json"]) == 0
        out = capsys.readouterr().out
        assert _report_json(out) == expected
        assert "relabelled.csv: churn = 'Churned' in column 'Exited'" in out
        assert "3,000 rows evaluated, 0 rejected" in out
    assert 0.05 < expected["base_rate"] < 0.95 and expected["n"] == 3000


def test_evaluate_positive_label_errors(trained_cli, sample_csv, tmp_path, capsys):
    df = pd.read_csv(sample_csv)
    df["Exited"] = df["Exited"].map({1: "Churned", 0: "Stayed"})
    relabelled = tmp_path / "relabelled.csv"
    df.to_csv(relabelled, index=False)
    model = str(trained_cli / "cli")
    assert main(["evaluate", "--model", model, "--data", str(relabelled), "--positive-label", "Yes"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: relabelled.csv: --positive-label 'Yes' is not a value of column "
                                "'Exited' (values found: 'Stayed', 'Churned')"]
    assert main(["evaluate", "--model", model, "--data", str(relabelled)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "3000 of 3000 rows rejected" in err and "--positive-label" in err
    assert main(["evaluate", "--model", model, "--positive-label", "Churned"]) == 2
    assert "--data" in capsys.readouterr().err


# --------------------------------------------------------------------------- header-only files
def test_score_header_only_file_writes_empty_outputs_and_warns(trained_cli, sample_csv, tmp_path, capsys):
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(sample_csv.read_text().splitlines(keepends=True)[0])
    out = tmp_path / "scores.csv"
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(header_only),
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"WARNING: {header_only}: the file has a header but no customer rows; "
                                         f"nothing was scored"]
    assert "0 rows in = 0 scored + 0 rejected" in captured.out
    scores, rejected = pd.read_csv(out), pd.read_csv(tmp_path / "scores_rejected.csv")
    assert len(scores) == 0 and {"CustomerId", "churn_probability", "risk_tier"} <= set(scores.columns)
    assert len(rejected) == 0 and list(rejected.columns)[-1] == "reason"


def test_evaluate_header_only_file_exits_2(trained_cli, sample_csv, tmp_path, capsys):
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(sample_csv.read_text().splitlines(keepends=True)[0])
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(header_only)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: header_only.csv: the file has a header but no customer rows; metrics need labelled customers"]


def test_models_lists_the_registry_as_json(trained_cli, sample_csv, capsys, monkeypatch):
    """``models --json`` (issue 14, item 3): every saved model with its card facts; the
    shipped default is synthetic; --champion and --delete act on models/ (never default)."""
    import shutil

    from churn_core.model import registry

    shutil.copytree(config.ROOT / "models" / config.DEFAULT_MODEL_NAME,
                    trained_cli / config.DEFAULT_MODEL_NAME)
    monkeypatch.setattr(config, "MODELS_DIR", trained_cli)
    capsys.readouterr()
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["default", "cli"]
    keys = {"name", "trained_at", "data_name", "data_sha256", "rows", "churn_rate", "recipe",
            "test_roc_auc", "test_pr_auc", "synthetic", "champion"}
    assert all(keys <= set(r) for r in rows)
    default, cli = rows
    card = json.loads((trained_cli / "default" / "card.json").read_text())
    assert default["synthetic"] is True and default["champion"] is True
    assert default["test_roc_auc"] == card["test_roc_auc"] and default["rows"] == 10_000
    assert cli["data_name"] == "sample_customers.csv" and cli["champion"] is False
    b = load_bundle("cli", trained_cli)
    assert cli["trained_at"] == b.card["trained_at"] and cli["data_sha256"] == b.card["data_sha256"]
    assert cli["synthetic"] is False  # the suite's 3,000-row sample (seed 7) is not the shipped one
    # champion and delete
    assert main(["models", "--champion", "cli", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows if r["champion"]] == ["cli"]
    assert registry.champion(trained_cli) == "cli"
    assert main(["models", "--delete", "default"]) == 2
    assert "cannot be deleted" in capsys.readouterr().err
    shutil.copytree(trained_cli / "cli", trained_cli / "spare")
    assert main(["models", "--delete", "spare"]) == 0
    assert not (trained_cli / "spare").exists()
    assert "deleted model 'spare'" in capsys.readouterr().out
    # --data: each model measured on a labelled file, the figures of evaluate --data
    assert main(["models", "--json", "--data", str(sample_csv)]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert main(["evaluate", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--json"]) == 0
    out = capsys.readouterr().out
    rep = json.loads(out[out.index("\n{") + 1:])
    assert rows["cli"]["file_roc_auc"] == rep["roc_auc"] and rows["cli"]["file_pr_auc"] == rep["pr_auc"]
    assert 0.5 < rows["default"]["file_roc_auc"] <= 1
    # a plain table names the synthetic model
    capsys.readouterr()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["name", "trained_at", "data_name"]
    shutil.rmtree(trained_cli / "default")
def test_score_drift_report_json_and_history(trained_cli, sample_csv, tmp_path, capsys):
    report = tmp_path / "drift.json"
    hist = trained_cli / "cli" / "drift_history.jsonl"
    before = len(hist.read_text().splitlines()) if hist.exists() else 0
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(tmp_path / "s.csv"), "--drift-report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "drift: Like the training data" in out and "High tier" in out
    assert f"drift history: this batch was added to {hist} " in out  # says so, and the opt-out
    assert "--no-drift-history leaves it out" in out
    rep = json.loads(report.read_text())
    assert rep["verdict"] == "like the training data" and rep["columns_behind"] == []
    assert rep["rows"] == 3000
    b = load_bundle("cli", trained_cli)
    assert set(rep["columns"]) == set(b.schema.features)
    for col in rep["columns"].values():
        assert {"psi", "effect_size", "verdict", "blank_share"} <= set(col)
        assert set(col["blank_share"]) == {"training", "file"}
        assert col["psi"] < 0.1 and col["verdict"] == "stable"
    assert rep["score"]["high_share"]["training"] == pytest.approx(b.profile.score["high_share"])
    lines = hist.read_text().splitlines()
    assert len(lines) == before + 1 and json.loads(lines[-1])["rows"] == 3000
    assert main(["-q", "score", "--model", str(trained_cli / "cli"), "--data", str(sample_csv),
                 "--out", str(tmp_path / "s2.csv"), "--no-drift-history"]) == 0
    assert len(hist.read_text().splitlines()) == before + 1
    assert "drift history:" not in capsys.readouterr().out


def test_train_never_replaces_the_shipped_model(sample_csv, capsys):
    from churn_core import config

    shipped = config.MODELS_DIR / config.DEFAULT_MODEL_NAME
    before = {p.name: p.stat().st_mtime_ns for p in shipped.iterdir()}
    code = main(["-q", "train", "--data", str(sample_csv), "--target", "Exited", "--out", str(shipped)])
    err = capsys.readouterr().err
    assert code != 0 and "is the shipped model" in err and "--out models/mymodel" in err
    assert {p.name: p.stat().st_mtime_ns for p in shipped.iterdir()} == before


def test_every_command_prints_the_duplicate_header_warning(trained_cli, sample_csv, tmp_path,
                                                           capsys):
    """Break-it item 10: a file whose Tenure header reads Age. score, target-list, what-if
    and models --data printed only "1 required column(s) missing ... Tenure"; each now says
    first which header repeats and what the copy was renamed."""
    text = sample_csv.read_text().splitlines()
    header = text[0].split(",")
    header[header.index("Tenure")] = "Age"
    bad = tmp_path / "dupcols.csv"
    bad.write_text("\n".join([",".join(header)] + text[1:201]) + "\n")
    age, tenure = header.index("Age") + 1, len(header) - header[::-1].index("Age")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    want = (f"warning: dupcols.csv: header 'Age' appears more than once (columns {age} "
            f"({letters[age - 1]}) and {tenure} ({letters[tenure - 1]})); column {tenure} "
            "renamed 'Age.1'")
    model = str(trained_cli / "cli")
    for argv in (["score", "--model", model, "--data", str(bad), "--out", str(tmp_path / "s.csv")],
                 ["target-list", "--model", model, "--data", str(bad), "--budget", "5",
                  "--out", str(tmp_path / "l.csv")],
                 ["what-if", "--model", model, "--data", str(bad), "--row", "2",
                  "--set", "IsActiveMember=1"],
                 ["models", "--data", str(bad)]):
        main(["-q", *argv])
        out = capsys.readouterr().out
        assert want in out.splitlines(), (argv[0], out)


def test_what_if_differences_never_print_minus_zero():
    """Break-it item 13: a no-op change printed "-0.000"; the pages' rule (a delta that shows
    as zero has no sign) is the CLI's too."""
    from churn_core.cli_util import signed

    assert [signed(x) for x in (-0.0001, 0.0004, -0.0, -0.012, 0.5)] == \
        ["0.000", "0.000", "0.000", "-0.012", "+0.500"]


@pytest.mark.parametrize("damage", ["not_parquet", "truncated"])
def test_score_damaged_parquet_is_one_clear_line(models_dir, sample_frame, tmp_path, capsys, damage):
    """A file with Parquet's magic bytes but no readable content, or cut off: the reader names
    the file (no traceback, not mistaken for a failure to write the scores)."""
    path = tmp_path / "customers.parquet"
    if damage == "not_parquet":
        path.write_bytes(b"PAR1 this is not parquet at all PAR1")
    else:
        sample_frame.to_parquet(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    out = tmp_path / "scores.csv"
    code = main(["-q", "score", "--model", str(models_dir / "tiny"), "--data", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "customers.parquet: cannot be read as Parquet" in err and "Traceback" not in err
    assert "write" not in err and not out.exists()
