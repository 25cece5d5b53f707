"""Many users, one server (issue 18 item 6): N simultaneous analysts in separate Chromium
contexts against one ``streamlit run app.py``.

Each user (its own browser context, so its own Streamlit session) opens the app, uploads a
real customer file on Data (users alternate: the bank file ``Churn_Modelling.csv``, the telco
file ``WA_Fn-UseC_-Telco-Customer-Churn.csv``), opens Performance and moves the decision
threshold with the keyboard three times, then leaves. All users start at the same moment.

Per user it records:

* **first page** - ``page.goto`` until the Overview's last section is drawn and the run is over;
* **upload to ready** - file chosen until "Active data: <file>" is shown and the run is over;
* **slider change seen** - key press until a metric value or caption shows the new value;
* **errors** - tracebacks drawn by the app (``stException``), browser page errors and
  timeouts. Messages the app means to show (e.g. "the model was trained on other columns"
  for telco customers with the bank model) are counted apart as ``notices``.

The server's resident memory (``/proc/<pid>/status`` VmRSS) is read when it answers, after a
warm-up visit of one user (the libraries the pages import are loaded for good: that is the
baseline "start"), at its peak while the users work, and after they leave; the server runs
with ``server.disconnectedSessionTTL`` = 5 s so that left sessions are dropped within the
benchmark (default 120 s), and the memory is polled until it settles (at most 60 s).

Run::

    TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_users.py \
        [--users 6] [--rounds 1] [--floor]

``--floor`` then drives the same users through ``benchmarks/floor_app.py``: the same page
titles, uploader, slider and metrics in an app that does almost nothing (no model, no chart,
no table). Its figures are what Streamlit and six Chromium renderers cost on this machine
whatever the app does; the app's figures cannot go below them.

Goals (issue 18, this 2-core machine): first page median <= 4 s, slider change seen median
<= 0.6 s, no errors, server memory back within 50 MB of its start after the users leave.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _browser as B  # noqa: E402
from _util import ROOT, Row, markdown_table  # noqa: E402

DATA = Path(os.environ.get("CHURN_SHARED_DATA", ROOT.parent / "shared" / "data"))
FILES = [DATA / "Churn_Modelling.csv", DATA / "WA_Fn-UseC_-Telco-Customer-Churn.csv"]
GOALS = {"first_page": 4.0, "slider": 0.6, "memory_mb": 50.0}
PRESSES = 3
TIMEOUT = 300_000  # ms: a loaded machine is slow, a hung page is an error


async def _run_done(page) -> None:
    await page.wait_for_function(B.RUN_DONE, timeout=TIMEOUT, polling=20)


async def _settle(page) -> None:
    """The run is over (checked twice: a rerun can start right after one ends)."""
    for _ in range(2):
        await page.wait_for_timeout(150)
        await _run_done(page)


async def _goto(page, title: str) -> None:
    await page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    await page.wait_for_timeout(100)
    await _settle(page)


async def one_user(browser, url: str, path: Path, start: asyncio.Event) -> dict:
    """One analyst's visit; returns its latencies, errors and notices."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    out = {"file": path.name, "errors": [], "slider": []}
    page.on("pageerror", lambda exc: out["errors"].append(f"page error: {exc}"))
    await start.wait()
    try:
        t0 = time.perf_counter()
        await page.goto(url, timeout=TIMEOUT)
        await page.get_by_text("Where to go next").first.wait_for()
        await _run_done(page)
        out["first_page"] = time.perf_counter() - t0

        await _goto(page, "Data")
        t0 = time.perf_counter()
        await page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
        await page.get_by_text(f"Active data: {path.name}").first.wait_for()
        await _settle(page)
        out["upload_ready"] = time.perf_counter() - t0

        await _goto(page, "Performance")
        slider = B.threshold_slider(page)
        for _ in range(PRESSES):
            before = await page.evaluate(B.SCREEN_TEXT)
            await slider.focus()
            t0 = time.perf_counter()
            await page.keyboard.press("ArrowRight")
            await page.wait_for_function(f"(b) => ({B.SCREEN_TEXT})() !== b", arg=before,
                                         timeout=TIMEOUT, polling=10)
            out["slider"].append(time.perf_counter() - t0)
            await _settle(page)
        out["exceptions"] = await page.get_by_test_id("stException").count()
        out["notices"] = await page.get_by_test_id("stAlertContentError").count()
        if out["exceptions"]:
            out["errors"].append(f"{out['exceptions']} traceback(s) on Performance")
    except Exception as exc:  # noqa: BLE001 - a timeout or a crash is this user's error
        out["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await ctx.close()
    return out


async def _sample_rss(pid: int, stop: asyncio.Event, peak: list) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], B.rss_mb(pid))
        await asyncio.sleep(0.25)


async def one_round(url: str, pid: int, users: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=B.executable(), args=B.ARGS)
        # warm-up: one visit (the libraries the pages import stay loaded: the baseline)
        warm = await one_user(browser, url, FILES[0], _set(asyncio.Event()))
        await asyncio.sleep(8)  # its session is dropped (disconnectedSessionTTL = 5 s)
        start_mb = B.rss_mb(pid)
        start_cpu = B.cpu_s(pid)
        start, stop, peak = asyncio.Event(), asyncio.Event(), [start_mb]
        sampler = asyncio.create_task(_sample_rss(pid, stop, peak))
        tasks = [asyncio.create_task(one_user(browser, url, FILES[i % 2], start))
                 for i in range(users)]
        await asyncio.sleep(0.5)  # every context is open before the clock starts
        t0 = time.perf_counter()
        start.set()
        results = await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        cpu = B.cpu_s(pid) - start_cpu
        stop.set()
        await sampler
        await browser.close()
    after, t_end = [], time.perf_counter() + 60
    while time.perf_counter() < t_end:  # left sessions are dropped after the TTL
        await asyncio.sleep(2)
        after.append(B.rss_mb(pid))
        if len(after) >= 4 and max(after[-3:]) - min(after[-3:]) < 2 and \
                after[-1] - start_mb < GOALS["memory_mb"]:
            break
    return {"warm_up": warm, "users": results, "start_mb": start_mb, "peak_mb": peak[0],
            "after_mb": after[-1], "wall_s": wall, "server_cpu_s": cpu,
            "load": os.getloadavg()[0]}


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


