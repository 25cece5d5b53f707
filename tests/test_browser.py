"""Real-browser test: the analyst's path through the running app in Debian chromium.

Starts ``streamlit run app.py`` (same Python) on a free port against a temporary copy of
``models/`` and a temporary upload folder, then:

- the analyst's path (issue 14): upload the real bank file on Data, confirm the churn label,
  see Overview's "trained on other data" notice, move the threshold slider on Performance,
  train a small model on Model and see it become the champion in the registry; reload (F5),
  open the bookmarked URL in a new session and the bare URL: the same model, data and
  champion come back; open Explain, and download the retention target list on Score &
  segment; the downloaded rows and columns are checked against the engine;
- the what-if editor on Explain;
- a list by contact budget and a scored upload on Explain (issue 15): cut the list at 150
  customers, download it (150 rows, reasons, 3-decimal probabilities, the budget in the file
  name), score an uploaded sample of the bank file and open its highest-risk customer on
  Explain.

A screenshot of every page goes to ``tests/artifacts/`` (git-ignored).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core import config

CHROMIUM = Path("/usr/bin/chromium")
#: The Debian binary behind the /usr/bin/chromium wrapper script; used when the wrapper
#: cannot run because /etc/chromium.d (which it sources) is missing.
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")


def _executable() -> Path:
    if CHROMIUM.exists() and Path("/etc/chromium.d").is_dir():
        return CHROMIUM
    return CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.realdata]


def _need_browser():
    if not _executable().exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is required in CI")
        pytest.skip("playwright is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    if not config.BANK_CSV.is_file():
        pytest.skip(f"{config.BANK_CSV} is absent")
    models = tmp_path_factory.mktemp("browser_models")
    shutil.copytree(ROOT / "models" / "default", models / "default",
                    ignore=shutil.ignore_patterns("drift_history.jsonl"))
    port = _free_port()
    # uploads kept for reloads go to a temporary folder, not the analyst's ~/.cache
    env = {**os.environ, "CHURN_MODELS_DIR": str(models), "TF_CPP_MIN_LOG_LEVEL": "2",
           "CHURN_UPLOADS_DIR": str(tmp_path_factory.mktemp("browser_uploads"))}
    log = (tmp_path_factory.mktemp("browser_log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("streamlit did not become healthy within 90 s")
    yield url, models
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _idle(page, timeout=120_000):
    """Wait until the app has finished its current run."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout)
    page.wait_for_timeout(300)
    for _ in range(2):  # a rerun can start right after the previous one ends
        page.get_by_role("img", name="Running...").wait_for(state="detached", timeout=timeout)
        page.wait_for_timeout(500)


def _goto(page, title: str):
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    _idle(page)


def _new_page(browser, **kwargs):
    """A page of the screenshots' size with the suite's 120 s default timeout."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, **kwargs)
    page.set_default_timeout(120_000)
    return page


def _upload_bank_and_confirm(page):
    """Data page: upload the real bank file, wait until it is active, confirm its churn label."""
    from playwright.sync_api import expect

    _goto(page, "Data")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        str(config.BANK_CSV))
    expect(page.get_by_text(f"Active data: {config.BANK_CSV.name}")).to_be_visible()
    _idle(page)
    page.get_by_text("I confirm that").click()
    _idle(page)
    expect(page.get_by_text("Please confirm the churn label")).to_have_count(0)


def _shot(page, name: str):
    """Screenshot of the whole page (Streamlit scrolls inside its main container, so the
    viewport is stretched to the content height first)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                           "'[data-testid=\"stMain\"], section.main, [data-testid=\"stAppViewContainer\"]'))"
                           ".map(e => e.scrollHeight), 1000)")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)
    page.wait_for_timeout(800)


def _threshold_slider(page):
    return (page.get_by_test_id("stSlider").filter(has_text="Decision threshold")
            .locator('input[type="range"]').first)


def _expect_champion(page, name: str):
    """The Model page's registry names ``name`` as the champion."""
    expect = _expect()
    line = page.get_by_text(re.compile(r"^Champion \(the model the app opens with\):"))
    expect(line).to_have_text(f"Champion (the model the app opens with): {name}")


