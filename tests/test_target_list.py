"""The retention target list (issue 15): campaign rule, value assumptions, reasons with
context, fairness check, and the ``target-list`` command on the real bank file."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from churn_core.campaign.fairness import fairness_summary, fairness_table, group_labels
from churn_core.campaign.rule import CampaignRule, threshold_on
from churn_core.campaign.value import ValueAssumptions
from churn_core.errors import ChurnError
from churn_core.explain.reasons import (ReasonSettings, ReferenceProfile, name_words,
                                        non_actionable_columns, pretty_label,
                                        protected_columns, reason_sentences)


# ---------------------------------------------------------------------------- rule
@pytest.fixture()
def probs():
    return np.random.default_rng(3).random(1000)


def _accounted(sel, n):
    assert sel.positions.size + sum(sel.excluded.values()) == n
    assert len(set(sel.positions.tolist())) == sel.positions.size


def test_budget_rule_lists_n_of_this_file_highest_first(probs):
    sel = CampaignRule("budget", budget=150).select(probs)
    assert sel.positions.size == 150
    assert np.array_equal(sel.positions, np.argsort(-probs, kind="stable")[:150])
    assert sel.lowest_probability == pytest.approx(np.sort(probs)[::-1][149])
    _accounted(sel, probs.size)
    assert sel.excluded == {"beyond the contact budget of 150 customers": 850}
    # larger than the file: everyone
    assert CampaignRule("budget", budget=5000).select(probs).positions.size == 1000


def test_share_threshold_tiers_and_value_rules(probs):
    assert CampaignRule("budget_share", share=12.5).select(probs).positions.size == 125
    sel = CampaignRule("threshold", threshold=0.35).select(probs)
    assert sel.positions.size == int((probs >= 0.35).sum())
    _accounted(sel, probs.size)
    cut = {"high": 0.7, "medium": 0.4}
    sel = CampaignRule("tiers", tiers=("high", "Medium")).select(probs, cutoffs=cut)
    assert sel.positions.size == int((probs >= 0.4).sum())
    assert sel.excluded == {"risk tier Low not selected": int((probs < 0.4).sum())}
    ev = probs * 0.3 * 500 - 60  # positive exactly when p > 0.4
    sel = CampaignRule("max_value").select(probs, expected_value=ev)
    assert sel.positions.size == int((ev > 0).sum())
    _accounted(sel, probs.size)
    with pytest.raises(ChurnError, match="value assumptions"):
        CampaignRule("max_value").select(probs)


def test_rule_words_tags_and_round_trip():
    assert CampaignRule("budget", budget=500).file_tag() == "budget500"
    assert CampaignRule("threshold", threshold=0.35).file_tag() == "t0.35"
    assert CampaignRule("tiers", tiers=("High",)).file_tag() == "high-tier"
    assert CampaignRule("tiers", tiers=("High", "Medium")).file_tag() == "high-medium-tiers"
    assert CampaignRule("budget_share", share=10).file_tag() == "budget10pct"
    assert CampaignRule("max_value").file_tag() == "max-value"
    r = CampaignRule("budget", budget=42)
    assert CampaignRule.from_dict(r.to_dict()) == r
    for bad in (dict(kind="budget", budget=0), dict(kind="budget_share", share=120),
                dict(kind="threshold", threshold=1.5), dict(kind="tiers", tiers=("Top",)),
                dict(kind="lottery")):
        with pytest.raises(ChurnError):
            CampaignRule(**bad)


def test_budget_translated_to_validation_share(probs):
    p_val = np.linspace(0, 1, 201)[::-1]  # 201 validation customers
    r = CampaignRule("budget", budget=150)
    # 150 of a 10,000-customer file is 1.5 %: 3 of 201 validation customers
    assert threshold_on(r, p_val, 10_000) == pytest.approx(p_val[2])
    assert threshold_on(CampaignRule("threshold", threshold=0.3), p_val, 10) == 0.3
    assert threshold_on(CampaignRule("tiers", tiers=("High",)), p_val, 10,
                        cutoffs={"high": 0.6, "medium": 0.2}) == 0.6


# ---------------------------------------------------------------------------- value
def test_value_assumptions():
    df = pd.DataFrame({"Balance": ["1000", "", "250.5"]})
    v = ValueAssumptions(amount=None, column="Balance", margin=0.1, success_rate=0.5,
                         cost_per_contact=10, currency="CHF")
    assert v.per_customer(df).tolist() == pytest.approx([100.0, 0.0, 25.05])
    assert v.expected([0.2, 0.9, 1.0], df).tolist() == pytest.approx(
        [0.2 * 0.5 * 100 - 10, -10.0, 0.5 * 25.05 - 10])
    assert "CHF" in v.describe()
    assert ValueAssumptions.from_dict(v.to_dict()) == v
    with pytest.raises(ChurnError, match="success rate"):
        ValueAssumptions(success_rate=1.2)
    with pytest.raises(ChurnError, match="not both"):
        ValueAssumptions(amount=5, column="Balance")


# ---------------------------------------------------------------------------- reasons
def test_protected_and_non_actionable_columns_matched_by_name_words():
    cols = ["Customer_Age", "Age", "SeniorCitizen", "Usage", "Geography", "gender",
            "Marital_Status", "Dependents", "DateOfBirth", "Stage", "tenure", "Balance",
            "Account length", "Education_Level", "CreditScore"]
    assert protected_columns(cols) == ["Customer_Age", "Age", "SeniorCitizen", "Geography",
                                       "gender", "Marital_Status", "Dependents",
                                       "DateOfBirth"]
    assert non_actionable_columns(cols) == ["tenure", "Account length", "Education_Level",
                                            "CreditScore"]
    assert name_words("NumOfProducts") == ["num", "of", "products"]
    assert pretty_label("Total_Trans_Ct") == "Total transactions count"


ORANGE_COLUMNS = ["State", "Account length", "Area code", "International plan",
                  "Voice mail plan", "Number vmail messages", "Total day minutes",
                  "Total day calls", "Total day charge", "Total eve minutes", "Total eve calls",
                  "Total eve charge", "Total night minutes", "Total night calls",
                  "Total night charge", "Total intl minutes", "Total intl calls",
                  "Total intl charge", "Customer service calls"]


def test_geography_and_other_sensitive_names_are_protected():
    """Breakit item 2: Orange Telecom's ``State`` (US state) and ``Area code`` are geography."""
    assert protected_columns(ORANGE_COLUMNS) == ["State", "Area code"]
    assert non_actionable_columns(ORANGE_COLUMNS) == ["Account length"]
    s = ReasonSettings.defaults(ORANGE_COLUMNS)
    assert s.protected == ["State", "Area code"] and s.non_actionable == ["Account length"]
    sensitive = ["state", "Province", "County", "home_city", "Town", "Zip", "zip_code", "ZipCode",
                 "Postcode", "PostalCode", "Postal Code", "areacode", "AreaCode", "Area_Code",
                 "Billing_Address", "Location", "Latitude", "Longitude", "lat", "lon", "lng",
                 "Citizenship", "PreferredLanguage", "Pregnancy", "sexual_orientation",
                 "SexualOrientation", "Geography", "Country", "Region"]
    assert protected_columns(sensitive) == sensitive
    near_misses = ["StatementBalance", "Statements", "Status", "AccountStatus", "Citywide_Plan",
                   "Downtown_Store_Visits", "Latency_ms", "LongDistanceCalls", "Lateness",
                   "Areas_Served", "PromoCode", "Code", "Orientation_Call", "Usage", "Stage",
                   "Zipper", "Languid", "Addressed"]
    assert protected_columns(near_misses) == []
    assert pretty_label("IsActiveMember") == "Active member"
    assert pretty_label("HasCrCard") == "Has credit card"


