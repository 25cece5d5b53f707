"""Stage 3, *judge*: how good a ranking of customers is, as pure functions of labels and
churn probabilities (``y_true``, ``y_score``), plus the gradient-boosting challenger.

Owns: metrics at a threshold, ROC / PR points, threshold strategies, calibration, lift and
cumulative gains, the challenger. It sits before ``model`` because training uses it to pick
the decision threshold and the calibrator on the validation split.
May import: ``churn_core.data`` (the schema), ``churn_core.io`` and the top-level modules.
"""
