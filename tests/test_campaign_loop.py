"""The campaign loop: control groups, campaign results, uplift metrics and the uplift model."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from churn_core.campaign.control import assign_control_group
from churn_core.campaign.export import build_target_list, decision_log
from churn_core.campaign.results import NO_EFFECT, campaign_results, saved_sentence
from churn_core.data.synthetic_campaign import (make_campaign, simulate_outcomes, true_segment,
                                                true_uplift)
from churn_core.errors import ChurnError, SchemaError
from churn_core.evaluate.uplift import qini_coefficient, qini_curve, rate_difference, uplift_by_decile
from churn_core.model.uplift import load_uplift, save_uplift, train_uplift, uplift_segments


# ----------------------------------------------------------------------------- metrics
def test_qini_curve_by_hand():
    # ranked by score: rows 0..5; t = called; y = churned
    y = [0, 1, 1, 0, 0, 1]
    t = [1, 0, 1, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    x, q = qini_curve(y, t, s)
    # k=1: no control yet -> 0; k=2: C_c=1,N_t=1,N_c=1,C_t=0 -> 1; k=3: 1*2/1-1 = 1;
    # k=4: 1*2/2-1 = 0; k=5: 1*3/2-1 = 0.5; k=6: 2*3/3-1 = 1
    np.testing.assert_allclose(q, [0, 0, 1, 1, 0, 0.5, 1])
    np.testing.assert_allclose(x, np.arange(7) / 6)
    # coefficient: trapezoid of q/6 over x minus the random triangle (q(n)/6)/2
    area = np.trapezoid(np.array([0, 0, 1, 1, 0, 0.5, 1]) / 6, np.arange(7) / 6)
    assert qini_coefficient(y, t, s) == pytest.approx(area - (1 / 6) / 2)


def test_qini_prefers_the_ranking_that_finds_the_persuadables():
    rng = np.random.default_rng(0)
    n = 4000
    persuadable = rng.random(n) < 0.3
    t = rng.random(n) < 0.5
    p = np.where(persuadable & t, 0.1, 0.4)
    y = (rng.random(n) < p).astype(int)
    good = persuadable + rng.random(n) * 0.1
    bad = rng.random(n)
    # perfect ranking: about 0.045 * (1 - 0.15) - 0.045 / 2 = 0.016; random: about 0
    assert qini_coefficient(y, t, good) > 0.01 > 0.004 > abs(qini_coefficient(y, t, bad))


def test_metric_inputs_are_checked():
    with pytest.raises(ChurnError, match="both groups"):
        qini_coefficient([0, 1], [1, 1], [0.1, 0.2])
    with pytest.raises(ChurnError, match="0 or 1"):
        qini_coefficient([0, 2], [1, 0], [0.1, 0.2])


def _wilson(k, n, z):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_rate_difference_is_newcombes_hybrid_score_interval():
    # Newcombe (1998) method 10 from two Wilson intervals, written out here independently
    z = norm.ppf(0.975)
    kc, nc, kt, nt = 45, 150, 30, 160
    pc, pt = kc / nc, kt / nt
    lc, uc = _wilson(kc, nc, z)
    lt, ut = _wilson(kt, nt, z)
    d = pc - pt
    low = d - math.sqrt((pc - lc) ** 2 + (ut - pt) ** 2)
    high = d + math.sqrt((uc - pc) ** 2 + (pt - lt) ** 2)
    r = rate_difference(kt, nt, kc, nc)
    assert r.uplift == pytest.approx(d)
    assert (r.low, r.high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    assert (r.rate_called, r.rate_control) == (pytest.approx(pt), pytest.approx(pc))


def test_uplift_by_decile_counts_every_customer():
    rng = np.random.default_rng(1)
    y, t, s = rng.integers(0, 2, 1000), rng.integers(0, 2, 1000), rng.random(1000)
    tab = uplift_by_decile(y, t, s)
    assert tab["customers"].sum() == 1000 and len(tab) == 10
    assert (tab["called"] + tab["control"]).tolist() == tab["customers"].tolist()
    top = np.argsort(-s, kind="stable")[:100]
    assert tab.loc[0, "churn_rate_called"] == pytest.approx(y[top][t[top] == 1].mean())


# ----------------------------------------------------------------------------- control group
def _scored_campaign(n=6000, seed=7):
    cust = make_campaign(n, seed)
    p0, _ = np.asarray(true_uplift(cust)), None
    scored = cust.drop(columns=["treatment", "churned"]).copy()
    from churn_core.data.synthetic import churn_probability

    scored["churn_probability"] = churn_probability(cust)
    return cust, scored


def test_control_group_is_seeded_and_stratified():
    _, scored = _scored_campaign()
    lst = build_target_list(scored, ["CustomerId"], tiers_to_include=("High", "Medium"))
    a, rec = assign_control_group(lst, ["CustomerId"], share=0.1, seed=3, created="2026-12-05T10:00:00")
    b, rec_b = assign_control_group(lst, ["CustomerId"], share=0.1, seed=3, created="2026-12-05T10:00:00")
    assert a["group"].tolist() == b["group"].tolist() and rec["campaign_id"] == rec_b["campaign_id"]
    c, _ = assign_control_group(lst, ["CustomerId"], share=0.1, seed=4)
    assert c["group"].tolist() != a["group"].tolist()
    for tier, part in a.groupby("risk_tier"):
        assert (part["group"] == "control").sum() == round(0.1 * len(part)), tier
    assert rec["control"] + rec["treatment"] == len(lst) == len(rec["members"]["ids"])
    assert rec["campaign_id"].startswith("CMP-20261205-")
    log = decision_log("m", None, "tiers", 0.5, None, None, lst.attrs["rows_in"], len(lst),
                       lst.attrs["excluded"], campaign=rec)
    assert json.loads(json.dumps(log))["campaign"]["seed"] == 3
    with pytest.raises(ChurnError, match="share"):
        assign_control_group(lst, ["CustomerId"], share=1.0)


# ----------------------------------------------------------------------------- results
def test_campaign_results_recover_the_true_uplift_and_count_every_row():
    cust, scored = _scored_campaign(n=40_000, seed=11)
    lst = build_target_list(scored, ["CustomerId"], tiers_to_include=("High", "Medium", "Low"),
                            max_rows=20_000)
    listed, rec = assign_control_group(lst, ["CustomerId"], share=0.5, seed=5)
    feats = cust.set_index("CustomerId").loc[listed["CustomerId"]].reset_index()
    outcomes = simulate_outcomes(feats, listed["group"].eq("treatment").to_numpy(), seed=9)
    # the team's file also has 3 strangers, one duplicated customer and one bad cell
    extra = pd.DataFrame({"CustomerId": [1, 2, 3], "churned": ["no"] * 3, "contacted": ["no"] * 3})
    dup = outcomes.iloc[[10]]
    outcomes = pd.concat([outcomes, extra, dup], ignore_index=True)
    outcomes.loc[20, "churned"] = "maybe"
    outcomes = outcomes.astype(str)
    res = campaign_results(rec, outcomes, value_per_customer=1000, cost_per_contact=5, currency="EUR")
    rep = res.report
    assert rep["rows_in"] == len(outcomes) == rep["matched"] + rep["unmatched"] + rep["rejected"]
    assert rep["unmatched"] == 3 and len(res.unmatched) == 3
    assert rep["rejected_reasons"] == {
        "customer ID appears more than once in the outcomes file": 2,
        "outcome (churned) is not yes/no, 1/0 or true/false": 1}
    assert rep["listed_without_outcome"]["treatment"] + rep["listed_without_outcome"]["control"] == 2
    overall = res.table.set_index("risk_tier").loc["All"]
    truth = true_uplift(feats).mean()
    assert overall["ci_low"] <= truth <= overall["ci_high"]
    assert overall["ci_low"] > 0  # the simulated campaign works on average
    assert overall["customers_saved"] == pytest.approx(overall["uplift"] * overall["called"])
    assert overall["net_value"] == pytest.approx(overall["customers_saved"] * 1000 - 5 * overall["called"])
    assert set(res.table["risk_tier"]) == {"High", "Medium", "Low", "All"}


def test_saved_sentence_says_when_the_interval_includes_zero():
    row = {"called": 1000, "customers_saved": 54.0, "ci_low": -0.012, "ci_high": 0.12}
    assert saved_sentence(row) == ("Customers saved 54 (95 % CI -12 to 120: not distinguishable "
                                   "from no effect)")
    assert saved_sentence({**row, "ci_low": 0.012}) == "Customers saved 54 (95 % CI 12 to 120)"
    assert saved_sentence({**row, "ci_low": 0.0}).endswith(f"0 to 120: {NO_EFFECT})")
    assert saved_sentence({"called": 1000, "customers_saved": -54.0, "ci_low": -0.12,
                           "ci_high": -0.012}) == ("Customers saved -54 (95 % CI -120 to -12: "
                                                   "the calls increased churn)")
    # small campaigns keep one decimal, and a tiny negative saving is not "-0.0"
    assert saved_sentence({"called": 40, "customers_saved": -0.01, "ci_low": -0.05,
                           "ci_high": 0.1}) == ("Customers saved 0.0 (95 % CI -2.0 to 4.0: "
                                                f"{NO_EFFECT})")
    nan = float("nan")
    assert "not measurable" in saved_sentence({"called": 0, "customers_saved": nan,
                                               "ci_low": nan, "ci_high": nan})


def test_campaign_results_cli_says_an_effect_within_noise_is_not_distinguishable(tmp_path, capsys):
    from churn_core.cli import main

    # 400 called and 400 control customers; the called churn 18 %, the control 20 %: the
    # interval of the uplift (+0.02) includes 0
    n = 400
    ids = [str(i) for i in range(2 * n)]
    group = ["treatment"] * n + ["control"] * n
    churned = ([1] * 72 + [0] * (n - 72)) + ([1] * 80 + [0] * (n - 80))
    rec = {"campaign_id": "CMP-0", "members": {"id_column": "CustomerId", "ids": ids,
                                               "group": group, "stratum": ["High"] * (2 * n)}}
    (tmp_path / "log.json").write_text(json.dumps({"campaign": rec}))
    pd.DataFrame({"CustomerId": ids, "churned": churned}).to_csv(tmp_path / "out.csv", index=False)
    res = campaign_results(rec, pd.read_csv(tmp_path / "out.csv").astype(str))
    overall = res.table.set_index("risk_tier").loc["All"]
    assert overall["ci_low"] < 0 < overall["ci_high"] and overall["customers_saved"] == pytest.approx(8)
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(tmp_path / "log.json"),
                 "--outcomes", str(tmp_path / "out.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    lo, hi = overall["ci_low"] * n, overall["ci_high"] * n
    want = f"All: Customers saved 8.0 (95 % CI {lo:.0f} to {hi:.0f}: not distinguishable from no effect)"
    assert want in lines, lines
    assert f"High: {saved_sentence(res.table.iloc[0])}" in lines


def test_campaign_results_refuse_a_log_without_a_control_group():
    with pytest.raises(ChurnError, match="control group"):
        campaign_results({}, pd.DataFrame({"CustomerId": ["1"], "churned": ["no"]}))
    rec = {"members": {"id_column": "CustomerId", "ids": ["1"], "group": ["control"], "stratum": ["High"]}}
    with pytest.raises(SchemaError, match="outcome column"):
        campaign_results(rec, pd.DataFrame({"CustomerId": ["1"], "status": ["no"]}))


# ----------------------------------------------------------------------------- uplift model
def test_uplift_segments_rule():
    seg = uplift_segments([0.1, -0.1, 0.0, 0.0], [0.3, 0.3, 0.8, 0.1])
    assert seg.tolist() == ["persuadable", "do not disturb", "lost cause", "sure thing"]


@pytest.fixture(scope="session")
def campaign_model(tmp_path_factory):
    df = make_campaign(20_000, 42)
    truth = true_uplift(df)
    ub = train_uplift(df.astype(str), seed=42, truth=truth)
    folder = save_uplift(ub, "campaign_uplift", tmp_path_factory.mktemp("uplift_models"))
    return df, truth, ub, folder


@pytest.mark.slow
def test_uplift_model_beats_risk_only_and_finds_the_persuadables(campaign_model):
    df, truth, ub, _ = campaign_model
    c = ub.card
    assert c["qini_model"] > c["qini_risk_only"]
    assert c["qini_model"] > c["qini_random"]
    top = c["deciles"][0]
    assert top["true_uplift"] >= 2 * truth.mean()
    # the highest-uplift held-out decile is mostly the generator's persuadables
    ho = ub.holdout
    top_pos = ho["position"][np.argsort(-ho["uplift"], kind="stable")[: len(ho["uplift"]) // 10]]
    assert (true_segment(df.iloc[top_pos]) == "persuadable").mean() > 0.6


@pytest.mark.slow
def test_uplift_bundle_round_trip_and_cli(campaign_model, tmp_path, capsys):
    from churn_core.cli import main

    df, _, ub, folder = campaign_model
    again = load_uplift(folder.name, folder.parent)
    rows = df.head(300).drop(columns=["treatment", "churned"]).astype(str)
    a, b = ub.predict(rows), again.predict(rows)
    np.testing.assert_allclose(a["uplift"], b["uplift"], atol=1e-6)  # float32 networks
    assert a["uplift_segment"].tolist() == b["uplift_segment"].tolist()
    # score --uplift-model adds the two columns to every scored row
    data = tmp_path / "month.csv"
    rows.to_csv(data, index=False)
    churn_model = tmp_path / "models" / "churn"
    save = __import__("churn_core.model.bundle", fromlist=["save_bundle"]).save_bundle
    save(ub.control, "churn", tmp_path / "models")
    out = tmp_path / "scored.csv"
    assert main(["-q", "score", "--model", str(churn_model), "--data", str(data), "--out", str(out),
                 "--uplift-model", str(folder)]) == 0
    scored = pd.read_csv(out)
    assert len(scored) == 300 and scored["uplift"].notna().all()
    np.testing.assert_allclose(scored["uplift"], a["uplift"], atol=1e-6)
    assert set(scored["uplift_segment"]) <= {"persuadable", "sure thing", "lost cause", "do not disturb"}


def test_campaign_sample_and_results_cli(tmp_path, capsys):
    from churn_core.cli import main

    out = tmp_path / "camp.csv"
    assert main(["campaign-sample", "--out", str(out), "--rows", "500", "--seed", "3"]) == 0
    camp = pd.read_csv(out)
    assert len(camp) == 500 and set(camp["treatment"]) == {0, 1}
    assert camp.equals(make_campaign(500, 3))
    # a decision log with a campaign record, and an outcomes file for it
    rec = {"campaign_id": "CMP-1", "members": {
        "id_column": "CustomerId", "ids": camp["CustomerId"].astype(str).tolist(),
        "group": np.where(camp["treatment"] == 1, "treatment", "control").tolist(),
        "stratum": ["High"] * len(camp)}}
    log = tmp_path / "list_decision_log.json"
    log.write_text(json.dumps({"campaign": rec}))
    outcomes = camp[["CustomerId", "churned"]].copy()
    outcomes.loc[len(outcomes)] = [42, 0]  # a stranger
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(log), "--outcomes", str(tmp_path / "outcomes.csv"),
                 "--json", "--out", str(tmp_path / "results.csv")]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["report"]["rows_in"] == 501 and got["report"]["unmatched"] == 1
    all_row = [r for r in got["table"] if r["risk_tier"] == "All"][0]
    t = camp["treatment"] == 1
    assert all_row["churn_rate_called"] == pytest.approx(camp.loc[t, "churned"].mean())
    assert all_row["churn_rate_control"] == pytest.approx(camp.loc[~t, "churned"].mean())
    assert (tmp_path / "results_unmatched.csv").exists()


# ---------------------------------------------------------- results use the list's values
def _campaign_files(tmp_path, cost_assumptions):
    camp = make_campaign(600, 5)
    rec = {"campaign_id": "CMP-20261205-test", "members": {
        "id_column": "CustomerId", "ids": camp["CustomerId"].astype(str).tolist(),
        "group": np.where(camp["treatment"] == 1, "treatment", "control").tolist(),
        "stratum": np.where(camp["Age"] >= 45, "High", "Medium").tolist()}}
    outcomes = camp[["CustomerId"]].assign(churned=np.where(camp["churned"] == 1, "yes", "no"))
    (tmp_path / "log.json").write_text(json.dumps({"campaign": rec,
                                                   "cost_assumptions": cost_assumptions}))
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    return rec, outcomes.astype(str)


def test_campaign_results_cli_defaults_to_the_decision_logs_values(tmp_path, capsys):
    """Breakit item 7: without --value / --contact-cost the list's own assumptions are used."""
    from churn_core.cli import main

    rec, outcomes = _campaign_files(tmp_path, {"amount": 800.0, "column": None, "margin": 1.0,
                                               "success_rate": 0.3, "cost_per_contact": 20.0,
                                               "currency": "USD"})
    args = ["campaign-results", "--log", str(tmp_path / "log.json"),
            "--outcomes", str(tmp_path / "outcomes.csv"), "--json"]
    assert main(args) == 0
    got = capsys.readouterr()
    rep = json.loads(got.out)
    assert rep["report"]["assumptions"] == {"value_per_customer": 800.0, "cost_per_contact": 20.0,
                                            "currency": "USD"}
    assert "800.00 USD per saved customer and 20.00 USD per contact" in got.err
    ref = campaign_results(rec, outcomes, value_per_customer=800, cost_per_contact=20).table
    overall = [r for r in rep["table"] if r["risk_tier"] == "All"][0]
    assert overall["net_value"] == pytest.approx(float(ref.iloc[-1]["net_value"]))
    assert overall["cost"] == pytest.approx(20.0 * overall["called"])
    # given on the command line: those win
    assert main([*args, "--contact-cost", "5"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["report"]["assumptions"]["cost_per_contact"] == 5.0
    assert rep["report"]["assumptions"]["value_per_customer"] == 800.0


def test_log_value_assumptions_of_a_column_value_and_of_no_values():
    from churn_core.campaign.results import log_value_assumptions

    got = log_value_assumptions({"cost_assumptions": {"amount": None, "column": "Balance",
                                                      "margin": 0.01, "cost_per_contact": 15.0,
                                                      "currency": "EUR"}})
    assert got["value_per_customer"] is None and got["cost_per_contact"] == 15.0
    assert got["currency"] == "EUR" and "Balance x 0.01" in got["note"]
    none = log_value_assumptions({"campaign": {}})
    assert none == {"value_per_customer": None, "cost_per_contact": None, "currency": None,
                    "note": "the list's decision log records no value assumptions"}


# ------------------------------------------------ outcome IDs that lost their leading zeros
def _zero_padded_campaign(tmp_path):
    """A list whose IDs keep leading zeros (``00036``) and its outcomes, with the IDs as
    written by the team and as Excel re-saves them (``36``)."""
    camp = make_campaign(600, 5)
    ids = [f"{i:05d}" for i in range(36, 36 + len(camp))]
    rec = {"campaign_id": "CMP-20261205-zeros", "members": {
        "id_column": "CustomerId", "ids": ids,
        "group": np.where(camp["treatment"] == 1, "treatment", "control").tolist(),
        "stratum": np.where(camp["Age"] >= 45, "High", "Medium").tolist()}}
    churned = np.where(camp["churned"] == 1, "yes", "no")
    kept = pd.DataFrame({"CustomerId": ids, "churned": churned})
    stripped = kept.assign(CustomerId=[str(int(i)) for i in ids])
    (tmp_path / "log.json").write_text(json.dumps({"campaign": rec}))
    stripped.to_csv(tmp_path / "outcomes_nozeros.csv", index=False)
    return rec, kept, stripped


def test_outcome_ids_without_leading_zeros_are_matched_and_said_so(tmp_path, capsys):
    from churn_core.cli import main

    rec, kept, stripped = _zero_padded_campaign(tmp_path)
    ref = campaign_results(rec, kept, value_per_customer=500, cost_per_contact=20)
    assert ref.report["matched"] == 600 and ref.report["notes"] == []
    res = campaign_results(rec, stripped, value_per_customer=500, cost_per_contact=20)
    rep = res.report
    assert (rep["rows_in"], rep["matched"], rep["unmatched"], rep["rejected"]) == (600, 600, 0, 0)
    assert rep["ids_matched_by_leading_zeros"] == 600
    assert rep["notes"] == ["600 outcome IDs matched once leading zeros were restored "
                            "(36 -> 00036): the file was probably re-saved by Excel"]
    pd.testing.assert_frame_equal(res.table, ref.table)  # the same figures as with the zeros
    assert np.isfinite(res.table["uplift"]).all()
    # the command line says so too, and its table has numbers
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(tmp_path / "log.json"),
                 "--outcomes", str(tmp_path / "outcomes_nozeros.csv")]) == 0
    out = capsys.readouterr().out
    assert "600 outcome rows = 600 matched + 0 not on the list + 0 rejected" in out
    assert "note: 600 outcome IDs matched once leading zeros were restored (36 -> 00036)" in out
    assert "nan" not in out.lower()
    overall = res.table.set_index("risk_tier").loc["All"]
    assert f"All: {saved_sentence(overall)}" in out.splitlines()


