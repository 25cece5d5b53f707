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
    data = first.data()  # the churn label confirmed on the Data page, for this file and label
    first.state[wb.workspace.LABEL_KEY] = (data.sha256, data.schema.target,
                                           data.schema.positive_label)
    url = first.url_params()
    assert set(url) == set(wb.URL_KEYS) and url["threshold"] == "0.33"
    assert url["rule"] == "budget_share:12.5"
    assert len(url["label"]) == 16 and data.sha256 not in url["label"]
    again = wb.Workspace({}, wb.ResultStore())  # a reload: new session, even a new process
    assert again.restore(url) == []
    assert again.url_params() == url
    assert again.data().name == "part.csv"
    assert again.state[wb.workspace.LABEL_KEY] == first.state[wb.workspace.LABEL_KEY]
    notes = wb.Workspace({}, store).restore({"model": "gone", "data": "f" * 64, "high": "2"})
    assert len(notes) == 2 and "gone" in notes[0]
