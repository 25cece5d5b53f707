"""AppTest of the Score & segment page: tiers, row accounting, upload to score, export."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from apptest_util import (app_models, assert_no_exception, column_formats,  # noqa: F401
                          open_page, reference_scores)

from churn_core import config, workbench as wb

pytestmark = pytest.mark.slow


@pytest.fixture()
def score_app(app_models):  # noqa: F811
    at = open_page("pages/score_segment.py")
    return at


def _summary(at) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if "expected_churners" in getattr(d.value, "columns", [])]
    assert found, "no tier summary table"
    return found[0].set_index("risk_tier")


def _expected(p, high, medium):
    tiers = np.where(p >= high, "High", np.where(p >= medium, "Medium", "Low"))
    return {t: (int((tiers == t).sum()), float(p[tiers == t].sum())) for t in ("High", "Medium", "Low")}


def test_tiers_follow_the_cutoff_slider(score_app):
    at = score_app
    bundle, ref = reference_scores()
    p = ref.scored["churn_probability"].to_numpy()
    cut = bundle.tier_cutoffs
    for (lo, hi) in [(cut["medium"], cut["high"]), (0.1, 0.6)]:
        if (lo, hi) != (cut["medium"], cut["high"]):
            at.slider(key="tier_cutoff_slider_score").set_value((lo, hi)).run()
            assert_no_exception(at)
        summary = _summary(at)
        for tier, (n, expected) in _expected(p, hi, lo).items():
            assert summary.loc[tier, "customers"] == n
            assert summary.loc[tier, "expected_churners"] == pytest.approx(expected, rel=1e-9)
    assert at.session_state["tier_cutoffs"] == {"high": 0.6, "medium": 0.1}
    # the customer table: highest risk first, probabilities as shown by the engine
    table = [d.value for d in at.dataframe if "rank" in getattr(d.value, "columns", [])][0]
    assert table["rank"].iloc[0] == 1
    assert table["churn_probability"].iloc[0] == pytest.approx(p.max())
    assert table["churn_probability"].is_monotonic_decreasing
    # a download click keeps the page state (download buttons do not rerun the script)
    at.button(key="build_list").click().run()
    assert_no_exception(at)
    at.download_button(key="dl_csv").click().run()
    assert_no_exception(at)
    assert at.session_state["tier_cutoffs"] == {"high": 0.6, "medium": 0.1}


def test_tier_summary_counts_have_thousands_separators_and_shares_one_decimal(score_app):
    at = score_app
    _, ref = reference_scores()
    p = ref.scored["churn_probability"].to_numpy()
    hi, lo = at.session_state["tier_cutoffs"]["high"], at.session_state["tier_cutoffs"]["medium"]
    shown = [d for d in at.dataframe if "expected_churners" in getattr(d.value, "columns", [])][0]
    fmt = column_formats(shown)
    # 10,000 customers: Streamlit's printf format with ',' (not the plain 10000 of before)
    assert fmt["customers"] == "%,d" and fmt["observed_churners"] == "%,d"
    assert len(p) == 10_000 and int(shown.value["customers"].sum()) == 10_000
    # shares shown x 100 with one decimal ("20.9 %"), as the metrics' fmt_pct
    assert fmt["share"] == fmt["observed_churn_rate"] == "%.1f %%"
    summary = shown.value.set_index("risk_tier")
    for tier, (n, _) in _expected(p, hi, lo).items():
        assert summary.loc[tier, "share"] == pytest.approx(100 * n / len(p))
        assert summary.loc[tier, "observed_churn_rate"] == pytest.approx(
            100 * summary.loc[tier, "observed_churners"] / n)


def test_tiers_by_capacity(score_app):
    at = score_app
    _, ref = reference_scores()
    p = ref.scored["churn_probability"].to_numpy()
    at.radio(key="tier_mode__score").set_value("capacity (top N)").run()
    at.number_input(key="tier_n_high").set_value(100).run()
    at.number_input(key="tier_n_medium").set_value(250).run()
    assert_no_exception(at)
    summary = _summary(at)
    assert [summary.loc[t, "customers"] for t in ("High", "Medium", "Low")] == [
        100, 250, len(p) - 350]
    top = np.sort(p)[::-1]
    assert summary.loc["High", "expected_churners"] == pytest.approx(top[:100].sum())
    assert summary.loc["Medium", "expected_churners"] == pytest.approx(top[100:350].sum())
    # the mode is remembered across a page switch
    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/score_segment.py").run()
    assert at.radio(key="tier_mode__score").value == "capacity (top N)"


def test_upload_a_file_to_score_without_target(score_app):
    at = score_app
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(300).drop(columns=["Exited"])
    frame.loc[frame.index[:2], "CreditScore"] = "abc"
    frame.loc[frame.index[5], "Age"] = "4100"  # a typing error: scored, but flagged
    frame.loc[frame.index[8], "CustomerId"] = frame.loc[frame.index[7], "CustomerId"]
    raw = frame.to_csv(index=False).encode()
    sample_note = "shipped **synthetic sample** customers, not a file of yours"
    assert any(sample_note in i.value for i in at.info)  # F5 drops an upload made here
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(("month.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "300 rows in = **298 scored** + **2 rejected**" in text
    # the warning names the customer and the range (the default model's training file: 18 to 92)
    who = frame.loc[frame.index[5], "CustomerId"]
    assert any("outside the range seen in training" in w.value and
               f"Age: 1 customer outside the training range 18 to 92 (CustomerId {who})"
               in w.value.replace("\\", "") for w in at.warning)
    assert not any(sample_note in i.value for i in at.info)  # the analyst's own file
    dup = frame.loc[frame.index[7], "CustomerId"]  # the same warning as on Data, with rows
    shown = [w.value.replace("\\", "") for w in at.warning]  # markdown escapes
    assert any("2 rows share an ID value in column CustomerId: check for double exports" in w
               and f"For example: CustomerId {dup} (rows 9, 10)." in w for w in shown), shown
    summary = _summary(at)
    assert int(summary["customers"].sum()) == 298
    assert "observed_churn_rate" not in summary.columns
    # reason codes for every scored customer, in plain words, in the customer table
    at.button(key="score_compute_reasons").click().run()
    assert_no_exception(at)
    table = [d.value for d in at.dataframe if "reason_1" in getattr(d.value, "columns", [])][0]
    assert len(table) == 298
    bundle, _ = reference_scores()
    first = table["reason_1"][table["reason_1"] != ""]
    assert len(first) > 0.9 * len(table)
    assert first.str.endswith(" raises risk").all()
    assert first.map(lambda r: any(r.startswith(c) for c in bundle.schema.features)).all()
    # computed with the target list's quicker estimate, and the page says so
    method = [c.value for c in at.caption if c.value.startswith("Method:")]
    assert len(method) == 1
    assert "(2 column orders per customer and background row), 50 background rows" in method[0]


def test_upload_a_gzip_compressed_file_to_score(score_app):
    """A .csv.gz upload is scored like the plain file (row accounting, rejected line)."""
    import gzip

    at = score_app
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(200).drop(columns=["Exited"])
    frame.loc[frame.index[7], "CreditScore"] = "abc"
    raw = gzip.compress(frame.to_csv(index=False).encode())
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(("month.csv.gz", raw, "application/gzip")).run()
    assert_no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "200 rows in = **199 scored** + **1 rejected**" in text
    assert int(_summary(at)["customers"].sum()) == 199


def test_target_list_bytes_add_up(app_models):  # noqa: F811
    """The download is built by workbench.export_bytes: check it against the engine."""
    from churn_core.io.reader import read_table

    bundle, ref = reference_scores()
    p = ref.scored["churn_probability"].to_numpy()
    data = wb.load_data(config.SAMPLE_CSV)
    scores = wb.score_data(bundle, data)
    np.testing.assert_allclose(scores.p, p)
    cut = {"high": 0.5, "medium": 0.25}
    view = wb.segment(scores, "probability cutoffs", cut)
    ctx = wb.ExportContext(bundle=bundle, scores=scores, tiers=view.tiers, reasons=None,
                           chosen_tiers=["High", "Medium"], threshold=0.4, cutoffs=cut,
                           actions=wb.default_actions())
    listed = pd.read_csv(io.BytesIO(wb.export_bytes(ctx, "csv")))
    assert len(listed) == int((p >= 0.25).sum())
    assert list(listed["rank"]) == list(range(1, len(listed) + 1))
    assert set(listed["risk_tier"]) <= {"High", "Medium"}
    for col in ("churn_probability", "risk_tier", "rank", "recommended_action",
                *bundle.schema.id_columns):
        assert col in listed.columns
    import json

    log = json.loads(wb.export_bytes(ctx, "json"))
    assert log["rows_in"] == len(read_table(config.SAMPLE_CSV)[0])
    assert log["rows_listed"] == len(listed)
    assert log["rows_in"] == log["rows_listed"] + sum(log["excluded"].values())
    # the decision log says the list was made by the synthetic model (issue 14, item 2)
    assert log["model_synthetic"] is True and log["training_data_name"] == "sample_customers.csv"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(wb.export_bytes(ctx, "xlsx")), read_only=True)
    assert book.sheetnames == ["retention_targets", "decision_log"]
    assert book["retention_targets"].max_row == len(listed) + 1  # + header
    name = wb.export_name(ctx, "csv")
    assert name.startswith(f"retention_targets_{bundle.name}_") and name.endswith("_t0.40.csv")


def test_an_all_blank_feature_column_is_warned(score_app):
    at = score_app
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).head(200).drop(columns=["Exited"])
    frame["CreditScore"] = ""
    frame.loc[frame.index[:3], "Balance"] = ""  # a few blanks: only the caption
    raw = frame.to_csv(index=False).encode()
    at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
    at.file_uploader(key="score_upload_widget").set_value(("blank.csv", raw, "text/csv")).run()
    assert_no_exception(at)
    found = [w.value.replace("\\", "") for w in at.warning if "scores ignore it" in w.value]
    assert len(found) == 1, [w.value for w in at.warning]
    assert found[0].startswith("CreditScore is blank in 200 of 200 scored customers")
    assert "training median for every customer" in found[0]


def test_other_data_notice_names_the_file_being_scored(app_models):  # noqa: F811
    """Breakit item 11: champion = a model trained on another file, active data = the shipped
    sample; on Score & segment an uploaded file is scored: the notice spoke of the sample,
    with a "Train a model on this file" button that would train on the sample."""
    import json
    import shutil

    from apptest_util import new_app

    from churn_core.model import registry

    src = app_models / config.DEFAULT_MODEL_NAME
    shutil.copytree(src, app_models / "bank_real", ignore=shutil.ignore_patterns("drift_*"))
    card = json.loads((src / "card.json").read_text())
    card.update({"data_sha256": "0" * 64, "source": "Churn_Modelling.csv", "synthetic": False})
    (app_models / "bank_real" / "card.json").write_text(json.dumps(card))
    registry.set_champion("bank_real", app_models)
    try:
        at = new_app()
        at.run()
        at.switch_page("pages/score_segment.py").run()
        assert_no_exception(at)
        assert at.session_state["active_model"] == "bank_real"

        def notices():
            return [w.value.replace("\\", "") for w in at.warning
                    if "trained on other data" in w.value]

        # the active data scored: the notice names it, with its button
        [text] = notices()
        assert "The active data is **sample_customers.csv**" in text
        assert "Churn_Modelling.csv (another file)" in text
        assert [b for b in at.button if b.label == "Train a model on this file"]

        frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).iloc[100:400]
        at.radio(key="score_source_choice__score").set_value("Upload a file to score").run()
        assert_no_exception(at)
        assert notices() == []  # no file yet: nothing about the sample
        at.file_uploader(key="score_upload_widget").set_value(
            ("march_customers.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
        assert_no_exception(at)
        [text] = notices()
        assert ("The active model **bank_real** was trained on other data: Churn_Modelling.csv "
                "(another file). The file being scored is **march_customers.csv**: check how "
                "the model does on these customers before using its target list.") == text
        assert "sample_customers" not in text
        assert not [b for b in at.button if b.label == "Train a model on this file"]
        assert any("To train a model on march_customers.csv, upload it on the **Data** page"
                   in c.value.replace("\\", "") for c in at.caption)
        assert any(m.value.replace("\\", "").startswith("**march_customers.csv**: 300 rows in")
                   for m in at.markdown)
    finally:
        registry.set_champion(config.DEFAULT_MODEL_NAME, app_models)
        registry.delete_model("bank_real", app_models)
