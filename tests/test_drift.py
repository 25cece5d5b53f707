"""Drift and batch health: reference profile, PSI / effect sizes, the noise-aware verdict,
chunked counting, the history file and the decision log (issue 20)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from churn_core.campaign import drift as D
from churn_core.data.profile import (BLANK, OTHER, SCORE, ReferenceProfile, bin_counts,
                                     build_profile, category_counts)
from churn_core.data.validate import validate


def _valid(df, schema):
    return validate(df, schema, require_target=False).valid


def _drift(bundle, df, source="file.csv"):
    valid = _valid(df, bundle.schema)
    return D.file_drift(bundle.profile, valid, bundle.predict_proba(valid), source=source)


def _resample(df, seed=1, n=None):
    return df.sample(n or len(df), replace=True, random_state=seed)


# ------------------------------------------------------------------ the formulas
def test_psi_matches_its_definition_and_bands():
    e, a = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.4, 0.2])
    assert D.psi(e, a) == pytest.approx(0.1 * np.log(0.4 / 0.5) * -1 + 0.1 * np.log(0.4 / 0.3))
    assert D.psi(e, e) == 0.0
    assert [D.band(x) for x in (0.05, 0.1, 0.2, 0.26)] == ["stable", "moderate", "moderate", "major"]


def test_noise_level_is_the_chi_square_quantile_of_yurdakul():
    from scipy.stats import chi2

    assert D.noise_level(11, 200, 6500) == pytest.approx(chi2.ppf(0.999, 10) * (1 / 200 + 1 / 6500))
    assert D.noise_level(11, 200, 6500) > 0.1  # a 200-row file needs more than the band
    assert D.noise_level(11, 1_000_000, 6500) < 0.01  # a big file: the band decides
    assert D.noise_level(3, 0, 100) == float("inf")


def test_bins_and_categories_count_every_row():
    x = np.array([1.0, 2.0, 2.0, 3.0, np.nan, 10.0])
    assert bin_counts(x, [2.0, 5.0]).tolist() == [3, 1, 1, 1]  # (-inf,2], (2,5], (5,inf), blank
    s = pd.Series(["France", " france", "Italy", "", None, "Spain"])
    counts, unseen = category_counts(s, ["France", "Spain"])
    assert counts.tolist() == [2, 1, 1, 2]  # France (case/space), Spain, not in training, blank
    assert dict(unseen) == {"Italy": 1}
    # cells already matched to the preprocessing's labels count the same, without factorising
    exact = pd.Series(["Spain", None, "france", "Spain", None])
    labels, pos = ["Spain", "france"], np.array([0, -1, 1, 0, -1])
    counts, unseen = category_counts(exact, ["France", "Spain"], (labels, pos))
    assert counts.tolist() == [1, 2, 0, 2] and not unseen
    assert [c.tolist() for c in category_counts(exact, ["France", "Spain"])[:1]] == [counts.tolist()]
    # a label the profile does not know: counted the ordinary way (unseen values in file order)
    counts, unseen = category_counts(exact, ["Spain"], (labels, pos))
    assert counts.tolist() == [2, 1, 2] and list(unseen.items()) == [("france", 1)]


def test_profile_round_trips_as_json_without_rows(sample_df, sample_schema):
    valid = _valid(sample_df, sample_schema)
    prof = build_profile(valid, sample_schema.numeric, sample_schema.categorical,
                         scores=np.linspace(0, 1, len(valid)), tier_cutoffs={"high": 0.5, "medium": 0.25})
    text = json.dumps(prof.to_dict())
    back = ReferenceProfile.from_dict(json.loads(text))
    assert back.to_dict() == prof.to_dict()
    assert back.score["high_share"] == pytest.approx(0.5, abs=1e-3)
    for col, p in back.columns.items():
        assert sum(p["shares"]) == pytest.approx(1.0)
    # aggregates only: no ID or surname value is in the file
    for col in ("CustomerId", "Surname"):
        assert not any(str(v) in text for v in sample_df[col].head(50))
    with pytest.raises(ValueError):
        ReferenceProfile.from_dict({"version": 1, "columns": {"Age": {"kind": "numeric",
                                                                        "edges": [1.0], "shares": [1.0]}}})


def test_chunks_merge_to_the_whole_file(sample_df, sample_schema):
    valid = _valid(sample_df, sample_schema).reset_index(drop=True)
    prof = build_profile(valid.iloc[:1000], sample_schema.numeric, sample_schema.categorical)
    whole = prof.counter(sample_size=500).add(valid)
    parts = prof.counter(sample_size=500)
    for lo in range(0, len(valid), 700):
        parts.merge(prof.counter(sample_size=500).add(valid.iloc[lo:lo + 700]))
    assert parts.rows == whole.rows == len(valid)
    for col in whole.counts:
        np.testing.assert_array_equal(parts.counts[col], whole.counts[col])
    np.testing.assert_array_equal(np.sort(parts.keys), np.sort(whole.keys))  # same sampled rows
    np.testing.assert_allclose(np.sort(parts.sample["Age"]), np.sort(whole.sample["Age"]))


# ------------------------------------------------------------------ acceptance on the model
def test_resample_of_the_training_file_is_like_the_training_data(trained_bundle, sample_df):
    rep = _drift(trained_bundle, _resample(sample_df))
    assert rep.verdict == D.LIKE and rep.columns_behind == []
    assert all(d["psi"] < 0.1 for d in rep.columns.values())
    assert rep.score["psi"] < 0.1 and rep.score["verdict"] == "stable"
    hs = rep.score["high_share"]
    assert abs(hs["file"] - hs["training"]) < 0.03


def test_age_plus_ten_years_flags_age_only(trained_bundle, sample_df):
    df = _resample(sample_df)
    df["Age"] = (pd.to_numeric(df["Age"]) + 10).astype(str)
    rep = _drift(trained_bundle, df)
    assert rep.columns_behind == ["Age"]
    assert rep.columns["Age"]["verdict"] == "major" and rep.columns["Age"]["psi"] > 0.25
    assert rep.verdict == D.DIFFERENT
    iqr = trained_bundle.profile.columns["Age"]["iqr"]
    assert rep.columns["Age"]["effect_size"] == pytest.approx(10 / iqr, rel=0.15)
    assert all(d["verdict"] == "stable" for c, d in rep.columns.items() if c != "Age")
    assert "Age" in rep.headline


def test_new_geography_in_30_percent_of_rows_flags_geography(trained_bundle, sample_df):
    df = _resample(sample_df).reset_index(drop=True)
    rng = np.random.default_rng(3)
    new = rng.random(len(df)) < 0.3
    df.loc[new, "Geography"] = "Italy"
    rep = _drift(trained_bundle, df)
    g = rep.columns["Geography"]
    assert "Geography" in rep.columns_behind and g["verdict"] == "major"
    assert g["unseen_share"]["file"] == pytest.approx(new.mean())
    assert g["unseen_values"] == {"Italy": int(new.sum())}
    assert 0 < g["effect_size"] <= 1  # Jensen-Shannon distance, base 2
    assert any("not seen in training" in n for n in g["notes"])
    assert rep.verdict == D.DIFFERENT


def test_a_200_row_file_does_not_call_noise_drift(trained_bundle, sample_df):
    for seed in range(10):
        rep = _drift(trained_bundle, sample_df.sample(200, random_state=seed))
        assert rep.verdict == D.LIKE, (seed, rep.headline)
    # ... but a real shift still shows at 200 rows
    small = sample_df.sample(200, random_state=0).copy()
    small["Age"] = (pd.to_numeric(small["Age"]) + 10).astype(str)
    assert "Age" in _drift(trained_bundle, small).columns_behind


def test_a_handful_of_rows_is_too_few_to_judge(trained_bundle, sample_df):
    """Two rows leave most bins empty: PSI is large whatever the data (7 on HasCrCard), so no
    verdict is given below MIN_ROWS, and the command-line summary says why."""
    rep = _drift(trained_bundle, sample_df.head(2))
    assert max(d["psi"] for d in rep.columns.values()) > D.PSI_MAJOR  # large, and meaningless
    assert rep.verdict == D.TOO_FEW and rep.columns_behind == []
    assert all(d["verdict"] == D.STABLE for d in rep.columns.values())
    assert rep.headline.startswith("Too few rows to judge drift: 2 scored rows")
    assert all(f"({D.TOO_FEW})" in line for line in D.print_summary(rep)[1:])
    assert _drift(trained_bundle, sample_df.head(D.MIN_ROWS)).verdict == D.LIKE


def test_blank_column_is_reported(trained_bundle, sample_df):
    df = _resample(sample_df).reset_index(drop=True)
    df.loc[: len(df) // 2, "Balance"] = ""
    rep = _drift(trained_bundle, df)
    b = rep.columns["Balance"]
    assert b["verdict"] == "major" and b["blank_share"]["file"] == pytest.approx(0.5, abs=0.01)
    assert any("blank cells" in n for n in b["notes"])


@pytest.mark.realdata
def test_bank_file_profile_and_noise(bank_csv):
    """The bank file, profiled on its own training split (no model needed for the columns)."""
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.network import TrainConfig
    from churn_core.model.train import split_positions

    df, _ = read_table(bank_csv)
    schema = infer_schema(df, target="Exited", positive_label="1")
    res = validate(df, schema, require_target=True)
    tr, _, _ = split_positions(np.asarray(res.y), TrainConfig())
    prof = build_profile(res.valid.iloc[tr], schema.numeric, schema.categorical)

    def run(frame):
        return D.file_drift(prof, _valid(frame, schema))

    assert run(_resample(df, 4)).verdict == D.LIKE
    aged = df.copy()
    aged["Age"] = (pd.to_numeric(aged["Age"]) + 10).astype(str)
    assert run(aged).columns_behind == ["Age"]
    flagged = [run(df.sample(200, random_state=s)).columns_behind for s in range(10)]
    assert flagged == [[]] * 10
    # at 200 rows some columns pass the 0.1 band by chance: the noise rule keeps them stable
    psis = [max(d["psi"] for d in run(df.sample(200, random_state=s)).columns.values())
            for s in range(10)]
    assert max(psis) > 0.1


# ------------------------------------------------------------------ bundle, scoring, history
def test_bundle_saves_and_loads_the_profile(trained_bundle, tiny_bundle, models_dir):
    assert (models_dir / "tiny" / "profile.json").is_file()
    assert tiny_bundle.profile.to_dict() == json.loads(json.dumps(trained_bundle.profile.to_dict()))
    tr = trained_bundle.evaluation["train"]["position"]
    assert tiny_bundle.profile.rows == len(tr)


def test_old_bundle_without_profile_loads_and_says_so(models_dir, tmp_path, sample_df):
    from churn_core import workbench as wb
    from churn_core.model.bundle import load_bundle

    shutil.copytree(models_dir / "tiny", tmp_path / "old")
    (tmp_path / "old" / "profile.json").unlink()
    b = load_bundle("old", tmp_path)
    assert b.profile is None
    data = wb.load_data(sample_df.head(50).reset_index(drop=True).astype(str).to_csv(
        index=False).encode(), name="x.csv")
    view = wb.batch_drift(b, wb.score_data(b, data))
    assert not view.available and view.message == D.NO_PROFILE
    assert "retrain to get drift checks" in D.NO_PROFILE


def test_damaged_profile_warns_and_loads(models_dir, tmp_path):
    from churn_core.model.bundle import load_bundle

    shutil.copytree(models_dir / "tiny", tmp_path / "bad")
    (tmp_path / "bad" / "profile.json").write_text('{"version": 1, "columns": 3}')
    with pytest.warns(UserWarning, match="drift checks are off"):
        b = load_bundle("bad", tmp_path)
    assert b.profile is None


def test_shipped_default_profile_reproduces_from_the_sample():
    """models/default/profile.json = training_profile of its own training split."""
    from churn_core import config
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import load_bundle
    from churn_core.model.train import training_profile

    b = load_bundle(config.DEFAULT_MODEL_NAME)
    assert b.profile is not None
    df, _ = read_table(config.SAMPLE_CSV)
    valid = validate(df, b.schema, require_target=True).valid.iloc[b.evaluation["train"]["position"]]
    again = training_profile(valid, b.schema, b.predict_proba(valid), b.tier_cutoffs, b.card["source"])
    got, want = b.profile.to_dict(), again.to_dict()
    got.pop("created"), want.pop("created")
    assert json.loads(json.dumps(got)).keys() == want.keys()
    assert got["columns"] == json.loads(json.dumps(want["columns"]))
    np.testing.assert_allclose(got["score"]["quantiles"], want["score"]["quantiles"], atol=1e-6)
    assert got["score"]["high_share"] == pytest.approx(want["score"]["high_share"], abs=1 / 6500)


def test_score_file_drift_equals_whole_frame_drift(tiny_bundle, sample_csv, sample_df, tmp_path):
    from churn_core.campaign.scoring import score_file

    info = score_file(tiny_bundle, sample_csv, tmp_path / "s.csv", chunksize=700)
    rep = info["drift"]
    ref = _drift(tiny_bundle, sample_df)
    assert rep.rows == ref.rows == len(sample_df)
    for c in ref.columns:
        assert rep.columns[c]["psi"] == pytest.approx(ref.columns[c]["psi"], abs=1e-12)
        assert rep.columns[c]["effect_size"] == pytest.approx(ref.columns[c]["effect_size"], abs=1e-9)
    assert rep.score["psi"] == pytest.approx(ref.score["psi"], abs=1e-9)
    assert rep.score["high_share"] == ref.score["high_share"]
    assert score_file(tiny_bundle, sample_csv, tmp_path / "t.csv", drift=False)["drift"] is None


def test_history_appends_lines_and_skips_damaged_ones(trained_bundle, sample_df, tmp_path):
    rep = _drift(trained_bundle, sample_df.head(500))
    path = tmp_path / D.HISTORY_FILE
    for sha in ("a", "b"):
        D.append_history(path, D.history_record(rep, "tiny", "t0", sha))
    with open(path, "a") as fh:
        fh.write("{not json\n")
    recs = D.read_history(path)
    assert [r["data_sha256"] for r in recs] == ["a", "b"]
    assert recs[0]["verdict"] == rep.verdict and set(recs[0]["columns"]) == set(rep.columns)
    assert recs[0]["score"]["psi"] == pytest.approx(rep.score["psi"])


def test_workbench_history_and_record_once(trained_bundle, sample_df, tmp_path):
    from churn_core import workbench as wb
    from churn_core.model.bundle import save_bundle

    save_bundle(trained_bundle, "hist", tmp_path)
    data = wb.load_data(sample_df.reset_index(drop=True).to_csv(index=False).encode(), name="m1.csv")
    scores = wb.score_data(trained_bundle, data)
    view = wb.batch_drift(trained_bundle, scores)
    assert wb.record_batch(trained_bundle, scores, view, tmp_path) is True
    assert wb.record_batch(trained_bundle, scores, view, tmp_path) is False  # same file once
    aged = sample_df.reset_index(drop=True).copy()
    aged["Age"] = (pd.to_numeric(aged["Age"]) + 10).astype(str)
    d2 = wb.load_data(aged.to_csv(index=False).encode(), name="m2.csv")
    s2 = wb.score_data(trained_bundle, d2)
    assert wb.record_batch(trained_bundle, s2, wb.batch_drift(trained_bundle, s2), tmp_path)
    hist, key = wb.drift_history("hist", tmp_path, model_created=trained_bundle.card["created"])
    assert hist["file"].tolist() == ["m1.csv", "m2.csv"]
    assert key[0] == "Age" and key[-1] == wb.SCORE_LABEL
    assert hist["Age"].iloc[1] > 0.25 > hist["Age"].iloc[0]
    fig = wb.history_chart(hist, key)
    assert [t.name for t in fig.data] == key
    np.testing.assert_allclose(fig.data[0].y, hist["Age"].to_numpy(float))


def test_drift_goes_into_the_decision_log(trained_bundle, sample_df):
    from churn_core import workbench as wb
    from churn_core.campaign.export import decision_log

    data = wb.load_data(sample_df.reset_index(drop=True).to_csv(index=False).encode(), name="x.csv")
    view = wb.batch_drift(trained_bundle, wb.score_data(trained_bundle, data))
    entry = wb.drift_log(view)
    log = decision_log("tiny", None, "max_f1", 0.3, None, None, 10, 4, {"tier": 6}, drift=entry)
    assert log["drift"]["verdict"] == D.LIKE
    assert set(log["drift"]["columns"]) == set(trained_bundle.schema.features)
    json.dumps(log, allow_nan=False)  # strict JSON
    assert "drift" not in decision_log("tiny", None, "max_f1", 0.3, None, None, 1, 1, {})


def test_figures_draw_the_precomputed_bins(trained_bundle, sample_df):
    from churn_core import workbench as wb

    df = _resample(sample_df).reset_index(drop=True)
    df["Age"] = (pd.to_numeric(df["Age"]) + 10).astype(str)
    data = wb.load_data(df.to_csv(index=False).encode(), name="aged.csv")
    view = wb.batch_drift(trained_bundle, wb.score_data(trained_bundle, data))
    assert view.chart_columns()[0] == "Age" and view.chart_columns()[-1] == wb.SCORE_LABEL
    d = view.column("Age")
    fig = wb.drift_figure(view, "Age")
    keep = (np.array(d["bins"]["training"]) > 0) | (np.array(d["bins"]["file"]) > 0)
    np.testing.assert_allclose(fig.data[0].y, 100 * np.array(d["bins"]["training"])[keep])
    np.testing.assert_allclose(fig.data[1].y, 100 * np.array(d["bins"]["file"])[keep])
    over = wb.psi_overview_figure(view)
    assert list(over.data[0].y)[0] == "Age"
    assert view.table.loc[0, "column"] == "Age" and view.table.loc[0, "verdict"] == "major"
    assert view.level == 2


def test_a_bundle_with_a_drift_history_can_be_saved_over(trained_bundle, tmp_path):
    from churn_core.model.bundle import is_bundle_folder, save_bundle

    folder = save_bundle(trained_bundle, "h", tmp_path)
    D.append_history(D.history_path(folder), {"rows": 1})
    assert is_bundle_folder(folder)
    save_bundle(trained_bundle, "h", tmp_path)  # retraining under the same name replaces it
    assert (folder / "profile.json").is_file()


def test_effect_sizes_and_chi_square_equal_scipys_own_functions():
    """The drift module computes with scipy.special primitives (scipy.stats costs 0.46 s to
    import per scored file); the values are SciPy's own."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2, wasserstein_distance

    rng = np.random.default_rng(20)
    for n_u, n_v in ((100, 20_000), (7, 3), (1, 1)):
        u, v = rng.normal(size=n_u), rng.gamma(2.0, size=n_v)
        assert D.wasserstein_1d(u, v) == pytest.approx(wasserstein_distance(u, v), rel=1e-12, abs=1e-15)
    for k in (2, 5, 12):
        p, q = rng.random(k), rng.random(k)
        q[0] = 0.0  # an empty bin
        assert D.jensenshannon_base2(p, q) == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert D.jensenshannon_base2([1, 0], [0, 1]) == pytest.approx(1.0)
    for df in (1, 4, 9):
        assert D.noise_level(df + 1, 200, 8000) == pytest.approx(
            chi2.ppf(D.NOISE_QUANTILE, df) * (1 / 200 + 1 / 8000), rel=1e-12)
