"""measure_frame: the one function behind ``evaluate --data`` and the app's "measured on your
file" figures; overlap with the model's training customers is flagged (optimistic)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from churn_core.model.measure import measure_frame


def test_figures_are_sklearn_on_the_valid_rows(trained_bundle, sample_df):
    m = measure_frame(trained_bundle, sample_df, "s.csv")
    y = (sample_df["Exited"].astype(int)).to_numpy()
    assert m.rows_in == len(sample_df) == m.n_evaluated + m.n_rejected
    np.testing.assert_array_equal(m.y, y)
    assert m.roc_auc == pytest.approx(roc_auc_score(y, m.p))
    assert m.pr_auc == pytest.approx(average_precision_score(y, m.p))


def test_overlap_with_the_training_customers_is_flagged(trained_bundle, sample_df):
    card, ev = trained_bundle.card, trained_bundle.evaluation
    col = card["id_column"]
    assert col in sample_df.columns
    fitted = len(ev["train"]["ids"]) + len(ev["validation"]["ids"])
    # another export of the same customers (other bytes): matched on IDs
    m = measure_frame(trained_bundle, sample_df, "copy.csv", data_sha256="0" * 64)
    assert (m.same_file, m.shared_ids, m.id_column) == (False, fitted, col)
    assert m.overlaps_training
    # the training file itself (same SHA-256)
    m = measure_frame(trained_bundle, sample_df, "s.csv", data_sha256=card["data_sha256"])
    assert m.same_file and m.overlaps_training
    # only the test customers: no overlap
    test_rows = sample_df.iloc[ev["test"]["position"]]
    m = measure_frame(trained_bundle, test_rows, "test.csv", data_sha256="1" * 64)
    assert m.shared_ids == 0 and not m.overlaps_training
    assert m.roc_auc == pytest.approx(trained_bundle.metrics["test"]["roc_auc"], abs=1e-6)


def test_a_row_counter_is_not_a_customer_id(trained_bundle, sample_df):
    """Two files numbered 1, 2, 3 ... share no customers: the overlap check matches on the
    customer ID, never on RowNumber (also for bundles that recorded RowNumber)."""
    import copy

    from churn_core.model.measure import training_ids

    assert trained_bundle.card["id_column"] == "CustomerId"  # RowNumber comes first in the file
    old = copy.copy(trained_bundle)
    old.card = {**trained_bundle.card, "id_column": "RowNumber"}
    assert training_ids(old) == (None, set())
    other = sample_df.copy()
    other["CustomerId"] = "X" + other["CustomerId"].astype(str)  # other customers, same row numbers
    m = measure_frame(old, other, "other.csv", data_sha256="2" * 64)
    assert m.shared_ids == 0 and not m.overlaps_training
