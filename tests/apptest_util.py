"""Helpers shared by the dashboard's AppTest modules (``tests/test_app_*.py``).

The app runs against a temporary copy of ``models/`` (``config.MODELS_DIR`` is pointed at
it for the whole session), so training in a test never writes into the repository. When the
shipped ``models/default`` bundle is absent, the suite's tiny bundle (``tests/conftest.py``)
is saved there as ``default``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from churn_core import config

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 180


@pytest.fixture(scope="module")
def app_models(request, tmp_path_factory):
    """A temporary models folder holding ``default``; ``config.MODELS_DIR`` points at it
    (and ``config.UPLOADS_DIR`` at a temporary upload folder) for the test module only (restored afterwards, so other modules see the real one)."""
    folder = tmp_path_factory.mktemp("app_models")
    shipped = config.ROOT / "models" / config.DEFAULT_MODEL_NAME
    if (shipped / "card.json").is_file():
        shutil.copytree(shipped, folder / config.DEFAULT_MODEL_NAME,
                        ignore=shutil.ignore_patterns("drift_history.jsonl"))
    else:  # the repository has no shipped model yet: use the suite's tiny bundle
        from churn_core.model.bundle import save_bundle

        save_bundle(request.getfixturevalue("trained_bundle"), config.DEFAULT_MODEL_NAME,
                    folder)
    mp = pytest.MonkeyPatch()
    mp.setattr(config, "MODELS_DIR", folder)
    # uploads kept for reloads go to a temporary folder, not the analyst's ~/.cache
    mp.setattr(config, "UPLOADS_DIR", tmp_path_factory.mktemp("app_uploads"))
    yield folder
    mp.undo()


def new_app():
    """A fresh AppTest of app.py (not yet run)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def open_page(page: str, check: bool = True):
    """A fresh AppTest of app.py, run once, then switched to ``page`` (e.g.
    ``"pages/data.py"``) and run; with ``check``, fails when a page raised."""
    at = new_app()
    at.run()
    at.switch_page(page).run()
    if check:
        assert_no_exception(at)
    return at


def assert_no_exception(at) -> None:
    """Fail with the app's own traceback text when a page raised."""
    assert not at.exception, [e.value for e in at.exception]


def open_expander(at, key: str):
    """Open the lazily built expander of session key ``key`` (``_ui.lazy_expander``), rerun."""
    at.session_state[key] = True
    at.run()
    assert_no_exception(at)
    return at


def metric(at, label: str) -> str:
    """The shown value of the ``st.metric`` whose label is ``label``."""
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric labelled {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def column_formats(element) -> dict:
    """``{column: format}`` of a shown ``st.dataframe`` (its column configuration; None where
    the column has no number format)."""
    import json

    cols = json.loads(element.proto.columns or "{}")
    return {c: (conf.get("type_config") or {}).get("format") for c, conf in cols.items()}


def number(text: str) -> float:
    """'1,234' -> 1234.0; '12.3 %' -> 12.3."""
    return float(str(text).replace(",", "").replace("%", "").replace("×", "").strip())


def reference_scores(model: str = config.DEFAULT_MODEL_NAME, path=None):
    """(bundle, ScoreResult) computed straight from the engine, not through the app."""
    from churn_core.model.bundle import load_bundle
    from churn_core.io.reader import read_table
    from churn_core.campaign.scoring import score_frame

    bundle = load_bundle(model)
    df, _ = read_table(path or config.SAMPLE_CSV)
    return bundle, score_frame(bundle, df)


def eval_test_arrays(bundle):
    """(y_test, p_test) as recorded in the bundle's evaluation.json."""
    ev = bundle.evaluation["test"]
    return np.asarray(ev["y"], dtype=float), np.asarray(ev["p"], dtype=float)
