"""The compact scoring path: a packed ensemble saved as a block-diagonal Dense chain is
detected exactly and computed member by member, with the Keras model's own probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from churn_core.model.network import TrainConfig, compiled_predict, fit_mlp, member_blocks


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 7)).astype(np.float32)
    y = (X[:, 0] - 0.7 * X[:, 2] + rng.normal(0, 0.5, 500) > 0.5).astype(np.float32)
    return X[:350], y[:350], X[350:], y[350:]


@pytest.fixture(scope="module", params=["tabm-mini", "independent"])
def packed(request, data, tmp_path_factory):
    """A trained 4-member ensemble (2 epochs), saved and reloaded in safe mode like a bundle."""
    import keras

    Xtr, ytr, Xva, yva = data
    cfg = TrainConfig(hidden=(8, 4), members=4, ensemble=request.param, max_epochs=2, patience=2,
                      batch_size=64, seed=5)
    model, _ = fit_mlp(Xtr, ytr, Xva, yva, cfg)
    path = tmp_path_factory.mktemp("packed") / "model.keras"
    model.save(path)
    return keras.saving.load_model(path, safe_mode=True, compile=False), cfg


def test_member_blocks_unpacks_the_diagonal_blocks(packed):
    model, cfg = packed
    parts = member_blocks(model)
    assert parts is not None and parts["members"] == cfg.members
    dense = model.layers[1:]
    w0 = dense[0].get_weights()[0]
    np.testing.assert_array_equal(parts["first"][0], w0)
    for (w, b, act), layer in zip(parts["blocks"], dense[1:-1]):
        kern, bias = layer.get_weights()
        m, h_in, h_out = w.shape
        for k in range(m):  # block k is the kernel's k-th diagonal block, bias slice k its bias
            np.testing.assert_array_equal(w[k], kern[k * h_in:(k + 1) * h_in, k * h_out:(k + 1) * h_out])
            np.testing.assert_array_equal(b[k], bias[k * h_out:(k + 1) * h_out])
        assert act == layer.activation.__name__
    assert [b[2] for b in parts["blocks"]][-1] == "sigmoid"
    np.testing.assert_allclose(parts["head"][0], np.full((cfg.members, 1), 1 / cfg.members))


def test_compact_predict_equals_keras_model(packed):
    model, _ = packed
    X = np.random.default_rng(2).normal(0, 2, size=(3001, model.inputs[0].shape[-1])).astype(np.float32)
    ref = np.asarray(model(X, training=False)).reshape(-1)
    fn = compiled_predict(model, batch_size=1000)  # several batches, a ragged last one
    assert fn.kind == "compact"
    p = fn(X)
    assert p.shape == (len(X),)
    np.testing.assert_allclose(p, ref, atol=1e-6, rtol=0)
    assert fn(X[:0]).shape == (0,)


def test_off_block_weight_falls_back_to_plain_chain(packed):
    import keras

    model, _ = packed
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    layer = clone.layers[2]  # the first block-diagonal layer
    kern, bias = layer.get_weights()
    kern[0, -1] = 0.25  # row of member 0, column of the last member: not block-diagonal any more
    layer.set_weights([kern, bias])
    assert member_blocks(clone) is None
    X = np.random.default_rng(3).normal(size=(50, clone.inputs[0].shape[-1])).astype(np.float32)
    fn = compiled_predict(clone)
    assert fn.kind == "plain"
    np.testing.assert_allclose(fn(X), np.asarray(clone(X, training=False)).reshape(-1), atol=1e-6)


def test_single_mlp_takes_the_plain_path(data):
    Xtr, ytr, Xva, yva = data
    model, _ = fit_mlp(Xtr, ytr, Xva, yva, TrainConfig(hidden=(8, 4), members=1, max_epochs=2,
                                                     patience=2, batch_size=64, seed=5))
    assert member_blocks(model) is None
    fn = compiled_predict(model)
    assert fn.kind == "plain"
    np.testing.assert_allclose(fn(Xva), np.asarray(model(Xva, training=False)).reshape(-1), atol=1e-6)
