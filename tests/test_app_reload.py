"""AppTest: the session's state survives a reload (issue 14, item 4).

A reload (F5) or a bookmark is a NEW session with the same URL: a new ``AppTest`` is given
the query parameters the first one left in its URL, and must come back with the same model,
decision threshold, tier cutoffs, page and active uploaded data. An unknown data SHA-256 is
ignored with a note; the upload folder is a temporary one (``apptest_util.app_models``).
"""
from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, new_app, open_page  # noqa: F401

from churn_core import config
from churn_core.workbench.uploads import UploadFolder

pytestmark = pytest.mark.slow


def _upload_bytes(n=300) -> bytes:
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(n)
    return frame.to_csv(index=False).encode("utf-8")


def test_threshold_cutoffs_page_and_upload_come_back_after_a_reload(app_models):  # noqa: F811
    raw = _upload_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(("my_customers.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    assert at.session_state["active_data"].sha256 == sha
    at.session_state["decision_threshold"] = 0.37
    at.session_state["tier_cutoffs"] = {"high": 0.61, "medium": 0.22}
    at.switch_page("pages/performance.py").run()
    assert_no_exception(at)
    url = dict(at.query_params)
    assert url["data"] == sha and url["threshold"] == "0.37"
    assert (url["high"], url["medium"]) == ("0.61", "0.22")
    assert url["model"] == at.session_state["active_model"]
    assert url["page"] == "performance"
    # only the SHA-256 travels in the URL; the bytes are in the upload folder
    assert "my_customers" not in "".join(url.values())
    assert UploadFolder().load(sha)[0] == "my_customers.csv"

    again = new_app()  # F5: a new session with the same query string
    for key, value in url.items():
        again.query_params[key] = value
    again.run()
    assert_no_exception(again)
    ss = again.session_state
    assert ss["decision_threshold"] == pytest.approx(0.37)
    assert ss["tier_cutoffs"] == {"high": pytest.approx(0.61), "medium": pytest.approx(0.22)}
    assert ss["active_model"] == url["model"]
    assert ss["active_data"] is not None and ss["active_data"].sha256 == sha
    assert ss["active_data"].name == "my_customers.csv"
    assert len(ss["active_data"].frame) == 300
    assert again.title[0].value == "Performance"  # the page came back too
    assert [s.value for s in again.sidebar.text][1] == "my_customers.csv"


def test_an_unknown_data_sha_is_ignored_with_a_note(app_models):  # noqa: F811
    at = new_app()
    at.query_params["data"] = "0" * 64
    at.query_params["threshold"] = "0.42"
    at.run()
    assert_no_exception(at)
    assert at.session_state["active_data"] is None  # the shipped sample stays active
    assert at.session_state["decision_threshold"] == pytest.approx(0.42)
    assert any("not kept on this computer" in w.value for w in at.sidebar.warning)
    assert "data" not in at.query_params  # the dead link is not written back


def test_another_session_does_not_see_an_upload_without_its_sha(app_models):  # noqa: F811
    raw = _upload_bytes(120)
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(("private.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    other = new_app()
    other.run()
    assert_no_exception(other)
    assert other.session_state["active_data"] is None
    assert "data" not in other.query_params


def test_the_campaign_rule_comes_back_after_a_reload(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(250).run()
    assert_no_exception(at)
    url = dict(at.query_params)
    assert url["rule"] == "budget:250"

    again = new_app()  # F5
    for key, value in url.items():
        again.query_params[key] = value
    again.run()
    assert_no_exception(again)
    assert again.session_state["campaign_rule"]["kind"] == "budget"
    assert again.session_state["campaign_rule"]["budget"] == 250
    assert again.title[0].value == "Score & segment"
    assert again.radio(key="rule_kind__score").value == "budget"
    assert again.number_input(key="rule_budget__score").value == 250
    assert again.query_params["rule"] == "budget:250"

    tiers = new_app()  # every kind carries its own number
    tiers.query_params["rule"] = "tiers:High,Medium"
    tiers.run()
    assert tiers.session_state["campaign_rule"]["tiers"] == ["High", "Medium"]
    assert tiers.session_state["rule_tiers"] == ["High", "Medium"]
    share = new_app()
    share.query_params["rule"] = "budget_share:12.5"
    share.run()
    assert share.session_state["campaign_rule"]["share"] == pytest.approx(12.5)
    assert share.query_params["rule"] == "budget_share:12.5"


@pytest.mark.parametrize("bad", ["budget:-3", "budget:many", "threshold:1.7", "tiers:Purple",
                                 "lottery:5", "budget_share:nan"])
def test_an_invalid_campaign_rule_in_the_link_falls_back_with_a_note(app_models, bad):  # noqa: F811
    at = new_app()
    at.query_params["rule"] = bad
    at.run()
    assert_no_exception(at)
    assert at.session_state["campaign_rule"]["kind"] == "tiers"
    assert at.session_state["campaign_rule"]["tiers"] == ["High"]
    assert any("campaign rule of this link" in w.value for w in at.sidebar.warning)
    assert at.query_params["rule"] == "tiers:High"  # the bad value is not written back


def test_the_label_confirmation_comes_back_after_a_reload(app_models):  # noqa: F811
    """Break-it item 8: F5 kept the file but lost the churn-label confirmation, so training
    was refused with "Confirm the churn label on the Data page". It travels in the URL as a
    digest of (file SHA-256, target, positive label): only the same file and label match."""
    raw = _upload_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(("labelled.csv", raw, "text/csv")).run()
    assert "label" not in at.query_params  # not confirmed yet
    box = [c for c in at.checkbox if c.label.startswith("I confirm that")][0]
    box.check().run()
    assert_no_exception(at)
    url = dict(at.query_params)
    expected = hashlib.sha256(f"{sha}\0Exited\x001".encode()).hexdigest()[:16]
    assert url["data"] == sha and url["label"] == expected

    again = new_app()  # F5 on the Model page
    for key, value in {**url, "page": "model"}.items():
        again.query_params[key] = value
    again.run()
    assert_no_exception(again)
    assert again.session_state["label_confirmed"] == (sha, "Exited", "1")
    assert not any("Confirm the churn label" in w.value for w in again.warning)
    assert not again.form_submit_button[0].disabled

    forged = new_app()  # a label digest of another file or label is ignored
    for key, value in {**url, "label": "0" * 16, "page": "model"}.items():
        forged.query_params[key] = value
    forged.run()
    assert "label_confirmed" not in forged.session_state
    assert any("Confirm the churn label" in w.value for w in forged.warning)


def _calls_value(at) -> str:
    """The list preview's "expected net value of the N calls: X EUR" part (Score & segment)."""
    import re

    found = [re.search(r"expected net value of the ([\d,]+) calls: \*\*(-?[\d,]+ \w+)\*\*",
                       c.value) for c in at.caption]
    found = [m.group(0) for m in found if m]
    assert len(found) == 1, [c.value for c in at.caption]
    return found[0]


def test_the_value_assumptions_come_back_after_a_reload(app_models):  # noqa: F811
    """Break-it 2.3: Amount 800 was back to 500 after F5 and the list's expected value
    changed silently. They travel as ``value=amount:800;success:0.3;cost:20;cur:EUR``."""
    at = open_page("pages/score_segment.py")
    at.radio(key="rule_kind__score").set_value("budget").run()
    at.number_input(key="rule_budget__score").set_value(300).run()
    default_value = _calls_value(at)
    assert at.query_params["value"] == "amount:500;success:0.3;cost:20;cur:EUR"
    at.number_input(key="value_amount__score").set_value(800.0).run()
    assert_no_exception(at)
    assert at.query_params["value"] == "amount:800;success:0.3;cost:20;cur:EUR"
    shown = _calls_value(at)
    assert shown != default_value and shown.startswith("expected net value of the 270 calls")
    url = dict(at.query_params)

    again = new_app()  # F5
    for key, value in url.items():
        again.query_params[key] = value
    again.run()
    assert_no_exception(again)
    assert again.title[0].value == "Score & segment"
    assert again.number_input(key="value_amount__score").value == 800.0
    assert again.session_state["value_assumptions"]["amount"] == 800.0
    assert _calls_value(again) == shown  # the same list value, not the 500 EUR one
    assert not any("on assumed values" in c.value for c in again.caption)
    assert again.query_params["value"] == url["value"]
    assert not [w.value for w in again.sidebar.warning]


def test_invalid_value_assumptions_in_the_link_fall_back_with_a_note(app_models):  # noqa: F811
    at = new_app()
    at.query_params["value"] = "amount:-800;success:0.3;cost:20;cur:EUR"
    at.run()
    assert_no_exception(at)
    assert at.session_state["value_amount"] == 500.0
    assert at.session_state["value_assumptions"]["amount"] == 500.0
    assert any("value assumptions of this link" in w.value for w in at.sidebar.warning)
    assert at.query_params["value"] == "amount:500;success:0.3;cost:20;cur:EUR"