def _expect_restored(page, title: str, model: str, data: str):
    """After a reload: the same page, active model and active data (sidebar)."""
    expect = _expect()
    expect(page.locator("h1").filter(has_text=title)).to_be_visible()
    names = page.get_by_test_id("stSidebar").get_by_test_id("stText")
    expect(names.nth(0)).to_have_text(model)
    expect(names.nth(1)).to_have_text(data)


def _expect():
    from playwright.sync_api import expect

    return expect


def test_analyst_path_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    # assertions wait like actions do: a loaded CI machine reads a 10k-row upload slowly
    expect.set_options(timeout=60_000)
    url, models = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_executable()), args=ARGS)
        page = _new_page(browser, accept_downloads=True)
        try:
            # a direct page URL on a fresh server goes through app.py (session defaults,
            # the named pages), not through Streamlit's legacy pages/ discovery
            page.goto(f"{url}/performance")
            _idle(page)
            expect(page.get_by_text("Decision threshold").first).to_be_visible(timeout=120_000)
            nav = page.locator('[data-testid="stSidebarNav"] a')
            expect(nav).to_have_count(7, timeout=30_000)
            expect(nav.filter(has_text="Score & segment")).to_have_count(1)
            _goto(page, "Overview")
            expect(page.get_by_text("Churn analyst's workbench").first).to_be_visible()
            expect(page.get_by_text("Predicted churners").first).to_be_visible()
            _shot(page, "1_overview")

            # Data: upload the real bank file and confirm the churn label
            _upload_bank_and_confirm(page)
            _shot(page, "2_data")

            # Overview: the shipped synthetic model never saw this file, and says so
            _goto(page, "Overview")
            expect(page.get_by_text("was trained on other data").first).to_be_visible()
            expect(page.get_by_text("was trained on other data").first).to_contain_text(
                f"The active data is {config.BANK_CSV.name}")
            expect(page.get_by_role("button", name="Train a model on this file")).to_be_visible()
            _shot(page, "2_overview_other_data")

            # Performance: move the shared threshold slider with the keyboard
            _goto(page, "Performance")
            slider = _threshold_slider(page)
            before = float(slider.input_value())
            for _ in range(5):  # one step at a time: a key pressed during a rerun can be lost
                _threshold_slider(page).focus()
                page.keyboard.press("ArrowRight")
                _idle(page)
            after = float(_threshold_slider(page).input_value())
            expect(page.get_by_test_id("stSlider").filter(has_text="Decision threshold").first
                   .get_by_test_id("stSliderThumbValue")).to_have_text(f"{after:.2f}")
            assert after == pytest.approx(min(before + 0.05, 1.0), abs=1e-6)
            _shot(page, "4_performance")

            # Model: train a small model on the uploaded bank file
            _goto(page, "Model")
            _shot(page, "3_model_card")
            name = page.get_by_role("textbox", name="Model name")
            name.fill("browser_bank")
            name.press("Tab")
            expect(name).to_have_value("browser_bank")
            epochs = page.get_by_role("spinbutton", name="Max epochs")
            epochs.fill("3")
            epochs.press("Tab")
            page.get_by_role("button", name="Train and save").click()
            expect(page.get_by_text("trained and saved")).to_be_visible(timeout=300_000)
            _idle(page)
            # the first model trained while the synthetic model is the champion becomes the
            # champion (the form's box is ticked by default): the registry says so
            expect(page.get_by_text("trained and saved")).to_contain_text(
                "now the active model and the champion")
            _expect_champion(page, "browser_bank")
            # the name field is blank again: a second training gets a new automatic name
            expect(page.get_by_role("textbox", name="Model name")).to_have_value("")
            _shot(page, "3_model_trained")
            assert (models / "browser_bank" / "card.json").is_file()
            assert json.loads((models / "champion.json").read_text())["name"] == "browser_bank"

            # F5 and a bookmark: the same model, data and champion come back
            bookmark = page.url
            assert "model=browser_bank" in bookmark and "data=" in bookmark
            page.reload()
            _idle(page)
            _expect_restored(page, "Model", "browser_bank", config.BANK_CSV.name)
            _expect_champion(page, "browser_bank")
            other = _new_page(browser)
            other.goto(bookmark)  # a new session from the bookmarked URL
            _idle(other)
            _expect_restored(other, "Model", "browser_bank", config.BANK_CSV.name)
            _expect_champion(other, "browser_bank")
            other.goto(url)  # no parameters: the app opens with the champion
            _idle(other)
            expect(other.get_by_test_id("stSidebar").get_by_test_id("stText").first
                   ).to_have_text("browser_bank")
            other.close()
            # on its own training file the model needs no "other data" notice
            _goto(page, "Overview")
            expect(page.get_by_text("Predicted churners").first).to_be_visible()
            expect(page.get_by_text("Model browser_bank: its own test figures")).to_be_visible()
            expect(page.get_by_text("was trained on other data")).to_have_count(0)

            # Explain
            _goto(page, "Explain")
            expect(page.get_by_text("What drives churn overall")).to_be_visible()
            _idle(page)
            _shot(page, "5_explain")

            # Score & segment: download the retention target list (High tier)
            _goto(page, "Score & segment")
            expect(page.get_by_text("Retention target list", exact=True)).to_be_visible()
            _idle(page)
            _shot(page, "6_score_segment")
            page.get_by_role("button", name="Build the list").click()  # reasons for the listed only
            _idle(page)
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download target list (CSV)").click()
            path = dl.value.path()
            filename = dl.value.suggested_filename
            listed = pd.read_csv(path)
            _idle(page)
            expect(page.get_by_text("Tier summary")).to_be_visible()  # results kept
        finally:
            browser.close()

    # the download equals the engine's High tier of the new model on the bank file
    from churn_core.model.bundle import load_bundle
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame

    bundle = load_bundle("browser_bank", models)
    df, _ = read_table(config.BANK_CSV)
    p = score_frame(bundle, df).scored["churn_probability"].to_numpy()
    high = bundle.tier_cutoffs["high"]
    assert filename.startswith("retention_targets_browser_bank_") and filename.endswith(".csv")
    assert len(listed) == int((p >= high).sum()) > 0
    for col in ("CustomerId", "Surname", "churn_probability", "risk_tier", "rank",
                "recommended_action"):
        assert col in listed.columns, list(listed.columns)
    assert set(listed["risk_tier"]) == {"High"}
    assert list(listed["rank"]) == list(range(1, len(listed) + 1))
    # every export rounds probabilities to 3 decimals
    np.testing.assert_allclose(np.sort(listed["churn_probability"].to_numpy())[::-1],
                               np.sort(p[p >= high])[::-1], atol=5e-4 + 1e-9)


