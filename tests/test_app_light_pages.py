"""The pages other than training never import TensorFlow (issue 18 item 1/2): a fresh process
runs the app and every analysis page on the shipped sample through AppTest."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=300)
at.run()
for page in ("pages/data.py", "pages/performance.py", "pages/explain.py",
             "pages/score_segment.py", "pages/campaigns.py", "pages/overview.py"):
    at.switch_page(page).run()
    assert not at.exception, (page, [e.value for e in at.exception])
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


@pytest.mark.slow
def test_pages_other_than_training_do_not_import_tensorflow():
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(app=str(ROOT / "app.py"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
