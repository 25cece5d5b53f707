"""A synthetic retention campaign with a known, heterogeneous effect of the call.

Public uplift data sets (Hillstrom, Criteo, X5, Lenta) are downloaded at run time by their
packages, which cannot work on machines without internet. This generator ships the data the
uplift model and the campaign-results report are tested on, with the truth written down.

Mechanism
---------
1. Customers are drawn by :func:`churn_core.data.synthetic.make_bank_customers` (same columns
   and marginals as the shipped bank sample); their churn probability *without* a call, ``p0``,
   is that sample's documented mechanism (:func:`churn_core.data.synthetic.churn_probability`).
2. A randomised campaign: every customer is called (``treatment = 1``) with probability
   :data:`TREATED_SHARE`, independently of everything else (seeded).
3. The call shifts the churn log-odds by :func:`call_effect` (``EFFECTS``):

   * **persuadables**: inactive members (``IsActiveMember = 0``) with one product and younger
     than 50: log-odds ``-1.6`` (the call works);
   * **do-not-disturb** ("sleeping dogs"): active members aged 50 or more: ``+1.0`` (the call
     reminds them to leave);
   * **lost causes**: three or more products (they mostly leave anyway): ``0``;
   * everyone else (mostly **sure things**): ``-0.15``.

   ``p1 = sigmoid(logit(p0) + effect)`` and ``churned ~ Bernoulli(p1 if treated else p0)``.
4. The true uplift of a customer (:func:`true_uplift`) is ``p0 - p1``: how much the call
   lowers the churn probability (negative for do-not-disturb customers).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.data.synthetic import _logit, _sigmoid, churn_probability, make_bank_customers

TREATMENT = "treatment"
OUTCOME = "churned"
#: Share of customers called in the simulated campaign.
TREATED_SHARE = 0.5
#: Log-odds shift of churn caused by the call, per true segment.
EFFECTS = {"persuadable": -1.6, "do_not_disturb": 1.0, "lost_cause": 0.0, "other": -0.15}


def true_segment(df: pd.DataFrame) -> np.ndarray:
    """The generator's segment of each customer (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        Columns ``Age``, ``IsActiveMember``, ``NumOfProducts`` (numbers or numeric text).

    Returns
    -------
    ndarray of str, shape (n_samples,)
        ``"persuadable"``, ``"do_not_disturb"``, ``"lost_cause"`` or ``"other"``.
    """
    age = pd.to_numeric(df["Age"]).to_numpy(dtype=float)
    active = pd.to_numeric(df["IsActiveMember"]).to_numpy(dtype=float)
    products = pd.to_numeric(df["NumOfProducts"]).to_numpy(dtype=float)
    seg = np.full(len(df), "other", dtype=object)
    seg[(active == 1) & (age >= 50)] = "do_not_disturb"
    seg[(active == 0) & (products == 1) & (age < 50)] = "persuadable"
    seg[products >= 3] = "lost_cause"
    return seg


def call_effect(df: pd.DataFrame) -> np.ndarray:
    """Log-odds shift of churn caused by a call, ndarray of shape (n_samples,)."""
    return np.array([EFFECTS[s] for s in true_segment(df)], dtype=float)


def churn_probabilities(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True churn probabilities without and with a call.

    Returns
    -------
    p0, p1 : ndarray of shape (n_samples,)
        Probabilities in [0, 1]: ``p0`` if not called, ``p1`` if called.
    """
    p0 = churn_probability(df)
    return p0, _sigmoid(_logit(p0) + call_effect(df))


def true_uplift(df: pd.DataFrame) -> np.ndarray:
    """How much a call lowers each customer's churn probability, ``p0 - p1``.

    Returns
    -------
    ndarray of shape (n_samples,)
        In [-1, 1]; positive when the call helps, negative for do-not-disturb customers.
    """
    p0, p1 = churn_probabilities(df)
    return p0 - p1


def make_campaign(n: int = 20_000, seed: int = config.SEED) -> pd.DataFrame:
    """Draw a randomised retention campaign with a known uplift.

    Parameters
    ----------
    n : int, default 20_000
        Customers.
    seed : int, default ``config.SEED``
        Same seed, same table.

    Returns
    -------
    DataFrame of shape (n, 15)
        The bank sample's feature columns (``RowNumber``, ``CustomerId``, ``Surname``,
        ``CreditScore`` ... ``EstimatedSalary``), ``treatment`` (0/1: called) and ``churned``
        (0/1: left within the follow-up window). The truth is not a column: use
        :func:`true_uplift` / :func:`true_segment` on the features.
    """
    customers = make_bank_customers(n, seed).drop(columns=["Exited"])
    rng = np.random.default_rng([seed, 1])
    treated = (rng.random(n) < TREATED_SHARE).astype(np.int64)
    p0, p1 = churn_probabilities(customers)
    customers[TREATMENT] = treated
    customers[OUTCOME] = (rng.random(n) < np.where(treated == 1, p1, p0)).astype(np.int64)
    return customers


def simulate_outcomes(customers: pd.DataFrame, treated, seed: int = config.SEED,
                      id_column: str = "CustomerId") -> pd.DataFrame:
    """The outcome file a retention team would send back after a campaign.

    Parameters
    ----------
    customers : DataFrame of shape (n_samples, ...)
        Listed customers with the feature columns of :func:`make_campaign` and ``id_column``.
    treated : array-like of bool, shape (n_samples,)
        Whether each customer was contacted (``group == "treatment"`` in the target list).
    seed : int, default ``config.SEED``
    id_column : str, default "CustomerId"

    Returns
    -------
    DataFrame
        ``id_column``, ``churned`` (``"yes"`` / ``"no"``) and ``contacted`` (``"yes"`` /
        ``"no"``), drawn from the true probabilities with and without a call.
    """
    treated = np.asarray(treated, dtype=bool)
    p0, p1 = churn_probabilities(customers)
    rng = np.random.default_rng([seed, 2])
    churned = rng.random(len(customers)) < np.where(treated, p1, p0)
    return pd.DataFrame({id_column: customers[id_column].to_numpy(),
                         OUTCOME: np.where(churned, "yes", "no"),
                         "contacted": np.where(treated, "yes", "no")})