def test_context_sentences_and_correlated_grouping():
    rng = np.random.default_rng(0)
    n = 500
    tenure = rng.integers(1, 72, n).astype(float)
    ref = pd.DataFrame({
        "tenure": tenure,
        "TotalCharges": tenure * 50 + rng.normal(0, 20, n),  # r ~ 0.999 with tenure
        "Trans_Ct": np.arange(n, dtype=float),
        "Gender": np.where(np.arange(n) % 2, "Female", "Male"),
        "Contract": np.where(np.arange(n) % 4 == 0, "Two year", "Month-to-month"),
        "Plan": np.where(np.arange(n) % 20 == 0, "Gold", "Basic"),  # Gold: 5 % of customers
    })
    prof = ReferenceProfile.fit(ref, ["tenure", "TotalCharges", "Trans_Ct"],
                                ["Gender", "Contract", "Plan"], source="training rows")
    assert prof.groups == [["tenure", "TotalCharges"]]
    assert prof.context("Trans_Ct", 100) == "low: 80 % of customers have more"
    assert prof.context("Trans_Ct", 450) == "high: 90 % of customers have less"
    # Trans_Ct is 0..499: the ends never read "100 %" unless every customer is beyond them
    assert prof.context("Trans_Ct", 498) == "high: over 99 % of customers have less"
    assert prof.context("Trans_Ct", 1) == "low: over 99 % of customers have more"
    assert prof.context("Trans_Ct", 10_000) == "highest: every customer has less"
    assert prof.context("Trans_Ct", -1) == "lowest: every customer has more"
    assert prof.context("Trans_Ct", 0) == "low: over 99 % of customers have more"
    assert prof.context("Contract", "Two year") == "like 25 % of customers"
    assert prof.context("Plan", "Gold") == "rare: 5 % of customers"

    cols = ["tenure", "TotalCharges", "Trans_Ct", "Gender", "Contract"]
    settings = ReasonSettings.defaults(cols)
    assert settings.protected == ["Gender"] and settings.non_actionable == ["tenure", "TotalCharges"]  # history, no lever
    settings.labels["Trans_Ct"] = "Transactions in the last 12 months"
    data = pd.DataFrame({"tenure": [2.0, 2.0], "TotalCharges": [100.0, 100.0],
                         "Trans_Ct": [100.0, 100.0], "Gender": ["Female", "Female"],
                         "Contract": ["Month-to-month", "Two year"]})
    values = np.array([[0.05, 0.04, 0.02, 0.30, 0.01],     # Gender largest, then tenure group
                       [0.05, 0.04, -0.02, 0.30, -0.01]])  # only context + protected raise
    out = reason_sentences(values, data, cols, settings, prof)
    # customer 0: actionable reasons only; Gender never named; tenure group left out
    assert out.loc[0, "reason_1"] == ("Transactions in the last 12 months: 100 "
                                      "(low: 80 % of customers have more)")
    assert out.loc[0, "reason_2"].startswith("Contract: Month-to-month (like 75 % of customers)")
    assert out.loc[0, "reason_3"] == ""
    # customer 1: no actionable column raises the risk -> the context group, marked
    assert out.loc[1, "reason_1"].startswith("Tenure: 2 (low: ")
    assert "same as Total charges" in out.loc[1, "reason_1"]
    assert out.loc[1, "reason_1"].endswith("(context, not actionable)")
    assert not out.apply(lambda c: c.str.contains("Gender")).any().any()
    # asked for: the protected attribute may be a reason, and is marked
    both = reason_sentences(values, data, cols, settings, prof, include_protected=True)
    assert both.loc[0, "reason_1"] == "Gender: Female (like 50 % of customers) (protected attribute)"


