"""AppTest of the drift blocks: Data and Score & segment show the verdict, the columns behind
it and a training-vs-file chart; the Model page charts the recorded batches (issue 20)."""
from __future__ import annotations

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config

pytestmark = pytest.mark.slow

HEADING = "Is this file like the training data?"


def _aged_bytes() -> bytes:
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str)
    frame["Age"] = (pd.to_numeric(frame["Age"]) + 10).astype(str)
    return frame.to_csv(index=False).encode("utf-8")


def _texts(at) -> list[str]:
    return [e.value.replace("\\", "") for kind in (at.success, at.warning, at.error, at.info) for e in kind]


def test_data_page_says_the_sample_is_like_the_training_data(app_models):  # noqa: F811
    at = open_page("pages/data.py")
    assert any(HEADING in s.value for s in at.subheader)
    assert any("Like the training data" in s.value.replace("\\", "") for s in at.success)
    assert any("PSI (population stability index) below 0.1" in c.value for c in at.caption)
    # no drift: the per-column charts and table are built only when the analyst opens them
    assert not [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")]
    [opened] = [k for k in at.session_state.keys()
                if str(k).startswith("data_drift_open_") and not str(k).endswith("__widget")]
    assert at.session_state[opened] is False
    at.session_state[opened] = True
    at.run()
    assert_no_exception(at)
    box = [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")][0]
    assert box.options[-1] == "churn score"


def test_data_page_flags_age_in_an_aged_upload(app_models):  # noqa: F811
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(("aged.csv", _aged_bytes(), "text/csv")).run()
    assert_no_exception(at)
    errs = [e.value.replace("\\", "") for e in at.error]
    assert any(e.startswith("Different: check before acting: Age (major") for e in errs), _texts(at)
    box = [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")][0]
    assert box.value == "Age"  # the column behind the verdict is charted first
    table = [d.value for d in at.dataframe if "PSI" in getattr(d.value, "columns", [])][0]
    flagged = table.loc[table["verdict"] != "stable", "column"].tolist()
    assert flagged[0] == "Age" and set(flagged) <= {"Age", "churn score"}
    box.set_value("Geography").run()
    assert_no_exception(at)
    # the panel's open state and the picked column outlive closing it and a page visit
    sha = at.session_state["active_data"].sha256[:12]
    [opened] = [k for k in at.session_state.keys() if str(k).startswith("data_drift_open_")
                and str(k).endswith(sha)]
    assert at.session_state[opened] is True  # opened by itself: the file drifted
    at.session_state[opened] = False
    at.run()
    assert not [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")]
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/data.py").run()
    assert_no_exception(at)
    assert any(e.startswith("Different: check before acting") for e in
               [e.value.replace("\\", "") for e in at.error])
    assert not [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")], \
        "the panel the analyst closed opened again after a page visit"
    at.session_state[opened] = True
    at.run()
    box = [b for b in at.selectbox if str(b.key).startswith("data_drift_col_")][0]
    assert box.value == "Geography"


def test_score_page_shows_drift_and_records_the_batch(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    assert any(HEADING in s.value for s in at.subheader)
    assert any("Like the training data" in s.value.replace("\\", "") for s in at.success)
    assert any("High risk tier" in c.value for c in at.caption)
    at.button(key="score_drift_record").click().run()
    assert_no_exception(at)
    assert any("Recorded in the drift history" in s.value for s in at.success)
    hist = app_models / config.DEFAULT_MODEL_NAME / "drift_history.jsonl"
    assert len(hist.read_text().splitlines()) == 1
    at.switch_page("pages/model.py").run()
    assert_no_exception(at)
    assert any("Drift over scored batches" in s.value for s in at.subheader)
    table = [d.value for d in at.dataframe if "columns behind" in getattr(d.value, "columns", [])]
    assert table and table[0]["verdict"].tolist() == ["like the training data"]
