"""The upload folder that keeps uploaded files for reloads (churn_core/workbench/uploads.py)."""
from __future__ import annotations

import hashlib
import os
import time

from churn_core import workbench as wb


def _kept(tmp_path, raw=b"CustomerId,Age\n1,40\n", name="mine.csv"):
    folder = wb.UploadFolder(tmp_path / "uploads", max_age_hours=24)
    sha = hashlib.sha256(raw).hexdigest()
    folder.save(sha, name, raw, {"target": "Exited"})
    return folder, sha, raw


def test_a_kept_file_comes_back_with_its_name_and_roles(tmp_path):
    folder, sha, raw = _kept(tmp_path)
    assert folder.load(sha) == ("mine.csv", raw, {"target": "Exited"})
    assert sorted(p.name for p in folder.folder.iterdir()) == [f"{sha}.bin", f"{sha}.json"]


def test_kept_customer_files_are_readable_by_their_owner_only(tmp_path):
    (tmp_path / "uploads").mkdir(mode=0o755)  # as an older version left it
    folder, sha, _ = _kept(tmp_path)
    assert folder.folder.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.folder.iterdir()} == {
        f"{sha}.bin": 0o600, f"{sha}.json": 0o600}


def test_unknown_malformed_or_damaged_keys_give_nothing(tmp_path):
    folder, sha, _ = _kept(tmp_path)
    assert folder.load("0" * 64) is None
    assert folder.load("../../etc/passwd") is None and folder.load(sha.upper()) is None
    (folder.folder / f"{sha}.bin").write_bytes(b"someone else's bytes")
    assert folder.load(sha) is None  # the bytes no longer match their SHA-256


def test_files_unused_for_longer_than_the_age_are_cleaned(tmp_path):
    folder, sha, raw = _kept(tmp_path)
    fresh_raw = b"CustomerId,Age\n2,50\n"
    fresh = hashlib.sha256(fresh_raw).hexdigest()
    folder.save(fresh, "fresh.csv", fresh_raw)
    old = time.time() - 25 * 3600
    for suffix in (".bin", ".json"):
        os.utime(folder.folder / f"{sha}{suffix}", (old, old))
    assert folder.clean() == [sha]
    assert folder.load(sha) is None and folder.load(fresh)[0] == "fresh.csv"


def test_a_session_workspace_keeps_its_own_active_data(tmp_path, monkeypatch):
    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    store = wb.ResultStore()
    raw = wb.config.SAMPLE_CSV.read_bytes()[:4000].rsplit(b"\n", 1)[0] + b"\n"
    a, b = wb.Workspace({}, store), wb.Workspace({}, store)
    data = a.read_upload("part.csv", raw)
    a.set_data(data)
    assert a.data() is data and b.data().name == wb.config.SAMPLE_CSV.name
    assert b.restore_upload(data.sha256).sha256 == data.sha256  # only with the SHA-256
    assert b.restore_upload(data.sha256) is data  # read once, shared through the store


