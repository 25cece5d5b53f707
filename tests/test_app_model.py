"""AppTest of the Model page: model card, one tiny training run in the app, the guard."""
from __future__ import annotations

import json
import threading

import pytest
from apptest_util import app_models, assert_no_exception, metric, number, open_page  # noqa: F401

from churn_core import workbench as wb

pytestmark = pytest.mark.slow


def test_model_card_shows_the_bundle(app_models):  # noqa: F811
    at = open_page("pages/model.py")
    card = json.loads((app_models / "default" / "card.json").read_text())
    assert number(metric(at, "Test ROC-AUC")) == pytest.approx(card["test_roc_auc"], abs=5e-4)
    assert number(metric(at, "Default threshold")) == pytest.approx(card["default_threshold"],
                                                                    abs=5e-3)


def test_train_a_tiny_model_in_the_app(app_models):  # noqa: F811
    at = open_page("pages/model.py", check=False)
    form = at.get("form")[0]
    form.text_input[0].set_value("tiny app model!")      # sanitised to tiny_app_model
    form.text_input[1].set_value("8")
    form.number_input[2].set_value(2)                     # max epochs
    form.number_input[3].set_value(1)                     # patience
    form.select_slider[0].set_value(1024)                 # batch size
    form.selectbox[1].set_value("quick")                  # recipe: these settings only
    at.form_submit_button[0].click().run()
    assert_no_exception(at)
    folder = app_models / "tiny_app_model"
    card = json.loads((folder / "card.json").read_text())
    assert card["hyperparameters"]["hidden"] == [8]
    assert card["hyperparameters"]["max_epochs"] == 2
    assert card["epochs_trained"] <= 2
    assert card["recipe"]["recipe"] == "quick"
    assert at.session_state["active_model"] == "tiny_app_model"
    assert at.session_state["decision_threshold"] == card["default_threshold"]
    assert at.session_state["training_running"] is False
    assert any("tiny_app_model" in s.value for s in at.success)
    # the name field is blank for the next training, in the browser too: the blank value is
    # sent to the page (set_value), not only forgotten on the server, where the browser's
    # field kept the old name and a second training was refused (tests/test_browser.py)
    field = at.get("form")[0].text_input[0]
    assert field.value == "" and field.proto.set_value
    # the same name again is refused (no silent overwrite)
    at.get("form")[0].text_input[0].set_value("tiny_app_model")
    at.form_submit_button[0].click().run()
    assert any("already exists" in e.value for e in at.error)


def test_hidden_layers_that_are_not_numbers_are_named(app_models):  # noqa: F811
    """Break-it s7 10a: 'abc' in Hidden layers was answered with Python's "invalid literal
    for int() with base 10"; now the field, the bad entries and the expected form."""
    at = open_page("pages/model.py", check=False)
    at.get("form")[0].text_input[1].set_value("abc, 64, -3, ²")  # '²'.isdigit() is True
    at.form_submit_button[0].click().run()
    assert_no_exception(at)
    errors = [e.value.replace("\\", "") for e in at.error]  # markdown escapes
    assert any("Hidden layers: 'abc', '-3', '²' is not a number of units" in e for e in errors), errors
    assert not any("invalid literal" in e for e in errors)
    assert not at.session_state["training_running"]


def test_training_cannot_start_twice(app_models):  # noqa: F811
    at = open_page("pages/model.py", check=False)
    at.session_state["training_running"] = True
    at.run()
    assert at.form_submit_button[0].disabled
    guard = wb.TrainingGuard()
    assert guard.acquire("a") and not guard.acquire("b") and guard.busy
    results = []
    t = threading.Thread(target=lambda: results.append(guard.acquire("c")))
    t.start(); t.join()
    assert results == [False]
    guard.release()
    assert not guard.busy and guard.acquire("d")


def test_model_name_is_blank_for_an_automatic_name(app_models):  # noqa: F811
    """No clock-derived default in the widget (it once changed identity when the minute
    turned and dropped the typed name): blank means file stem + training end time, given
    after training (see tests/test_app_registry.py)."""
    at = open_page("pages/model.py")
    field = at.get("form")[0].text_input[0]
    assert field.value == ""
    assert "automatic: sample_customers_" in field.placeholder
    at.run()  # the widget's identity does not depend on the clock: same key, same blank value
    assert at.get("form")[0].text_input[0].value == "" and \
        at.get("form")[0].text_input[0].key == field.key


