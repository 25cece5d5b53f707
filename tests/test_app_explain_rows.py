"""AppTest: Explain's customer picker numbers customers by spreadsheet row (``source_row``),
as the target list and ``what-if --row`` do, also when a rejected row makes the positions in
the scored table and the spreadsheet rows differ (break-it report 2, item 2.5)."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, open_page  # noqa: F401

from churn_core import config, workbench as wb

pytestmark = pytest.mark.slow

LABEL = "Spreadsheet row (as source_row in the target list)"


def _no_id_file(tmp_path):
    """60 sample customers without ID columns; spreadsheet row 5 is rejected (Age 'abc')."""
    df = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(60)
    df = df.drop(columns=["RowNumber", "CustomerId", "Surname"])
    df.loc[3, "Age"] = "abc"  # frame row 3 = spreadsheet row 5 (header = row 1)
    path = tmp_path / "noid.csv"
    df.to_csv(path, index=False)
    return path, df


def _target_list(app_models, path, tmp_path, capsys):  # noqa: F811
    from churn_core.cli import main

    out = tmp_path / "lists"
    assert main(["target-list", "--model", str(app_models / config.DEFAULT_MODEL_NAME),
                 "--data", str(path), "--budget", "20", "--out", str(out)]) == 0
    capsys.readouterr()
    return pd.read_csv(next(p for p in out.glob("*.csv") if "_rejected" not in p.name))


def _shown(at) -> tuple[float, pd.DataFrame]:
    caption = [c.value for c in at.caption if "Calibrated churn probability" in c.value][0]
    p = float(re.findall(r"shown in the table: (\d\.\d+)", caption)[0])
    values = [d.value for d in at.dataframe
              if "SHAP value" in getattr(d.value, "columns", [])][0]
    return p, values


def test_explain_picks_the_list_customer_by_source_row(app_models, tmp_path, capsys):  # noqa: F811
    path, df = _no_id_file(tmp_path)
    listed = _target_list(app_models, path, tmp_path, capsys)
    # a listed customer after the rejected row: position in the scored table = row - 3
    pick = listed[listed["source_row"] > 5].iloc[0]
    row = int(pick["source_row"])
    customer = df.iloc[row - 2]

    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        ("noid.csv", path.read_bytes(), "text/csv")).run()
    assert_no_exception(at)
    at.switch_page("pages/explain.py").run()
    assert_no_exception(at)
    picker = at.number_input(key="ex_row")
    assert picker.label == LABEL
    # it opens on the riskiest customer: the list's rank 1, by its source_row
    top = listed.sort_values("rank").iloc[0]
    assert picker.value == int(top["source_row"])
    assert _shown(at)[0] == pytest.approx(round(float(top["churn_probability"]), 3), abs=1e-3)

    picker.set_value(row).run()
    assert_no_exception(at)
    p, values = _shown(at)
    assert p == pytest.approx(round(float(pick["churn_probability"]), 3), abs=1e-3)
    # the values shown are that spreadsheet row's cells
    assert float(values.loc["CreditScore", "value"]) == float(customer["CreditScore"])
    assert float(values.loc["Age", "value"]) == float(customer["Age"])
    assert values.loc["Geography", "value"] == customer["Geography"]

    # the rejected row is named with its reason, not replaced by another customer
    at.number_input(key="ex_row").set_value(5).run()
    assert_no_exception(at)
    warning = " ".join(w.value for w in at.warning)
    assert "Row 5 was rejected" in warning and "'abc' is not a number" in warning
    assert not [c for c in at.caption if "Calibrated churn probability" in c.value]

    # a row picked in a table (request = data hash, position) opens on that customer's row
    sha = wb.sha256_of(path.read_bytes())
    at.session_state["explain_request"] = (sha, row - 3)
    at.run()
    assert_no_exception(at)
    assert at.number_input(key="ex_row").value == row
    assert _shown(at)[0] == pytest.approx(round(float(pick["churn_probability"]), 3), abs=1e-3)
