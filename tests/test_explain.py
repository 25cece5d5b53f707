"""SHAP per raw column: additivity, signed one-hot grouping, single rows, agreement with the
textbook formula, fast vs exact, the synthetic sample's documented drivers, reason codes.

Reference values come from outside our code: the textbook Shapley formula evaluated coalition
by coalition on hybrid raw rows scored by Keras (same background), Keras' own forward pass,
and hand computation. (shap's own Exact explainer gave the same values to 1e-8 during
development, but spends ~15 s compiling numba code on first use; the benchmark compares with
shap.KernelExplainer.)
"""
from __future__ import annotations

import itertools
import math
import os
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import MissingColumnsError
from churn_core.explain.explanation import ExplainError, Explanation
from churn_core.explain.forward import group_encoded_values, shapley_coefficients
from churn_core.explain.reason_codes import (NON_ACTIONABLE_COLUMNS, global_importance,
                                        non_actionable_present, reason_codes)
from churn_core.explain.shap_values import RawColumnExplainer, explain_sample
from churn_core.model.preprocess import Preprocessor
from churn_core.data.schema import FeatureSchema


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def valid_sample(sample_df, sample_schema):
    """The synthetic sample's valid rows (typed as the app types them)."""
    from churn_core.data.validate import validate

    return validate(sample_df, sample_schema, require_target=True).valid


@pytest.fixture(scope="session")
def explainer(trained_bundle, valid_sample):
    """Explainer of the shared tiny bundle with 50 background rows."""
    return RawColumnExplainer(trained_bundle, valid_sample, background_size=50, seed=3)


@pytest.fixture(scope="session")
def customers(valid_sample):
    """Twelve customers to explain (not the first rows, with a non-default index)."""
    return valid_sample.iloc[100:112]


@pytest.fixture(scope="session")
def exact12(explainer, customers):
    return explainer.explain(customers, method="exact")


def _keras_output(bundle, df):
    """Raw model probability computed by Keras itself (not by our numpy forward pass)."""
    X = bundle.preprocessor.transform(df).astype(np.float32)
    out = np.asarray(bundle.model(X, training=False), dtype=np.float64)
    return out.mean(axis=1) if out.ndim == 2 else out.reshape(-1)  # members' mean probability


def _brute_force_reference(explainer, df):
    """Interventional SHAP by the textbook formula, independent of ``churn_core.explain.shap_values``.

    Builds every hybrid *raw* row (customer values for the coalition's columns, background
    values for the others) as a DataFrame, scores them through the preprocessor and Keras,
    and applies ``phi_j = sum_S |S|!(M-|S|-1)!/M! (v(S+j) - v(S))`` coalition by coalition.
    """
    cols = explainer.columns
    m = len(cols)
    bg = explainer.background[cols].reset_index(drop=True)
    nb = len(bg)
    masks = list(itertools.product((0, 1), repeat=m))
    big = pd.concat([bg] * len(masks), ignore_index=True).astype(object)
    out = np.zeros((len(df), m))
    for r in range(len(df)):
        x = df[cols].iloc[r]
        rows = big.copy()
        for j, c in enumerate(cols):
            take = np.repeat([mask[j] for mask in masks], nb).astype(bool)
            rows.loc[take, c] = x[c]
        f = _keras_output(explainer.bundle, rows).reshape(len(masks), nb).mean(axis=1)
        v = dict(zip(masks, f))
        for j in range(m):
            for mask in masks:
                if mask[j] == 0:
                    size = sum(mask)
                    w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                    v_with = v[mask[:j] + (1,) + mask[j + 1:]]
                    out[r, j] += w * (v_with - v[mask])
    return out, float(_keras_output(explainer.bundle, bg).mean())


