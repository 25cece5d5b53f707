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


# ---------------------------------------------------------------- the fused first layer
def _packed_chain(d: int, members: int, h0: int, h1: int, seed: int) -> DenseNetwork:
    """A random packed ensemble as ``dense_chain`` saves it (block-diagonal after the first)."""
    rng = np.random.default_rng(seed)

    def block_diag(blocks):
        out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), np.float32)
        r = c = 0
        for b in blocks:
            out[r:r + b.shape[0], c:c + b.shape[1]] = b
            r, c = r + b.shape[0], c + b.shape[1]
        return out

    w0 = rng.normal(0, 0.4, (d, members * h0)).astype(np.float32)
    w1 = block_diag([rng.normal(0, 0.3, (h0, h1)).astype(np.float32) for _ in range(members)])
    w2 = block_diag([rng.normal(0, 0.5, (h1, 1)).astype(np.float32) for _ in range(members)])
    head = np.full((members, 1), 1 / members, np.float32)
    return DenseNetwork([(w0, rng.normal(0, 0.1, members * h0), "relu"),
                         (w1, rng.normal(0, 0.1, members * h1), "relu"),
                         (w2, rng.normal(0, 0.1, members), "sigmoid"), (head, np.zeros(1), "linear")])


def _odd_rows(valid, pre):
    """``valid`` with rows that exercise every rule of the encoding: blanks, unseen and
    missing categories, values below / above the PLE edges, exactly on them, beyond the
    fences (1e39), and infinities."""
    df = valid.copy()
    num, cat = pre.numeric, pre.categorical
    df.iloc[0, [df.columns.get_loc(c) for c in num]] = np.nan
    df.iloc[1, [df.columns.get_loc(c) for c in cat]] = "Mars"
    df.iloc[2, [df.columns.get_loc(c) for c in cat]] = None
    for i, col in enumerate(num):
        e = pre.edges.get(col, [0.0, 1.0])
        at = df.columns.get_loc(col)
        df.iloc[3, at], df.iloc[4, at] = e[0] - 1.0, e[-1] + 1.0  # below / above the edges
        df.iloc[5, at], df.iloc[6, at] = e[0], e[-1]  # on the outer edges
        df.iloc[7, at] = e[min(i + 1, len(e) - 1)]  # on an inner edge
        df.iloc[8, at], df.iloc[9, at], df.iloc[10, at] = 1e39, -1e39, np.inf  # past the fences
    return df


@pytest.fixture(scope="module")
def valid_rows(sample_df, sample_schema):
    from churn_core.data.validate import validate

    return validate(sample_df, sample_schema, require_target=True).valid


@pytest.mark.parametrize("options", [
    {"numeric_encoding": "ple"},
    {"numeric_encoding": "ple", "missing_indicator": True, "ple_bins": 4},
    {"numeric_encoding": "standard", "missing_indicator": True},
], ids=["ple", "ple-flags-4-bins", "standard"])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "single"])
@pytest.mark.parametrize("group_rows", [1024, 4], ids=["one-table", "split-tables"])
def test_fused_first_layer_equals_the_dense_product(valid_rows, sample_schema, options, packed,
                                                     group_rows, monkeypatch):
    from churn_core.model import fused
    from churn_core.model.preprocess import Preprocessor

    monkeypatch.setattr(fused, "MAX_GROUP_ROWS", group_rows)
    train = valid_rows.iloc[:2000].copy()
    train.iloc[::7, train.columns.get_loc(sample_schema.numeric[0])] = np.nan  # blanks -> a flag
    pre = Preprocessor.fit(train, sample_schema, **options)
    assert bool(pre.missing_indicator) == bool(options.get("missing_indicator"))
    d = pre.n_features_out
    net = _packed_chain(d, 4, 8, 4, seed=7) if packed else DenseNetwork(
        [(np.random.default_rng(8).normal(0, 0.4, (d, 12)).astype(np.float32), np.full(12, 0.1), "relu"),
         (np.random.default_rng(9).normal(0, 0.4, (12, 1)).astype(np.float32), np.zeros(1), "sigmoid")])
    assert (net.parts is not None) == packed
    layer = fused.fused_first_layer(net, pre)
    assert layer is not None and fused.fused_first_layer(net, pre) is layer  # built once
    df = _odd_rows(valid_rows.iloc[2000:2600], pre)
    X = pre.transform(df)
    w, b, _ = net.layers[0]
    exact = X.astype(np.float64) @ w.astype(np.float64) + b
    got = np.vstack([h for _, h in layer.batches(df, 256)])
    assert got.dtype == np.float32 and got.shape == exact.shape
    # float32 rounding of a sum of at most a few hundred terms of this size
    assert np.abs(got - exact).max() <= 2e-5 * max(1.0, np.abs(exact).max())
    p_dense = net.predict(X)
    p_fused = net.predict_batches(layer.batches(df, 256), len(df), first_layer=True)
    assert np.abs(p_fused - p_dense).max() <= 2e-6
    # the first layer of a row has the same bytes in any batch (each row is summed alone);
    # the later layers' BLAS products depend on the batch, as on the dense path
    assert np.vstack([h for _, h in layer.batches(df, 37)]).tobytes() == got.tobytes()
    assert next(layer.batches(df.iloc[[4]], 256))[1].tobytes() == got[4:5].tobytes()
    assert net.predict_batches(layer.batches(df, 256), len(df), first_layer=True).tobytes() == p_fused.tobytes()
    one = df.iloc[[4]]
    assert abs(net.predict_batches(layer.batches(one, 256), 1, first_layer=True)[0] - p_dense[4]) <= 2e-6
    # a whole categorical column missing, another unseen: their one-hot blocks are all zeros
    blank = df.copy()
    blank[pre.categorical[0]] = None
    blank[pre.categorical[-1]] = "never seen"
    X = pre.transform(blank)
    assert not X[:, pre.blocks[len(pre.numeric)][1]:pre.blocks[len(pre.numeric)][2]].any()
    p = net.predict_batches(layer.batches(blank, 4096), len(blank), first_layer=True)
    assert np.abs(p - net.predict(X)).max() <= 2e-6