def test_form_defaults_are_the_measured_recipe(app_models):  # noqa: F811
    """Submitting the form untouched trains TrainConfig() (the recipe benchmarks/quality.py measured)."""
    from churn_core.model.network import TrainConfig

    cfg = TrainConfig()
    form = open_page("pages/model.py").get("form")[0]
    assert form.selectbox[0].value == cfg.imbalance
    assert form.slider[0].value == pytest.approx(cfg.dropout)
    assert form.number_input[1].value == pytest.approx(cfg.learning_rate)
    assert form.number_input[2].value == cfg.max_epochs
    assert form.number_input[3].value == cfg.patience
    assert form.select_slider[0].value == cfg.batch_size
    assert form.text_input[1].value == ", ".join(map(str, cfg.hidden))
    assert form.selectbox[1].value == cfg.recipe == "adaptive"
    assert form.number_input[4].value == cfg.time_budget


def test_enter_in_the_model_name_does_not_start_a_training(app_models):  # noqa: F811
    """The training form is sent to the browser with Enter-to-submit off: Enter in "Model
    name" (or any field) must not start a training; only the button does."""
    at = open_page("pages/model.py")
    forms = [f for f in at.get("form") if f.proto.form.form_id == "train_form"]
    assert len(forms) == 1
    assert forms[0].proto.form.enter_to_submit is False
    assert "Model name" in [t.label for t in forms[0].text_input]


def _tiny_config():
    return wb.TrainConfig(hidden=(8,), max_epochs=2, patience=1, batch_size=1024,
                          recipe="quick")


def test_a_training_whose_page_went_away_is_saved_and_reported(app_models):  # noqa: F811
    """Break-it item 8: the training runs on a server-side thread owned by the guard, so a
    reload (a new session) finds it still running, then finished with its model saved."""
    import time

    from churn_core import config

    guard = wb.shared_training_guard()
    data = wb.load_data(config.SAMPLE_CSV, name=config.SAMPLE_CSV.name)
    gate = threading.Event()

    def train(data, cfg, name, progress=None, models_dir=None):
        progress(1, 2, {"loss": 0.5, "val_loss": 0.6})
        assert gate.wait(60)
        return wb.train_model(data, cfg, name, progress=progress, models_dir=models_dir)

    job = guard.start(data, _tiny_config(), "after_reload_model", train=train)
    try:
        at = open_page("pages/model.py")   # the reloaded page: a new session
        hhmm = time.strftime("%H:%M", time.localtime(job.started))
        running = [i.value for i in at.info if "still running" in i.value]
        assert running and running[0].startswith(
            f"A training started at {hhmm} on sample\\_customers\\.csv is still running")
        assert "Epoch 1 of at most 2" in running[0]
        assert at.form_submit_button[0].disabled  # one training at a time
        gate.set()
        assert job.done.wait(120) and job.error is None
        assert (app_models / "after_reload_model" / "card.json").is_file()
        assert guard.busy is False
        at.run()
        assert_no_exception(at)
        done = [s.value for s in at.success if "finished" in s.value]
        assert done and done[0].startswith(
            f"The training started at {hhmm} on sample\\_customers\\.csv finished: model "
            "**after\\_reload\\_model** was saved")
        assert "after_reload_model (synthetic)" in at.selectbox[0].options
        at.button(key="use_finished_training").click().run()
        assert at.session_state["active_model"] == "after_reload_model"
    finally:
        gate.set()
        job.done.wait(120)
        guard.job = None


def test_watching_stops_with_the_session_but_the_training_saves(app_models):  # noqa: F811
    """What F5 does to the page that started a training: Streamlit raises StopException at
    its next st call. The watching ends; the training thread goes on and saves the model."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from churn_core import config
    from pages import _training

    gone = threading.Event()

    class Gone:  # the progress bar of a session the browser left
        def progress(self, *args, **kwargs):
            gone.set()
            raise StopException()

    def train(data, cfg, name, progress=None, models_dir=None):
        progress(1, 2, {"loss": 0.5})
        assert gone.wait(60)  # the page has stopped watching: now train for real
        return wb.train_model(data, cfg, name, progress=progress, models_dir=models_dir)

    guard = wb.TrainingGuard()
    data = wb.load_data(config.SAMPLE_CSV, name=config.SAMPLE_CSV.name)
    job = guard.start(data, _tiny_config(), "after_stop_model", models_dir=app_models,
                      train=train)
    with pytest.raises(StopException):
        _training.watch_training(job, Gone(), None, [])
    assert job.done.wait(120) and job.error is None and job.name == "after_stop_model"
    assert json.loads((app_models / "after_stop_model" / "card.json").read_text())[
        "hyperparameters"]["hidden"] == [8]
    assert not job.watched and not guard.busy
