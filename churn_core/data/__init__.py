"""Stage 2, *understand*: what the columns of a customer table mean and which rows are usable.

Owns: cell text rules, the feature schema, schema inference, validation (typed valid rows,
rejected rows with their source row and reason), the synthetic sample generator, and the
reference profile of a model's training rows (``profile.py``, built at training, compared
with new files by ``campaign.drift``).
May import: ``churn_core.io`` and the top-level ``config`` / ``errors``.
"""
