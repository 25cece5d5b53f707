"""AppTests for faults found by driving the dashboard as an analyst would (break-it pass).

Each test names the fault it guards against: header-only files, sliders drawn at 0 after an
upload wait, the scoring source lost on a page switch, one-class targets shown as 'blank',
changing the target refused, and a second click abandoning a training.
"""
from __future__ import annotations

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, new_app  # noqa: F401

from churn_core import config, workbench as wb
from churn_core.errors import DataFileError

pytestmark = pytest.mark.slow

UPLOAD = "Upload a file to score"
SOURCE_KEY = "score_source_choice__score"


def _sample(n=300) -> pd.DataFrame:
    return pd.read_csv(config.SAMPLE_CSV, dtype=str).head(n)


@pytest.fixture()
def app(app_models):  # noqa: F811
    at = new_app()
    at.run()
    assert_no_exception(at)
    return at


def test_header_only_file_is_refused_with_a_message(app):
    header = ",".join(_sample(1).columns) + "\n"
    with pytest.raises(DataFileError, match="no customer rows"):
        wb.load_data(header.encode(), name="header_only.csv")
    at = app
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(
        ("header_only.csv", header.encode(), "text/csv")).run()
    assert_no_exception(at)  # was: TypeError in quality_report on 0 rows
    assert any("header_only.csv" in e.value.replace("\\", "") and "no customer rows" in e.value
               for e in at.error), [e.value for e in at.error]
    assert any(config.SAMPLE_CSV.name in s.value.replace("\\", "") for s in at.success)


