"""Campaigns page (AppTest): measure a campaign from its decision log and outcomes file, and
read an uplift model's Qini coefficients and ranking."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from apptest_util import (app_models, assert_no_exception, column_formats, metric,  # noqa: F401
                          open_page)
from churn_core.campaign.results import campaign_results, saved_sentence
from churn_core.data.synthetic_campaign import make_campaign

PAGE = "pages/campaigns.py"


def _log_and_outcomes(n=600, seed=5):
    camp = make_campaign(n, seed)
    rec = {"campaign_id": "CMP-20261205-test", "members": {
        "id_column": "CustomerId", "ids": camp["CustomerId"].astype(str).tolist(),
        "group": np.where(camp["treatment"] == 1, "treatment", "control").tolist(),
        "stratum": np.where(camp["Age"] >= 45, "High", "Medium").tolist()}}
    outcomes = camp[["CustomerId"]].assign(churned=np.where(camp["churned"] == 1, "yes", "no"))
    outcomes.loc[len(outcomes)] = [7, "no"]  # not on the list
    return {"campaign": rec}, outcomes


def _frame(at, column):
    """The shown table that has ``column`` (AppTest keeps no key on a styled dataframe)."""
    found = [d.value for d in at.dataframe if column in getattr(d.value, "columns", [])]
    assert found, f"no table with a {column!r} column"
    return found[0]


def test_campaigns_page_measures_a_campaign(app_models):
    at = open_page(PAGE)
    assert any("No uplift model yet" in i.value for i in at.info)
    log, outcomes = _log_and_outcomes()
    at.file_uploader[0].set_value(("list_decision_log.json", json.dumps(log).encode(), "application/json"))
    at.file_uploader[1].set_value(("outcomes.csv", outcomes.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert_no_exception(at)
    shown = _frame(at, "ci_low")
    # a log without value assumptions: the session's (500 per saved customer, 20 per contact)
    assert at.number_input(key="campaign_cost").value == 20.0
    ref = campaign_results(log["campaign"], outcomes.astype(str), value_per_customer=500,
                           cost_per_contact=20).table
    assert shown["risk_tier"].tolist() == ref["risk_tier"].tolist() == ["High", "Medium", "All"]
    np.testing.assert_allclose(shown["uplift"], ref["uplift"])
    np.testing.assert_allclose(shown["net_value"], ref["net_value"])
    assert any("600 matched" in m.value and "1 not on the list" in m.value for m in at.markdown)
    # counts with thousands separators, churn rates x 100 with one decimal ("20.9 %")
    table = [d for d in at.dataframe if "ci_low" in getattr(d.value, "columns", [])][0]
    fmt = column_formats(table)
    assert fmt["called"] == fmt["control"] == "%,d"
    assert fmt["churn_rate_called"] == fmt["churn_rate_control"] == "%.1f %%"
    np.testing.assert_allclose(shown["churn_rate_called"], 100 * ref["churn_rate_called"])
    # the sentence per tier is the command line's (campaign-results prints the same lines)
    sentences = [f"- **{r['risk_tier']}**: {saved_sentence(r)}" for r in ref.to_dict("records")]
    assert "\n".join(sentences) in [m.value for m in at.markdown]
    wide = [r for r in ref.to_dict("records") if r["ci_low"] <= 0 <= r["ci_high"]]
    assert wide, "the sample campaign should have a tier whose interval includes 0"
    assert all(saved_sentence(r).endswith(": not distinguishable from no effect)") for r in wide)


def test_campaigns_page_refuses_a_log_without_a_control_group(app_models):
    at = open_page(PAGE)
    _, outcomes = _log_and_outcomes()
    at.file_uploader[0].set_value(("log.json", b'{"rows_in": 3}', "application/json"))
    at.file_uploader[1].set_value(("outcomes.csv", outcomes.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert any("control group" in e.value for e in at.error)


@pytest.mark.slow
def test_campaigns_page_shows_an_uplift_model(app_models):
    from churn_core.model.uplift import save_uplift, train_uplift

    ub = train_uplift(make_campaign(4000, 8).astype(str), seed=8)
    save_uplift(ub, "uplift_test", app_models)
    at = open_page(PAGE)
    assert metric(at, "Qini, uplift model") == f"{ub.card['qini_model']:.4f}"
    assert metric(at, "Qini, ranking by churn risk") == f"{ub.card['qini_risk_only']:.4f}"
    ranking = _frame(at, "expected_saved_value")
    assert len(ranking) == 200 and ranking["rank"].tolist() == list(range(1, 201))
    esv = ranking["expected_saved_value"].to_numpy()
    assert (np.diff(esv) <= 1e-9).all()
    # the session's value assumptions (500 per saved customer, 20 per contact)
    np.testing.assert_allclose(esv, ranking["uplift"] * 500 - 20, atol=1e-6)


def test_campaigns_page_takes_the_value_and_cost_from_the_decision_log(app_models):
    """Breakit item 7: the list's value assumptions, not a page default of 10 per call."""
    at = open_page(PAGE)
    log, outcomes = _log_and_outcomes()
    log["cost_assumptions"] = {"amount": 800.0, "column": None, "margin": 1.0,
                               "success_rate": 0.3, "cost_per_contact": 20.0, "currency": "USD"}
    at.file_uploader[0].set_value(("list_decision_log.json", json.dumps(log).encode(), "application/json"))
    at.file_uploader[1].set_value(("outcomes.csv", outcomes.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert at.number_input(key="campaign_value").value == 800.0
    assert at.number_input(key="campaign_cost").value == 20.0
    assert at.text_input(key="campaign_currency").value == "USD"
    shown = _frame(at, "ci_low")
    ref = campaign_results(log["campaign"], outcomes.astype(str), value_per_customer=800,
                           cost_per_contact=20).table
    np.testing.assert_allclose(shown["net_value"], ref["net_value"])
    np.testing.assert_allclose(shown["cost"], 20.0 * ref["called"])
    # the analyst's own edit stays on reruns with the same log
    at.number_input(key="campaign_cost").set_value(12.0).run()
    assert at.number_input(key="campaign_cost").value == 12.0
    ref = campaign_results(log["campaign"], outcomes.astype(str), value_per_customer=800,
                           cost_per_contact=12).table
    np.testing.assert_allclose(_frame(at, "ci_low")["net_value"], ref["net_value"])


def test_campaigns_page_without_a_log_uses_the_sessions_value_assumptions(app_models):
    at = open_page("pages/performance.py")
    at.number_input(key="value_cost__performance").set_value(35.0).run()
    at.number_input(key="value_amount__performance").set_value(650.0).run()
    at.switch_page(PAGE).run()
    assert_no_exception(at)
    assert at.number_input(key="campaign_cost").value == 35.0
    assert at.number_input(key="campaign_value").value == 650.0
    assert at.text_input(key="campaign_currency").value == "EUR"


def test_campaigns_page_restores_leading_zeros_and_says_not_measurable(app_models):
    """Break-it 2.7: outcome IDs re-saved by Excel without their leading zeros are matched
    (and the page says so); a file matching nothing reads "not measurable", no empty chart."""
    log, outcomes = _log_and_outcomes()
    members = log["campaign"]["members"]
    members["ids"] = [f"{int(i):09d}" for i in members["ids"]]  # the list keeps the zeros
    outcomes = outcomes.iloc[:-1].astype(str)  # IDs without the zeros, as Excel saves them
    at = open_page(PAGE)
    at.file_uploader[0].set_value(("list_decision_log.json", json.dumps(log).encode(),
                                   "application/json"))
    at.file_uploader[1].set_value(("outcomes.csv", outcomes.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert any("600 matched" in m.value and "0 not on the list" in m.value for m in at.markdown)
    example = f"{outcomes['CustomerId'].iloc[0]} -> {int(outcomes['CustomerId'].iloc[0]):09d}"
    assert [i.value.replace("\\", "") for i in at.info if "leading zeros were" in i.value] == [
        f"600 outcome IDs matched once leading zeros were restored ({example}): the file was "
        "probably re-saved by Excel."]
    padded = outcomes.assign(CustomerId=[f"{int(i):09d}" for i in outcomes["CustomerId"]])
    ref = campaign_results(log["campaign"], padded, value_per_customer=500,
                           cost_per_contact=20).table
    np.testing.assert_allclose(_frame(at, "ci_low")["uplift"], ref["uplift"])
    charts = len(at.get("plotly_chart"))  # the uplift chart is drawn

    # outcomes of other customers only: nothing to measure, said in words, no chart
    other = outcomes.assign(CustomerId=[f"X{i}" for i in range(len(outcomes))])
    at.file_uploader[1].set_value(("other.csv", other.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert_no_exception(at)
    assert any("0 matched" in m.value and "600 not on the list" in m.value for m in at.markdown)
    assert ("Uplift: not measurable (no called or no control customer with an outcome): no "
            "chart to draw.") in [w.value for w in at.warning]
    assert len(at.get("plotly_chart")) == charts - 1  # ... and no empty chart now
    assert "- **All**: Customers saved: not measurable" in "\n".join(m.value for m in at.markdown)
