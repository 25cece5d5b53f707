"""A control group in every retention target list, and the campaign record kept with it.

Holding back a random share of the listed customers (not called) is what lets the team measure
later whether the calls changed anything (:mod:`churn_core.campaign.results`). The draw is
seeded and stratified by risk tier, so each tier keeps the same share in both groups.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.errors import ChurnError, MissingColumnsError

GROUP = "group"
CAMPAIGN_ID = "campaign_id"
TREATMENT_GROUP, CONTROL_GROUP = "treatment", "control"
DEFAULT_CONTROL_SHARE = 0.10


def campaign_id(ids, seed: int, created: str) -> str:
    """A short, reproducible campaign ID: ``CMP-<date>-<8 hex of the IDs, seed and time>``."""
    h = hashlib.sha256()
    for v in ids:
        h.update(str(v).encode("utf-8", "surrogatepass") + b"\x1f")
    h.update(f"{seed}|{created}".encode())
    day = "".join(ch for ch in str(created)[:10] if ch.isdigit()) or "00000000"
    return f"CMP-{day}-{h.hexdigest()[:8]}"


def control_mask(strata, share: float = DEFAULT_CONTROL_SHARE,
                 seed: int = config.SEED) -> np.ndarray:
    """Which customers of a list the control group holds back (the draw itself).

    The draw depends only on each customer's stratum (in list order), the share and the
    seed, not on the IDs: so the number held back, and who, is known before the list's
    reason codes are computed (the app's preview says it).

    Parameters
    ----------
    strata : array-like of shape (n_listed,)
        Stratum of each listed customer in list order (e.g. its risk tier).
    share : float in [0, 1), default 0.10
        Share of each stratum held back (rounded to the nearest customer per stratum).
    seed : int, default ``config.SEED``

    Returns
    -------
    ndarray of shape (n_listed,), bool
        True = control (not called).
    """
    strata = np.asarray(strata, dtype=object).astype(str)
    rng = np.random.default_rng(seed)
    control = np.zeros(len(strata), dtype=bool)
    for level in sorted(set(strata)):
        pos = np.flatnonzero(strata == level)
        k = int(round(float(share) * len(pos)))
        control[rng.permutation(pos)[:k]] = True
    return control


def assign_control_group(target_list: pd.DataFrame, id_columns, share: float = DEFAULT_CONTROL_SHARE,
                         seed: int = config.SEED, stratify_by: str | None = "risk_tier",
                         created: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Hold back a random, tier-stratified share of a target list as a control group.

    Parameters
    ----------
    target_list : DataFrame of shape (n_listed, ...)
        The list (one row per customer), e.g. from the target-list builder.
    id_columns : sequence of str
        Customer ID column(s); the first one is recorded for matching outcomes later.
    share : float in [0, 1), default 0.10
        Share of each stratum held back (rounded to the nearest customer per stratum).
    seed : int, default ``config.SEED``
        Seed of the draw: same list and seed, same control group.
    stratify_by : str or None, default "risk_tier"
        Column whose levels each keep ``share`` in control; None draws over the whole list.
    created : str, optional
        ISO time of the campaign (default now, UTC); part of the campaign ID.

    Returns
    -------
    listed : DataFrame
        ``target_list`` with ``group`` (``"treatment"`` = call, ``"control"`` = do not call)
        and ``campaign_id`` columns.
    record : dict
        JSON-ready campaign record for the decision log: ``campaign_id``, ``seed``,
        ``control_share``, ``stratified_by``, counts per group and stratum, and ``members``
        (``id_column``, ``ids``, ``group``, ``stratum`` lists) so that outcomes can be matched.

    Raises
    ------
    ChurnError
        ``share`` outside [0, 1).
    MissingColumnsError
        When an ID column or ``stratify_by`` is absent.
    """
    import datetime as _dt

    if not 0.0 <= float(share) < 1.0:
        raise ChurnError(f"the control-group share must be at least 0 and below 1, got {share}")
    id_columns = list(id_columns or [])
    if not id_columns:
        raise ChurnError("a control group needs a customer ID column to match outcomes later")
    need = id_columns + ([stratify_by] if stratify_by else [])
    missing = [c for c in need if c not in target_list.columns]
    if missing:
        raise MissingColumnsError(missing, "the target list")
    created = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    n = len(target_list)
    strata = (target_list[stratify_by].astype(str).to_numpy() if stratify_by
              else np.full(n, "all", dtype=object))
    control = control_mask(strata, share, seed)
    ids = target_list[id_columns[0]].astype(str).to_numpy()
    cid = campaign_id(ids, seed, created)
    out = target_list.copy()
    out[GROUP] = np.where(control, CONTROL_GROUP, TREATMENT_GROUP)
    out[CAMPAIGN_ID] = cid
    counts = (pd.DataFrame({"stratum": strata, "group": out[GROUP].to_numpy()})
              .value_counts().sort_index())
    record = {
        "campaign_id": cid, "created_at": created, "seed": int(seed),
        "control_share": float(share), "stratified_by": stratify_by,
        "customers": int(n), "treatment": int((~control).sum()), "control": int(control.sum()),
        "by_stratum": {f"{s} / {g}": int(c) for (s, g), c in counts.items()},
        "members": {"id_column": id_columns[0], "ids": ids.tolist(),
                    "group": out[GROUP].tolist(), "stratum": [str(s) for s in strata]},
    }
    return out, record