# ---------------------------------------------------------------------------- fairness
def test_fairness_table_matches_hand_counts():
    frame = pd.DataFrame({"Gender": ["F"] * 60 + ["M"] * 40,
                          "Age": np.arange(100) + 18.0})
    listed = np.zeros(100, bool)
    listed[:30] = True  # 30 F listed
    listed[60:65] = True  # 5 M listed
    y = np.zeros(100)
    y[[0, 1, 50, 60, 99]] = 1
    t = fairness_table(frame, listed, ["Gender", "Age", "Absent"], y=y)
    g = t[t["attribute"] == "Gender"].set_index("group")
    assert g.loc["F", "selection_rate"] == pytest.approx(0.5)
    assert g.loc["M", "selection_rate"] == pytest.approx(5 / 40)
    assert g.loc["F", "share_of_list"] == pytest.approx(30 / 35)
    assert g.loc["M", "share_of_file"] == pytest.approx(0.4)
    assert g.loc["F", "recall"] == pytest.approx(2 / 3)
    assert g.loc["M", "recall"] == pytest.approx(1 / 2)
    assert g.loc["M", "ratio_to_highest"] == pytest.approx(0.25)
    ages = t[t["attribute"] == "Age"]
    assert len(ages) == 5 and ages["customers"].sum() == 100
    assert ages["group"].iloc[0] == "18-37"
    s = fairness_summary(t).set_index("attribute")
    assert s.loc["Gender", "selection_rate_ratio"] == pytest.approx(0.25)
    assert bool(s.loc["Gender", "flag"]) is True
    assert "four-fifths" in s.loc["Gender", "note"]
    assert list(group_labels(pd.Series(["a", "", None])).values) == ["a", "(missing)",
                                                                     "(missing)"]


def test_a_group_too_small_to_compare_is_shown_but_never_the_reference():
    """Break-it s7 7: one blank Geography cell made a "(missing)" group of one listed
    customer the reference (100 % selected) and flagged France at 0.10 x its rate."""
    geo = ["France"] * 500 + ["Germany"] * 250 + [""]
    frame = pd.DataFrame({"Geography": geo})
    listed = np.zeros(len(geo), bool)
    listed[:50] = True      # France: 50 of 500 = 0.10
    listed[500:530] = True  # Germany: 30 of 250 = 0.12
    listed[-1] = True       # the one blank: 1 of 1 = 1.00
    t = fairness_table(frame, listed, ["Geography"]).set_index("group")
    assert t.loc["(missing)", "customers"] == 1 and t.loc["(missing)", "selection_rate"] == 1.0
    assert t["selection_rate_ratio"].iloc[0] == pytest.approx(0.10 / 0.12)
    s = fairness_summary(t.reset_index()).iloc[0]
    assert (s["lowest_group"], s["highest_group"]) == ("France", "Germany")
    assert s["selection_rate_ratio"] == pytest.approx(0.10 / 0.12) and not s["flag"]
    assert s["note"] == ("France customers (500) are listed at 0.83 x the rate of Germany "
                         "customers (250); not compared, fewer than 30 customers: (missing) (1)")
    # no two groups large enough: nothing is compared, nothing flagged
    small = fairness_summary(fairness_table(frame.head(40), listed[:40], ["Geography"]))
    assert np.isnan(small["selection_rate_ratio"].iloc[0]) and not small["flag"].iloc[0]
    assert small["note"].iloc[0] == ("no two groups of 30 or more customers to compare: "
                                     "France (40)")


# ---------------------------------------------------------------------------- CLI, bank
PROTECTED_BANK = ("Gender", "Age", "Geography")


