"""The Campaigns page's calls: measure a campaign against its control group, read an uplift
model, and rank customers by the value a call saves."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core import config
from churn_core.campaign.results import (NO_EFFECT, NOT_MEASURABLE, CampaignResults,
                                         campaign_results,
                                         log_value_assumptions, saved_sentence)
from churn_core.errors import ChurnError
from churn_core.model.uplift import CARD_FILE, UpliftBundle, expected_saved_value, load_uplift
from churn_core.workbench.data import ActiveData


def read_decision_log(raw: bytes, name: str = "decision log") -> dict:
    """Parse an uploaded ``list_decision_log.json``; a clear :class:`ChurnError` otherwise."""
    try:
        log = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChurnError(f"{name}: not a decision log (JSON) of a target list ({exc})") from exc
    if not isinstance(log, dict):
        raise ChurnError(f"{name}: not a decision log of a target list")
    return log


def measure_campaign(log: dict, outcomes: ActiveData, value_per_customer: float = 0.0,
                     cost_per_contact: float = 0.0, currency: str = "") -> CampaignResults:
    """:func:`churn_core.campaign.results.campaign_results` on an uploaded outcomes file."""
    return campaign_results(log.get("campaign") or {}, outcomes.frame,
                            value_per_customer=value_per_customer,
                            cost_per_contact=cost_per_contact, currency=currency,
                            source_name=outcomes.name)


def campaign_effects(res: CampaignResults) -> list[tuple[str, str]]:
    """What each risk tier's calls achieved, in the words the command line prints.

    Parameters
    ----------
    res : CampaignResults
        As :func:`measure_campaign` returns it.

    Returns
    -------
    list of (str, str)
        ``(risk_tier, sentence)`` per row of ``res.table`` (the ``All`` row last), the
        sentence by :func:`churn_core.campaign.results.saved_sentence`: e.g. ``"Customers
        saved 54 (95 % CI -12 to 120: not distinguishable from no effect)"``.
    """
    return [(str(r["risk_tier"]), saved_sentence(r)) for r in res.table.to_dict("records")]


def campaign_measurable(res: CampaignResults) -> bool:
    """Whether any risk tier has an uplift to show (called and control customers with an
    outcome); otherwise the page shows :data:`NOT_MEASURABLE` instead of an empty chart.

    Parameters
    ----------
    res : CampaignResults

    Returns
    -------
    bool
    """
    return bool(np.isfinite(res.table["uplift"].to_numpy(dtype=float)).any())


def list_uplift_models(models_dir=None) -> list[str]:
    """Names of the uplift models saved under ``models/`` (folders with ``uplift.json``)."""
    root = Path(models_dir or config.MODELS_DIR)
    return sorted(p.parent.name for p in root.glob(f"*/{CARD_FILE}"))


def load_uplift_model(name: str, models_dir=None) -> UpliftBundle:
    """Load an uplift model (both arms in Keras safe mode)."""
    return load_uplift(name, models_dir)


def uplift_ranking(ub: UpliftBundle, data: ActiveData, id_columns=(), value: float = 0.0,
                   cost_per_contact: float = 0.0) -> pd.DataFrame:
    """Customers of a file ranked by the expected value a call saves.

    Parameters
    ----------
    ub : UpliftBundle
    data : ActiveData
        The customers (its read frame).
    id_columns : sequence of str
        Columns copied first (e.g. the customer ID).
    value : float, default 0.0
        Value of keeping a customer, in the analyst's currency.
    cost_per_contact : float, default 0.0

    Returns
    -------
    DataFrame
        ``rank``, the ID columns, ``p_churn_if_not_called``,
        ``p_churn_if_called``, ``uplift``, ``uplift_segment``, ``expected_saved_value``
        (uplift x value - cost), sorted by expected saved value then uplift; rows the model
        cannot use are left out and counted in ``attrs["rejected"]``.
    """
    pred = ub.predict(data.frame, source_name=data.name)
    ok = pred["uplift"].notna().to_numpy()
    ids = [c for c in id_columns if c in data.frame.columns]
    out = pd.concat([data.frame.loc[ok, ids].reset_index(drop=True),
                     pred[ok].reset_index(drop=True)], axis=1)
    out["expected_saved_value"] = expected_saved_value(out["uplift"], value, cost_per_contact)
    out = out.sort_values(["expected_saved_value", "uplift"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out.reset_index(drop=True)
    out.attrs["rejected"] = int((~ok).sum())
    return out


def campaign_sample_csv(rows: int = 20_000, seed: int = config.SEED) -> bytes:
    """The synthetic campaign (:mod:`churn_core.data.synthetic_campaign`) as CSV bytes."""
    from churn_core.data.synthetic_campaign import make_campaign

    return make_campaign(rows, seed).to_csv(index=False, lineterminator="\n").encode()


def train_uplift_model(data: ActiveData, name: str, treatment: str = "treatment",
                       outcome: str = "churned", models_dir=None, progress=None) -> UpliftBundle:
    """Train the uplift model on a campaign file and save it as ``models/<name>``.

    Parameters
    ----------
    data : ActiveData
        Campaign data: features, ``treatment`` (1 = called) and ``outcome`` (1 = churned).
    name : str
        Folder name under ``models/``.
    treatment, outcome : str
    models_dir : path-like, optional
    progress : callable, optional
        ``progress(text)`` at each stage.

    Returns
    -------
    UpliftBundle
        Saved; its card holds the held-out Qini coefficients.
    """
    from churn_core.model.uplift import save_uplift, train_uplift

    ub = train_uplift(data.frame, treatment=treatment, outcome=outcome, name=name,
                      source_name=data.name, progress=progress)
    save_uplift(ub, name, models_dir)
    return ub
