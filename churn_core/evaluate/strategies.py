"""Choose a decision threshold with a named strategy on the validation split and report it
on the test split (:func:`choose_on_validation`)."""
from __future__ import annotations

from dataclasses import dataclass

from churn_core.errors import ChurnError
from churn_core.evaluate.curve import ThresholdMetrics
from churn_core.evaluate.metrics import threshold_metrics
from churn_core.evaluate.net_value import max_net_value
from churn_core.evaluate.thresholds import (STRATEGIES, ThresholdChoice, manual, max_f1,
                                            target_recall, top_fraction, top_n)

__all__ = ["ValidatedChoice", "choose_on_validation", "STRATEGIES"]


@dataclass(frozen=True)
class ValidatedChoice:
    """A threshold chosen on the validation split with its metrics on both splits."""

    choice: ThresholdChoice
    validation: ThresholdMetrics
    test: ThresholdMetrics

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"choice": self.choice.to_dict(), "validation": self.validation.to_dict(),
                "test": self.test.to_dict()}


def choose_on_validation(strategy: str, y_val, p_val, y_test, p_test, **params
                         ) -> ValidatedChoice:
    """Choose a threshold on the validation split and report metrics on the test split.

    Parameters
    ----------
    strategy : str
        A key of :data:`STRATEGIES`.
    y_val, p_val : array-like of shape (n_val,)
        Validation labels and probabilities (the threshold is chosen here).
    y_test, p_test : array-like of shape (n_test,)
        Test labels and probabilities (only evaluated at the chosen threshold).
    **params
        The strategy's own arguments: ``threshold`` (manual), ``recall`` (target_recall),
        ``n`` (top_n), ``fraction`` (top_fraction), ``value``, ``cost_per_contact``,
        ``success_rate``, ``budget`` (max_net_value; a per-customer ``value`` must match
        the validation rows).

    Returns
    -------
    ValidatedChoice
        The test metrics apply the threshold with the ``>=`` rule (a top-N count chosen on
        validation becomes a probability cut-off on test, so the test count can differ).
    """
    if strategy == "manual":
        choice = manual(params["threshold"], y_val, p_val)
    elif strategy == "max_f1":
        choice = max_f1(y_val, p_val)
    elif strategy == "target_recall":
        choice = target_recall(y_val, p_val, params["recall"])
    elif strategy == "top_n":
        choice = top_n(p_val, params["n"])
    elif strategy == "top_fraction":
        choice = top_fraction(p_val, params["fraction"])
    elif strategy == "max_net_value":
        choice = max_net_value(p_val, params["value"], params["cost_per_contact"],
                               params["success_rate"], y=y_val, budget=params.get("budget"))
    else:
        raise ChurnError(f"unknown threshold strategy {strategy!r}; choose one of "
                         + ", ".join(STRATEGIES))
    # A "contact nobody" choice has a threshold just above 1: no score reaches it.
    val_metrics = threshold_metrics(y_val, p_val, choice.threshold)
    test_metrics = threshold_metrics(y_test, p_test, choice.threshold)
    return ValidatedChoice(choice, val_metrics, test_metrics)