def _run(args, capsys):
    from churn_core.cli import main

    code = main(["-q", "target-list", *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _reason_text(df):
    return " | ".join(df[[f"reason_{i}" for i in (1, 2, 3)]].fillna("").astype(str)
                      .to_numpy().ravel())


@pytest.mark.realdata
@pytest.mark.slow
def test_cli_budget_500_on_the_bank_file(bank_models_dir, bank_csv, tmp_path, capsys):
    out = _run(["--model", str(bank_models_dir / "bank"), "--data", str(bank_csv),
                "--budget", "500", "--value-column", "Balance", "--margin", "0.01",
                "--currency", "EUR", "--out", str(tmp_path)], capsys)
    files = sorted(p.name for p in tmp_path.iterdir())
    stem = [f for f in files if re.fullmatch(r"retention_targets_bank_\d{4}-\d\d-\d\d_budget500"
                                             r"\.csv", f)]
    assert stem, files
    lst = pd.read_csv(tmp_path / stem[0], dtype=str, keep_default_na=False)
    assert len(lst) == 500
    assert (lst["reason_1"].str.len() > 0).all()
    text = _reason_text(lst)
    for col in PROTECTED_BANK:
        assert not re.search(rf"\b{col}\b", text), col
    assert lst["churn_probability"].str.fullmatch(r"[01](\.\d{1,3})?").all()
    p = lst["churn_probability"].astype(float)
    assert p.is_monotonic_decreasing and lst["rank"].astype(int).tolist() == list(range(1, 501))
    assert {"CustomerId", "expected_value", "risk_tier", "recommended_action"} <= set(lst)
    log = json.loads((tmp_path / stem[0].replace(".csv", "_decision_log.json")).read_text())
    assert log["rows_in"] == 10_000 == log["rows_listed"] + log["rows_excluded"]
    assert log["extra"]["rule"]["kind"] == "budget" and log["extra"]["rule"]["budget"] == 500
    assert log["cost_assumptions"]["column"] == "Balance"
    assert log["cost_assumptions"]["currency"] == "EUR"
    table = pd.DataFrame(log["extra"]["fairness"]["table"])
    assert {"Gender", "Geography"} <= set(table["attribute"])
    geo = table[table["attribute"] == "Geography"].set_index("group")
    assert set(geo.index) == {"France", "Germany", "Spain"}
    assert geo["listed"].sum() == 500 and geo["customers"].sum() == 10_000
    assert "recall" in table.columns  # the bank file is labelled
    assert log["extra"]["scored_file_sha256"] and log["training_data_sha256"]
    assert (tmp_path / stem[0].replace(".csv", "_rejected.csv")).is_file()
    assert "500 listed" in out


@pytest.mark.realdata
@pytest.mark.slow
def test_cli_include_protected_and_xlsx(bank_models_dir, bank_csv, tmp_path, capsys):
    out_file = tmp_path / "list.xlsx"
    _run(["--model", str(bank_models_dir / "bank"), "--data", str(bank_csv), "--budget", "500",
          "--include-protected", "--out", str(out_file)], capsys)
    lst = pd.read_excel(out_file, sheet_name="retention_targets")
    assert len(lst) == 500
    text = _reason_text(lst)
    assert any(re.search(rf"\b{c}\b", text) for c in PROTECTED_BANK)
    assert "(protected attribute)" in text
    assert (tmp_path / "list_decision_log.json").is_file()
    assert (tmp_path / "list_rejected.csv").is_file()
    assert (lst["churn_probability"].round(3) == lst["churn_probability"]).all()


@pytest.mark.realdata
@pytest.mark.slow
def test_cli_tier_and_threshold_rules_name_the_file(bank_models_dir, bank_csv, tmp_path, capsys):
    _run(["--model", str(bank_models_dir / "bank"), "--data", str(bank_csv), "--tiers", "High",
          "--out", str(tmp_path)], capsys)
    _run(["--model", str(bank_models_dir / "bank"), "--data", str(bank_csv), "--threshold",
          "0.9", "--out", str(tmp_path)], capsys)
    names = sorted(p.name for p in tmp_path.glob("*.csv") if "rejected" not in p.name)
    assert [n.rsplit("_", 1)[1] for n in names] == ["high-tier.csv", "t0.90.csv"]
    from churn_core.cli import main

    assert main(["-q", "target-list", "--model", str(bank_models_dir / "bank"), "--data",
                 str(bank_csv), "--max-value", "--out", str(tmp_path)]) == 2
    assert "needs a customer value" in capsys.readouterr().err


def test_reason_settings_saved_with_the_model(trained_bundle, tmp_path):
    import copy

    from churn_core import workbench as wb
    from churn_core.model.bundle import load_bundle, save_bundle

    b = copy.copy(trained_bundle)
    save_bundle(b, "rs", tmp_path)
    feats = list(b.schema.features)
    wb.save_reason_settings(b, ["Gender"], ["Tenure"] if "Tenure" in feats else [],
                            {feats[0]: "My label"}, models_dir=tmp_path)
    back = load_bundle("rs", tmp_path)
    s = wb.reason_settings_of(back)
    assert s.protected == ["Gender"] and s.label(feats[0]) == "My label"
    assert s.label(feats[1]) == pretty_label(feats[1])
    with pytest.raises(ChurnError, match="not feature columns"):
        wb.save_reason_settings(b, ["NoSuchColumn"], [], {}, models_dir=tmp_path)


@pytest.mark.realdata
def test_cli_list_holds_a_control_group_that_campaign_results_reads(bank_models_dir, bank_csv,
                                                                     tmp_path, capsys):
    """Issue 19: every list holds back a seeded, tier-stratified control group (default 10 %),
    recorded in the decision log, and campaign-results measures the list from that log."""
    from churn_core.cli import main

    out = tmp_path / "list.csv"
    _run(["--model", str(bank_models_dir / "bank"), "--data", str(bank_csv), "--budget", "400",
          "--out", str(out)], capsys)
    lst = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(lst) == 400 and set(lst["group"]) == {"treatment", "control"}
    for tier, part in lst.groupby("risk_tier"):
        assert (part["group"] == "control").sum() == round(0.1 * len(part)), tier
    log = json.loads((tmp_path / "list_decision_log.json").read_text())
    camp = log["campaign"]
    assert camp["control"] == (lst["group"] == "control").sum() and camp["seed"] == 42
    assert lst["campaign_id"].unique().tolist() == [camp["campaign_id"]]
    # the team's outcomes: every listed customer, plus one stranger
    outcomes = lst[["CustomerId"]].assign(churned=np.where(lst["group"] == "control", "yes", "no"))
    outcomes.loc[len(outcomes)] = ["1", "no"]
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    capsys.readouterr()
    assert main(["campaign-results", "--log", str(tmp_path / "list_decision_log.json"),
                 "--outcomes", str(tmp_path / "outcomes.csv"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["report"]["matched"] == 400 and rep["report"]["unmatched"] == 1
    overall = [r for r in rep["table"] if r["risk_tier"] == "All"][0]
    assert overall["churn_rate_control"] == 1.0 and overall["churn_rate_called"] == 0.0


def test_a_customer_id_is_listed_once_at_its_highest_probability():
    from churn_core.campaign.target_list import DUPLICATE_ID, select_once_per_id

    p = np.array([0.9, 0.8, 0.7, 0.95, 0.6, 0.5])
    scored = pd.DataFrame({"CustomerId": ["a", "b", "c", "a ", "d", "b"]})  # "a " is "a"
    sel = select_once_per_id(CampaignRule("budget", budget=3), p, scored, ["CustomerId"])
    assert sel.positions.tolist() == [3, 1, 2]  # a at 0.95 (row 3), then b, c: three customers
    assert sel.excluded == {DUPLICATE_ID: 2, "beyond the contact budget of 3 customers": 1}
    assert len(sel.positions) + sum(sel.excluded.values()) == len(p)
    # without an ID column every row is a customer
    same = select_once_per_id(CampaignRule("budget", budget=3), p, scored, ["Missing"])
    assert same.positions.tolist() == [3, 0, 1] and DUPLICATE_ID not in same.excluded


def test_cli_list_row_numbers_duplicates_and_model_in_the_log(tmp_path, capsys):
    """Shipped model and sample: the list gives each customer's row in the file (also when the
    file has no ID column), lists a repeated ID once, and its log names the model's data."""
    from churn_core import config

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, keep_default_na=False).head(300)
    df = pd.concat([df, df.iloc[[0, 1, 2, 3, 4]]], ignore_index=True)  # 5 repeated customers
    data = tmp_path / "with_repeats.csv"
    df.to_csv(data, index=False)
    model = str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME)
    _run(["--model", model, "--data", str(data), "--budget", "300", "--control-share", "0",
          "--out", str(tmp_path / "a")], capsys)
    listed = next((tmp_path / "a").glob("retention_targets_*_budget300.csv"))
    lst = pd.read_csv(listed, dtype=str, keep_default_na=False)
    assert len(lst) == 300 and lst["CustomerId"].is_unique
    assert list(lst.columns[:3]) == ["rank", "source_row", "RowNumber"]
    # source_row is the spreadsheet row: header = row 1, first customer = row 2
    rows = lst["source_row"].astype(int)
    assert (df.loc[rows - 2, "CustomerId"].to_numpy() == lst["CustomerId"].to_numpy()).all()
    log = json.loads(listed.with_name(listed.stem + "_decision_log.json").read_text())
    assert log["rows_in"] == 305 == log["rows_listed"] + log["rows_excluded"]
    assert log["excluded"][
        "customer ID already listed (a customer is listed once, at their highest churn probability)"] == 5
    assert log["model_synthetic"] is True and log["training_data_name"]
    assert log["drift"]["verdict"] is not None

    # no ID column: the row number still says who
    data2 = tmp_path / "no_ids.csv"
    df.drop(columns=["RowNumber", "CustomerId", "Surname"]).head(300).to_csv(data2, index=False)
    _run(["--model", model, "--data", str(data2), "--budget", "20", "--control-share", "0",
          "--out", str(tmp_path / "b")], capsys)
    lst2 = pd.read_csv(next((tmp_path / "b").glob("retention_targets_*_budget20.csv")))
    assert len(lst2) == 20 and lst2["source_row"].between(2, 301).all() and lst2["source_row"].is_unique


# ------------------------------------------------------------- calls vs the control group
def _shipped_list(budget):
    from churn_core import config, workbench as wb
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME)
    data = wb.load_data(config.SAMPLE_CSV)
    scores = wb.score_data(bundle, data)
    ctx = wb.reason_context(bundle, data, scores)
    rule = CampaignRule("budget", budget=budget)
    value = ValueAssumptions(amount=500.0, success_rate=0.3, cost_per_contact=20.0)
    return bundle, scores, rule, value, wb.build_list(bundle, data, scores, rule, ctx,
                                                     value=value)


def test_expected_net_value_counts_the_called_customers_not_the_control_group():
    """Breakit item 6: the control group is listed but not called (no cost, no saved value)."""
    from churn_core import workbench as wb

    bundle, scores, rule, value, plain = _shipped_list(200)
    # by hand: p x 0.3 x 500 - 20 for each listed customer, from the scores, in list order
    p = scores.p[plain.selection.positions]
    ev = p * 0.3 * 500.0 - 20.0
    costs = plain.log["cost_assumptions"]
    assert "expected_net_value_of_list" not in costs
    assert plain.log["customers_to_call"] == 200 and plain.log["customers_in_control_group"] == 0
    assert costs["expected_net_value_of_calls"] == round(float(ev.sum()), 2)
    assert costs["expected_net_value_of_control_group_if_called"] == 0.0

    held = wb.with_control_group(plain, ["CustomerId"], share=0.1, seed=42, copy=True)
    control = held.frame["group"].eq("control").to_numpy()
    assert control.sum() == held.log["campaign"]["control"] == 20  # 10 % of each risk tier
    log = held.log
    assert log["rows_listed"] == 200
    assert log["customers_to_call"] == 180 and log["customers_in_control_group"] == 20
    c = log["cost_assumptions"]
    assert c["expected_net_value_of_calls"] == round(float(ev[~control].sum()), 2)
    assert c["expected_net_value_of_control_group_if_called"] == round(float(ev[control].sum()), 2)
    assert c["expected_net_value_of_calls"] + c["expected_net_value_of_control_group_if_called"] \
        == pytest.approx(costs["expected_net_value_of_calls"], abs=0.011)
    # the list's rounded expected_value column adds up to the same figures (cents apart)
    col = held.frame["expected_value"].to_numpy(dtype=float)
    assert abs(col[~control].sum() - c["expected_net_value_of_calls"]) <= 0.005 * 180 + 0.01
    # the plain list (the app keeps it) still counts every customer as called
    assert plain.log["customers_to_call"] == 200
    assert plain.log["cost_assumptions"]["expected_net_value_of_calls"] == \
        costs["expected_net_value_of_calls"]
    # the JSON the analyst downloads holds the same figures
    back = json.loads(wb.list_bytes(held, "json"))
    assert back["cost_assumptions"]["expected_net_value_of_calls"] == c["expected_net_value_of_calls"]
    assert back["customers_in_control_group"] == 20
    calls = wb.list_calls(held)
    assert wb.calls_sentence(calls, "EUR") == (
        f"200 listed = 180 to call + 20 held back as control group; expected net value of the "
        f"180 calls: {c['expected_net_value_of_calls']:,.0f} EUR")
    # in place (the command line) gives the same figures
    in_place = wb.with_control_group(plain, ["CustomerId"], share=0.1, seed=42)
    assert in_place.log["cost_assumptions"]["expected_net_value_of_calls"] == \
        c["expected_net_value_of_calls"]
    # the preview (before reason codes) draws the same control group
    pre = wb.rule_preview(bundle, scores, rule, value, control_share=0.1, control_seed=42)
    assert pre["calls"] == calls
    assert pre["expected_net_value"] == c["expected_net_value_of_calls"]


def _no_id_file(tmp_path, rows=150):
    from churn_core import config

    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, keep_default_na=False).head(rows)
    path = tmp_path / "no_ids.csv"
    df.drop(columns=["RowNumber", "CustomerId", "Surname"]).to_csv(path, index=False)
    return path


def test_cli_list_without_an_id_column_falls_back_to_no_control_group(tmp_path, capsys):
    """Breakit item 12: the default control share on a file without an ID column gives a list
    with a note (and the reason in the log), not an error after the reason codes."""
    from churn_core import config
    from churn_core.cli import main

    model = str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME)
    out = tmp_path / "x.csv"
    code = main(["-q", "target-list", "--model", model, "--data", str(_no_id_file(tmp_path)),
                 "--budget", "30", "--value", "500", "--out", str(out)])
    got = capsys.readouterr()
    assert code == 0, got.err
    assert "no control group: no_ids.csv has no customer ID column" in got.err
    lst = pd.read_csv(out)
    assert len(lst) == 30 and "group" not in lst.columns
    log = json.loads((tmp_path / "x_decision_log.json").read_text())
    assert "campaign" not in log
    assert log["control_group"]["held_back"] is False and log["control_group"]["share_asked"] == 0.1
    assert "no customer ID column" in log["control_group"]["reason"]
    assert log["customers_to_call"] == 30 and log["customers_in_control_group"] == 0
    value = round(float(lst["expected_value"].sum()), 2)
    assert abs(log["cost_assumptions"]["expected_net_value_of_calls"] - value) <= 0.005 * 30
    total = log["cost_assumptions"]["expected_net_value_of_calls"]
    assert f"30 listed, all to call; expected net value of the 30 calls: {total:,.0f} EUR" in got.out


