"""AppTest of the model registry on the Model page (issue 14, items 2 and 3): one table of
every saved model, synthetic label, champion stored in models/, deletion with confirmation,
automatic model names (file stem + training end time)."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config
from churn_core.model import registry

pytestmark = pytest.mark.slow


def _registry_frame(at):
    found = [d.value for d in at.dataframe if "model" in getattr(d.value, "columns", [])
             and "champion" in d.value.columns]
    assert found, "no registry table on the Model page"
    return found[0]


def _train_tiny(at, make_champion: bool):
    form = at.get("form")[0]
    form.text_input[1].set_value("8")
    form.number_input[2].set_value(2)
    form.number_input[3].set_value(1)
    form.select_slider[0].set_value(1024)
    [box] = [c for c in form.checkbox if c.label.startswith("Make it the champion")]
    box.set_value(make_champion)
    at.form_submit_button[0].click().run()
    assert_no_exception(at)


def test_registry_champion_and_delete(app_models):  # noqa: F811
    at = open_page("pages/model.py")
    table = _registry_frame(at)
    assert list(table["model"]) == ["default"]
    row = table.iloc[0]
    assert bool(row["synthetic"]) and bool(row["champion"])
    assert row["training file"] == "sample_customers.csv" and row["rows"] == 10_000
    # the sample is the labelled active data: every model measured on it
    assert 0.5 < row["ROC-AUC on active file"] <= 1
    # the model picker and the model card say "synthetic"
    assert at.selectbox[0].format_func("default") == "default (synthetic)"
    assert any("synthetic model" in i.value for i in at.info)

    # blank name: file stem + training end time; the champion box ticked while it is synthetic
    form = at.get("form")[0]
    assert [c for c in form.checkbox if c.label.startswith("Make it the champion")][0].value
    before = datetime.now().astimezone()
    _train_tiny(at, make_champion=True)
    names = registry.list_models(app_models)
    new = [r for r in names if r["name"] != "default"]
    assert len(new) == 1
    name = new[0]["name"]
    card = json.loads((app_models / name / "card.json").read_text())
    ended = datetime.fromisoformat(card["trained_at"])
    assert ended >= before.replace(microsecond=0)
    assert name == f"sample_customers_{ended:%Y%m%d_%H%M%S}"
    assert card["synthetic"] is True  # trained on the shipped sample
    assert registry.champion(app_models) == name
    assert json.loads((app_models / "champion.json").read_text())["name"] == name
    assert at.session_state["active_model"] == name
    # a new session opens with the champion
    fresh = open_page("pages/model.py")
    assert fresh.session_state["active_model"] == name
    table = _registry_frame(fresh)
    assert table.set_index("model")["champion"].to_dict() == {"default": False, name: True}

    # the default cannot be deleted: it is not offered
    [choice] = [s for s in fresh.selectbox if s.key == "delete_choice"]
    assert "default" not in choice.options and name in choice.options
    # deleting asks first; cancel keeps the model
    choice.set_value(name).run()
    [b for b in fresh.button if b.key == "delete_model"][0].click().run()
    assert any("for good" in w.value for w in fresh.warning)
    [b for b in fresh.button if b.key == "delete_cancel"][0].click().run()
    assert (app_models / name).is_dir()
    # confirmed: gone, the champion falls back to default and the active model too
    [s for s in fresh.selectbox if s.key == "delete_choice"][0].set_value(name).run()
    [b for b in fresh.button if b.key == "delete_model"][0].click().run()
    [b for b in fresh.button if b.key == "delete_confirm"][0].click().run()
    assert_no_exception(fresh)
    assert not (app_models / name).exists()
    assert registry.champion(app_models) == "default"
    assert fresh.session_state["active_model"] == "default"
    assert list(_registry_frame(fresh)["model"]) == ["default"]


def test_make_the_active_model_the_champion(app_models, trained_bundle):  # noqa: F811
    import copy

    from churn_core.model.bundle import save_bundle

    save_bundle(copy.copy(trained_bundle), "other", app_models)  # the fixture stays as it is
    try:
        at = open_page("pages/model.py")
        at.selectbox[0].set_value("other").run()
        assert at.session_state["active_model"] == "other"
        [b for b in at.button if b.key == "make_champion"][0].click().run()
        assert_no_exception(at)
        assert registry.champion(app_models) == "other"
        assert re.search(r"Champion.*other", " ".join(m.value for m in at.markdown))
    finally:
        registry.delete_model("other", app_models)
    assert registry.champion(app_models) == config.DEFAULT_MODEL_NAME
