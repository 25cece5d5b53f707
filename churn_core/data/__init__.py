"""Stage 2, *understand*: what the columns of a customer table mean and which rows are usable.

Owns: cell text rules, the feature schema, schema inference, validation (typed valid rows,
rejected rows with their source row and reason), and the synthetic sample generator.
May import: ``churn_core.io`` and the top-level ``config`` / ``errors``.
"""