def test_leading_zeros_are_only_restored_when_one_list_id_fits():
    rec = {"campaign_id": "CMP-0", "members": {
        "id_column": "CustomerId", "ids": ["0036", "036", "00042", "A07", "100"],
        "group": ["treatment", "control", "treatment", "control", "control"],
        "stratum": ["High"] * 5}}
    outcomes = pd.DataFrame({"CustomerId": ["36", "42", "7", "0100", "99"],
                             "churned": ["no", "yes", "no", "no", "no"]})
    res = campaign_results(rec, outcomes)
    # 36 fits two list IDs (0036, 036): left unmatched; 7 is no digits-only match of A07;
    # 0100 fits 100 once zeros are ignored on both sides
    assert res.report["matched"] == 2 and res.report["unmatched"] == 3
    assert sorted(res.unmatched["CustomerId"]) == ["36", "7", "99"]
    assert res.report["notes"] == ["2 outcome IDs matched once leading zeros were restored "
                                   "(42 -> 00042): the file was probably re-saved by Excel"]


def test_a_campaign_with_nothing_measurable_says_not_measurable(tmp_path, capsys):
    from churn_core.cli import main

    rec, kept, _ = _zero_padded_campaign(tmp_path)
    # the outcomes of other customers only: nothing matches, nothing to measure
    other = kept.assign(CustomerId=[f"X{i}" for i in range(len(kept))])
    other.to_csv(tmp_path / "other.csv", index=False)
    res = campaign_results(rec, other.astype(str))
    assert res.report["matched"] == 0 and res.report["unmatched"] == 600
    assert res.report["notes"] == []
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(tmp_path / "log.json"),
                 "--outcomes", str(tmp_path / "other.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "nan" not in "\n".join(lines).lower()
    rows = [ln for ln in lines if ln.startswith(("High ", "Medium ", "All "))]
    assert len(rows) == 3
    assert all(ln.endswith("not measurable (no called or no control customer with an outcome)")
               and ln.split()[1:3] == ["0", "0"] for ln in rows), rows
    assert ("All: Customers saved: not measurable (no called or no control customer with an "
            "outcome)") in lines


def test_campaign_results_cli_never_prints_minus_zero_net_value(tmp_path, capsys):
    """Without value assumptions a campaign that lost customers has a net value of -0.0:
    the table prints 0, not -0."""
    from churn_core.cli import main

    n = 400
    ids = [str(i) for i in range(2 * n)]
    group = ["treatment"] * n + ["control"] * n
    churned = ([1] * 80 + [0] * (n - 80)) + ([1] * 72 + [0] * (n - 72))  # called churn more
    rec = {"campaign_id": "CMP-1", "members": {"id_column": "CustomerId", "ids": ids,
                                               "group": group, "stratum": ["High"] * (2 * n)}}
    (tmp_path / "log.json").write_text(json.dumps({"campaign": rec}))
    pd.DataFrame({"CustomerId": ids, "churned": churned}).to_csv(tmp_path / "out.csv", index=False)
    res = campaign_results(rec, pd.read_csv(tmp_path / "out.csv").astype(str))
    assert res.table["customers_saved"].iloc[0] == pytest.approx(-8)
    assert str(res.table["net_value"].iloc[0]) == "-0.0"  # what used to print as "-0"
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(tmp_path / "log.json"),
                 "--outcomes", str(tmp_path / "out.csv")]) == 0
    rows = [l for l in capsys.readouterr().out.splitlines() if l.startswith(("High ", "All "))]
    assert len(rows) == 2 and all(l.rstrip().endswith("  -8.0  0") for l in rows), rows
