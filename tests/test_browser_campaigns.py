"""Real-browser test of the Campaigns page: upload a list's decision log and the outcomes the
team sent back, and read the uplift table (called vs control per risk tier)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from churn_core.data.synthetic_campaign import make_campaign
from test_browser import ARGS, _executable, _goto, _idle, _new_page, _shot, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.realdata]


def test_campaign_results_in_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    url, _ = server
    camp = make_campaign(2000, 4)
    rec = {"campaign_id": "CMP-20261205-browser", "members": {
        "id_column": "CustomerId", "ids": camp["CustomerId"].astype(str).tolist(),
        "group": np.where(camp["treatment"] == 1, "treatment", "control").tolist(),
        "stratum": ["High"] * len(camp)}}
    log = tmp_path / "list_decision_log.json"
    log.write_text(json.dumps({"campaign": rec}))
    outcomes = tmp_path / "outcomes.csv"
    camp[["CustomerId", "churned"]].to_csv(outcomes, index=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_executable()), args=ARGS)
        page = _new_page(browser)
        try:
            page.goto(url)
            _idle(page)
            _goto(page, "Campaigns")
            expect(page.get_by_text("1. Measure a campaign")).to_be_visible()
            inputs = page.get_by_test_id("stFileUploaderDropzoneInput")
            inputs.nth(0).set_input_files(str(log))
            _idle(page)
            inputs.nth(1).set_input_files(str(outcomes))
            _idle(page)
            expect(page.get_by_text("2,000 matched")).to_be_visible()
            table = page.get_by_test_id("stDataFrame").first
            expect(table).to_be_visible()
            _shot(page, "7_campaigns")
        finally:
            browser.close()
