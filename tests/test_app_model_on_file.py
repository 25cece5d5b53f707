"""AppTest: the synthetic default model measured on the analyst's real file (issue 14, item 1).

With the synthetic default active, upload the real bank file: Overview and Performance say the
model was trained on other data (with the "Train a model on this file" button) and show the
file's own ROC-AUC / PR-AUC, equal to ``python -m churn_core evaluate --model models/default
--data ../shared/data/Churn_Modelling.csv`` (the same function).
"""
from __future__ import annotations

import json

import pytest
from apptest_util import app_models, assert_no_exception, metric, number, open_page  # noqa: F401

from churn_core import config

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _cli_report(models_dir, data_path, capsys) -> dict:
    from churn_core.cli import main

    capsys.readouterr()
    assert main(["evaluate", "--model", str(models_dir / config.DEFAULT_MODEL_NAME),
                 "--data", str(data_path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "default (synthetic" in out  # the CLI names the model as synthetic too
    return json.loads(out[out.index("\n{") + 1:])


def _texts(elements) -> list[str]:
    return [str(e.value).replace("\\", "") for e in elements]


def test_overview_measures_the_synthetic_default_on_the_bank_file(app_models, bank_csv,  # noqa: F811
                                                                  capsys):
    cli = _cli_report(app_models, bank_csv, capsys)
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        ("Churn_Modelling.csv", bank_csv.read_bytes(), "text/csv")).run()
    assert_no_exception(at)
    at.switch_page("pages/overview.py").run()
    assert_no_exception(at)

    notices = [t for t in _texts(at.warning) if "trained on other data" in t]
    assert notices and "default (synthetic)" in notices[0] and "Churn_Modelling.csv" in notices[0]
    assert [b for b in at.button if b.label == "Train a model on this file"]
    # the file's own figures equal the CLI's (3 decimals), next to the model's test figures
    assert number(metric(at, "ROC-AUC on your file")) == pytest.approx(round(cli["roc_auc"], 3))
    assert number(metric(at, "PR-AUC on your file")) == pytest.approx(round(cli["pr_auc"], 3))
    card = json.loads((app_models / "default" / "card.json").read_text())
    assert number(metric(at, "Test ROC-AUC (model's own test split)")) == pytest.approx(
        round(card["test_roc_auc"], 3))
    assert number(metric(at, "ROC-AUC on your file")) != number(
        metric(at, "Test ROC-AUC (model's own test split)"))
    assert any("Measured on your file Churn_Modelling.csv" in c and "10,000 customers" in c
               for c in _texts(at.caption))
    # the sidebar names the model as synthetic
    assert any("default (synthetic)" in t.value for t in at.sidebar.text)

    # Performance shows the same figures; the button opens the Model page
    at.switch_page("pages/performance.py").run()
    assert_no_exception(at)
    assert number(metric(at, "ROC-AUC on your file")) == pytest.approx(round(cli["roc_auc"], 3))
    assert [t for t in _texts(at.warning) if "trained on other data" in t]
    [button] = [b for b in at.button if b.label == "Train a model on this file"]
    button.click().run()
    assert_no_exception(at)
    assert any(s.value == "Model" for s in at.title)


def test_the_training_file_itself_is_flagged_optimistic_not_other_data(app_models):  # noqa: F811
    at = open_page("pages/overview.py")  # the shipped sample: the default model's own file
    assert not [t for t in _texts(at.warning) if "trained on other data" in t]
    assert not [b for b in at.button if b.label == "Train a model on this file"]
    assert any("optimistic" in t for t in _texts(at.warning))


def test_the_notice_button_trains_a_champion_on_this_file(app_models):  # noqa: F811
    """Upload a labelled file, confirm its label, press "Train a model on this file": a model
    named after the file is trained on it, becomes active and champion, and the notice goes."""
    import pandas as pd

    from churn_core.model import registry

    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).sample(600, random_state=3)
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        ("branch_export.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    [c for c in at.checkbox if "I confirm" in c.label][0].check().run()
    at.switch_page("pages/overview.py").run()
    [b for b in at.button if b.label == "Train a model on this file"][0].click().run()
    assert_no_exception(at)
    name = at.session_state["active_model"]
    assert name.startswith("branch_export_")
    card = json.loads((app_models / name / "card.json").read_text())
    assert card["source"] == "branch_export.csv" and card["synthetic"] is False
    assert registry.champion(app_models) == name
    at.switch_page("pages/overview.py").run()
    assert_no_exception(at)
    assert not [t for t in _texts(at.warning) if "trained on other data" in t]
    assert any("optimistic" in t for t in _texts(at.warning))  # its own training file
    registry.delete_model(name, app_models)
