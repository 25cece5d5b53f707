"""Real-browser helpers shared by the dashboard benchmarks: one ``streamlit run app.py`` server
and headless Debian Chromium driven by Playwright (the recipe of /work/shared/REFERENCE.md).

Used by ``bench_slider.py --browser`` and ``bench_users.py``; the server's resident memory is
read from ``/proc`` (Linux).
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
RUNNING = "Running..."  # the accessible name of Streamlit's status widget during a run


def executable() -> str:
    """/usr/bin/chromium, or the Debian binary behind it when the wrapper cannot run."""
    if Path(CHROMIUM).exists() and Path("/etc/chromium.d").is_dir():
        return CHROMIUM
    return "/usr/lib/chromium/chromium" if Path("/usr/lib/chromium/chromium").exists() else CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (``VmRSS`` of ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 180, app: Path | None = None):
    """Run ``streamlit run app.py`` (or ``app``) on a free port; yield ``(url, process)``."""
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app or ROOT / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.perf_counter() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.perf_counter() > end:
                raise TimeoutError("streamlit did not answer /_stcore/health")
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def idle(page, timeout: float = 300_000) -> None:
    """Wait until the app has finished its current run (the status widget is gone)."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout)
    page.wait_for_timeout(200)
    for _ in range(2):  # a rerun can start right after the previous one ends
        page.get_by_role("img", name=RUNNING).wait_for(state="detached", timeout=timeout)
        page.wait_for_timeout(200)


def goto(page, title: str) -> None:
    """Open a page by its sidebar link and wait for its run to finish."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    idle(page)


def upload(page, path: Path) -> None:
    """Upload ``path`` on the Data page and wait until it is the active data."""
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
    page.get_by_text(f"Active data: {Path(path).name}").first.wait_for()
    idle(page)


def open_with_upload(pw, url: str, path: Path):
    """Launch Chromium, open the Data page and upload ``path``; return ``(browser, page)``."""
    browser = pw.chromium.launch(executable_path=executable(), args=ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(600_000)
    page.goto(f"{url}/data")
    idle(page)
    upload(page, path)
    return browser, page


def threshold_slider(page):
    """The decision-threshold slider's range input on the open page."""
    return (page.get_by_test_id("stSlider").filter(has_text="Decision threshold")
            .locator('input[type="range"]').first)


#: JavaScript: the text of every metric value and caption in the main area (what a threshold
#: move changes on screen)
SCREEN_TEXT = """() => Array.from(document.querySelectorAll(
  '[data-testid="stMain"] [data-testid="stMetricValue"], [data-testid="stMain"] [data-testid="stCaptionContainer"]'))
  .map(e => e.innerText).join('|')"""


#: JavaScript: true when no run is going on and no element of the previous run is left stale
RUN_DONE = """() => !document.querySelector('[data-stale="true"]') &&
  !Array.from(document.querySelectorAll('img, [role="img"]')).some(e => (e.getAttribute('aria-label') || e.alt) === 'Running...')"""


def press_and_time(page, key: str = "ArrowRight", timeout: float = 60_000) -> tuple[float, float]:
    """Seconds from a key press on the focused threshold slider until (1) the page's metric
    values or captions show something new (the new value on screen) and (2) the rerun left no
    stale element (everything the move changes is redrawn)."""
    before = page.evaluate(SCREEN_TEXT)
    threshold_slider(page).focus()
    t0 = time.perf_counter()
    page.keyboard.press(key)
    page.wait_for_function(f"(b) => ({SCREEN_TEXT})() !== b", arg=before, timeout=timeout,
                           polling=10)
    shown = time.perf_counter() - t0
    page.wait_for_function(RUN_DONE, timeout=timeout, polling=10)
    return shown, time.perf_counter() - t0
