"""Value assumptions of a retention campaign, in the analyst's own currency.

One set of assumptions is used by the whole app (Performance, Score & segment, the target
list and its decision log) and by the ``target-list`` command:

* the **value of a saved customer**: one amount for everyone, or a numeric column x a margin
  (e.g. ``Balance x 0.01``);
* the **offer success rate**: the share of would-be churners the offer keeps, in [0, 1];
* the **cost per contact** (call plus offer), in the same currency;
* the **currency** (a symbol or ISO code, only for display and the log).

Expected net value of contacting customer ``i`` (the usual retention-campaign formula, e.g.
Verbeke et al., 2012, "New insights into churn prediction in the telecommunication sector: a
profit driven data mining approach", EJOR 218(1)) is::

    expected_value_i = churn_probability_i x success_rate x value_i - cost_per_contact
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError, MissingColumnsError

__all__ = ["ValueAssumptions", "expected_values"]


@dataclass(frozen=True)
class ValueAssumptions:
    """What a saved customer is worth and what a contact costs.

    Parameters
    ----------
    amount : float, optional
        Value of one saved customer, the same for everyone (currency units, >= 0). Used
        when ``column`` is None; None with no column means "value not used".
    column : str, optional
        Numeric column of the customer file whose value x ``margin`` is each customer's
        value (e.g. ``"Balance"``); blanks count as 0.
    margin : float, default 1.0
        Share of ``column`` kept as value (>= 0).
    success_rate : float, default 0.3
        Share of would-be churners the offer keeps, in [0, 1].
    cost_per_contact : float, default 20.0
        Cost of one contact including the offer (currency units, >= 0).
    currency : str, default "EUR"
        Currency symbol or code (display and decision log only).

    Raises
    ------
    ChurnError
        On a negative amount, margin or cost, a success rate outside [0, 1], or both an
        amount and a column.
    """

    amount: float | None = 500.0
    column: str | None = None
    margin: float = 1.0
    success_rate: float = 0.3
    cost_per_contact: float = 20.0
    currency: str = "EUR"

    def __post_init__(self):
        if self.column is not None and self.amount is not None:
            raise ChurnError("give the customer value as one amount or as a column x margin, "
                             "not both")
        for name in ("amount", "margin", "cost_per_contact"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(float(v)) and float(v) >= 0):
                raise ChurnError(f"{name.replace('_', ' ')} must be a number >= 0, got {v!r}")
        if not (0.0 <= float(self.success_rate) <= 1.0):
            raise ChurnError(f"offer success rate must be in [0, 1], got {self.success_rate!r}")

    @property
    def used(self) -> bool:
        """Whether a customer value is set (an amount or a column)."""
        return self.amount is not None or self.column is not None

    def per_customer(self, frame: pd.DataFrame) -> np.ndarray:
        """Value of saving each customer of ``frame``.

        Parameters
        ----------
        frame : DataFrame of shape (n_samples, ...)
            Customers (typed valid rows or text cells); must hold ``column`` when one is set.

        Returns
        -------
        ndarray of shape (n_samples,), float64
            ``amount`` for everyone, or ``column x margin`` (blank or non-numeric cells count
            as 0); zeros when no value is set.

        Raises
        ------
        MissingColumnsError
            When ``column`` is not in ``frame``.
        """
        n = len(frame)
        if self.column is not None:
            if self.column not in frame.columns:
                raise MissingColumnsError([self.column], "the customer file (value column)")
            v = pd.to_numeric(frame[self.column], errors="coerce").to_numpy(dtype=float)
            return np.nan_to_num(v, nan=0.0) * float(self.margin)
        return np.full(n, float(self.amount or 0.0))

    def expected(self, p, frame: pd.DataFrame) -> np.ndarray:
        """Expected net value of contacting each customer (see the module formula).

        Parameters
        ----------
        p : array-like of shape (n_samples,)
            Churn probabilities in [0, 1].
        frame : DataFrame of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples,), currency units
        """
        return expected_values(p, self.per_customer(frame), self.success_rate,
                               self.cost_per_contact)

    def describe(self) -> str:
        """One sentence for the UI and the log, e.g. "value Balance x 0.01 EUR, ..."."""
        if self.column is not None:
            what = f"{self.column} x {self.margin:g} ({self.currency})"
        elif self.amount is not None:
            what = f"{self.amount:,.2f} {self.currency} per saved customer"
        else:
            what = "not set"
        return (f"value of a saved customer: {what}; offer success rate "
                f"{self.success_rate:.0%}; cost per contact {self.cost_per_contact:,.2f} "
                f"{self.currency}")

    def to_dict(self) -> dict:
        """JSON-ready dict (for the session and the decision log)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "ValueAssumptions":
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def expected_values(p, value, success_rate: float, cost_per_contact: float) -> np.ndarray:
    """``p x success_rate x value - cost_per_contact`` per customer.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Churn probabilities in [0, 1].
    value : float or array-like of shape (n_samples,)
        Value of saving each customer (currency units).
    success_rate : float
        In [0, 1].
    cost_per_contact : float

    Returns
    -------
    ndarray of shape (n_samples,), float64
    """
    p = np.asarray(p, dtype=float)
    return p * float(success_rate) * np.broadcast_to(np.asarray(value, dtype=float), p.shape) \
        - float(cost_per_contact)