# ---------------------------------------------------------------------------- grouping
def test_signed_grouping_of_one_hot_values():
    # encoded SHAP values: Age, Geo=France, Geo=Germany, Geo=Spain
    values = np.array([[0.30, 0.20, -0.50, 0.10],
                       [-0.05, -0.10, 0.40, -0.25]])
    blocks = [("Age", 0, 1), ("Geo", 1, 4)]
    grouped = group_encoded_values(values, blocks)
    np.testing.assert_allclose(grouped, [[0.30, -0.20], [-0.05, 0.05]], atol=1e-12)
    # additivity survives grouping; absolute values would not
    np.testing.assert_allclose(grouped.sum(axis=1), values.sum(axis=1), atol=1e-12)


def _two_column_bundle(weights, bias=0.0, activation="linear"):
    """Hand-made bundle: Age (numeric, scaled) + Geo (one-hot France/Germany/Spain)."""
    import keras

    pre = Preprocessor(["Age"], ["Geo"], medians={"Age": 40.0}, means={"Age": 40.0},
                       scales={"Age": 10.0}, categories={"Geo": ["France", "Germany", "Spain"]})
    inp = keras.Input(shape=(4,))
    out = keras.layers.Dense(1, activation=activation)(inp)
    model = keras.Model(inp, out)
    model.layers[-1].set_weights([np.asarray(weights, np.float32).reshape(4, 1),
                                  np.array([bias], np.float32)])
    schema = FeatureSchema(numeric=["Age"], categorical=["Geo"])
    return types.SimpleNamespace(model=model, preprocessor=pre, schema=schema)


def test_two_column_case_with_known_values():
    # f = 0.3*(Age-40)/10 + 0.2*[France] + 0.5*[Germany] - 0.1*[Spain] + 0.05
    bundle = _two_column_bundle([0.3, 0.2, 0.5, -0.1], bias=0.05)
    background = pd.DataFrame({"Age": [30.0, 50.0], "Geo": ["France", "Spain"]})
    ex = RawColumnExplainer(bundle, background, background_size=2)
    customer = pd.DataFrame({"Age": [60.0], "Geo": ["Germany"]})
    for method in ("exact", "fast"):
        e = ex.explain(customer, method=method)
        # linear model, independent background: phi_j = w_block . (x_block - mean(b_block))
        # Age: 0.3 * (2.0 - 0.0) = 0.6 ; Geo: 0.2*(0-0.5) + 0.5*(1-0) - 0.1*(0-0.5) = 0.45
        # (summing absolute encoded values would give 0.1 + 0.5 + 0.05 = 0.65)
        np.testing.assert_allclose(e.values[0], [0.6, 0.45], atol=1e-6)
        assert e.base_value == pytest.approx(0.05 + 0.5 * 0.2 - 0.5 * 0.1, abs=1e-6)
        assert e.output[0] == pytest.approx(0.05 + 0.6 + 0.5, abs=1e-6)


def test_shapley_coefficients_two_players():
    # phi_1 = 1/2 [v(1) - v()] + 1/2 [v(12) - v(2)]  (masks ordered by bits: {}, {1}, {2}, {12})
    c = shapley_coefficients(2)
    np.testing.assert_allclose(c[:, 0], [-0.5, 0.5, -0.5, 0.5])
    np.testing.assert_allclose(c[:, 1], [-0.5, -0.5, 0.5, 0.5])


# ---------------------------------------------------------------------------- correctness
def test_exact_equals_brute_force_formula(explainer, customers, exact12):
    ref_values, ref_base = _brute_force_reference(explainer, customers.iloc[:2])
    np.testing.assert_allclose(exact12.values[:2], ref_values, atol=1e-6)
    assert exact12.base_value == pytest.approx(ref_base, abs=1e-6)


