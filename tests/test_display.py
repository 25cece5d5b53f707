"""The dashboard's number rules (pages/_display.py): counts with thousands separators, shares
with one decimal, and no metric delta for a change that shows as zero."""
from __future__ import annotations

import json

import pytest

from pages import _display, _ui


def test_fmt_pct_is_one_decimal_with_a_space_and_is_the_ui_rule():
    assert _display.fmt_pct(0.26543) == "26.5 %"
    assert _display.fmt_pct(0.209) == "20.9 %"
    assert _display.fmt_pct(1.0) == "100.0 %"
    assert _display.fmt_pct(float("nan")) == _display.fmt_pct(None) == "—"
    assert _ui.fmt_pct is _display.fmt_pct  # the pages' one rule


@pytest.mark.parametrize("change, fmt, shown", [
    (0.0, "+.3f", None), (0.0004, "+.3f", None), (-0.0004, "+.3f", None),
    (0.0005001, "+.3f", "+0.001"), (-0.0123, "+.3f", "-0.012"), (0.12, "+.3f", "+0.120"),
    (0.04, "+.1f", None), (float("nan"), "+.3f", None), (None, "+.3f", None),
])
def test_shown_delta_is_none_when_the_change_rounds_to_zero(change, fmt, shown):
    assert _display.shown_delta(change, fmt) == shown


def _table_app():
    import pandas as pd
    import streamlit as st

    from pages import _display

    frame = pd.DataFrame({"risk_tier": ["High", "Medium", "Low"],
                          "customers": [1_234, 2_000, 6_766], "share": [0.1234, 0.2, 0.6766],
                          "mean_probability": [0.7, 0.3, 0.1]})
    _display.show_table(frame, hide_index=True, counts=("customers", "absent"),
                        percents=("share", "absent_rate"), labels={"share": "share of file"},
                        column_config={"mean_probability": st.column_config.NumberColumn(
                            "mean probability", format="%.3f")})
    st.session_state["frame_after"] = frame
    a, b = st.columns(2)
    _display.metric(a, "unchanged", "0.412", 0.4121 - 0.4123)
    _display.metric(b, "changed", "0.380", 0.380 - 0.412, delta_color="inverse")


def test_show_table_and_metric_in_a_running_app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_table_app, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0]
    cols = json.loads(shown.proto.columns)
    assert cols["customers"]["type_config"]["format"] == "%,d"  # 1,234 in the grid
    assert cols["share"]["type_config"]["format"] == "%.1f %%"  # 12.3 % in the grid
    assert cols["share"]["label"] == "share of file"
    assert cols["mean_probability"]["type_config"]["format"] == "%.3f"
    assert "absent" not in cols and "absent_rate" not in cols
    assert shown.value["customers"].tolist() == [1_234, 2_000, 6_766]
    assert shown.value["share"].tolist() == pytest.approx([12.34, 20.0, 67.66])
    # the caller's frame keeps its shares (downloads and figures use it)
    assert at.session_state["frame_after"]["share"].tolist() == [0.1234, 0.2, 0.6766]
    unchanged = [m for m in at.metric if m.label == "unchanged"][0]
    changed = [m for m in at.metric if m.label == "changed"][0]
    assert unchanged.delta == "" and unchanged.value == "0.412"  # no arrow for -0.000
    assert changed.delta == "-0.032" and changed.proto.color  # an arrow for a real change


def test_sprintf_comma_format_is_streamlits():
    """``%,d`` is documented by the Streamlit this app pins (NumberColumn ``format``)."""
    import inspect

    import streamlit as st

    doc = inspect.getdoc(st.column_config.NumberColumn)
    assert '"%,d"' in doc and "1,234" in doc


def test_fmt_threshold_keeps_an_off_grid_threshold_readable():
    assert _display.fmt_threshold(0.38) == "0.38"
    assert _display.fmt_threshold(0.5) == "0.50"
    assert _display.fmt_threshold(0.37864383196867885) == "0.3786"  # not a misleading 0.38
    assert _display.fmt_threshold(0.0016) == "0.0016"
