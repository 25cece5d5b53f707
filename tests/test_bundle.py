"""Model bundle: safe round trip, atomic save, name sanitising, schema/version checks."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from churn_core.model import bundle as B
from churn_core.model.bundle import list_bundles, load_bundle, sanitize_model_name, save_bundle
from churn_core.errors import BundleError, MissingColumnsError, WriteError
from churn_core.data.validate import validate


@pytest.fixture()
def valid_rows(sample_df, sample_schema):
    return validate(sample_df, sample_schema, require_target=False).valid


def test_folder_holds_every_file(models_dir):
    files = {p.name for p in (models_dir / "tiny").iterdir()}
    assert files == {"model.keras", "preprocessor.json", "schema.json", "calibration.json",
                     "metrics.json", "evaluation.json", "card.json", "profile.json"}
    for name in files - {"model.keras"}:
        json.loads((models_dir / "tiny" / name).read_text())  # plain JSON, no pickle


def test_save_load_gives_equal_probabilities(trained_bundle, tiny_bundle, valid_rows):
    p1 = trained_bundle.predict_proba(valid_rows)
    p2 = tiny_bundle.predict_proba(valid_rows)
    np.testing.assert_allclose(p2, p1, atol=1e-6)
    raw = tiny_bundle.predict_proba(valid_rows, calibrated=False)
    ref = np.asarray(tiny_bundle.model(tiny_bundle.preprocessor.transform(valid_rows), training=False)).ravel()
    np.testing.assert_allclose(raw, ref, atol=1e-6)
    assert ((p2 >= 0) & (p2 <= 1)).all()
    assert tiny_bundle.metrics == json.loads(json.dumps(trained_bundle.metrics))
    assert tiny_bundle.default_threshold == trained_bundle.default_threshold


def test_test_probabilities_in_evaluation_reproduce(tiny_bundle, sample_df, sample_schema):
    valid = validate(sample_df, sample_schema, require_target=True).valid
    te = tiny_bundle.evaluation["test"]
    p = tiny_bundle.predict_proba(valid.iloc[te["position"]])
    np.testing.assert_allclose(p, te["p"], atol=1e-6)


def test_missing_columns_are_named(tiny_bundle, valid_rows):
    with pytest.raises(MissingColumnsError) as err:
        tiny_bundle.predict_proba(valid_rows.drop(columns=["Age", "Geography"]))
    assert set(err.value.missing) == {"Age", "Geography"}
    assert "Age" in str(err.value) and "Geography" in str(err.value)


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "/etc", "", " ", "x" * 65, "a\\b", ".hidden"])
def test_unsafe_names_refused(bad, tiny_bundle, tmp_path):
    with pytest.raises(BundleError):
        sanitize_model_name(bad)
    with pytest.raises(BundleError):
        load_bundle(bad, tmp_path)
    with pytest.raises(BundleError):
        save_bundle(tiny_bundle, bad, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_good_names_and_models_prefix():
    assert sanitize_model_name("models/bank_v2") == "bank_v2"
    assert sanitize_model_name("telco-2026.11") == "telco-2026.11"


def test_interrupted_save_leaves_no_bundle(tiny_bundle, tmp_path, monkeypatch):
    real = B._write_files

    def half_then_fail(bundle, folder):
        (folder / "schema.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(B, "_write_files", half_then_fail)
    with pytest.raises(WriteError):  # one line for the analyst (was a raw OSError)
        save_bundle(tiny_bundle, "half", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert list_bundles(tmp_path) == []
    # a failed overwrite keeps the previous bundle intact
    monkeypatch.setattr(B, "_write_files", real)
    save_bundle(tiny_bundle, "half", tmp_path)
    before = (tmp_path / "half" / "card.json").read_text()
    monkeypatch.setattr(B, "_write_files", half_then_fail)
    with pytest.raises(WriteError):  # one line for the analyst (was a raw OSError)
        save_bundle(tiny_bundle, "half", tmp_path)
    assert (tmp_path / "half" / "card.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["half"]


def test_list_bundles_skips_incomplete_and_hidden(models_dir, tmp_path):
    shutil.copytree(models_dir / "tiny", tmp_path / "default")
    shutil.copytree(models_dir / "tiny", tmp_path / "alpha")
    (tmp_path / "broken").mkdir()
    (tmp_path / ".tmp-x-1").mkdir()
    assert list_bundles(tmp_path) == ["default", "alpha"]
    assert list_bundles(tmp_path / "nowhere") == []


def test_incomplete_or_mismatched_bundle_refused(models_dir, tmp_path):
    shutil.copytree(models_dir / "tiny", tmp_path / "t")
    (tmp_path / "t" / "model.keras").unlink()
    with pytest.raises(BundleError, match="model.keras"):
        load_bundle("t", tmp_path)
    shutil.copytree(models_dir / "tiny", tmp_path / "s")
    schema = json.loads((tmp_path / "s" / "schema.json").read_text())
    schema["numeric"] = schema["numeric"][1:]
    (tmp_path / "s" / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(BundleError, match="schema"):
        load_bundle("s", tmp_path)
    with pytest.raises(BundleError, match="no model"):
        load_bundle("absent", tmp_path)


def test_version_mismatch_warns(models_dir, tmp_path):
    shutil.copytree(models_dir / "tiny", tmp_path / "v")
    card = json.loads((tmp_path / "v" / "card.json").read_text())
    card["versions"]["tensorflow"] = "1.0.0"
    (tmp_path / "v" / "card.json").write_text(json.dumps(card))
    with pytest.warns(UserWarning, match="tensorflow 1.0.0"):
        load_bundle("v", tmp_path)


def test_lambda_layer_refused_by_safe_mode(models_dir, tmp_path):
    import keras

    shutil.copytree(models_dir / "tiny", tmp_path / "evil")
    n = json.loads((tmp_path / "evil" / "card.json").read_text())["n_encoded_features"]
    inp = keras.Input(shape=(n,))
    out = keras.layers.Lambda(lambda x: x[:, :1] * 0 + 0.5)(inp)
    keras.Model(inp, out).save(tmp_path / "evil" / "model.keras")
    with pytest.raises(BundleError, match="safely"):
        load_bundle("evil", tmp_path)


def test_symlink_outside_models_dir_refused(models_dir, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    (root / "link").symlink_to(models_dir / "tiny", target_is_directory=True)
    with pytest.raises(BundleError, match="outside"):
        load_bundle("link", root)


def test_shipped_default_bundle_loads_and_matches_the_sample(sample_schema):
    """models/default is reproducible from data/sample_customers.csv (see churn_core/cli.py)."""
    import hashlib

    from churn_core import config
    from churn_core.io.reader import read_table

    b = load_bundle(config.DEFAULT_MODEL_NAME)
    assert b.card["data_sha256"] == hashlib.sha256(config.SAMPLE_CSV.read_bytes()).hexdigest()
    df, _ = read_table(config.SAMPLE_CSV)
    valid = validate(df, b.schema, require_target=True).valid
    te = b.evaluation["test"]
    np.testing.assert_allclose(b.predict_proba(valid.iloc[te["position"]]), te["p"], atol=1e-6)
    assert b.metrics["test"]["roc_auc"] > 0.8


def test_recorded_test_roc_auc_equals_the_recomputed_one(tiny_bundle):
    """The first page shows metrics.json's test ROC-AUC instead of re-evaluating the model."""
    import copy

    from churn_core import workbench as wb

    recomputed = wb.eval_arrays(tiny_bundle).report.roc_auc
    assert wb.test_roc_auc(tiny_bundle) == pytest.approx(recomputed, abs=1e-9)
    bare = copy.copy(tiny_bundle)
    bare.metrics = {}
    assert wb.test_roc_auc(bare) == pytest.approx(recomputed, abs=1e-12)  # recomputed when absent
