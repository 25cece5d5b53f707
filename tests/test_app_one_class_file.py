"""A labelled file where every customer churned (break-it report 2, item 2.9): Overview and
Performance say its ROC-AUC / PR-AUC are not measurable (never ``nan``) and offer no
"Train a model on this file" button, as the Data page says the file cannot train."""
from __future__ import annotations

import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, metric, open_page  # noqa: F401

from churn_core import config, workbench as wb

pytestmark = pytest.mark.slow

EVERY = ("not measurable: every customer in this file churned (ROC-AUC needs churners and "
         "stayers)")


def _one_class(value: str, n: int = 300) -> pd.DataFrame:
    frame = pd.read_csv(config.SAMPLE_CSV, dtype=str).iloc[1000:1000 + n].copy()
    frame["Exited"] = value
    return frame


def _texts(elements) -> list[str]:
    return [str(e.value).replace("\\", "") for e in elements]


def test_model_on_a_one_class_file_is_not_measurable(app_models):  # noqa: F811
    import dataclasses

    import numpy as np

    from churn_core.model.bundle import load_bundle

    bundle = load_bundle(config.DEFAULT_MODEL_NAME, app_models)
    data = wb.load_data(_one_class("1").to_csv(index=False).encode(), "one_class.csv")
    assert data.schema.positive_label == "1"
    view = wb.model_on_file(bundle, data)
    assert view.measure is not None and view.measure.n_evaluated == 300
    assert view.not_measurable == EVERY
    assert view.cannot_train == ("Exited has one value only (1) in this file: training needs "
                                 "both churners and stayers")
    summary = view.summary()
    assert (f"Measured on your file one_class.csv: {EVERY} on 300 customers with a known "
            "outcome.") in summary
    assert "nan" not in summary
    assert "or train a model on this file" not in view.notice()
    # the same measure with no churner: the opposite wording
    none = dataclasses.replace(view, measure=dataclasses.replace(
        view.measure, y=np.zeros(300)))
    assert none.not_measurable == ("not measurable: no customer in this file churned (ROC-AUC "
                                   "needs churners and stayers)")
    # only 0 in the churn column: no churned value to pick, nothing measured, cannot train
    zero = wb.load_data(_one_class("0").to_csv(index=False).encode(), "all_stayed.csv")
    view = wb.model_on_file(bundle, zero)
    assert view.measure is None and view.not_measurable is None
    assert view.cannot_train == ("Exited has one value only (0) in this file: training needs "
                                 "both churners and stayers")
    # the same customers with their real outcomes (churners and stayers): measurable, and
    # the file can train
    mixed = pd.read_csv(config.SAMPLE_CSV, dtype=str).iloc[1000:1300]
    assert mixed["Exited"].nunique() == 2
    view = wb.model_on_file(bundle, wb.load_data(mixed.to_csv(index=False).encode(), "mixed.csv"))
    assert view.not_measurable is None and view.cannot_train is None
    assert 0.5 < view.measure.roc_auc <= 1.0
    assert "or train a model on this file" in view.notice()
    unlabelled = mixed.drop(columns=["Exited"])
    view = wb.model_on_file(bundle, wb.load_data(unlabelled.to_csv(index=False).encode(), "u.csv"))
    assert view.cannot_train == "it has no churn column (training needs one)"


def test_overview_and_performance_say_not_measurable_for_an_all_churned_file(app_models):  # noqa: F811
    at = open_page("pages/data.py")
    at.file_uploader(key="data_upload").set_value(
        ("allchurn.csv", _one_class("1").to_csv(index=False).encode(), "text/csv")).run()
    assert_no_exception(at)
    assert any("cannot train a model" in t for t in _texts(at.warning))
    for page in ("pages/overview.py", "pages/performance.py"):
        at.switch_page(page).run()
        assert_no_exception(at)
        assert [t for t in _texts(at.warning) if "trained on other data" in t], page
        assert metric(at, "ROC-AUC on your file") == "not measurable"
        assert metric(at, "PR-AUC on your file") == "not measurable"
        assert f"ROC-AUC and PR-AUC on allchurn.csv: {EVERY}." in _texts(at.info)
        assert any(f"Measured on your file allchurn.csv: {EVERY} on 300 customers" in c
                   for c in _texts(at.caption))
        shown = " ".join(_texts(at.caption) + _texts(at.markdown) + _texts(at.warning)
                         + [m.value for m in at.metric])
        assert "nan" not in shown.split() and "nan," not in shown, page
        # no train button: the file cannot train (the Data page says so too)
        assert not [b for b in at.button if b.label == "Train a model on this file"]
        assert ("This file cannot train a model: Exited has one value only (1) in this file: "
                "training needs both churners and stayers.") in _texts(at.caption)
        notice = [t for t in _texts(at.warning) if "trained on other data" in t][0]
        assert "or train a model on this file" not in notice
