"""Our model as a function of numeric raw columns, for shap's own explainers.

shap's model-agnostic explainers (``shap.explainers.Exact``, ``shap.KernelExplainer``) and
its ``Independent`` masker work on numeric arrays. Categorical raw columns are therefore
coded as integers (their sorted levels), and the function decodes them before the bundle's
preprocessor and network. Used to check our raw-column SHAP values against shap's
(``tests/test_shap_interop.py``, ``benchmarks/bench_explain.py``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


def numeric_game(explainer, rows: pd.DataFrame) -> tuple[Callable, Callable]:
    """``(to_num, f)``: code raw rows as numbers, and the model output on coded rows.

    Parameters
    ----------
    explainer : RawColumnExplainer
        Gives the raw columns, which are numeric, its background and the bundle.
    rows : DataFrame
        Customers that will be explained (their categories are added to the levels).

    Returns
    -------
    to_num : callable
        ``to_num(frame) -> ndarray of shape (n, M)``: numeric columns as floats, categorical
        ones as the index of their level.
    f : callable
        ``f(ndarray of shape (n, M)) -> ndarray of shape (n,)``: raw model probability
        (before calibration), the output our SHAP values explain.
    """
    cols = explainer.columns
    bundle = explainer.bundle
    cats = {c: sorted(set(explainer.background[c].astype(str)) | set(rows[c].astype(str)))
            for c in cols if c not in explainer.numeric}

    def to_num(frame: pd.DataFrame) -> np.ndarray:
        out = frame[cols].copy()
        for c, levels in cats.items():
            out[c] = out[c].astype(str).map({v: i for i, v in enumerate(levels)})
        return out.to_numpy(dtype=float)

    def f(arr: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(arr, columns=cols)
        for c, levels in cats.items():
            frame[c] = np.asarray(levels, dtype=object)[np.rint(frame[c]).astype(int).to_numpy()]
        return bundle.predict_encoded(bundle.preprocessor.transform(frame))

    return to_num, f
