"""Scoring without TensorFlow: model.keras read as data, NumPy forward pass equal to Keras'.

The subprocess tests start a fresh interpreter, score (and evaluate, explain) the shipped
default bundle and assert TensorFlow was never imported.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from churn_core.errors import BundleError
from churn_core.model.bundle import load_bundle
from churn_core.model.network import TrainConfig, fit_mlp
from churn_core.model.numpy_net import DenseNetwork, UnsupportedModel, read_keras_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 3] + rng.normal(0, 0.5, 400) > 0.3).astype(np.float32)
    return X[:300], y[:300], X[300:], y[300:]


def _keras_out(model, X):
    return np.asarray(model(X, training=False), dtype=np.float64).reshape(-1)


@pytest.mark.parametrize("cfg", [
    TrainConfig(hidden=(8, 4), members=4, max_epochs=2, patience=2, batch_size=64, seed=3),
    TrainConfig(hidden=(8, 4), members=3, ensemble="independent", max_epochs=2, batch_size=64, seed=4),
    TrainConfig(hidden=(6,), members=1, monitor="val_loss", dropout=0.2, max_epochs=2, batch_size=64, seed=5),
], ids=["tabm-mini", "independent", "single-mlp-dropout"])
def test_numpy_forward_equals_keras(cfg, data, tmp_path):
    Xtr, ytr, Xva, yva = data
    model, _ = fit_mlp(Xtr, ytr, Xva, yva, cfg)
    model.save(tmp_path / "model.keras")
    net = read_keras_file(tmp_path / "model.keras")
    assert net.members == cfg.members
    assert net.count_params() == model.count_params()
    X = np.random.default_rng(0).normal(0, 2, size=(2503, 6)).astype(np.float32)
    p = net.predict(X, batch_size=1000)  # several batches, a ragged last one
    assert p.dtype == np.float64 and p.shape == (2503,)
    np.testing.assert_allclose(p, _keras_out(model, X), atol=1e-6, rtol=0)
    assert net.predict(X[:0]).shape == (0,)
    # a batch longer than BATCH_ROWS adds the bias rows by broadcasting instead of full-batch operands
    np.testing.assert_allclose(net.predict(np.vstack([X, X]), batch_size=2 * len(X)), np.tile(p, 2),
                               atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r"\(n, 6\)"):
        net.predict(X[:, :5])
    # the same network from the in-memory Keras model (what a freshly trained bundle uses)
    mem = DenseNetwork.from_keras(model)
    np.testing.assert_array_equal(mem.predict(X, batch_size=1000), p)  # same weights, same batches


def test_loaded_bundle_scores_like_its_keras_model(tiny_bundle, sample_df, sample_schema):
    from churn_core.data.validate import validate

    valid = validate(sample_df, sample_schema, require_target=True).valid
    X = tiny_bundle.preprocessor.transform(valid)
    assert tiny_bundle.network is not None and tiny_bundle.notes == []
    ours = tiny_bundle.predict_encoded(X)
    np.testing.assert_allclose(ours, _keras_out(tiny_bundle.model, X.astype(np.float32)), atol=1e-6, rtol=0)


def _save_other(tmp_path, models_dir, build):
    """Copy the tiny bundle to ``tmp_path/other`` with ``build(n_inputs)`` as its network."""
    import keras

    shutil.copytree(models_dir / "tiny", tmp_path / "other")
    n = json.loads((tmp_path / "other" / "card.json").read_text())["n_encoded_features"]
    inp = keras.Input(shape=(n,))
    model = keras.Model(inp, build(inp))
    model.save(tmp_path / "other" / "model.keras")
    return model, n


def test_other_architecture_falls_back_to_keras_with_a_note(models_dir, tmp_path):
    import keras

    def build(inp):
        x = keras.layers.Dense(5, activation="relu")(inp)
        x = keras.layers.BatchNormalization()(x)
        return keras.layers.Dense(1, activation="sigmoid")(x)

    model, n = _save_other(tmp_path, models_dir, build)
    with pytest.raises(UnsupportedModel, match="BatchNormalization"):
        read_keras_file(tmp_path / "other" / "model.keras")
    b = load_bundle("other", tmp_path)
    assert b.network is None and len(b.notes) == 1 and "not the plain Dense chain" in b.notes[0]
    X = np.random.default_rng(1).normal(size=(40, n)).astype(np.float32)
    np.testing.assert_allclose(b.predict_encoded(X), _keras_out(model, X), atol=1e-6)


def test_branching_network_is_not_a_chain(models_dir, tmp_path):
    import keras

    def build(inp):
        a = keras.layers.Dense(4, activation="relu")(inp)
        b = keras.layers.Dense(4, activation="relu")(inp)  # fed by the input, not by `a`
        return keras.layers.Dense(1, activation="sigmoid")(keras.layers.Add()([a, b]))

    _save_other(tmp_path, models_dir, build)
    with pytest.raises(UnsupportedModel):
        read_keras_file(tmp_path / "other" / "model.keras")

    def shared(inp):  # one Dense layer called twice
        d = keras.layers.Dense(int(inp.shape[-1]), activation="relu")
        return keras.layers.Dense(1, activation="sigmoid")(d(d(inp)))

    _save_other(tmp_path / "s", models_dir, shared)
    with pytest.raises(UnsupportedModel, match="called once"):
        read_keras_file(tmp_path / "s" / "other" / "model.keras")


def _rewrite(path: Path, config=None, weights=None) -> None:
    """Rewrite ``config.json`` and/or ``model.weights.h5`` inside a .keras archive."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    if config is not None:
        files["config.json"] = json.dumps(config(json.loads(files["config.json"]))).encode()
    if weights is not None:
        files["model.weights.h5"] = weights(files["model.weights.h5"])
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)