def _score_upload(at, frame: pd.DataFrame, name="to_score.csv"):
    at.switch_page("pages/score_segment.py").run()
    at.radio(key=SOURCE_KEY).set_value(UPLOAD).run()  # the page stops: no file yet
    assert_no_exception(at)
    at.file_uploader(key="score_upload_widget").set_value(
        (name, frame.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)


def test_sliders_are_sent_to_the_browser_after_waiting_for_an_upload(app):
    """The browser drew the threshold at 0.00 and the cutoffs at 0.00-1.00 after the page had
    stopped for the upload, while the numbers used 0.35 and 0.25/0.50."""
    at = app
    _score_upload(at, _sample().drop(columns=["Exited"]))
    thr = at.session_state["decision_threshold"]
    cut = at.session_state["tier_cutoffs"]
    s = at.slider(key="threshold_slider_score")
    assert s.proto.set_value and list(s.proto.value) == pytest.approx([thr])
    c = at.slider(key="tier_cutoff_slider_score")
    assert c.proto.set_value and list(c.proto.value) == pytest.approx([cut["medium"], cut["high"]])


def test_score_source_survives_a_page_switch(app):
    at = app
    _score_upload(at, _sample().drop(columns=["Exited"]), name="march.csv")
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/score_segment.py").run()
    assert_no_exception(at)
    assert at.radio(key=SOURCE_KEY).value == UPLOAD
    assert any("march.csv" in m.value.replace("\\", "") and "300 rows in" in m.value
               for m in at.markdown)


def test_one_class_target_is_explained_not_shown_as_blank(app):
    frame = _sample()
    frame["Exited"] = "0"
    at = app
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(
        ("one_class.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    assert any("one value only (0)" in w.value and "cannot train" in w.value
               for w in at.warning)
    assert not any("= None" in c.label for c in at.checkbox)  # was "Exited = None"
    balance = [d.value for d in at.dataframe if "label" in getattr(d.value, "columns", [])][0]
    assert balance.set_index("label")["customers"].to_dict() == {"Exited = 0": len(frame)}
    at.switch_page("pages/model.py").run()
    assert_no_exception(at)
    assert not any("None" in c.value for c in at.caption)


def test_changing_the_target_drops_its_feature_role(app):
    at = app
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(
        ("bank.csv", _sample().to_csv(index=False).encode(), "text/csv")).run()
    target = [s for s in at.selectbox if s.label.startswith("Target column")][0]
    target.set_value("Gender")
    [b for b in at.button if "Apply" in b.label][0].click().run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]  # was: "cannot also be categorical"
    data = at.session_state["active_data"]
    assert data.schema.target == "Gender"
    assert "Gender" not in data.schema.categorical + data.schema.numeric


def test_a_click_during_training_is_held_not_abandoning_it():
    """Unit test of the helper the Model page wraps its per-epoch drawing in: Streamlit's
    rerun request (raised at the next st call after a click) is kept and the call retried."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

    from pages import _ui

    calls, held = [], []

    def draw():
        calls.append(1)
        if len(calls) < 3:
            raise RerunException(None)
        return "drawn"

    assert _ui.hold_reruns(draw, held) == "drawn"
    assert len(calls) == 3 and len(held) == 2
    assert all(isinstance(e, RerunException) for e in held)


def test_sidebar_names_the_file_just_uploaded(app):
    """The sidebar showed the previous file after an upload (drawn before it was read)."""
    at = app
    at.switch_page("pages/data.py").run()
    for name in ("first.csv", "second.csv"):
        frame = _sample(50 if name == "first.csv" else 60)
        at.file_uploader(key="data_upload").set_value(
            (name, frame.to_csv(index=False).encode(), "text/csv")).run()
        assert_no_exception(at)
        shown = [t.value for t in at.sidebar.text]
        assert name in shown, shown


def test_sample_opens_without_a_label_warning(app):
    at = app
    at.switch_page("pages/data.py").run()
    assert_no_exception(at)
    assert not any("Please confirm" in w.value for w in at.warning)
    assert [c.value for c in at.checkbox if "I confirm" in c.label] == [True]


def test_blank_targets_are_explained_and_their_column_listed_first(app):
    frame = _sample()
    frame.loc[frame.index[::15], "Exited"] = ""
    n_blank = len(frame.index[::15])
    at = app
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(
        ("blanks.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    assert any(f"**{n_blank:,}** customers have a blank churn value" in c.value
               for c in at.caption)
    missing = [d.value for d in at.dataframe if "missing_pct" in getattr(d.value, "columns", [])][0]
    assert missing.iloc[0]["column"] == "Exited" and missing.iloc[0]["missing"] == n_blank


def test_overview_warns_when_data_and_model_disagree_on_the_churn_label(app):
    at = app
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(
        ("inverted.csv", _sample().to_csv(index=False).encode(), "text/csv")).run()
    [s for s in at.selectbox if s.label.startswith("Value that means")][0].set_value("0")
    [b for b in at.button if "Apply" in b.label][0].click().run()
    assert at.session_state["active_data"].schema.positive_label == "0"
    at.switch_page("pages/overview.py").run()
    assert_no_exception(at)
    assert any("Exited = 1" in w.value and "Exited = 0" in w.value for w in at.warning), \
        [w.value for w in at.warning]


def test_a_strategy_threshold_off_the_slider_grid_is_shown_exactly(app):
    at = app
    at.switch_page("pages/overview.py").run()
    own = at.session_state["decision_threshold"]  # the model card's, as it is
    shown = [c.value for c in at.caption if "Threshold in use" in c.value]
    if abs(own * 100 - round(own * 100)) > 1e-6:
        assert shown == [f"Threshold in use: **{own:.4f}** (the model's own decision threshold, "
                         "chosen on its validation split; the slider shows it rounded to 2 "
                         "decimals, moving it sets a rounded value)."]
    else:
        assert shown == []
    at.session_state["decision_threshold"] = 0.0016
    at.run()
    assert_no_exception(at)
    assert any("Threshold in use: **0.0016** (set by a threshold strategy" in c.value
               for c in at.caption)
    at.session_state["decision_threshold"] = 0.42  # on the grid: the slider says it all
    at.run()
    assert not any("Threshold in use" in c.value for c in at.caption)


def test_target_list_without_reason_codes_keeps_blank_reason_columns(app_models):  # noqa: F811
    """The page says the reason columns are empty until computed: they were missing."""
    import io

    from churn_core.model.bundle import load_bundle

    frame = _sample().drop(columns=["Exited"])
    frame.loc[frame.index[0], "Surname"] = '=HYPERLINK("http://x","y")'
    frame.loc[frame.index[1], "Age"] = "abc"  # rejected: still counted
    data = wb.load_data(frame.to_csv(index=False).encode(), name="march.csv")
    bundle = load_bundle(config.DEFAULT_MODEL_NAME)
    scores = wb.score_data(bundle, data)
    view = wb.segment(scores, "probability cutoffs", {"high": 0.5, "medium": 0.25})
    ctx = wb.ExportContext(bundle=bundle, scores=scores, tiers=view.tiers, reasons=None,
                           chosen_tiers=["High", "Medium", "Low"], threshold=0.35,
                           cutoffs={"high": 0.5, "medium": 0.25}, actions=wb.default_actions())
    listed = pd.read_csv(io.BytesIO(wb.export_bytes(ctx, "csv")), dtype=str,
                         keep_default_na=False)
    for c in ("reason_1", "reason_2", "reason_3"):
        assert c in listed.columns and (listed[c] == "").all()
    assert len(listed) == len(frame) - 1  # every scored row listed, the 'abc' row excluded
    surname = listed["Surname"][listed["Surname"].str.contains("HYPERLINK")]
    assert len(surname) == 1 and not surname.iloc[0].startswith("=")
