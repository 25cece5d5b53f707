"""AppTest of the retention target list (issue 15): one campaign rule across pages, budgets
counted on the scored file, reasons for the listed customers, fairness check, and a customer
of a scored upload opened on Explain."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config, workbench as wb

pytestmark = pytest.mark.slow


def _list(at):
    held = at.session_state["target_list_result"]
    assert held is not None, "no list built"
    return held[1]


def _shown_list(at) -> pd.DataFrame:
    """The target list table drawn on Score & segment (not the tier summary)."""
    found = [d.value for d in at.dataframe
             if {"reason_1", "recommended_action"} <= set(getattr(d.value, "columns", []))]
    assert found, "no target list table"
    return found[-1]


def _bundle():
    from churn_core.model.bundle import load_bundle

    return load_bundle(config.DEFAULT_MODEL_NAME)


def _file_name_caption(at) -> str:
    found = [c.value for c in at.caption if c.value.startswith("File name:")]
    assert found, [c.value for c in at.caption]
    return found[0]


def test_rule_chosen_on_performance_drives_score_page_and_file_name(app_models):  # noqa: F811
    at = open_page("pages/performance.py")
    at.radio(key="rule_kind__performance").set_value("budget").run()
    at.number_input(key="rule_budget__performance").set_value(150).run()
    assert_no_exception(at)
    assert any("lists **150** customers" in c.value for c in at.caption)
    at.switch_page("pages/score_segment.py").run()
    assert_no_exception(at)
    assert at.radio(key="rule_kind__score").value == "budget"
    assert at.number_input(key="rule_budget__score").value == 150
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    result = _list(at)
    frame = result.frame
    # 150 customers of this file (the model's validation split has 1,500)
    assert len(frame) == 150
    assert frame["rank"].tolist() == list(range(1, 151))
    assert frame["churn_probability"].is_monotonic_decreasing
    assert (frame["churn_probability"].round(3) == frame["churn_probability"]).all()
    assert (frame["reason_1"].str.len() > 0).all()
    for col in ("Gender", "Age", "Geography"):
        assert not frame[["reason_1", "reason_2", "reason_3"]].apply(
            lambda c: c.str.contains(rf"\b{col}\b", regex=True)).any().any(), col
    table = [d.value for d in at.dataframe if "reason_1" in getattr(d.value, "columns", [])
             and "recommended_action" in getattr(d.value, "columns", [])]
    assert len(table[0]) == 150
    name = _file_name_caption(at)
    assert f"retention_targets_{config.DEFAULT_MODEL_NAME}_" in name and "_budget150.csv" in name
    assert result.log["extra"]["rule"] == {**result.log["extra"]["rule"], "kind": "budget",
                                           "budget": 150}
    csv = pd.read_csv(io.BytesIO(wb.list_bytes(result, "csv")), dtype=str)
    assert len(csv) == 150
    assert set(result.fairness["attribute"]) >= {"Gender", "Geography"}
    # back on Performance the rule is still the same
    at.switch_page("pages/performance.py").run()
    assert at.number_input(key="rule_budget__performance").value == 150


def test_budget_counts_customers_of_a_small_scored_upload(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300).drop(columns=["Exited"])
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(
        ("month.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(150).run()
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    result = _list(at)
    assert len(result.frame) == 150  # of 300 uploaded customers, whatever the validation size
    assert result.log["rows_in"] == 300
    assert "_budget150.csv" in _file_name_caption(at)
    # a customer of the scored upload opens on Explain; the active data is unchanged
    upload = at.session_state["score_upload"]
    at.session_state["explain_request"] = (upload.sha256, 7)
    at.switch_page("pages/explain.py").run()
    assert_no_exception(at)
    assert at.session_state["active_data"] is None
    assert at.radio(key="explain_source__explain").value == "scored upload"
    assert at.selectbox(key="ex_customer").value == str(frame["CustomerId"].iloc[7])
    assert any("scored file" in c.value and "month" in c.value for c in at.caption)


def test_protected_list_edited_on_data_page_is_saved_with_the_model(app_models):  # noqa: F811
    import json

    at = open_page("pages/data.py")
    key = f"rs_protected_{config.DEFAULT_MODEL_NAME}"
    assert set(at.multiselect(key=key).value) >= {"Age", "Gender", "Geography"}
    at.multiselect(key=key).set_value(["Gender", "Geography"]).run()  # Age allowed as a reason
    at.button(key="rs_save").click().run()
    assert_no_exception(at)
    card = json.loads((app_models / config.DEFAULT_MODEL_NAME / "card.json").read_text())
    assert card["reason_settings"]["protected"] == ["Gender", "Geography"]
    assert card["reason_settings"]["labels"]["NumOfProducts"] == "Number of products"
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME, app_models)
    left_out = wb.reason_exclusions(bundle, actionable_only=False)
    assert left_out == ["Gender", "Geography"]


def test_control_group_on_the_score_page_as_the_cli_draws_it(app_models):  # noqa: F811
    from churn_core.campaign.control import assign_control_group

    at = open_page("pages/score_segment.py")
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(200).run()
    assert at.checkbox(key="control_on__score").value is True  # on by default, as the CLI
    at.number_input(key="control_share__score").set_value(20.0).run()
    at.number_input(key="control_seed__score").set_value(7).run()
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    assert any("not called" in c.value and "Campaigns" in c.value for c in at.caption)
    base = _list(at)  # the list as built, without a control group
    assert "group" not in base.frame.columns
    controlled = at.session_state["target_list_control"][1]
    frame = controlled.frame
    assert len(frame) == 200 and set(frame["group"]) == {"treatment", "control"}
    for tier, part in frame.groupby("risk_tier"):  # stratified by risk tier
        assert (part["group"] == "control").sum() == round(0.2 * len(part)), tier
    # the same draw as the command line's (seeded): same customers in control
    ref, _ = assign_control_group(base.frame, ["CustomerId"], share=0.2, seed=7)
    assert frame["group"].tolist() == ref["group"].tolist()
    camp = controlled.log["campaign"]
    assert camp["seed"] == 7 and camp["control_share"] == 0.2
    assert camp["control"] == int((frame["group"] == "control").sum())
    assert any(f"**{camp['control']:,}** of 200 listed" in c.value for c in at.caption)
    # breakit item 6: the value is of the calls; the control group is not called
    called = frame["group"].eq("treatment").to_numpy()
    p = wb.score_data(_bundle(), wb.load_data(config.SAMPLE_CSV)).p[
        wb.listed_positions(controlled)]
    ev = p * 0.3 * 500.0 - 20.0  # the session's value assumptions, by hand
    costs = controlled.log["cost_assumptions"]
    assert controlled.log["customers_to_call"] == int(called.sum()) == 200 - camp["control"]
    assert controlled.log["customers_in_control_group"] == camp["control"]
    assert costs["expected_net_value_of_calls"] == round(float(ev[called].sum()), 2)
    assert costs["expected_net_value_of_control_group_if_called"] == \
        round(float(ev[~called].sum()), 2)
    sentence = (f"200 listed = {called.sum()} to call + {camp['control']} held back as control "
                f"group; expected net value of the {called.sum()} calls: "
                f"{costs['expected_net_value_of_calls']:,.0f} EUR")
    assert any(sentence in m.value for m in at.markdown), [m.value for m in at.markdown]
    # the preview above the button said the same before the list was built
    assert any(sentence.replace(f"{costs['expected_net_value_of_calls']:,.0f} EUR",
                                f"**{costs['expected_net_value_of_calls']:,.0f} EUR**")
               in c.value for c in at.caption), [c.value for c in at.caption]
    # the download has the group column, as the CLI's list; the log has the campaign record
    csv = pd.read_csv(io.BytesIO(wb.list_bytes(controlled, "csv")), dtype=str)
    assert csv["group"].tolist() == frame["group"].tolist()
    assert csv["campaign_id"].nunique() == 1
    import json

    assert json.loads(wb.list_bytes(controlled, "json"))["campaign"]["seed"] == 7
    assert _shown_list(at)["group"].tolist() == frame["group"].tolist()
    # a rerun keeps the same campaign (same ID), turning it off gives the plain list
    at.run()
    assert at.session_state["target_list_control"][1].log["campaign"]["campaign_id"] == \
        camp["campaign_id"]
    at.checkbox(key="control_on__score").uncheck().run()
    assert_no_exception(at)
    shown = _shown_list(at)
    assert "group" not in shown.columns and len(shown) == 200


def test_suggested_change_column_of_the_list(app_models):  # noqa: F811
    import re

    at = open_page("pages/score_segment.py")
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(120).run()
    assert at.toggle(key="list_suggested_change__score").value is True  # fast: on by default
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    result = _list(at)
    frame = result.frame
    cols = list(frame.columns)
    assert cols.index("suggested_change") == cols.index("recommended_action") - 1
    assert _shown_list(at)["suggested_change"].tolist() == frame["suggested_change"].tolist()
    # the same text as the workbench's column for the listed customers, from the engine
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME)
    data = wb.load_data(config.SAMPLE_CSV)
    scores = wb.score_data(bundle, data)
    ctx = wb.reason_context(bundle, data, scores)
    searched = result.log["suggested_change"]["columns_searched"]
    assert searched and not {"Gender", "Age", "Geography"} & set(searched)
    ref = wb.suggested_change_column(bundle, scores, wb.listed_positions(result),
                                     wb.whatif_space(bundle, ctx.explainer, scores),
                                     columns=searched)
    assert frame["suggested_change"].tolist() == ref.tolist()
    # every suggestion lowers the customer's probability and names a searched column
    filled = frame[frame["suggested_change"] != ""]
    assert len(filled) > 0
    for text, p in zip(filled["suggested_change"], filled["churn_probability"]):
        after = float(re.search(r"churn probability ([0-9.]+)\)$", text).group(1))
        assert after < p + 5e-4, text
        assert text.split(":")[0] in searched, text
    csv = pd.read_csv(io.BytesIO(wb.list_bytes(result, "csv")), dtype=str, keep_default_na=False)
    assert csv["suggested_change"].tolist() == frame["suggested_change"].tolist()
    # off: the list is built again without the column
    at.toggle(key="list_suggested_change__score").set_value(False).run()
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    assert "suggested_change" not in _list(at).frame.columns
    assert len(_list(at).frame) == 120


def test_expected_net_value_says_it_rests_on_assumed_values(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    assumed = ("on assumed values (500 EUR per saved customer, 30 % offer success, 20 EUR per "
               "contact): set yours in Value assumptions")
    text = [c.value for c in at.caption if "expected net value of the" in c.value]
    assert text and assumed in text[0], [c.value for c in at.caption]
    at.number_input(key="value_amount__score").set_value(800.0).run()
    assert_no_exception(at)
    text = [c.value for c in at.caption if "expected net value of the" in c.value]
    assert text and "assumed values" not in text[0]


def test_budget_above_the_file_and_no_id_column_are_handled_and_logged(app_models,  # noqa: F811
                                                                       monkeypatch):
    """Break-it item 13: a budget above the file's size was refused by the browser ("Number
    is outside the allowed range"): now capped with a note. A file without an ID column gets
    no control group, and the downloaded decision log says why, as the CLI's does. A file
    above the SHAP sample size is promised reason codes for a random sample of it."""
    import json

    from churn_core.workbench import config as wb_config

    at = open_page("pages/score_segment.py")
    frame = (pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300)
             .drop(columns=["Exited", "CustomerId", "RowNumber", "Surname"]))
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(
        ("no_ids.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(99_999).run()
    assert_no_exception(at)
    assert at.session_state["rule_budget"] == 300
    assert at.number_input(key="rule_budget__score").value == 300
    assert any(c.value == "The file has 300 customers: everyone is listed." for c in at.caption)
    assert any(c.value.startswith("No control group: the list has no customer ID column")
               for c in at.caption)
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    result = _list(at)
    assert len(result.frame) == 300
    log = json.loads(wb.list_bytes(result, "json"))
    assert log["control_group"] == {
        "held_back": False, "share_asked": 0.1,
        "reason": "the list has no customer ID column to match outcomes later (mark one on "
                  "the Data page)"}
    assert "campaign" not in log

    monkeypatch.setattr(wb_config, "SHAP_MAX_ROWS", 120)
    at.run()
    promise = [c.value for c in at.caption if c.value.startswith("Reason codes need SHAP")]
    assert promise and "for a random sample of 120 of the 300 customers (the others get no " \
        "reason codes) on this server now" in promise[0]


def test_listed_low_tier_customers_get_a_contact_action_not_no_action(app_models):  # noqa: F811
    """Break-it 2, item 2.6: a budget larger than the High + Medium tiers listed Low-tier
    customers with "No action; keep in regular communication" (each charged the contact
    cost). They get a contact action; a note on the page and the log count them."""
    import json

    at = open_page("pages/score_segment.py")
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300)
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(
        ("all300.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(300).run()
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    result = _list(at)
    low = int(result.frame["risk_tier"].eq("Low").sum())
    assert len(result.frame) == 300 and low > 0
    shown = _shown_list(at)
    assert not shown["recommended_action"].str.contains("No action").any()
    assert set(shown.loc[shown["risk_tier"] == "Low", "recommended_action"]) == {
        "Contact: listed by the campaign rule (low risk tier); send a targeted e-mail offer "
        "and watch activity"}
    notes = [i.value.replace("\\", "") for i in at.info if "of the Low tier" in i.value]
    assert notes == [f"{low:,} listed customers of the Low tier, whose action is 'No action; "
                     "keep in regular communication', get 'Contact: listed by the campaign "
                     "rule (low risk tier); send a targeted e-mail offer and watch activity': "
                     "every listed customer is contacted, and each is charged the contact cost."]
    log = json.loads(wb.list_bytes(result, "json"))
    assert log["extra"]["listed_tier_actions"]["tiers"]["Low"]["customers"] == low
