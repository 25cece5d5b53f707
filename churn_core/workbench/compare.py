"""The gradient-boosting challenger compared with the MLP on the bundle's test split."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn_core.data.validate import validate
from churn_core.errors import TrainingDataError
from churn_core.evaluate import metrics
from churn_core.evaluate.challenger import challenger_verdict, train_challenger
from churn_core.workbench.data import ActiveData
from churn_core.workbench.evaluation import eval_arrays


@dataclass
class ChallengerView:
    """A gradient-boosting challenger evaluated on the bundle's own test split.

    Attributes
    ----------
    roc, pr : metrics.CurvePoints
        The challenger's curves on the test split.
    report : metrics.EvaluationReport
        At the challenger's own threshold (max F1 on validation, the MLP's rule).
    table : DataFrame
        One row per model: ROC-AUC, PR-AUC, Brier, threshold, precision, recall, F1.
    verdict : challenger.Verdict or None
        Whether the challenger beats the MLP by more than the fold-to-fold noise, in plain
        words, and what to do (``challenger.challenger_verdict``).
    """

    roc: Any
    pr: Any
    report: Any
    table: pd.DataFrame
    verdict: Any = None


def challenger_view(bundle, data: ActiveData) -> ChallengerView:
    """Train the HistGradientBoosting challenger (``challenger.train_challenger``) on the
    bundle's training split of ``data`` and compare it with the MLP on the test split.

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
        Must be the file the bundle was trained on (the split positions index its rows).

    Returns
    -------
    ChallengerView

    Raises
    ------
    TrainingDataError
        When ``data`` is not the model's training file, or a split lacks a class.
    """

    card = getattr(bundle, "card", {}) or {}
    if data is None or card.get("data_sha256") != data.sha256:
        raise TrainingDataError(
            f"the challenger is trained on the model's own training rows: load the file model "
            f"{bundle.name!r} was trained on ({card.get('source') or 'see the model card'}) on "
            "the Data page")
    result = validate(data.frame, bundle.schema, require_target=True, source_name=data.name)
    y_test, p_test, report = train_challenger(bundle, result.valid, result.y)
    t = report.threshold
    ev = eval_arrays(bundle)
    mlp = ev.report

    def row(name, r):
        a = r.at_threshold
        return {"model": name, "ROC-AUC": r.roc_auc, "PR-AUC": r.pr_auc, "Brier": r.brier,
                "threshold": a.threshold, "precision": a.precision, "recall": a.recall,
                "F1": a.f1}

    table = pd.DataFrame([row(f"MLP ({bundle.name})", mlp),
                          row("gradient boosting (challenger)", report)])
    try:
        verdict = challenger_verdict(ev.y_test, ev.p_test, p_test, seed=int(card.get("seed", 42)),
                                     recipe=(card.get("recipe") or {}).get("recipe", "quick"))
    except ValueError:  # a test split with one class: no ranking to compare
        verdict = None
    return ChallengerView(metrics.roc_points(y_test, p_test, t),
                          metrics.pr_points(y_test, p_test, t), report, table, verdict)