def test_additivity_every_row_exact_and_fast(explainer, trained_bundle, customers, exact12):
    keras_p = _keras_output(trained_bundle, customers)
    fast = explainer.explain(customers, method="fast")
    for e in (exact12, fast):
        assert e.output_space == "probability"
        np.testing.assert_allclose(e.output, keras_p, atol=1e-5)
        np.testing.assert_allclose(e.base_value + e.values.sum(axis=1), keras_p, atol=1e-5)
    # the raw output is the bundle's uncalibrated probability
    np.testing.assert_allclose(exact12.output, trained_bundle.predict_proba(customers, calibrated=False),
                               atol=1e-5)
    # base value = mean model output over the background rows
    assert exact12.base_value == pytest.approx(
        _keras_output(trained_bundle, explainer.background).mean(), abs=1e-6)


def test_single_row_explained_alone(explainer, customers, exact12):
    one = customers.iloc[[4]]
    for method in ("exact", "fast", "auto"):
        e = explainer.explain(one, method=method)
        assert e.values.shape == (1, explainer.n_columns)
        assert list(e.index) == list(one.index)
        assert e.base_value + e.values.sum() == pytest.approx(float(e.output[0]), abs=1e-5)
    np.testing.assert_allclose(explainer.explain(one, method="exact").values[0], exact12.values[4],
                               atol=1e-10)


def test_fast_agrees_with_exact(explainer, customers, exact12):
    fast = explainer.explain(customers, method="fast")
    assert fast.method == "fast" and fast.n_permutations >= 2
    corr = np.corrcoef(fast.values.ravel(), exact12.values.ravel())[0, 1]
    assert corr >= 0.995
    assert np.abs(fast.values - exact12.values).max() <= 0.02
    # deterministic for a given seed
    np.testing.assert_array_equal(fast.values, explainer.explain(customers, method="fast").values)


def _odd_model(n_inputs):
    """A model outside the plain Dense chain (LayerNormalization), plus a BN-chain model."""
    import keras

    keras.utils.set_random_seed(5)
    inp = keras.Input(shape=(n_inputs,))
    x = keras.layers.Dense(8, activation="relu")(inp)
    x = keras.layers.LayerNormalization()(x)
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    odd = keras.Model(inp, out)
    inp = keras.Input(shape=(n_inputs,))
    x = keras.layers.Dense(8)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    bn = keras.Model(inp, out)
    bnl = bn.layers[2]
    rng = np.random.default_rng(0)
    bnl.set_weights([rng.uniform(0.5, 2, 8), rng.normal(0, 0.5, 8), rng.normal(0, 0.5, 8),
                     rng.uniform(0.5, 2, 8)])
    return odd, bn


def test_weights_path_and_forward_path_agree(trained_bundle, valid_sample, customers):
    n_in = trained_bundle.preprocessor.n_features_out
    odd, bn = _odd_model(n_in)
    rows = customers.iloc[:3]
    # a layer the weights path does not know -> the model's own forward pass
    b_odd = types.SimpleNamespace(model=odd, preprocessor=trained_bundle.preprocessor,
                                  schema=trained_bundle.schema)
    e_odd = RawColumnExplainer(b_odd, valid_sample, background_size=20)
    assert e_odd.path == "forward"
    ex = e_odd.explain(rows, method="exact")
    np.testing.assert_allclose(ex.base_value + ex.values.sum(axis=1), _keras_output(b_odd, rows),
                               atol=1e-5)
    ref, _ = _brute_force_reference(e_odd, rows)
    np.testing.assert_allclose(ex.values, ref, atol=1e-6)
    # BatchNormalization + Activation + Dropout chain: both paths give the same values
    b_bn = types.SimpleNamespace(model=bn, preprocessor=trained_bundle.preprocessor,
                                 schema=trained_bundle.schema)
    w = RawColumnExplainer(b_bn, valid_sample, background_size=20, path="weights")
    f = RawColumnExplainer(b_bn, valid_sample, background_size=20, path="forward")
    assert RawColumnExplainer(b_bn, valid_sample, background_size=20).path == "weights"
    for method in ("exact", "fast"):
        np.testing.assert_allclose(w.explain(rows, method=method).values,
                                   f.explain(rows, method=method).values, atol=2e-6)


