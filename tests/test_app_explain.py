"""AppTest of the Explain page: method stated, one customer's SHAP values add up, reasons."""
from __future__ import annotations

import re

import numpy as np
import pytest
from apptest_util import (app_models, assert_no_exception, open_page,  # noqa: F401
                          reference_scores)

from churn_core import config, workbench as wb

pytestmark = pytest.mark.slow


def test_explain_page(app_models):  # noqa: F811
    at = open_page("pages/explain.py")
    info = " ".join(i.value for i in at.info)
    assert "background rows" in info and "exact method" in info
    # the customer picker starts at the highest-risk customer
    bundle, ref = reference_scores()
    top = ref.scored.iloc[int(np.argmax(ref.scored["churn_probability"].to_numpy()))]
    idc = [c for c in bundle.schema.id_columns if "customer" in c.lower()][0]
    assert at.selectbox(key="ex_customer").value == str(top[idc])
    values = [d.value for d in at.dataframe if "SHAP value" in getattr(d.value, "columns", [])][0]
    caption = [c.value for c in at.caption if "base value" in c.value and "raw model" in c.value][0]
    base, output = (float(x) for x in re.findall(r"base value (\d\.\d+).*probability (\d\.\d+)",
                                                   caption)[0])
    # additivity: base value + sum of SHAP values = the model's output (3-decimal display)
    assert base + values["SHAP value"].sum() == pytest.approx(output, abs=2e-3)
    assert set(values.index) == set(bundle.schema.features)
    # reason codes are the columns with the largest positive SHAP values
    shown = [t.value.lstrip("• ") for t in at.text if t.value.startswith("•")]
    # (by default protected attributes and columns the team cannot act on are left out)
    left_out = wb.reason_exclusions(bundle, True)
    assert {"Gender", "Age", "Geography"} <= set(left_out)
    positive = values[(values["SHAP value"] > 0) & ~values.index.isin(left_out)].sort_values(
        "SHAP value", ascending=False)
    expected = list(positive.index[:3])
    assert [s.split(" ")[0] for s in shown] == expected
    # another customer, and the actionable-only option, still render
    options = at.selectbox(key="ex_customer").options
    at.selectbox(key="ex_customer").set_value(options[-1]).run()
    at.toggle(key="reasons_actionable_only__explain").set_value(False).run()
    assert_no_exception(at)
    assert at.session_state["reasons_actionable_only"] is False
    # a row picked in the Score & segment table opens here (request = data hash, position)
    pos = 17
    at.session_state["explain_request"] = (wb.sha256_of(config.SAMPLE_CSV), pos)
    at.run()
    assert_no_exception(at)
    assert at.selectbox(key="ex_customer").value == str(ref.scored[idc].iloc[pos])