def test_url_params_round_trip_through_a_new_session(tmp_path, monkeypatch, trained_bundle):
    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    models = tmp_path / "models"
    from churn_core.model.bundle import save_bundle

    save_bundle(trained_bundle, "m1", models)
    monkeypatch.setattr(wb.config, "MODELS_DIR", models)
    store = wb.ResultStore()
    raw = wb.config.SAMPLE_CSV.read_bytes()[:4000].rsplit(b"\n", 1)[0] + b"\n"
    first = wb.Workspace({}, store)
    first.set_model("m1")
    first.set_data(first.read_upload("part.csv", raw))
    first.state[wb.THRESHOLD_KEY] = 0.33
    first.state[wb.CUTOFFS_KEY] = {"high": 0.7, "medium": 0.2}
    assert first._restore_rule("budget_share:12.5")  # the campaign rule as the page sets it
    first.state.update({"value_kind": "one amount", "value_amount": 800.0,  # as the page
                        "value_success": 0.25, "value_cost": 12.5, "value_currency": "CHF"})
    data = first.data()  # the churn label confirmed on the Data page, for this file and label
    first.state[wb.workspace.LABEL_KEY] = (data.sha256, data.schema.target,
                                           data.schema.positive_label)
    url = first.url_params()
    assert set(url) == set(wb.URL_KEYS) and url["threshold"] == "0.33"
    assert url["rule"] == "budget_share:12.5"
    assert url["value"] == "amount:800;success:0.25;cost:12.5;cur:CHF"
    assert len(url["label"]) == 16 and data.sha256 not in url["label"]
    again = wb.Workspace({}, wb.ResultStore())  # a reload: new session, even a new process
    assert again.restore(url) == []
    assert again.url_params() == url
    assert again.data().name == "part.csv"
    assert again.state[wb.workspace.LABEL_KEY] == first.state[wb.workspace.LABEL_KEY]
    assert again.state["value_assumptions"] == {
        "amount": 800.0, "column": None, "margin": 1.0, "success_rate": 0.25,
        "cost_per_contact": 12.5, "currency": "CHF"}
    fresh = wb.Workspace({}, store)
    notes = fresh.restore({"model": "gone", "data": "f" * 64, "high": "2"})
    assert len(notes) == 3 and "gone" in notes[0]
    assert notes[1] == ("The risk-tier cutoffs of this link (high '2', medium None) are not "
                        "probabilities in [0, 1] with medium <= high; showing the model's defaults.")
    assert wb.CUTOFFS_KEY not in fresh.state or fresh.state[wb.CUTOFFS_KEY]["high"] <= 1
    bad = wb.Workspace({}, store).restore({"threshold": "7", "high": "0.2", "medium": "0.9"})
    assert bad == ["The decision threshold of this link ('7') is not a probability in [0, 1]; "
                   "showing the model's default.",
                   "The risk-tier cutoffs of this link (high '0.2', medium '0.9') are not "
                   "probabilities in [0, 1] with medium <= high; showing the model's defaults."]
    assert wb.Workspace({}, store).restore({"threshold": "0.4", "high": "0.6",
                                             "medium": "0.3"}) == []


def test_value_assumptions_in_the_url_round_trip_and_bad_ones_change_nothing():
    from churn_core.workbench import url_state

    for text in ("amount:800;success:0.3;cost:20;cur:EUR",
                 "column:Bal%3Bance;margin:0.01;success:0.25;cost:5.5;cur:%E2%82%AC",
                 "none;success:0.3;cost:20;cur:EUR"):
        state = {}
        assert url_state.restore_value(state, text)
        assert url_state.value_param(state) == text
    state = {}
    url_state.restore_value(state, "column:Bal%3Bance;margin:0.01;success:0.25;cost:5.5;"
                                   "cur:%E2%82%AC")
    assert (state["value_column"], state["value_currency"]) == ("Bal;ance", "€")
    assert state["value_assumptions"]["margin"] == 0.01
    for bad in ("amount:-1;success:0.3;cost:20;cur:EUR", "amount:2e9;success:0.3;cost:20;cur:EUR",
                "amount:nan;success:0.3;cost:20;cur:EUR", "amount:800;success:1.5;cost:20;cur:EUR",
                "amount:800;success:0.3;cost:20", "amount:800;success:0.3;cost:20;cur:TOOLONGXX",
                "lottery:5;success:0.3;cost:20;cur:EUR", "amount;success:0.3;cost:20;cur:EUR",
                "column:;margin:1;success:0.3;cost:20;cur:EUR", "amount:x;success:0.3;cost:20;cur:EUR"):
        state = {"value_amount": 500.0}
        assert not url_state.restore_value(state, bad), bad
        assert state == {"value_amount": 500.0}, bad  # nothing changed
    notes = wb.Workspace({}, wb.ResultStore()).restore({"value": "amount:-1;success:2"})
    assert notes == ["The value assumptions of this link ('amount:-1;success:2') are not valid; "
                     "showing the defaults (500 EUR per saved customer, 30 % offer success, "
                     "20 EUR per contact)."]


