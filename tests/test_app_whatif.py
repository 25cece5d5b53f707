"""AppTest of the what-if section of the Explain page: editor, new probability, reset,
suggestions (pages/_whatif.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptest_util import (app_models, assert_no_exception, metric, number,  # noqa: F401
                          open_page, reference_scores)

from churn_core import config
from churn_core.campaign.scoring import score_frame
from churn_core.explain.whatif import is_protected
from churn_core.io.reader import ROW_INDEX, read_table

pytestmark = pytest.mark.slow

BEFORE, AFTER = "Churn probability, original", "Churn probability, edited"


def _rescore(bundle, line: int, cells: dict) -> float:
    """The file row ``line`` with some cells replaced, scored by score_frame."""
    df, _ = read_table(config.SAMPLE_CSV)
    one = df.loc[[line]].copy()
    for col, text in cells.items():
        one[col] = pd.array([text], dtype=one[col].dtype)
    return float(score_frame(bundle, one).scored["churn_probability"].iloc[0])


def _suggestions(at) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "change" in getattr(d.value, "columns", [])]
    assert found, "no suggestions table"
    return found[0]


def _delta(at) -> str:
    """The delta shown under the edited probability ("" when none is shown)."""
    return [m.delta for m in at.metric if m.label == AFTER][0]


def test_what_if_editor_and_suggestions(app_models):  # noqa: F811
    at = open_page("pages/explain.py")
    bundle, ref = reference_scores()
    top = ref.scored.iloc[int(np.argmax(ref.scored["churn_probability"].to_numpy()))]
    line = int(top[ROW_INDEX])
    original = number(metric(at, BEFORE))
    assert original == pytest.approx(top["churn_probability"], abs=1e-3)
    assert number(metric(at, AFTER)) == original
    assert _delta(at) == ""  # no change yet: no "+0.000" with a coloured arrow
    # the editor starts at the customer's own values
    assert at.selectbox(key="wi_IsActiveMember").value == str(top["IsActiveMember"]).strip()
    assert at.number_input(key="wi_Balance").value == pytest.approx(float(top["Balance"]))
    # suggestions: actionable columns only, each lowers the probability
    table = _suggestions(at)
    assert len(table) > 0
    changed_cols = {c.split(":")[0].replace("best pair", "").strip()
                    for text in table["change"] for c in text.split(";")}
    assert changed_cols and not any(is_protected(c) for c in changed_cols)
    assert (table["churn_probability"] < original).all()
    # edit one category and one number: the new probability is the re-scored file row
    flag = "0" if str(top["IsActiveMember"]).strip() == "1" else "1"
    at.selectbox(key="wi_IsActiveMember").set_value(flag).run()
    at.number_input(key="wi_Balance").set_value(0.0).run()
    assert_no_exception(at)
    expected = _rescore(bundle, line, {"IsActiveMember": flag, "Balance": "0"})
    assert number(metric(at, AFTER)) == pytest.approx(expected, abs=1e-3)
    assert number(metric(at, AFTER)) != original
    assert _delta(at) != "" and number(_delta(at)) == pytest.approx(
        number(metric(at, AFTER)) - original, abs=1.5e-3)
    assert any("SHAP waterfall of the edited customer" in c.value for c in at.caption)
    # reset: back to the original values and probability
    at.button(key="wi_reset").click().run()
    assert_no_exception(at)
    assert number(metric(at, AFTER)) == original and _delta(at) == ""
    assert at.selectbox(key="wi_IsActiveMember").value == str(top["IsActiveMember"]).strip()
    # another customer: the editor follows
    options = at.selectbox(key="ex_customer").options
    at.selectbox(key="ex_customer").set_value(options[-1]).run()
    assert_no_exception(at)
    assert number(metric(at, AFTER)) == number(metric(at, BEFORE))
    assert number(metric(at, BEFORE)) < original
