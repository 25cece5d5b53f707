"""A fairness check of a retention target list, per protected attribute.

For each protected attribute present in the scored file (see
:func:`churn_core.explain.reasons.protected_columns`) and each of its groups:

* ``customers``: customers of the group in the scored file, and their ``share_of_file``;
* ``listed``: customers of the group on the list, and their ``share_of_list``;
* ``selection_rate``: ``listed / customers`` (fairlearn ``selection_rate``);
* ``recall`` (labelled files only): share of the group's churners that are on the list;
* ``ratio_to_highest``: the group's selection rate over the highest group's.

Per attribute, ``selection_rate_ratio`` is the lowest over the highest selection rate
among the groups of at least ``MIN_GROUP`` (30) customers (as fairlearn
``MetricFrame.ratio(method="between_groups")`` over those groups); it is **flagged below 0.8**,
the "four-fifths rule" (US EEOC Uniform Guidelines, 29 CFR 1607.4(D)) used here as a rule
of thumb only: churn itself differs between groups, so a list that follows risk can
legitimately select groups at different rates. The check informs; it never blocks.

Numeric attributes with many values (e.g. age) are cut into at most five bands of about
equal size (quantiles of the scored file) so that each group is large enough to compare.

Computed with fairlearn (Weerts et al., 2023, "Fairlearn: Assessing and Improving
Fairness of AI Systems", JMLR 24(257)): ``fairlearn.metrics.MetricFrame``,
``selection_rate``, ``count``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FOUR_FIFTHS", "MIN_GROUP", "fairness_table", "fairness_summary", "group_labels"]

#: Selection-rate ratio below which an attribute is flagged (the four-fifths rule of thumb).
FOUR_FIFTHS = 0.8
#: Groups with fewer customers are shown but not compared: one customer moves their selection
#: rate by more than 3 points, and the Uniform Guidelines (29 CFR 1607.4(D)) discount
#: differences "based on small numbers" (a single blank cell made a "(missing)" group of one).
MIN_GROUP = 30
#: Numeric attributes with more distinct values than this are cut into bands.
MAX_GROUPS = 10
#: Number of bands for such attributes.
N_BANDS = 5


def group_labels(values: pd.Series, bands: int = N_BANDS) -> pd.Series:
    """Group of each customer for one protected attribute.

    Parameters
    ----------
    values : Series of shape (n_samples,)
        The attribute (text or numbers).
    bands : int, default 5
        Quantile bands for numeric attributes with more than ``MAX_GROUPS`` values.

    Returns
    -------
    Series of str of shape (n_samples,)
        The value as text, a band such as ``"38-44"`` for many-valued numbers, and
        ``"(missing)"`` for blanks.
    """
    s = pd.Series(values).reset_index(drop=True)
    num = pd.to_numeric(s, errors="coerce")
    filled = s.astype("string").str.strip().fillna("")
    if num.notna().sum() == (filled != "").sum() and num.nunique() > MAX_GROUPS:
        codes = pd.qcut(num, q=bands, duplicates="drop", labels=False)

        def fmt(x):
            return f"{x:g}" if float(x).is_integer() else f"{x:,.2f}"

        # each band named by the smallest and largest value it holds, e.g. "38-44"
        span = num.groupby(codes).agg(["min", "max"])
        names = {k: f"{fmt(r['min'])}-{fmt(r['max'])}" for k, r in span.iterrows()}
        return codes.map(names).astype(object).where(num.notna(), "(missing)").astype(str)
    return filled.where(filled != "", "(missing)").astype(str)


def fairness_table(frame: pd.DataFrame, listed, attributes, y=None) -> pd.DataFrame:
    """Selection rate (and recall on labelled data) per group of each protected attribute.

    Parameters
    ----------
    frame : DataFrame of shape (n_scored, ...)
        The scored customers (any column layout holding ``attributes``).
    listed : array-like of bool of shape (n_scored,)
        Whether each customer is on the list.
    attributes : sequence of str
        Protected attribute columns (those absent from ``frame`` are skipped).
    y : array-like of shape (n_scored,), optional
        Observed churn (1 churned, 0 stayed; NaN = unknown). Adds ``recall`` per group when
        every label is known.

    Returns
    -------
    DataFrame
        One row per (attribute, group): ``attribute``, ``group``, ``customers``,
        ``share_of_file``, ``listed``, ``share_of_list``, ``selection_rate``,
        ``ratio_to_highest``, ``selection_rate_ratio`` (the attribute's lowest over highest
        selection rate among its groups of at least ``MIN_GROUP`` customers, as
        ``MetricFrame.ratio``; NaN when fewer than two such groups or nobody is listed) and,
        with labels, ``churners``, ``recall``.
    """
    from fairlearn.metrics import MetricFrame, count, selection_rate

    listed = np.asarray(listed, dtype=bool)
    n = listed.size
    labelled = y is not None and np.isfinite(np.asarray(y, dtype=float)).all()
    y_true = (np.asarray(y, dtype=float) > 0.5).astype(int) if labelled else np.zeros(n, int)
    y_pred = listed.astype(int)
    n_listed = int(listed.sum())
    rows = []
    for col in attributes:
        if col not in frame.columns:
            continue
        groups = group_labels(frame[col]).to_numpy()
        metrics = {"customers": count, "selection_rate": selection_rate}
        if labelled:
            def recall(yt, yp):
                pos = yt == 1
                return float(yp[pos].mean()) if pos.any() else float("nan")

            def churners(yt, yp):
                return int((yt == 1).sum())

            metrics.update({"recall": recall, "churners": churners})
        mf = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred,
                         sensitive_features=pd.Series(groups, name=col))
        by = mf.by_group
        big = by[by["customers"] >= MIN_GROUP]["selection_rate"]  # the groups compared
        top = float(big.max()) if len(big) else float(by["selection_rate"].max())
        ratio = (float(big.min() / big.max()) if len(big) >= 2 and big.max() > 0
                 else float("nan"))
        for g, r in by.iterrows():
            k = int(r["customers"])
            sel = float(r["selection_rate"])
            row = {"attribute": col, "group": str(g), "customers": k,
                   "share_of_file": k / n if n else float("nan"),
                   "listed": int(round(sel * k)),
                   "share_of_list": (sel * k / n_listed) if n_listed else float("nan"),
                   "selection_rate": sel,
                   "ratio_to_highest": sel / top if top > 0 else float("nan"),
                   "selection_rate_ratio": ratio}
            if labelled:
                row["churners"] = int(r["churners"])
                row["recall"] = float(r["recall"])
            rows.append(row)
    cols = ["attribute", "group", "customers", "share_of_file", "listed", "share_of_list",
            "selection_rate", "ratio_to_highest", "selection_rate_ratio"]
    cols += ["churners", "recall"] if labelled else []
    return pd.DataFrame(rows, columns=cols)


def fairness_summary(table: pd.DataFrame, threshold: float = FOUR_FIFTHS) -> pd.DataFrame:
    """Per attribute: lowest / highest selection rate and the four-fifths flag.

    Parameters
    ----------
    table : DataFrame
        From :func:`fairness_table`.
    threshold : float, default 0.8

    Returns
    -------
    DataFrame
        ``attribute``, ``groups``, ``lowest_group``, ``highest_group``,
        ``selection_rate_ratio`` (lowest / highest among the groups of at least
        ``MIN_GROUP`` customers, in [0, 1]; NaN when nobody is listed or fewer than two such
        groups), ``flag`` (True when the ratio is below ``threshold``) and ``note``.
    """
    rows = []
    for col, t in table.groupby("attribute", sort=False):
        big = t[t["customers"] >= MIN_GROUP]
        cmp = big if len(big) >= 2 else t
        lo = cmp.loc[cmp["selection_rate"].idxmin()]
        hi = cmp.loc[cmp["selection_rate"].idxmax()]
        ratio = float(t["selection_rate_ratio"].iloc[0])
        flag = bool(np.isfinite(ratio) and ratio < threshold)
        small = [f"{g} ({k:,})" for g, k in
                 t.loc[t["customers"] < MIN_GROUP, ["group", "customers"]].itertuples(index=False)]
        if np.isfinite(ratio):
            note = (f"{lo['group']} customers ({int(lo['customers']):,}) are listed at "
                    f"{ratio:.2f} x the rate of {hi['group']} customers "
                    f"({int(hi['customers']):,})" + (f" (below the four-fifths rule of thumb, "
                                                     f"{threshold:g})" if flag else ""))
        elif len(big) < 2:
            every = [f"{g} ({k:,})" for g, k in t[["group", "customers"]].itertuples(index=False)]
            note = (f"no two groups of {MIN_GROUP} or more customers to compare: "
                    + ", ".join(every[:5]) + (" …" if len(every) > 5 else ""))
        else:
            note = "nobody listed"
        if small and len(big) >= 2:
            note += (f"; not compared, fewer than {MIN_GROUP} customers: "
                     + ", ".join(map(str, small[:5])) + (" …" if len(small) > 5 else ""))
        rows.append({"attribute": col, "groups": int(len(t)), "lowest_group": lo["group"],
                     "highest_group": hi["group"], "selection_rate_ratio": ratio,
                     "flag": flag, "note": note})
    return pd.DataFrame(rows, columns=["attribute", "groups", "lowest_group", "highest_group",
                                       "selection_rate_ratio", "flag", "note"])