def test_bundles_score_with_the_fused_layer_like_the_dense_path(tiny_bundle, valid_rows, monkeypatch):
    """The shipped default model (10,000 real-shaped rows) and the tiny test bundle: the
    probabilities of ``predict_proba`` (fused) within 2e-6 of the encoded matrix's, the same
    labels except within 1e-6 of the threshold, the same bytes call after call."""
    from churn_core import config
    from churn_core.data.validate import validate
    from churn_core.io.reader import read_table
    from churn_core.model import fused

    default = load_bundle(config.DEFAULT_MODEL_NAME, ROOT / "models")
    df, _ = read_table(config.SAMPLE_CSV)
    rows = validate(df, default.schema, require_target=False).valid
    for bundle, valid in ((default, rows), (tiny_bundle, valid_rows)):
        pre, net = bundle.preprocessor, bundle.light_network()
        odd = _odd_rows(valid, pre)
        assert fused.fused_first_layer(net, pre) is not None
        p = bundle.predict_proba(odd, calibrated=False)
        p_dense = net.predict(pre.transform(odd))
        assert np.abs(p - p_dense).max() <= 2e-6
        t = bundle.default_threshold
        differ = (p >= t) != (p_dense >= t)
        assert np.all(np.abs(p_dense[differ] - t) <= 1e-6)
        assert bundle.predict_proba(odd, calibrated=False).tobytes() == p.tobytes()
        assert abs(bundle.predict_proba(odd.iloc[4:5], calibrated=False)[0] - p_dense[4]) <= 2e-6
    # a model too wide for the tables is scored by the dense path, bit for bit as before
    monkeypatch.setattr(fused, "MAX_TABLE_BYTES", 0)
    net.__dict__.pop("_fused", None)
    assert fused.fused_first_layer(net, pre) is None
    dense = tiny_bundle.predict_proba(valid_rows, calibrated=False)
    assert dense.tobytes() == net.predict(pre.transform(valid_rows)).tobytes()
    net.__dict__.pop("_fused", None)


def test_the_fused_layer_follows_a_changed_preprocessor(valid_rows, sample_schema):
    from churn_core.model.fused import fused_first_layer
    from churn_core.model.preprocess import Preprocessor

    pre = Preprocessor.fit(valid_rows.iloc[:1000], sample_schema, numeric_encoding="ple")
    net = _packed_chain(pre.n_features_out, 2, 4, 2, seed=1)
    first = fused_first_layer(net, pre)
    pre.means[pre.numeric[0]] += 1.0
    second = fused_first_layer(net, pre)
    assert second is not first
    df = valid_rows.iloc[1000:1100]
    p = net.predict_batches(second.batches(df, 64), len(df), first_layer=True)
    assert np.abs(p - net.predict(pre.transform(df))).max() <= 2e-6
    other = _packed_chain(pre.n_features_out + 1, 2, 4, 2, seed=1)
    assert fused_first_layer(other, pre) is None  # the encoding does not feed this network