def test_cli_explicit_control_share_without_ids_fails_before_the_reason_codes(tmp_path, capsys,
                                                                               monkeypatch):
    from churn_core import config, workbench as wb
    from churn_core.cli import main

    def never(*a, **k):
        raise AssertionError("reason codes computed before the control group was checked")

    monkeypatch.setattr(wb, "reason_context", never)
    model = str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME)
    code = main(["-q", "target-list", "--model", model, "--data", str(_no_id_file(tmp_path)),
                 "--budget", "30", "--control-share", "0.2", "--out", str(tmp_path / "y.csv")])
    err = capsys.readouterr().err
    assert code != 0
    assert "--control-share 0.2: a control group needs a customer ID column in no_ids.csv" in err
    assert not (tmp_path / "y.csv").exists()


def test_cli_list_prints_calls_and_value_without_the_control_group(tmp_path, capsys):
    from churn_core import config

    model = str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME)
    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, keep_default_na=False).head(400)
    data = tmp_path / "ids.csv"
    df.to_csv(data, index=False)
    out = _run(["--model", model, "--data", str(data), "--budget", "100", "--value", "500",
                "--contact-cost", "20", "--out", str(tmp_path / "l.csv")], capsys)
    lst = pd.read_csv(tmp_path / "l.csv")
    log = json.loads((tmp_path / "l_decision_log.json").read_text())
    control = lst["group"].eq("control").to_numpy()
    assert control.sum() == 10 == log["customers_in_control_group"]
    c = log["cost_assumptions"]
    ev = lst["expected_value"].to_numpy(dtype=float)
    assert abs(c["expected_net_value_of_calls"] - ev[~control].sum()) <= 0.005 * 90
    assert abs(c["expected_net_value_of_control_group_if_called"] - ev[control].sum()) <= 0.005 * 10
    assert (f"100 listed = 90 to call + 10 held back as control group; expected net value of "
            f"the 90 calls: {c['expected_net_value_of_calls']:,.0f} EUR") in out


