"""Real-browser test of break-it item 8: F5 during a training. The training goes on on the
server, the reloaded Model page says it is still running, then that it finished with the
model's name; the model is saved and the churn-label confirmation survives the reload."""
from __future__ import annotations

import json

import pytest

from churn_core import config
from test_browser import (ARGS, _executable, _goto, _idle, _new_page, _shot,  # noqa: F401
                          _upload_bank_and_confirm, server)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.realdata]


def test_reload_during_training_keeps_the_training_in_chromium(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    url, models = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_executable()), args=ARGS)
        page = _new_page(browser)
        try:
            page.goto(url)
            _idle(page)
            _upload_bank_and_confirm(page)

            _goto(page, "Model")
            name = page.get_by_role("textbox", name="Model name")
            name.fill("reloaded_bank")
            name.press("Tab")
            for label, value in (("Max epochs", "30"), ("Early-stopping patience (epochs)", "30"),
                                 ("Time budget for the adaptive recipe (s)", "20")):
                box = page.get_by_role("spinbutton", name=label)
                box.fill(value)
                box.press("Tab")
            page.get_by_role("button", name="Train and save").click()
            # the training runs: its progress bar shows an epoch; then F5
            expect(page.get_by_test_id("stProgress")).to_contain_text("epoch", ignore_case=True,
                                                                      timeout=180_000)
            page.reload()
            _idle(page)
            note = page.get_by_text("is still running on this server")
            expect(note).to_be_visible()
            expect(note).to_contain_text(f"on {config.BANK_CSV.name}")
            # the label confirmation came back with the data (URL): no warning, button on
            expect(page.get_by_text("Confirm the churn label")).to_have_count(0)
            _shot(page, "reload_1_still_running")
            done = page.get_by_text("finished: model reloaded_bank was saved")
            expect(done).to_be_visible(timeout=300_000)
            _idle(page)
            assert (models / "reloaded_bank" / "card.json").is_file()
            card = json.loads((models / "reloaded_bank" / "card.json").read_text())
            assert card["source"] == config.BANK_CSV.name
            # the registry lists it and the form is free again
            expect(page.get_by_role("button", name="Train and save")).to_be_enabled()
            page.get_by_role("button", name="Make reloaded_bank the active model").click()
            _idle(page)
            names = page.get_by_test_id("stSidebar").get_by_test_id("stText")
            expect(names.nth(0)).to_have_text("reloaded_bank")
            _shot(page, "reload_2_finished")
        finally:
            browser.close()
