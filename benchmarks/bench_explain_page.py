"""Explain's first visit and the reason-code promise, in Chromium (issue 18 item 4).

Each repeat starts a fresh ``streamlit run app.py`` (results are kept per server, so only a
fresh server has a *first* visit), uploads the real bank file on Data and then:

1. **Explain first visit** - click on Explain until "What drives churn overall" is drawn and
   the run is over (scoring, SHAP explainer, SHAP values of the overall charts' customers);
2. **reason codes, 10,000 bank customers** - on Score & segment, the promise the page prints
   ("about N s for 10,000 customers") and the time from the click on *Compute reason codes*
   until the run is over (the page's own "Computed in X s" is read too).

Run: ``TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_explain_page.py
[--repeat 3]``. Goals: Explain first visit <= 3 s (bank model), reason codes for 10,000 bank
customers <= 5 s, the promise within 25 % of the measured time. The load average is printed
with each repeat (other jobs share the machine: read ratios and CPU seconds, not only seconds).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _browser as B  # noqa: E402
from _util import ROOT  # noqa: E402

BANK = Path(os.environ.get("CHURN_SHARED_DATA", ROOT.parent / "shared" / "data")) / "Churn_Modelling.csv"


def one_run() -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench_explain_"))
    shutil.copytree(ROOT / "models" / "default", tmp / "models" / "default",
                    ignore=shutil.ignore_patterns("drift_history.jsonl"))
    env = {"CHURN_MODELS_DIR": str(tmp / "models"), "CHURN_UPLOADS_DIR": str(tmp / "uploads")}
    out = {}
    try:
        with B.streamlit_server(env=env) as (url, proc), sync_playwright() as pw:
            browser, page = B.open_with_upload(pw, url, BANK)
            cpu0 = B.cpu_s(proc.pid)
            t0 = time.perf_counter()
            page.locator('[data-testid="stSidebarNav"] a', has_text="Explain").first.click()
            page.get_by_text("What drives churn overall").first.wait_for()
            page.wait_for_function(B.RUN_DONE, polling=20)
            out["explain_s"] = time.perf_counter() - t0
            out["explain_cpu_s"] = B.cpu_s(proc.pid) - cpu0
            out["load_explain"] = os.getloadavg()[0]
            B.goto(page, "Score & segment")
            caption = page.get_by_text(re.compile(r"about [\d,.]+ s for [\d,]+ customers")).first
            text = caption.inner_text()
            m = re.search(r"about ([\d,.]+) s for ([\d,]+) customers", text)
            out["promise_s"] = float(m.group(1).replace(",", ""))
            out["customers"] = int(m.group(2).replace(",", ""))
            cpu0 = B.cpu_s(proc.pid)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Compute reason codes").click()
            done = page.get_by_text(re.compile(r"Computed in [\d,.]+ s")).first
            done.wait_for()
            out["reasons_s"] = time.perf_counter() - t0
            out["reasons_cpu_s"] = B.cpu_s(proc.pid) - cpu0
            out["page_says_s"] = float(re.search(r"Computed in ([\d,.]+) s",
                                                 done.inner_text()).group(1).replace(",", ""))
            out["load_reasons"] = os.getloadavg()[0]
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    runs = []
    for i in range(args.repeat):
        r = one_run()
        runs.append(r)
        print(f"  run {i + 1}: Explain first visit {r['explain_s']:.2f} s (server CPU "
              f"{r['explain_cpu_s']:.2f} s, load {r['load_explain']:.2f}); reason codes for "
              f"{r['customers']:,} customers {r['reasons_s']:.2f} s (server CPU "
              f"{r['reasons_cpu_s']:.2f} s, page says {r['page_says_s']:.1f} s, promised "
              f"{r['promise_s']:.1f} s, load {r['load_reasons']:.2f})")
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    print(f"median of {len(runs)}: Explain first visit {med('explain_s'):.2f} s (goal <= 3 s; "
          f"server CPU {med('explain_cpu_s'):.2f} s); reason codes {med('reasons_s'):.2f} s "
          f"(goal <= 5 s; server CPU {med('reasons_cpu_s'):.2f} s); promised "
          f"{med('promise_s'):.1f} s vs page-measured {med('page_says_s'):.1f} s "
          f"(ratio {med('promise_s') / med('page_says_s'):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