# ---------------------------------------------------------------------------- CLI, Orange
@pytest.fixture(scope="module")
def orange_models_dir(tiny_cfg, tmp_path_factory):
    """``orange``: the tiny recipe trained on the real Orange Telecom file (target ``Churn``,
    ``TRUE``/``True`` = churned); skips when the file is absent."""
    from churn_core import config
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import save_bundle
    from churn_core.model.train import train_bundle

    if not config.ORANGE_CSV.is_file():
        pytest.skip(f"{config.ORANGE_CSV} is absent")
    df, _ = read_table(config.ORANGE_CSV)
    schema = infer_schema(df, target="Churn", positive_label="TRUE")
    bundle = train_bundle(df, schema, tiny_cfg, name="orange",
                          source_name=config.ORANGE_CSV.name)
    folder = tmp_path_factory.mktemp("orange_models")
    save_bundle(bundle, "orange", folder)
    return folder


@pytest.mark.realdata
@pytest.mark.slow
def test_orange_state_and_area_code_are_never_call_reasons_or_suggested_changes(
        orange_models_dir, tmp_path, capsys):
    """Breakit item 2: ``target-list --budget 300`` on Orange gave ``State: MI (rare: 2 % of
    customers)`` in 38 of 300 rows, and the change search searched ``State``."""
    from churn_core import config
    from churn_core.cli import main
    from churn_core.model.bundle import load_bundle

    out = tmp_path / "orange.csv"
    _run(["--model", str(orange_models_dir / "orange"), "--data", str(config.ORANGE_CSV),
          "--budget", "300", "--control-share", "0", "--out", str(out)], capsys)
    lst = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(lst) == 300 and (lst["reason_1"].str.len() > 0).all()
    text = _reason_text(lst)
    assert not re.search(r"\bState\b|\bArea code\b", text), text[:500]
    log = json.loads((tmp_path / "orange_decision_log.json").read_text())
    assert log["extra"]["reasons"]["protected_attributes"] == ["State", "Area code"]
    assert log["extra"]["reasons"]["protected_used_as_reasons"] is False
    # the change search of one listed customer (spreadsheet row = source_line)
    line = int(lst["source_line"].iloc[0]) if "source_line" in lst else None
    if line is None:
        from churn_core.campaign.scoring import score_frame
        from churn_core.io.reader import ROW_INDEX, read_table

        df, _ = read_table(config.ORANGE_CSV)
        scored = score_frame(load_bundle("orange", orange_models_dir), df).scored
        line = int(scored.sort_values("churn_probability", ascending=False)[ROW_INDEX].iloc[0])
    assert main(["what-if", "--model", str(orange_models_dir / "orange"), "--data",
                 str(config.ORANGE_CSV), "--row", str(line), "--suggest", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "Total day minutes" in res["searched_columns"]
    assert not {"State", "Area code", "Account length"} & set(res["searched_columns"])
    cols = {s["column"] for s in res["suggestions"]}
    assert not {"State", "Area code"} & cols


# ---------------------------------------------------------------------------- partner status
TELCO_COLUMNS = ["gender", "SeniorCitizen", "Partner", "Dependents", "tenure", "PhoneService",
                 "MultipleLines", "InternetService", "Contract", "PaperlessBilling",
                 "PaymentMethod", "MonthlyCharges", "TotalCharges"]


def test_partner_status_is_protected_not_context():
    """Break-it 2, item 2.4: telco ``Partner`` (marital / partner status) was a fallback
    reason "(context, not actionable)" and left out of the fairness check."""
    assert protected_columns(TELCO_COLUMNS) == ["gender", "SeniorCitizen", "Partner",
                                                "Dependents"]
    assert non_actionable_columns(TELCO_COLUMNS) == ["tenure", "TotalCharges"]
    family = ["partner", "Has_Partner", "PartnerCode", "Spouse_Age", "spouse", "Married",
              "MaritalStatus", "Relationship_Status", "InRelationship", "Widowed", "Divorced",
              "NumChildren", "children_count", "Child", "HasKids", "Dependent_count"]
    assert protected_columns(family) == family
    # whole words only; the bank's relationship count is the products a customer holds
    near_misses = ["Partnership", "Total_Relationship_Count", "RelationshipManager",
                   "Childcare_Plan", "Kidney", "Marriott_Points", "Spousal"]
    assert protected_columns(near_misses) == []


def test_old_saved_settings_get_partner_moved_to_protected():
    """A telco model trained before this rule saved ``Partner`` as non-actionable: its
    saved settings are read under the new rule; settings saved since are kept as saved."""
    old = {"protected": ["gender", "SeniorCitizen", "Dependents"],
           "non_actionable": ["tenure", "TotalCharges", "Partner"], "labels": {}}
    s = ReasonSettings.from_dict(old, TELCO_COLUMNS)
    assert s.protected == ["gender", "SeniorCitizen", "Dependents", "Partner"]
    assert s.non_actionable == ["tenure", "TotalCharges"]
    assert s.to_dict()["rules"] == 2
    chosen = {**old, "rules": 2}  # an analyst's choice under the current rules stays
    kept = ReasonSettings.from_dict(chosen, TELCO_COLUMNS)
    assert kept.non_actionable == ["tenure", "TotalCharges", "Partner"]
    assert ReasonSettings.defaults(TELCO_COLUMNS).protected == ["gender", "SeniorCitizen",
                                                               "Partner", "Dependents"]


def test_partner_is_never_a_fallback_reason():
    settings = ReasonSettings.defaults(["Partner", "tenure", "Contract"])
    data = pd.DataFrame({"Partner": ["No", "No", "Yes", "No"], "tenure": [2.0, 30.0, 5.0, 60.0],
                         "Contract": ["Month-to-month", "Two year", "One year", "Two year"]})
    prof = ReferenceProfile.fit(data, ["tenure"], ["Partner", "Contract"])
    values = np.array([[0.30, 0.05, -0.01, ], [0.30, -0.02, -0.01], [0.30, 0.02, 0.01],
                       [0.30, -0.02, -0.01]])
    out = reason_sentences(values, data, ["Partner", "tenure", "Contract"], settings, prof)
    assert out["reason_1"].tolist() == [
        "Tenure: 2 (low: 75 % of customers have more) (context, not actionable)", "",
        "Contract: One year (like 25 % of customers)", ""]
    assert not out.apply(lambda c: c.str.contains("Partner")).any().any()
    with_protected = reason_sentences(values, data, ["Partner", "tenure", "Contract"], settings,
                                      prof, include_protected=True)
    assert with_protected["reason_1"].iloc[0] == (
        "Partner: No (like 75 % of customers) (protected attribute)")


def test_fairness_check_includes_partner():
    frame = pd.DataFrame({"Partner": ["Yes"] * 6 + ["No"] * 4, "gender": ["F", "M"] * 5})
    listed = np.array([1, 1, 0, 0, 0, 0, 1, 1, 1, 0], dtype=bool)
    t = fairness_table(frame, listed, protected_columns(list(frame.columns)))
    part = t[t["attribute"] == "Partner"].set_index("group")
    assert part.loc["Yes", "listed"] == 2 and part.loc["Yes", "customers"] == 6
    assert part.loc["No", "listed"] == 3 and part.loc["No", "customers"] == 4


@pytest.mark.realdata
def test_telco_file_partner_is_protected_in_the_data_panel(telco_csv):
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.workbench.data import load_data
    from churn_core.workbench.target_lists import file_reason_settings

    df, _ = read_table(telco_csv)
    s = ReasonSettings.defaults(infer_schema(df).features)
    assert s.protected == ["gender", "SeniorCitizen", "Partner", "Dependents"]
    assert s.non_actionable == ["tenure", "TotalCharges"]
    panel = file_reason_settings(None, load_data(telco_csv))
    assert panel.settings.protected == ["gender", "SeniorCitizen", "Partner", "Dependents"]


# ---------------------------------------------------------------------------- listed = contacted
def test_listed_actions_give_a_no_contact_tier_a_contact_action():
    from churn_core.campaign.tiers import is_no_action, listed_actions, listed_tier_actions

    acts, replaced = listed_actions()
    assert replaced == {"Low": "No action; keep in regular communication"}
    assert acts["Low"] == ("Contact: listed by the campaign rule (low risk tier); send a "
                           "targeted e-mail offer and watch activity")
    assert acts["High"] == "Call within a week with a personal retention offer"
    acts, replaced = listed_actions({"Medium": "none", "Low": ""})
    assert set(replaced) == {"Medium", "Low"}
    assert acts["Medium"] == ("Contact: listed by the campaign rule (medium risk tier); call "
                              "within a week with a personal retention offer")
    assert [is_no_action(t) for t in ("No action", "no contact this month", "", "None",
                                      "Nonetheless call", "Call now")] == [
        True, True, True, True, False, False]
    rec = listed_tier_actions(["High", "Low", "Low", "Medium"])
    assert rec["tiers"] == {"Low": {"customers": 2,
                                    "tier_action": "No action; keep in regular communication",
                                    "listed_action": acts["Low"].replace(
                                        "call within a week with a personal retention offer",
                                        "send a targeted e-mail offer and watch activity")}}
    assert rec["note"].startswith("2 listed customers of the Low tier, whose action is 'No "
                                  "action; keep in regular communication', get 'Contact: ")
    assert listed_tier_actions(["High", "Medium"]) is None


def test_cli_max_value_list_has_no_no_action_row(tmp_path, capsys):
    """Break-it 2, item 2.6: ``--max-value --value 800 --control-share 0`` listed Low-tier
    customers with "No action; keep in regular communication", each charged the call cost."""
    from churn_core import config

    model = str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME)
    df = pd.read_csv(config.SAMPLE_CSV, dtype=str, keep_default_na=False).head(400)
    data = tmp_path / "ids.csv"
    df.to_csv(data, index=False)
    out = _run(["--model", model, "--data", str(data), "--max-value", "--value", "800",
                "--control-share", "0", "--out", str(tmp_path / "m.csv")], capsys)
    lst = pd.read_csv(tmp_path / "m.csv", keep_default_na=False)
    log = json.loads((tmp_path / "m_decision_log.json").read_text())
    low = lst["risk_tier"].eq("Low")
    n_low = int(low.sum())
    assert n_low > 0, lst["risk_tier"].value_counts()  # the rule reaches into the Low tier
    assert not lst["recommended_action"].str.contains("No action").any()
    assert (lst.loc[low, "recommended_action"] == (
        "Contact: listed by the campaign rule (low risk tier); send a targeted e-mail offer "
        "and watch activity")).all()
    # every listed customer is worth contacting: p x 800 x 0.3 - 20 > 0, cost charged
    p = lst["churn_probability"].astype(float)
    assert (lst["expected_value"].astype(float) > -0.01).all() and (p > 0.08).all()
    rec = log["extra"]["listed_tier_actions"]
    assert rec["tiers"]["Low"]["customers"] == n_low
    assert rec["tiers"]["Low"]["tier_action"] == "No action; keep in regular communication"
    assert log["recommended_actions"]["Low"] == "No action; keep in regular communication"
    assert f"note: {n_low:,} listed customer{'s' if n_low != 1 else ''} of the Low tier" in out
    assert "every listed customer is contacted, and each is charged the contact cost" in out


def test_calls_sentence_says_one_call_for_one_customer():
    from churn_core.campaign.target_list import calls_sentence

    one = {"customers_listed": 1, "customers_to_call": 1, "customers_in_control_group": 0,
           "expected_net_value_of_calls": 128.4}
    assert calls_sentence(one, "EUR") == "1 listed, all to call; expected net value of the 1 call: 128 EUR"
    two = {**one, "customers_listed": 3, "customers_to_call": 2, "customers_in_control_group": 1}
    assert calls_sentence(two, "EUR") == ("3 listed = 2 to call + 1 held back as control group; "
                                          "expected net value of the 2 calls: 128 EUR")


def test_cli_target_list_warns_about_shared_ids_with_their_rows(sample_csv, tmp_path, capsys):
    """Break-it s7 5: ``score`` warned about a customer ID on several rows, ``target-list``
    said nothing; now it warns too, naming the ID and the file's rows."""
    from churn_core import config
    from churn_core.cli import main

    frame = pd.read_csv(sample_csv, dtype=str).head(200)
    frame.loc[[1, 2, 6], "CustomerId"] = frame.loc[0, "CustomerId"]
    path = tmp_path / "dup_ids.csv"
    frame.to_csv(path, index=False)
    code = main(["-q", "target-list", "--model", str(config.MODELS_DIR / "default"),
                 "--data", str(path), "--budget", "50", "--out", str(tmp_path / "lists")])
    err = capsys.readouterr().err
    assert code == 0, err
    who = frame.loc[0, "CustomerId"]
    assert (f"warning: 4 rows share an ID value in column 'CustomerId' (duplicate customers?), "
            f"e.g. CustomerId {who} (rows 2, 3, 4, 8)") in err