FLOOR_APP = ROOT / "benchmarks" / "floor_app.py"


def _rounds(users: int, rounds: int, log, app: Path | None = None) -> list[dict]:
    """``rounds`` rounds of ``users`` simultaneous users against one server of ``app``."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_users_"))
    shutil.copytree(ROOT / "models" / "default", tmp / "models" / "default",
                    ignore=shutil.ignore_patterns("drift_history.jsonl"))
    env = {"CHURN_MODELS_DIR": str(tmp / "models"), "CHURN_UPLOADS_DIR": str(tmp / "uploads"),
           "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "5"}
    rounds_out = []
    try:
        with B.streamlit_server(env=env, app=app) as (url, proc):
            cold_mb = B.rss_mb(proc.pid)
            for r in range(rounds):
                res = asyncio.run(one_round(url, proc.pid, users))
                res["cold_mb"] = cold_mb
                rounds_out.append(res)
                u = res["users"]
                log(f"  {'floor ' if app else ''}round {r + 1}: load {res['load']:.2f}; first page "
                    f"{[round(x.get('first_page', float('nan')), 2) for x in u]} s; upload to ready "
                    f"{[round(x.get('upload_ready', float('nan')), 2) for x in u]} s; slider "
                    f"{[round(s, 2) for x in u for s in x['slider']]} s; errors "
                    f"{[e for x in u for e in x['errors']]}; notices {[x.get('notices') for x in u]}; "
                    f"RSS cold {cold_mb:.0f} MB, start {res['start_mb']:.0f}, peak "
                    f"{res['peak_mb']:.0f}, after {res['after_mb']:.0f}; server CPU "
                    f"{res['server_cpu_s']:.1f} s over {res['wall_s']:.1f} s wall")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rounds_out


def _rows(users: int, rounds_out: list[dict], section: str = "users",
          goals: bool = True) -> list[Row]:
    """The table rows of ``rounds_out`` (goals judged only for the app itself)."""
    users_all = [x for r in rounds_out for x in r["users"]]
    first = [x["first_page"] for x in users_all if "first_page" in x]
    ready = [x["upload_ready"] for x in users_all if "upload_ready" in x]
    slider = [s for x in users_all for s in x["slider"]]
    errors = sum(len(x["errors"]) for x in users_all)
    grow = statistics.median(r["after_mb"] - r["start_mb"] for r in rounds_out)
    load = ", ".join(f"{r['load']:.2f}" for r in rounds_out)
    med = statistics.median
    note = f"{users} users, {len(rounds_out)} round(s); load average (1 min) {load}"

    def goal(key: str, value: float) -> tuple[str, bool | None]:
        unit = "MB" if key == "memory_mb" else "s"
        return (f"<= {GOALS[key]:g} {unit}", value <= GOALS[key]) if goals else ("", None)

    return [
        Row(section, f"{users} users: first page, median (max {max(first):.1f} s)", med(first), "s",
            len(first), *goal("first_page", med(first)), note),
        Row(section, f"{users} users: upload to ready, median (max {max(ready):.1f} s)",
            med(ready) if ready else None, "s", len(ready), note=note),
        Row(section, f"{users} users: slider change seen, median (max {max(slider):.2f} s)",
            med(slider), "s", len(slider), *goal("slider", med(slider)), note),
        Row(section, f"{users} users: errors", errors, "", len(users_all),
            *(("0", errors == 0) if goals else ("", None)),
            "; ".join(e for x in users_all for e in x["errors"])[:300]),
        Row(section, "server RSS after the users left - at their start", grow, "MB",
            len(rounds_out), *goal("memory_mb", grow),
            f"start {med(r['start_mb'] for r in rounds_out):.0f} MB (after one warm-up visit; "
            f"cold {rounds_out[0]['cold_mb']:.0f} MB), peak {max(r['peak_mb'] for r in rounds_out):.0f} MB"),
        Row(section, "server CPU while the users worked",
            med(r["server_cpu_s"] for r in rounds_out), "s", len(rounds_out),
            note=f"over {med(r['wall_s'] for r in rounds_out):.1f} s wall"),
    ]


def run(users: int = 6, rounds: int = 1, log=print, floor: bool = False) -> list[Row]:
    """Run ``rounds`` rounds of ``users`` simultaneous users; return the table rows.

    With ``floor``, the same rounds are then run against ``benchmarks/floor_app.py`` (the same
    clicks in an app that does almost nothing) and reported as section ``users floor``.
    """
    missing = [str(f) for f in FILES if not f.is_file()]
    if missing:
        raise SystemExit(f"missing data files: {missing}")
    rows = _rows(users, _rounds(users, rounds, log))
    if floor:
        rows += _rows(users, _rounds(users, rounds, log, app=FLOOR_APP), "users floor",
                      goals=False)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--floor", action="store_true",
                    help="also run the same users through benchmarks/floor_app.py (Streamlit "
                         "and Chromium alone on this machine: the lower bound)")
    args = ap.parse_args(argv)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    rows = run(args.users, args.rounds, log=log, floor=args.floor)
    print(json.dumps([r.to_dict() for r in rows]) if args.json else markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
