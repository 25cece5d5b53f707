"""The result of an explanation: SHAP values of some customers, one column per raw feature."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from churn_core.errors import ChurnError


class ExplainError(ChurnError):
    """An explanation cannot be computed as asked (too many columns for exact, no rows...)."""


# ---------------------------------------------------------------------------- the result
@dataclass
class Explanation:
    """SHAP values of some customers, one column per raw feature.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_columns), float64
        SHAP value of each raw column, in probability (raw MLP output, before calibration).
    base_value : float
        Mean model output over the background rows, a probability in [0, 1].
    output : ndarray of shape (n_samples,)
        The model output explained: ``base_value + values.sum(axis=1)``, probabilities.
    columns : list of str
        Raw feature columns, in model order.
    data : DataFrame of shape (n_samples, n_columns)
        The customers' raw values (index = the explained rows' index).
    numeric : list of str
        Which of ``columns`` are numeric (others are categorical).
    method : {"exact", "fast"}
        ``"exact"``: all coalitions; ``"fast"``: antithetic permutation sampling.
    background_size : int
        Number of background rows.
    n_permutations : int or None
        Column orders sampled per customer and background row (fast method only).
    output_space : str
        Always ``"probability"``.
    sample_note : str or None
        Set when only a random sample of a larger file was explained.
    """

    values: np.ndarray
    base_value: float
    output: np.ndarray
    columns: list[str]
    data: pd.DataFrame
    numeric: list[str]
    method: str
    background_size: int
    n_permutations: int | None = None
    output_space: str = "probability"
    sample_note: str | None = None
    binary: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def index(self) -> pd.Index:
        """Index of the explained rows (same as ``data.index``)."""
        return self.data.index

    @property
    def method_description(self) -> str:
        """One sentence for the UI: method, background size and output space."""
        if self.method == "exact":
            how = "exact interventional SHAP (all coalitions)"
        else:
            how = ("interventional SHAP by antithetic permutation sampling "
                   f"({self.n_permutations} column orders per customer and background row)")
        text = (f"{how}, {self.background_size} background rows; values are in probability of the "
                f"raw model output (before calibration); base value {self.base_value:.3f}")
        if self.sample_note:
            text += f"; {self.sample_note}"
        return text

    def to_frame(self) -> pd.DataFrame:
        """SHAP values as a DataFrame (rows = customers, columns = raw columns)."""
        return pd.DataFrame(self.values, index=self.data.index, columns=self.columns)

    def to_shap(self):
        """The same values as a ``shap.Explanation``, for ``shap.plots.*`` and other tools.

        Returns
        -------
        shap.Explanation
            ``values`` of shape (n_samples, n_columns), ``base_values`` of shape
            (n_samples,) (the base value repeated), ``data`` (the raw values: floats for
            numeric columns, text for categorical ones, object array), ``feature_names``
            (raw column names); ``output_names`` is ``"churn probability (raw model
            output)"``. ``values.sum(axis=1) + base_values`` equals :attr:`output`.

        Notes
        -----
        shap documents ``shap.Explanation`` at https://shap.readthedocs.io (API reference,
        "shap.Explanation").
        """
        import shap  # lazy: shap (and its imports) only when an ecosystem object is asked for

        data = self.data[self.columns].astype(object).to_numpy()
        num = set(self.numeric)
        for j, c in enumerate(self.columns):
            if c in num:
                data[:, j] = pd.to_numeric(self.data[c], errors="coerce").to_numpy(float)
        return shap.Explanation(values=np.asarray(self.values, dtype=np.float64),
                                base_values=np.full(len(self), float(self.base_value)),
                                data=data, feature_names=list(self.columns),
                                output_names="churn probability (raw model output)")

    def row(self, position: int) -> "Explanation":
        """The explanation of one customer (by position), as an :class:`Explanation`."""
        sl = slice(position, position + 1)
        return Explanation(self.values[sl], self.base_value, self.output[sl], self.columns,
                           self.data.iloc[sl], self.numeric, self.method, self.background_size,
                           self.n_permutations, self.output_space, self.sample_note, self.binary)


# ---------------------------------------------------------------------------- the network