def _telco_like(n=300) -> bytes:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    churn = np.where(rng.random(n) < 0.1 + 0.4 * (contract == "Month-to-month"), "Yes", "No")
    frame = pd.DataFrame({"Phone": [f"C{i:05d}" for i in range(n)],
                          "Day Mins": rng.uniform(0, 300, n).round(1), "Contract": contract,
                          "Churn": churn})
    return frame.to_csv(index=False).encode("utf-8")


def test_a_new_session_never_opens_the_upload_the_champion_was_trained_on(
        tmp_path, monkeypatch, trained_bundle, tiny_cfg):
    """Break-it 2.1: analyst A uploads a telco file and trains the champion on it; a new
    session without a ``data=`` link opens the shipped sample (never A's kept upload), with
    the shipped default model and a note naming the champion's training file."""
    from churn_core.data.infer import infer_schema
    from churn_core.model.bundle import save_bundle
    from churn_core.model.registry import set_champion
    from churn_core.model.train import train_bundle

    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    models = tmp_path / "models"
    monkeypatch.setattr(wb.config, "MODELS_DIR", models)
    save_bundle(trained_bundle, wb.config.DEFAULT_MODEL_NAME, models)
    store = wb.ResultStore()
    analyst_a = wb.Workspace({}, store)
    raw = _telco_like()
    upload = analyst_a.read_upload("Orange_Telecom_Churn.csv", raw)
    analyst_a.set_data(upload)
    assert analyst_a.uploads.load(upload.sha256)[0] == "Orange_Telecom_Churn.csv"  # kept
    schema = infer_schema(upload.frame, target="Churn", positive_label="Yes")
    bundle = train_bundle(upload.frame, schema, tiny_cfg, name="orange",
                          source_name="Orange_Telecom_Churn.csv", data_sha256=upload.sha256)
    save_bundle(bundle, "orange", models)
    set_champion("orange", models)

    for store_of_b in (store, wb.ResultStore()):  # same server process, or a restarted one
        b = wb.Workspace({wb.MODEL_KEY: wb.champion()}, store_of_b)
        assert b.model_name == "orange"
        notes = b.restore({}) + b.open_fitting()
        assert notes == ["The champion orange was trained on other columns "
                         "(Orange_Telecom_Churn.csv): upload such a file on the Data page, then "
                         "make it the active model on the Model page. Showing default on "
                         f"{wb.config.SAMPLE_CSV.name}."]
        assert not b.data_is_upload and b.data().name == wb.config.SAMPLE_CSV.name
        assert b.model_name == wb.config.DEFAULT_MODEL_NAME
        assert "data" not in b.url_params() and b.url_params()["model"] == "default"

    # a link naming the champion but no file: still the sample, never the kept upload
    c = wb.Workspace({wb.MODEL_KEY: "default"}, store)
    assert c.restore({"model": "orange"}) == []
    assert c.open_fitting()[0].startswith("The champion orange was trained on other columns")
    assert not c.data_is_upload and c.model_name == "default"
    # only the file's link opens it, and then the champion fits it
    d = wb.Workspace({wb.MODEL_KEY: "orange"}, store)
    assert d.restore({"data": upload.sha256}) == [] and d.open_fitting() == []
    assert d.data().name == "Orange_Telecom_Churn.csv" and d.model_name == "orange"

    # without the shipped default: the most recently saved model that fits the sample
    import shutil

    shutil.rmtree(models / "default")
    save_bundle(trained_bundle, "older", models)
    save_bundle(trained_bundle, "newer", models)
    os.utime(models / "older" / "card.json", (1e9, 1e9))
    e = wb.Workspace({wb.MODEL_KEY: "orange"}, store)
    assert e.open_fitting()[0].endswith(f"Showing newer on {wb.config.SAMPLE_CSV.name}.")
    assert e.model_name == "newer" and not e.data_is_upload
    for name in ("older", "newer"):
        shutil.rmtree(models / name)
    f = wb.Workspace({wb.MODEL_KEY: "orange"}, store)  # nothing fits: the note says so
    assert f.open_fitting()[0].endswith(f"No saved model can score {wb.config.SAMPLE_CSV.name}.")
    assert f.model_name == "orange" and not f.data_is_upload


