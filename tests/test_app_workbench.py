"""The dashboard's facade (churn_core/workbench/): fast threshold metrics equal
scikit-learn's, tier counts, label parsing, names and data quality."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, precision_score,
                             recall_score)

from churn_core import workbench as wb
from churn_core.evaluate import metrics

probs = st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.5, 0.7, 0.99, 1.0]) |
                 st.floats(0, 1), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p=probs, seed=st.integers(0, 10_000), t=st.floats(0, 1))
def test_threshold_curve_equals_scikit_learn(p, seed, t):
    p = np.asarray(p)
    y = np.random.default_rng(seed).integers(0, 2, len(p)).astype(float)
    got = wb.ThresholdCurve(p, y).at(t)
    pred = (p >= t).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert (got.tp, got.fp, got.tn, got.fn) == (tp, fp, tn, fn)
    assert got.flagged == pred.sum()
    assert got.precision == pytest.approx(precision_score(y, pred, zero_division=0))
    assert got.recall == pytest.approx(recall_score(y, pred, zero_division=0))
    assert got.f1 == pytest.approx(f1_score(y, pred, zero_division=0))
    assert got.accuracy == pytest.approx(accuracy_score(y, pred))
    assert got.specificity == pytest.approx(recall_score(y, pred, pos_label=0, zero_division=0))
    assert got.predicted_positive_rate == pytest.approx(pred.mean())
    assert got.customers == len(p)


def test_threshold_curve_ignores_blank_labels_but_counts_them_as_flagged():
    p = np.array([0.9, 0.8, 0.2, 0.6])
    y = np.array([1.0, np.nan, 0.0, 0.0])
    at = wb.ThresholdCurve(p, y).at(0.5)
    assert at.flagged == 3                      # every customer at or above 0.5
    assert (at.tp, at.fp, at.tn, at.fn) == (1, 1, 1, 0)  # the blank label is not counted
    assert wb.ThresholdCurve(p).at(0.5).flagged == 3
    assert np.isnan(wb.ThresholdCurve(p).at(0.5).precision)


def test_sweep_matches_metrics_by_threshold():
    rng = np.random.default_rng(3)
    p, y = rng.random(500), rng.integers(0, 2, 500)
    ours = wb.ThresholdCurve(p, y).sweep()
    ref = metrics.metrics_by_threshold(y, p)
    for col in ("precision", "recall", "f1", "accuracy", "specificity", "tp", "fn"):
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), atol=1e-12)


def test_tier_counts_add_up_and_follow_the_rule():
    p = np.array([0.1, 0.25, 0.3, 0.5, 0.9])
    got = wb.tier_counts(p, {"high": 0.5, "medium": 0.25})
    assert got == {"High": 2, "Medium": 2, "Low": 1}


@pytest.mark.parametrize("cells,pos,neg,expected", [
    (["1", "0", "1.0", " ", None], "1", None, [1, 0, 1, np.nan, np.nan]),
    (["Yes", "no", "YES", "maybe"], "Yes", "No", [1, 0, 1, np.nan]),
    (["False", "True", "false"], "True", None, [0, 1, 0]),
])
def test_labels_from_text(cells, pos, neg, expected):
    got = wb.labels_from_text(pd.Series(cells, dtype=object), pos, neg)
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=float))


@pytest.mark.parametrize("text,expected", [
    ("Bank model Nov 2026", "Bank_model_Nov_2026"), ("../../etc/passwd", "etc_passwd"),
    ("  été!! ", "t"), ("a" * 80, "a" * 64), ("x..y", "x_y")])
def test_slug_model_name(text, expected):
    assert wb.slug_model_name(text) == expected


def test_quality_report_counts_blanks_and_duplicate_ids():
    csv = ("CustomerId,Age,Geography,Exited\n1,30,France,1\n2, ,Spain,0\n2,41,,0\n"
           "3,50,Germany,\n").encode()
    data = wb.load_data(csv, name="q.csv", overrides={"target": "Exited",
                                                      "positive_label": "1",
                                                      "id_columns": ["CustomerId"]})
    q = wb.quality_report(data)
    missing = q.missing.set_index("column")["missing"]
    assert missing["Age"] == 1 and missing["Geography"] == 1 and missing["Exited"] == 1
    assert q.duplicate_ids == 2
    assert q.duplicate_examples == ["CustomerId 2 (rows 3, 4)"]  # the file's own rows
    assert q.rows == 4 == q.rows_valid + q.rows_rejected
    balance = q.class_balance.set_index("label")["customers"]
    assert balance["churned"] == 1 and balance["stayed"] == 2 and balance["blank"] == 1


def test_duplicate_id_examples_name_the_ids_and_rows_and_stop_at_the_limit():
    frame = pd.DataFrame({"Id": ["7", "8", "7", "", "", "9", "9", "9", "9", "9", "9", "8"],
                          "Other": list("abcdefghijkl")})
    # no source_row index: rows are positions + 2 (header = row 1); blanks never shared
    assert wb.duplicate_id_examples(frame, ["Id", "Absent"]) == [
        "Id 7 (rows 2, 4)", "Id 8 (rows 3, 13)", "Id 9 (rows 7, 8, 9, 10, 11, …)"]
    assert wb.duplicate_id_examples(frame, ["Id"], limit=1) == ["Id 7 (rows 2, 4)"]
    assert wb.duplicate_id_examples(frame, ["Other"]) == []
    read = frame.set_index(pd.Index(range(20, 32), name="source_row"))  # the reader's rows
    assert wb.duplicate_id_examples(read, ["Id"], limit=1) == ["Id 7 (rows 20, 22)"]