# ---------------------------------------------------------------------------- the synthetic mechanism
@pytest.fixture(scope="module")
def synthetic_explanation():
    """A small model trained on 6,000 synthetic customers (the shared tiny bundle sees only
    3,000 rows and overfits one no-effect column a little), explained on 600 of them."""
    from churn_core.data.infer import infer_schema
    from churn_core.model.network import TrainConfig
    from churn_core.data.synthetic import make_bank_customers
    from churn_core.model.train import train_bundle
    from churn_core.data.validate import validate

    df = make_bank_customers(n=6_000, seed=7).astype(str)
    schema = infer_schema(df, target="Exited", positive_label="1")
    cfg = TrainConfig(hidden=(16, 8), max_epochs=30, patience=4, batch_size=256,
                      learning_rate=0.01, l2=1e-3, seed=0, recipe="quick")
    bundle = train_bundle(df, schema, cfg, name="synthetic_explain")
    valid = validate(df, schema, require_target=True).valid
    ex = RawColumnExplainer(bundle, valid, background_size=50, seed=3)
    return ex.explain(valid.iloc[:600], method="fast")


def test_true_drivers_rank_highest_on_synthetic_sample(synthetic_explanation):
    from churn_core.data.synthetic import NO_EFFECT_COLUMNS, TRUE_DRIVERS

    expl = synthetic_explanation
    imp = global_importance(expl)
    np.testing.assert_allclose(imp[expl.columns].to_numpy(), np.abs(expl.values).mean(axis=0))
    assert set(imp.index) == set(TRUE_DRIVERS) | set(NO_EFFECT_COLUMNS)
    # every documented driver ranks above every column without effect
    assert set(imp.index[: len(TRUE_DRIVERS)]) == set(TRUE_DRIVERS), imp
    for c in NO_EFFECT_COLUMNS:
        assert imp[c] < 0.10 * imp.iloc[0], imp


# ---------------------------------------------------------------------------- reason codes
def _hand_explanation():
    data = pd.DataFrame({"Age": [57.0, 30.0, 41.0], "Geography": ["Germany", "France", None],
                         "IsActiveMember": [0.0, 1.0, 0.0], "Balance": [1250.5, 0.0, np.nan]},
                        index=[10, 11, 12])
    values = np.array([[0.20, 0.05, 0.10, -0.01],
                       [-0.10, -0.02, -0.03, -0.01],
                       [0.00, 0.04, -0.10, 0.02]])
    return Explanation(values=values, base_value=0.2, output=0.2 + values.sum(axis=1),
                       columns=list(data.columns), data=data,
                       numeric=["Age", "IsActiveMember", "Balance"], method="exact",
                       background_size=10, binary=["IsActiveMember"])


def test_reason_codes_plain_words_positive_only():
    rc = reason_codes(_hand_explanation())
    assert list(rc.columns) == ["reason_1", "reason_2", "reason_3"]
    assert list(rc.index) == [10, 11, 12]
    assert rc.loc[10].tolist() == ["Age 57 raises risk", "IsActiveMember = 0 raises risk",
                                   "Geography = Germany raises risk"]
    assert rc.loc[11].tolist() == ["", "", ""]  # nothing pushes risk up
    # zero is not a reason; a missing value says so
    assert rc.loc[12].tolist() == ["Geography missing raises risk", "Balance missing raises risk", ""]


def test_reason_codes_actionable_only():
    expl = _hand_explanation()
    excluded = non_actionable_present(expl.columns)
    assert excluded == ["Age", "Geography"]
    assert "Age" in NON_ACTIONABLE_COLUMNS
    rc = reason_codes(expl, exclude=excluded)
    assert rc.loc[10].tolist() == ["IsActiveMember = 0 raises risk", "", ""]
    # case-insensitive, and top=1
    rc1 = reason_codes(expl, top=1, exclude=["age"])
    assert rc1.loc[10].tolist() == ["IsActiveMember = 0 raises risk"]