def test_what_if_edit_changes_the_probability_in_chromium(server):
    """Explain page, what-if section: typing a new Balance for the selected customer (the
    shipped model and sample) changes the edited churn probability and nothing else."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = server

    def edited(page) -> str:
        box = page.get_by_test_id("stMetric").filter(has_text="Churn probability, edited")
        return box.get_by_test_id("stMetricValue").inner_text().strip()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_executable()), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/?model=default")  # the shipped model, whichever is the champion now
            _idle(page)
            _goto(page, "Explain")
            expect(page.get_by_text("What if? Edit this customer")).to_be_visible(timeout=180_000)
            _idle(page)
            before = edited(page)
            original = (page.get_by_test_id("stMetric").filter(has_text="Churn probability, original")
                        .get_by_test_id("stMetricValue").inner_text().strip())
            assert before == original
            balance = page.get_by_role("spinbutton", name="Balance")
            current = float(balance.input_value() or 0)
            balance.fill("0" if current > 0 else "150000")
            balance.press("Enter")
            _idle(page)
            expect(page.get_by_text("SHAP waterfall of the edited customer")).to_be_visible()
            assert edited(page) != before
            _shot(page, "7_explain_what_if")
        finally:
            browser.close()


def test_budget_list_and_a_scored_upload_on_explain_in_chromium(server, tmp_path):
    """Score & segment with the shipped model on its sample (issue 15): cut the list by a
    contact budget of 150 customers and download it (150 rows, reasons, 3-decimal
    probabilities, the budget in the file name); then score an uploaded sample of the bank
    file and open its highest-risk customer on Explain (the upload does not become the
    active data)."""
    from playwright.sync_api import expect, sync_playwright

    from churn_core.campaign.scoring import score_frame
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import load_bundle

    expect.set_options(timeout=60_000)
    url, models = server
    budget = 150
    upload = pd.read_csv(config.BANK_CSV).sample(300, random_state=15)
    upload_path = tmp_path / "bank_customers_300.csv"
    upload.to_csv(upload_path, index=False)
    # the customer the shipped model ranks first in the upload (what the page must open)
    frame, _ = read_table(upload_path)
    scored = score_frame(load_bundle(config.DEFAULT_MODEL_NAME, models), frame).scored
    top = scored.sort_values("churn_probability", ascending=False, kind="stable")
    assert top["churn_probability"].iloc[0] > top["churn_probability"].iloc[1]
    first_id, first_p = str(top["CustomerId"].iloc[0]), float(top["churn_probability"].iloc[0])

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(_executable()), args=ARGS)
        try:
            page = _new_page(browser, accept_downloads=True)
            page.goto(f"{url}/?model={config.DEFAULT_MODEL_NAME}")  # whatever the champion
            _idle(page)
            _goto(page, "Score & segment")
            expect(page.get_by_text("Retention target list", exact=True)).to_be_visible()
            _idle(page)

            # the campaign rule: a contact budget of 150 customers of this file
            page.get_by_text("Contact budget (N customers)").first.click()
            _idle(page)
            n = page.get_by_role("spinbutton", name="Customers to contact")
            n.fill(str(budget))
            n.press("Enter")
            _idle(page)
            expect(n).to_have_value(str(budget))
            build = page.get_by_role("button", name="Build the list")
            expect(build).to_contain_text(f"{budget:,} customers")
            build.click()
            _idle(page)
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download target list (CSV)").click()
            filename = dl.value.suggested_filename
            listed = pd.read_csv(dl.value.path(), dtype=str, keep_default_na=False)
            _idle(page)
            _shot(page, "8_budget_list")

            # score an uploaded file (not the active data) and explain one listed customer
            page.get_by_text("Upload a file to score").first.click()
            _idle(page)
            page.get_by_test_id("stFileUploader").filter(has_text="File to score") \
                .get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload_path))
            _idle(page)
            expect(page.get_by_text(f"{upload_path.name}: 300 rows in = 300 scored")
                   ).to_be_visible()
            table = page.locator(".st-key-score_table").get_by_test_id("stDataFrame")
            expect(table).to_be_visible()
            table.scroll_into_view_if_needed()
            box = table.bounding_box()
            # the row-selection box of the first row (rank 1), left of the first cell
            page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
            _idle(page)
            link = page.get_by_role("link", name="Explain the customer ranked 1")
            expect(link).to_be_visible()
            link.click()
            _idle(page)
            expect(page.locator("h1").filter(has_text="Explain")).to_be_visible()
            expect(page.get_by_text("Explaining customers of the scored file")).to_contain_text(
                upload_path.name)
            customer = page.get_by_test_id("stSelectbox").filter(has_text="Customer (CustomerId")
            expect(customer.get_by_role("combobox")).to_have_value(first_id)
            expect(page.locator(".st-key-ex_waterfall")).to_be_visible(timeout=180_000)
            # that customer's waterfall and reasons, at the probability the engine gives
            expect(page.get_by_text("Starts at the base value")).to_contain_text(
                f"shown in the table: {first_p:.3f}")
            expect(page.get_by_text("Reason codes", exact=True)).to_be_visible()
            # the active data set is unchanged (the shipped sample)
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stText").nth(1)
                   ).to_have_text(config.SAMPLE_CSV.name)
            _idle(page)
            _shot(page, "9_explain_scored_upload")
        finally:
            browser.close()

    assert f"_budget{budget}" in filename and filename.endswith(".csv"), filename
    assert filename.startswith(f"retention_targets_{config.DEFAULT_MODEL_NAME}_")
    assert len(listed) == budget
    assert list(listed["rank"].astype(int)) == list(range(1, budget + 1))
    # probabilities as written: at most 3 decimals, highest first
    assert listed["churn_probability"].str.fullmatch(r"[01](\.\d{1,3})?").all(), \
        listed["churn_probability"].head().tolist()
    p = listed["churn_probability"].astype(float).to_numpy()
    assert (np.diff(p) <= 0).all()
    assert (listed["reason_1"].str.strip() != "").all()