def test_a_model_deleted_meanwhile_is_replaced_with_a_note(tmp_path, monkeypatch,
                                                            trained_bundle):
    """Break-it s7 1: a model deleted in another tab (or with ``models --delete``) left every
    page of a session using it saying "no model named ..."; the session now moves to a saved
    model that scores its data, with that model's own threshold, and says so."""
    import shutil

    from churn_core.model.bundle import save_bundle

    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    models = tmp_path / "models"
    monkeypatch.setattr(wb.config, "MODELS_DIR", models)
    for name in (wb.config.DEFAULT_MODEL_NAME, "mine"):
        save_bundle(trained_bundle, name, models)
    ws = wb.Workspace({}, wb.ResultStore())
    ws.set_model("mine")
    ws.state[wb.THRESHOLD_KEY] = 0.77  # the analyst moved the slider
    assert ws.replace_deleted_model() == []  # still saved: nothing changes
    assert ws.model_name == "mine" and ws.state[wb.THRESHOLD_KEY] == 0.77

    shutil.rmtree(models / "mine")
    notes = ws.replace_deleted_model()
    assert notes == ["The model 'mine' was deleted (in another tab or from the command line); "
                     "showing default, with its own decision threshold and tiers."]
    assert ws.model_name == wb.config.DEFAULT_MODEL_NAME
    assert ws.state[wb.THRESHOLD_KEY] == wb.default_threshold(ws.bundle())
    assert ws.bundle() is not None

    # a file no saved model can score: the note says so and where to train one
    save_bundle(trained_bundle, "mine", models)
    ws.set_model("mine")
    ws.set_data(ws.read_upload("Orange_Telecom_Churn.csv", _telco_like()))
    shutil.rmtree(models / "mine")
    assert ws.replace_deleted_model() == [
        "The model 'mine' was deleted (in another tab or from the command line); no saved "
        "model can score Orange_Telecom_Churn.csv: train one on the Model page."]
    assert ws.model_name == wb.config.DEFAULT_MODEL_NAME


def test_a_reload_brings_the_models_own_threshold_back_exactly(tmp_path, monkeypatch,
                                                                 trained_bundle):
    """Verify s8: the URL keeps 6 decimals, so after F5 the card's 0.37864383... came back as
    0.378644 and the page called it "set by a threshold strategy"; now it is the card's."""
    from churn_core.model.bundle import save_bundle

    models = tmp_path / "models"
    monkeypatch.setattr(wb.config, "MODELS_DIR", models)
    monkeypatch.setattr(wb.config, "UPLOADS_DIR", tmp_path / "uploads")
    save_bundle(trained_bundle, "m1", models)
    first = wb.Workspace({}, wb.ResultStore())
    first.set_model("m1")
    own = wb.default_threshold(first.bundle())
    assert first.state[wb.THRESHOLD_KEY] == own  # as on the card, not rounded
    url = first.url_params()
    assert url["threshold"] == repr(round(own, 6))
    again = wb.Workspace({}, wb.ResultStore())
    assert again.restore(url) == []
    assert again.state[wb.THRESHOLD_KEY] == own  # exactly, not the URL's 6 decimals
    moved = wb.Workspace({}, wb.ResultStore())  # a threshold of the analyst's stays as given
    moved.restore({**url, "threshold": "0.41"})
    assert moved.state[wb.THRESHOLD_KEY] == 0.41