def test_reason_codes_from_a_real_explanation(explainer, customers, exact12):
    rc = reason_codes(exact12)
    for i in range(len(customers)):
        pos = exact12.values[i] > 0
        n_reasons = int((rc.iloc[i] != "").sum())
        assert n_reasons == min(3, int(pos.sum()))
        best = exact12.columns[int(np.argmax(exact12.values[i]))]
        if pos.any():
            assert rc.iloc[i, 0].startswith(best) and rc.iloc[i, 0].endswith("raises risk")


# ---------------------------------------------------------------------------- sampling, errors
def test_explain_sample_states_the_sample(explainer, valid_sample):
    df = valid_sample.iloc[:40]
    e = explain_sample(explainer, df, max_rows=15, seed=1)
    assert len(e) == 15 and set(e.index) <= set(df.index)
    assert e.index.is_monotonic_increasing
    assert "15 of 40" in e.sample_note and "15 of 40" in e.method_description
    small = explain_sample(explainer, df.iloc[:5], max_rows=15)
    assert len(small) == 5 and small.sample_note is None


def test_errors_name_the_problem(explainer, customers):
    with pytest.raises(MissingColumnsError, match="Age"):
        explainer.explain(customers.drop(columns=["Age"]))
    with pytest.raises(ExplainError, match="method"):
        explainer.explain(customers, method="kernel")
    with pytest.raises(ExplainError, match="no rows"):
        explainer.explain(customers.iloc[:0])


def test_exact_refuses_too_many_columns():
    import keras

    cols = [f"x{i}" for i in range(17)]
    pre = Preprocessor(cols, [], medians=dict.fromkeys(cols, 0.0), means=dict.fromkeys(cols, 0.0),
                       scales=dict.fromkeys(cols, 1.0), categories={})
    inp = keras.Input(shape=(17,))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(inp))
    bundle = types.SimpleNamespace(model=model, preprocessor=pre,
                                   schema=FeatureSchema(numeric=cols))
    rng = np.random.default_rng(0)
    bg = pd.DataFrame(rng.normal(size=(30, 17)), columns=cols)
    ex = RawColumnExplainer(bundle, bg, background_size=10)
    with pytest.raises(ExplainError, match="17 raw columns"):
        ex.explain(bg.iloc[:1], method="exact")
    auto = ex.explain(bg.iloc[:1], method="auto")  # falls back to sampling, still additive
    assert auto.method == "fast"
    assert auto.base_value + auto.values.sum() == pytest.approx(float(auto.output[0]), abs=1e-5)
    # logistic model with independent inputs: exact SHAP has no closed form, but the sum does
    np.testing.assert_allclose(auto.output, bundle.model(bg.iloc[:1].to_numpy(np.float32)).numpy().ravel(),
                               atol=1e-6)


