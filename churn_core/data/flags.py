"""Yes/no cells: the one rule for reading a 0/1 flag typed by people or exported by systems."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Cell texts (case-insensitive, stripped) read as 1 and as 0.
YES = frozenset({"1", "1.0", "yes", "y", "true", "t", "ja", "oui", "si", "sí"})
NO = frozenset({"0", "0.0", "no", "n", "false", "f", "nein", "non"})


def binary_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Read a column of yes/no cells.

    Parameters
    ----------
    series : Series of shape (n_rows,)
        Cells as text, numbers or booleans.

    Returns
    -------
    codes : ndarray of int8, shape (n_rows,)
        1 for :data:`YES`, 0 for :data:`NO` and for bad cells.
    bad : ndarray of bool, shape (n_rows,)
        True where the cell is blank or neither yes nor no.
    """
    text = series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                      else str(v).strip().casefold())
    if series.dtype == bool:
        text = series.map(lambda v: "1" if v else "0")
    yes = text.isin(YES).to_numpy()
    no = text.isin(NO).to_numpy()
    return yes.astype(np.int8), ~(yes | no)