def test_hdf5_link_to_another_file_is_refused(models_dir, tmp_path):
    """A weight array that is an HDF5 external link (it would read another file) is refused."""
    import h5py

    shutil.copytree(models_dir / "tiny", tmp_path / "ext")
    path = tmp_path / "ext" / "model.keras"

    def link_out(data):
        buf = io.BytesIO(data)
        with h5py.File(buf, "r+") as f:
            grp = next(f["layers"][k]["vars"] for k in f["layers"] if len(f["layers"][k]["vars"]))
            del grp["0"]
            grp["0"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/kernel")
        return buf.getvalue()

    _rewrite(path, weights=link_out)
    with pytest.raises(UnsupportedModel, match="link"):
        read_keras_file(path)


def test_damaged_archive_and_odd_configs(models_dir, tmp_path):
    shutil.copytree(models_dir / "tiny", tmp_path / "bad")
    path = tmp_path / "bad" / "model.keras"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut off
    with pytest.raises(BundleError, match="damaged"):
        load_bundle("bad", tmp_path)
    path.write_bytes(good)

    def custom_activation(cfg):
        cfg["config"]["layers"][1]["config"]["activation"] = "gelu"
        return cfg

    _rewrite(path, config=custom_activation)
    with pytest.raises(UnsupportedModel, match="gelu"):
        read_keras_file(path)
    path.write_bytes(good)

    def registered(cfg):
        cfg["config"]["layers"][1]["module"] = "my_package.layers"
        return cfg

    _rewrite(path, config=registered)
    with pytest.raises(UnsupportedModel, match="my_package"):
        read_keras_file(path)


def _fresh(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)


@pytest.mark.slow
def test_score_evaluate_and_explain_never_import_tensorflow(tmp_path):
    """A fresh process scores, evaluates and explains the shipped model without TensorFlow."""
    from churn_core import config

    out = tmp_path / "scores.csv"
    code = f"""
import sys
from churn_core.cli import main
assert main(["score", "--model", "models/{config.DEFAULT_MODEL_NAME}", "--data", {str(config.SAMPLE_CSV)!r},
             "--out", {str(out)!r}, "--no-drift-history"]) == 0
assert main(["evaluate", "--model", "models/{config.DEFAULT_MODEL_NAME}", "--data", {str(config.SAMPLE_CSV)!r}]) == 0
from churn_core.io.reader import read_table
from churn_core.data.validate import validate
from churn_core.explain.shap_values import RawColumnExplainer
from churn_core.model.bundle import load_bundle
b = load_bundle({config.DEFAULT_MODEL_NAME!r})
valid = validate(read_table({str(config.SAMPLE_CSV)!r})[0], b.schema, require_target=False).valid
e = RawColumnExplainer(b, valid).explain(valid.iloc[:20], method="fast")
assert e.values.shape == (20, len(b.features)) and e.method == "fast"
print("TF" if "tensorflow" in sys.modules or "keras" in sys.modules else "NO-TF")
"""
    res = _fresh(code)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "NO-TF"
    assert "rows in =" in res.stdout and out.is_file()


def test_the_score_command_imports_neither_tensorflow_nor_scikit_learn(tmp_path):
    """``score`` runs the NumPy forward pass: the training libraries (TensorFlow, Keras,
    scikit-learn, about 0.5-1 CPU-s of imports) are never loaded."""
    from churn_core import config

    out = tmp_path / "scores.csv"
    code = f"""
import sys
from churn_core.cli import main
assert main(["score", "--model", "models/{config.DEFAULT_MODEL_NAME}", "--data", {str(config.SAMPLE_CSV)!r},
             "--out", {str(out)!r}, "--no-drift-history"]) == 0
print(sorted(m for m in ("tensorflow", "keras", "sklearn") if m in sys.modules))
"""
    res = _fresh(code)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[]"
    assert out.is_file()


@pytest.mark.slow
def test_app_pages_other_than_training_never_import_tensorflow(tmp_path):
    """A fresh process renders the first page and every analysis page (AppTest) on the
    shipped model and sample: TensorFlow, Keras and scikit-learn's fitting stay unimported."""
    code = f"""
import shutil, sys
from pathlib import Path
from churn_core import config
shutil.copytree(config.MODELS_DIR / config.DEFAULT_MODEL_NAME, Path({str(tmp_path)!r}) / config.DEFAULT_MODEL_NAME)
config.MODELS_DIR = Path({str(tmp_path)!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(ROOT / "app.py")!r}, default_timeout=240).run()
assert not at.exception, at.exception
pages = ["pages/overview.py", "pages/performance.py", "pages/score_segment.py", "pages/data.py", "pages/explain.py"]
for page in pages:
    at.switch_page(page).run()
    assert not at.exception, (page, at.exception)
print("TF" if {{"tensorflow", "keras"}} & set(sys.modules) else "NO-TF")
"""
    res = _fresh(code)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "NO-TF"