# ---------------------------------------------------------------------------- figures
def test_figures_show_the_explanation(exact12, explainer, customers):
    from churn_core.figures import explain as figs

    fast = explainer.explain(customers, method="fast")
    imp = np.abs(fast.values).mean(axis=0)
    order = [fast.columns[j] for j in np.argsort(-imp, kind="stable")]
    bar = figs.importance_figure(fast).data[0]
    assert list(bar.y) == order
    np.testing.assert_allclose(bar.x, np.sort(imp)[::-1])

    swarm = figs.beeswarm_figure(fast, max_display=4).data[0]
    assert swarm.name == "SHAP values" and len(swarm.x) == 4 * len(fast)
    np.testing.assert_allclose(np.sort(swarm.x),
                               np.sort(fast.values[:, [fast.columns.index(c) for c in order[:4]]].ravel()))

    cat = next(c for c in fast.columns if c not in fast.numeric)
    num = next(c for c in fast.columns if c in fast.numeric)
    dep = figs.dependence_figure(fast, num, color_by=cat)
    assert {t.name for t in dep.data} == {f"{cat} = {v}" for v in fast.data[cat].astype(str)}
    assert sum(len(t.y) for t in dep.data) == len(fast)
    np.testing.assert_allclose(np.sort(np.concatenate([t.y for t in dep.data])),
                               np.sort(fast.values[:, fast.columns.index(num)]))
    with pytest.raises(KeyError, match="nope"):
        figs.dependence_figure(fast, "nope")

    one = exact12.row(3)
    for max_display, with_table in ((20, False), (3, True)):
        fig = figs.waterfall_figure(one, max_display=max_display, with_table=with_table)
        wf = next(t for t in fig.data if t.name == "SHAP waterfall")
        x = np.asarray(wf.x, dtype=float)
        assert x[0] == pytest.approx(one.base_value)
        assert x[0] + x[1:-1].sum() == pytest.approx(float(one.output[0]), abs=1e-5)
        assert x[-1] == pytest.approx(float(one.output[0]))
        assert len(x) == 2 + min(max_display, len(one.columns)) + (len(one.columns) > max_display)
    table = next(t for t in fig.data if t.name == "customer values")
    assert len(table.cells.values[0]) == len(one.columns)
    ct = figs.customer_table(one)
    assert list(ct["shap_value"].abs()) == sorted(np.abs(one.values[0]), reverse=True)
    age = ct.set_index("column").loc["Age", "value"]
    assert age == f"{int(float(one.data['Age'].iloc[0])):,}"


