"""Figure faults found while using the dashboard: precision drawn as 0 where undefined."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_score

from churn_core.figures import performance as F
from churn_core.evaluate.metrics import metrics_by_threshold


def test_precision_is_a_gap_where_nobody_is_flagged():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.6 * y + rng.normal(0.2, 0.15, 400), 0, 0.9)  # nobody reaches 0.9+
    table = metrics_by_threshold(y, p, np.linspace(0, 1, 101))
    fig = F.metrics_vs_threshold_figure(table, 0.5)
    prec = np.asarray(fig.data[0].y, dtype=float)
    t = np.asarray(fig.data[0].x, dtype=float)
    nobody = np.array([(p >= x).sum() == 0 for x in t])
    assert nobody.any() and (~nobody).any()
    assert np.isnan(prec[nobody]).all()  # was drawn as 0
    for i in np.flatnonzero(~nobody)[::10]:
        assert prec[i] == np.float64(precision_score(y, p >= t[i]))
    # recall stays defined everywhere (0 where nobody is flagged)
    assert np.isfinite(np.asarray(fig.data[1].y, dtype=float)).all()
