"""Server-side time to answer a decision-threshold move with 100,000 scored customers.

Two measurements, median of repeated runs (goal: <= 300 ms):

1. **fragment compute path** - what the Score & segment fragment computes when the
   threshold or a tier cutoff moves: predicted-churner count (``ThresholdCurve``), risk tiers
   and tier summary (``workbench.segment``), the top of the customer table
   (``workbench.customer_table``), the export context (no bytes are built until a click),
   plus the Overview cards (``ThresholdCurve.at``, ``tier_counts``). No re-prediction.
2. **AppTest rerun** - a full headless rerun of the Score & segment page after moving the
   threshold slider (AppTest reruns the whole page, not just the fragment, so this is an
   upper bound of what the browser waits for, without network and rendering).

3. **chromium** (``--browser``) - key press on the slider until the page shows the new
   predicted-churner count: the fragment rerun end to end, network and rendering included.

Run: ``python benchmarks/bench_slider.py [--rows 100000] [--repeats 15] [--browser]``
(uses ``models/default``; the customers are the synthetic bank generator's).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from churn_core import config, workbench as wb# noqa: E402


def _customers_csv(rows: int) -> bytes:
    from churn_core.data.synthetic import make_bank_customers

    return make_bank_customers(n=rows, seed=123).to_csv(index=False).encode("utf-8")


def bench_compute(raw: bytes, repeats: int) -> tuple[float, int]:
    """Median seconds of the fragment compute path; returns (median, customers)."""
    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME)
    data = wb.load_data(raw, name="bench.csv")
    scores = wb.score_data(bundle, data)  # once, as the app's cache does
    wb.rank_positions(scores, bundle.schema)  # computed once per scored file in the app
    actions = wb.default_actions()
    times = []
    rng = np.random.default_rng(0)
    for t in rng.uniform(0.05, 0.95, repeats):
        t0 = time.perf_counter()
        scores.curve.flagged(t)
        scores.curve.at(t)
        cut = {"high": max(t, 0.5), "medium": min(t, 0.25)}
        wb.tier_counts(scores.p, cut)
        view = wb.segment(scores, "probability cutoffs", cut, actions=actions,
                          schema=bundle.schema)
        wb.customer_table(scores, view.tiers, None, bundle.schema, limit=2000)
        wb.ExportContext(bundle=bundle, scores=scores, tiers=view.tiers, reasons=None,
                         chosen_tiers=["High"], threshold=float(t), cutoffs=cut,
                         actions=actions)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(scores.scored)


def bench_apptest(raw: bytes, repeats: int) -> float:
    """Median seconds of a full AppTest rerun of Score & segment after a slider move."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(("bench.csv", raw, "text/csv")).run()
    at.switch_page("pages/score_segment.py").run()
    assert not at.exception, [e.value for e in at.exception]
    slider = "threshold_slider_score"
    at.slider(key=slider).set_value(0.5).run()  # warm
    times = []
    for t in np.linspace(0.1, 0.9, repeats):
        at.slider(key=slider).set_value(round(float(t), 2))
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
    return statistics.median(times)


def bench_browser(raw: bytes, repeats: int) -> float:
    """Median seconds from a threshold key press to the updated text in chromium.

    Runs ``streamlit run app.py``, uploads the customers on Data, opens Score & segment and
    presses the right-arrow key on the decision-threshold slider; the time runs until the
    page shows the predicted-churner count for the new threshold (fragment rerun + network
    + rendering, on this machine).
    """
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    exe = "/usr/bin/chromium" if Path("/etc/chromium.d").is_dir() else \
        "/usr/lib/chromium/chromium"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench_customers.csv"
        csv.write_bytes(raw)
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                                 "--server.headless", "true", "--server.port", str(port)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(180):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=exe, args=[
                    "--headless", "--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(600_000)
                page.goto(f"http://127.0.0.1:{port}/data")
                page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(csv))
                page.get_by_text("Active data: bench_customers.csv").wait_for()
                page.locator('[data-testid="stSidebarNav"] a',
                             has_text="Score & segment").first.click()
                caption = page.get_by_text("are predicted churners at").first
                caption.wait_for()
                slider = (page.get_by_test_id("stSlider").filter(has_text="Decision threshold")
                          .locator('input[type="range"]').first)
                times = []
                for _ in range(repeats):
                    value = float(slider.input_value())
                    if value >= 0.95:
                        break
                    target = f"at {value + 0.01:.2f}."
                    slider.focus()
                    t0 = time.perf_counter()
                    page.keyboard.press("ArrowRight")
                    page.get_by_text(target).first.wait_for()
                    times.append(time.perf_counter() - t0)
                    page.wait_for_timeout(300)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--skip-apptest", action="store_true")
    ap.add_argument("--browser", action="store_true",
                    help="also time a key press on the slider in chromium (end to end)")
    args = ap.parse_args(argv)
    raw = _customers_csv(args.rows)
    compute, n = bench_compute(raw, args.repeats)
    print(f"customers scored: {n:,}")
    print(f"fragment compute path, median of {args.repeats}: {compute * 1000:.1f} ms "
          f"(goal <= 300 ms)")
    if not args.skip_apptest:
        with tempfile.TemporaryDirectory():
            rerun = bench_apptest(raw, args.repeats)
        print(f"AppTest full rerun of Score & segment, median of {args.repeats}: "
              f"{rerun * 1000:.1f} ms (upper bound; includes the whole page)")
    if args.browser:
        shown = bench_browser(raw, args.repeats)
        print(f"chromium: key press -> updated page (fragment rerun), median of "
              f"{args.repeats}: {shown * 1000:.1f} ms (end to end, incl. network and rendering)")


if __name__ == "__main__":
    main()