def test_progress_and_thread_count_do_not_change_values(explainer, valid_sample):
    rows = valid_sample.iloc[:150]
    calls = []
    threads = explainer.n_threads
    try:
        explainer.n_threads = 1
        one = explainer.explain(rows, method="fast", progress=lambda d, t, msg: calls.append((d, t)))
        explainer.n_threads = 2
        two = explainer.explain(rows, method="fast")
    finally:
        explainer.n_threads = threads
    np.testing.assert_array_equal(one.values, two.values)
    assert calls and calls[-1] == (150, 150)
    assert all(a <= b for (a, _), (b, _) in zip(calls, calls[1:]))
    # at most one call per hundredth of the rows, then the last (a page's bar is a message each)
    assert len(calls) <= 101
    assert all(b - a >= 150 // 100 for (a, _), (b, _) in zip(calls[:-1], calls[1:-1]))


def test_progress_is_reported_at_most_once_per_hundredth():
    from churn_core.explain.shap_values import _throttled

    seen = []
    report = _throttled(lambda d, t, m: seen.append(d), 1000, min_interval=0.0)
    for done in range(1, 1001):
        report(done, 1000, "")
    assert seen == list(range(10, 1001, 10))
    seen.clear()
    report = _throttled(lambda d, t, m: seen.append(d), 1000, min_interval=0.0)
    for done in (3, 9, 12, 25, 999, 1000):  # uneven chunks: every 10 rows at most, and the end
        report(done, 1000, "")
    assert seen == [12, 25, 999, 1000]
    # ... and at most once per min_interval seconds (a fake clock: 0.1 s per call)
    seen.clear()
    ticks = iter([i * 0.1 for i in range(2000)])
    report = _throttled(lambda d, t, m: seen.append(d), 1000, min_interval=0.25,
                        clock=lambda: next(ticks))
    for done in range(10, 1001, 10):
        report(done, 1000, "")
    assert seen[:3] == [30, 60, 90] and seen[-1] == 1000 and len(seen) == 34
    assert _throttled(None, 1000) is None


def test_loaded_bundle_uses_the_weights_path(tiny_bundle, valid_sample, explainer, customers, exact12):
    """A bundle reloaded from disk (Keras safe mode) is explained the same way, same values."""
    ex = RawColumnExplainer(tiny_bundle, valid_sample, background_size=50, seed=3)
    assert ex.path == "weights" and explainer.path == "weights"
    np.testing.assert_allclose(ex.explain(customers.iloc[:2], method="exact").values,
                               exact12.values[:2], atol=1e-6)


def test_packed_ensemble_model_takes_the_bundles_forward_pass(trained_bundle, valid_sample, customers):
    """A packed ensemble (one Dense for all members' first layers, EinsumDense per member,
    output = members' mean probability) is explained through the bundle's predict_encoded."""
    import keras

    keras.utils.set_random_seed(11)
    m, n_in = 4, trained_bundle.preprocessor.n_features_out
    inp = keras.Input(shape=(n_in,))
    x = keras.layers.Dense(m * 8, activation="relu")(inp)
    x = keras.layers.Reshape((m, 8))(x)
    x = keras.layers.EinsumDense("bkh,khj->bkj", output_shape=(m, 4), bias_axes="kj",
                                 activation="relu")(x)
    x = keras.layers.EinsumDense("bkh,kho->bko", output_shape=(m, 1), bias_axes="ko",
                                 activation="sigmoid")(x)
    model = keras.Model(inp, keras.layers.Reshape((m,))(x))
    bundle = types.SimpleNamespace(
        model=model, preprocessor=trained_bundle.preprocessor, schema=trained_bundle.schema,
        predict_encoded=lambda X: np.asarray(model(np.asarray(X, np.float32)), np.float64).mean(axis=1))
    ex = RawColumnExplainer(bundle, valid_sample, background_size=20)
    assert ex.path == "forward"
    rows = customers.iloc[:2]
    e = ex.explain(rows, method="exact")
    np.testing.assert_allclose(e.base_value + e.values.sum(axis=1), _keras_output(bundle, rows), atol=1e-5)
    ref, _ = _brute_force_reference(ex, rows)
    np.testing.assert_allclose(e.values, ref, atol=1e-6)
    f = ex.explain(rows, method="fast")
    np.testing.assert_allclose(f.base_value + f.values.sum(axis=1), _keras_output(bundle, rows), atol=1e-5)


def _keras_dense_kernels(model):
    """(kernel, bias) of every Dense layer of a Keras model, read with Keras' own API."""
    return [tuple(np.asarray(w, np.float64) for w in layer.get_weights())
            for layer in model.layers if type(layer).__name__ == "Dense"]


def test_default_orders_depend_on_effective_model_size(explainer, customers):
    from churn_core.explain.shap_values import DEFAULT_PERMUTATIONS, LARGE_MODEL_PARAMS

    # effective cost per hybrid row, counted here from the Keras weights: M x h1 for the first
    # layer (computed per column) plus the non-zero weights and biases of the later layers
    dense = _keras_dense_kernels(explainer.bundle.model)
    (w1, b1), rest = dense[0], dense[1:]
    effective = (explainer.n_columns * w1.shape[1] + np.count_nonzero(b1)
                 + sum(np.count_nonzero(w) + np.count_nonzero(b) for w, b in rest))
    assert explainer.effective_params == effective
    # zeros off the members' diagonal blocks are not parameters
    assert effective < explainer.bundle.model.count_params()
    expected = 2 if effective > LARGE_MODEL_PARAMS else DEFAULT_PERMUTATIONS
    assert explainer.default_permutations == expected
    e = explainer.explain(customers.iloc[:3], method="fast")
    assert e.n_permutations == expected
    assert f"{expected} column orders" in e.method_description


# ---------------------------------------------------------------------------- packed ensembles
def test_block_diagonal_structure_found_on_the_packed_model(explainer, tiny_cfg):
    """The default recipe's served model stores each member in its own diagonal block."""
    assert tiny_cfg.members > 1 and explainer.path == "weights"
    net = explainer.net
    assert net.use_blocks and net.members == tiny_cfg.members
    dense = _keras_dense_kernels(explainer.bundle.model)
    k = tiny_cfg.members
    widths = (tiny_cfg.hidden[0],) + tuple(tiny_cfg.hidden[1:]) + (1,)
    # every kernel after the first is (k*h_in, k*h_out) with member blocks on the diagonal
    for (w, _), h_in, h_out in zip(dense[1:-1], widths[:-1], widths[1:]):
        assert w.shape == (k * h_in, k * h_out)
        off = w.copy()
        for j in range(k):
            off[j * h_in:(j + 1) * h_in, j * h_out:(j + 1) * h_out] = 0
        assert not off.any()
    # the block stages are exactly those kernels; the members' mean layer stays dense
    assert net.block_stop == len(dense) - 1


def test_block_detection_needs_exact_zeros():
    """The explainer finds a packed ensemble as scoring does (``member_blocks``): exact zeros
    off the diagonal blocks, else the plain dense products."""
    import keras

    from churn_core.explain.forward import _Network

    rng = np.random.default_rng(0)
    k, a, n_in = 4, 3, 5
    w2 = np.zeros((k * a, k), np.float32)
    for j in range(k):
        w2[j * a:(j + 1) * a, j] = rng.normal(size=a)
    inp = keras.Input(shape=(n_in,))
    layers = [keras.layers.Dense(k * a, activation="relu"),
              keras.layers.Dense(k, activation="sigmoid"), keras.layers.Dense(1)]
    x = inp
    for layer in layers:
        x = layer(x)
    model = keras.Model(inp, x)
    layers[2].set_weights([np.full((k, 1), 1 / k, np.float32), np.zeros(1, np.float32)])
    X = rng.normal(size=(6, n_in))
    for off, expected in ((0.0, (k, 2, True)), (1e-9, (1, 1, False))):
        w2[0, -1] = off  # one tiny weight off the blocks: not block-diagonal any more
        layers[1].set_weights([w2, np.zeros(k, np.float32)])
        net = _Network(types.SimpleNamespace(model=model), n_in)
        assert (net.members, net.block_stop, net.use_blocks) == expected
        keras_out = np.asarray(model(X.astype(np.float32))).reshape(-1)
        np.testing.assert_allclose(net.predict_encoded(X), keras_out, atol=1e-6)


def test_block_path_equals_dense_path_and_the_model(trained_bundle, valid_sample, customers):
    """Per-member products give the same values as the dense block-diagonal products, and
    add up to the model's own (Keras) output."""
    blocks = RawColumnExplainer(trained_bundle, valid_sample, background_size=30, seed=7)
    dense = RawColumnExplainer(trained_bundle, valid_sample, background_size=30, seed=7)
    dense.net.use_blocks = False
    assert blocks.net.use_blocks
    rows = customers.iloc[:4]
    X = trained_bundle.preprocessor.transform(rows).astype(np.float64)
    keras_out = _keras_output(trained_bundle, rows)
    for dtype in (np.float64, np.float32):
        np.testing.assert_allclose(blocks.net.predict_encoded(X, dtype),
                                   dense.net.predict_encoded(X, dtype), atol=1e-6)
    np.testing.assert_allclose(blocks.net.predict_encoded(X), keras_out, atol=1e-5)
    for method in ("exact", "fast"):
        eb = blocks.explain(rows, method=method)
        ed = dense.explain(rows, method=method)
        np.testing.assert_allclose(eb.values, ed.values, atol=1e-6)
        np.testing.assert_allclose(eb.base_value + eb.values.sum(axis=1), keras_out, atol=1e-5)
    # the exact values also match the textbook formula scored by Keras itself
    ref, base = _brute_force_reference(blocks, rows.iloc[:1])
    np.testing.assert_allclose(blocks.explain(rows.iloc[:1], method="exact").values, ref, atol=1e-6)
