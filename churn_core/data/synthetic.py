"""The synthetic bank-customer sample shipped as ``data/sample_customers.csv``.

The table has the 14 columns of the public "Churn_Modelling" bank file, but every value is
drawn here from a fixed seed; no real customer is in it.

Mechanism (what the model and SHAP should recover)
--------------------------------------------------
1. Features are drawn **independently** from marginals shaped like the real file:
   Geography France 50 % / Germany 25 % / Spain 25 %; Gender Male 55 %; Age = 18 +
   lognormal with 4 % young customers (mean 38.9, sd 10.5, 18-92); CreditScore normal(650, 97) clipped to
   350-850; Tenure 0-10 (0 and 10 half as frequent); Balance exactly 0 for 36 %, else
   normal(120k, 30k); NumOfProducts 1/2/3/4 = 51/46/2.7/0.6 %; HasCrCard 71 %;
   IsActiveMember 52 %; EstimatedSalary uniform 0-200k.
2. ``Exited ~ Bernoulli(sigmoid(intercept + a[age band] + g[Geography] + s[Gender] +
   m[IsActiveMember] + k[NumOfProducts]))``: additive effects of :data:`TRUE_DRIVERS` only.
   The columns in :data:`NO_EFFECT_COLUMNS` do not enter the churn probability at all.
3. The effects are calibrated in code (:func:`churn_effects`) by raking on the exact joint
   grid of the independent drivers, so that the expected churn rate of every level equals
   :data:`TARGET_RATES` (the real file's rates; the age-band rates are shifted by one common
   log-odds constant so that all margins agree on the overall 20.4 %).
4. For ``n <= 100_000`` the Bernoulli draw is repeated (same generator, at most
   :data:`MAX_REDRAWS` times) until every level's realised rate is within 1.5 points of its target, so the shipped
   10,000-row sample shows the documented rates despite sampling noise in small groups.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from churn_core import config

COLUMNS = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age",
           "Tenure", "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember",
           "EstimatedSalary", "Exited"]
#: Columns that drive churn in the synthetic sample.
TRUE_DRIVERS = ("Age", "Geography", "Gender", "IsActiveMember", "NumOfProducts")
#: Columns with no effect at all on churn in the synthetic sample.
NO_EFFECT_COLUMNS = ("CreditScore", "Tenure", "Balance", "HasCrCard", "EstimatedSalary")
#: Age bands [lo, hi) used by the churn mechanism.
AGE_BANDS = ((18, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 93))
GEOGRAPHY_SHARES = {"France": 0.50, "Germany": 0.25, "Spain": 0.25}
MALE_SHARE = 0.55
PRODUCT_SHARES = {1: 0.508, 2: 0.459, 3: 0.027, 4: 0.006}
HAS_CR_CARD_SHARE = 0.71
ACTIVE_SHARE = 0.52
ZERO_BALANCE_SHARE = 0.36
_AGE_MU, _AGE_SIGMA = 2.972, 0.45  # 18 + lognormal (+4 % young): mean 38.9, sd 10.5
YOUNG_SHARE = 0.04
TENURE_WEIGHTS = np.array([0.5] + [1.0] * 9 + [0.5])
#: Churn rates (fraction) per level of each driver, as in the real bank file.
TARGET_RATES = {
    "age_band": [0.075, 0.121, 0.340, 0.562, 0.314, 0.083],
    "Geography": {"France": 0.162, "Germany": 0.324, "Spain": 0.167},
    "Gender": {"Female": 0.251, "Male": 0.165},
    "IsActiveMember": {0: 0.269, 1: 0.143},
    "NumOfProducts": {1: 0.277, 2: 0.076, 3: 0.827, 4: 0.995},
}
OVERALL_RATE = 0.204
#: Small samples redraw the churn column until every level is this close to its target.
REDRAW_TOLERANCE = 0.015
MAX_REDRAWS = 500
_SURNAMES = np.array([
    "Smith", "Brown", "Wilson", "Taylor", "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau",
    "Laurent", "Garcia", "Martinez", "Lopez", "Sanchez", "Fernández", "Müller", "Schmidt",
    "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Rossi", "Russo", "Ferrari",
    "Nguyen", "Tran", "Le", "Okafor", "Obi", "Chukwu", "Li", "Wang", "Zhang", "Chen", "Liu",
    "Kelly", "Walsh", "Murphy", "O'Brien", "Byrne", "Ivanov", "Petrov", "Novak", "Kowalski",
    "Nowak", "Johnson", "Williams", "Jones", "Davies", "Evans", "Thomas", "Roberts", "Hughes",
    "Lewis", "Walker", "Robinson", "Wood", "Thompson",
])


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _draw_age(rng: np.random.Generator, n: int) -> np.ndarray:
    """18 + lognormal, with 4 % uniform on 18-26 (young customers) and the tail above 92
    redrawn uniformly on 70-92."""
    age = 18 + np.exp(rng.normal(_AGE_MU, _AGE_SIGMA, n))
    young = rng.random(n) < YOUNG_SHARE
    age = np.where(young, rng.uniform(18, 26, n), age)
    age = np.where(age > 92.4, rng.uniform(70, 92, n), age)
    return np.clip(np.round(age), 18, 92).astype(np.int64)


def _age_band(age: np.ndarray) -> np.ndarray:
    edges = np.array([b[1] for b in AGE_BANDS[:-1]])
    return np.searchsorted(edges, age, side="right")


@lru_cache(maxsize=1)
def churn_effects() -> dict:
    """Calibrated log-odds effects of the churn mechanism.

    Raking (iterative proportional fitting on the log-odds scale) over the exact joint grid
    of the independent drivers: each pass adds ``logit(target) - logit(expected rate)`` to
    every level's effect until all margins match :data:`TARGET_RATES`.

    Returns
    -------
    dict
        ``{"intercept": float, "age_band": ndarray (6,), "Geography": dict, "Gender": dict,
        "IsActiveMember": dict, "NumOfProducts": dict}`` of log-odds.
    """
    ages = _draw_age(np.random.default_rng(12345), 400_000)
    age_w = np.bincount(_age_band(ages), minlength=len(AGE_BANDS)) / len(ages)
    # Shift the age-band targets by one log-odds constant so that they imply OVERALL_RATE.
    lo, hi = -2.0, 2.0
    base = _logit(TARGET_RATES["age_band"])
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.dot(age_w, _sigmoid(base + mid)) > OVERALL_RATE:
            hi = mid
        else:
            lo = mid
    age_target = _sigmoid(base + (lo + hi) / 2)
    factors = [
        ("age_band", list(range(len(AGE_BANDS))), age_w, age_target),
        ("Geography", list(GEOGRAPHY_SHARES), np.array(list(GEOGRAPHY_SHARES.values())),
         np.array([TARGET_RATES["Geography"][k] for k in GEOGRAPHY_SHARES])),
        ("Gender", ["Female", "Male"], np.array([1 - MALE_SHARE, MALE_SHARE]),
         np.array([TARGET_RATES["Gender"][k] for k in ("Female", "Male")])),
        ("IsActiveMember", [0, 1], np.array([1 - ACTIVE_SHARE, ACTIVE_SHARE]),
         np.array([TARGET_RATES["IsActiveMember"][k] for k in (0, 1)])),
        ("NumOfProducts", list(PRODUCT_SHARES), np.array(list(PRODUCT_SHARES.values())),
         np.array([TARGET_RATES["NumOfProducts"][k] for k in PRODUCT_SHARES])),
    ]
    weights = [f[2] / f[2].sum() for f in factors]
    grid_w = weights[0]
    for w in weights[1:]:
        grid_w = np.multiply.outer(grid_w, w)
    effects = [np.zeros(len(f[1])) for f in factors]
    intercept = float(_logit(OVERALL_RATE))
    for _ in range(200):
        for j, (_, _, _, target) in enumerate(factors):
            z = intercept
            for k, e in enumerate(effects):
                shape = [1] * len(effects)
                shape[k] = len(e)
                z = z + e.reshape(shape)
            p = _sigmoid(z)
            axes = tuple(a for a in range(len(effects)) if a != j)
            rate = (p * grid_w).sum(axis=axes) / grid_w.sum(axis=axes)
            effects[j] += _logit(target) - _logit(rate)
    out = {"intercept": intercept, "age_band": effects[0]}
    for (name, levels, _, _), e in zip(factors[1:], effects[1:]):
        out[name] = dict(zip(levels, e.tolist()))
    return out


def churn_probability(df: pd.DataFrame) -> np.ndarray:
    """True churn probability of the synthetic mechanism for customers of this layout.

    Parameters
    ----------
    df : DataFrame
        Columns Age, Geography, Gender, IsActiveMember, NumOfProducts (numbers/text as in
        :func:`make_bank_customers`).

    Returns
    -------
    ndarray of shape (n_samples,)
        Probabilities in [0, 1].
    """
    eff = churn_effects()
    z = eff["intercept"] + eff["age_band"][_age_band(np.asarray(df["Age"], dtype=float))]
    for col in ("Geography", "Gender", "IsActiveMember", "NumOfProducts"):
        z = z + pd.Series(df[col]).map(eff[col]).to_numpy(dtype=float)
    return _sigmoid(z)


def _level_masks(df: pd.DataFrame) -> list[tuple[np.ndarray, float]]:
    """(mask, target rate) for every level of every driver, and the whole table."""
    band = _age_band(df["Age"].to_numpy())
    out = [(band == b, t) for b, t in enumerate(TARGET_RATES["age_band"])]
    for col in ("Geography", "Gender", "IsActiveMember", "NumOfProducts"):
        values = df[col].to_numpy()
        out += [(values == level, t) for level, t in TARGET_RATES[col].items()]
    out.append((np.ones(len(df), bool), OVERALL_RATE))
    return [(m, t) for m, t in out if m.any()]


def _rates_ok(masks, y: np.ndarray, tol: float) -> bool:
    return all(abs(y[m].mean() - t) <= tol for m, t in masks)


def make_bank_customers(n: int = 10_000, seed: int = config.SEED) -> pd.DataFrame:
    """Draw a synthetic bank-customer table with a known churn mechanism.

    Parameters
    ----------
    n : int, default 10_000
        Number of customers (vectorised: 1,000,000 rows take a few seconds).
    seed : int, default ``config.SEED``
        Seed of :func:`numpy.random.default_rng`; same seed, same table.

    Returns
    -------
    DataFrame of shape (n, 14)
        Columns :data:`COLUMNS` (the public bank file's layout); ``Exited`` is 0/1.

    Notes
    -----
    See the module docstring for the mechanism; :data:`TRUE_DRIVERS` drive churn,
    :data:`NO_EFFECT_COLUMNS` have no effect.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    geo = rng.choice(np.array(list(GEOGRAPHY_SHARES)), n, p=list(GEOGRAPHY_SHARES.values()))
    gender = np.where(rng.random(n) < MALE_SHARE, "Male", "Female")
    age = _draw_age(rng, n)
    credit = np.clip(np.round(rng.normal(650, 97, n)), 350, 850).astype(np.int64)
    tenure = rng.choice(11, n, p=TENURE_WEIGHTS / TENURE_WEIGHTS.sum())
    balance = np.where(rng.random(n) < ZERO_BALANCE_SHARE, 0.0,
                       np.round(np.clip(rng.normal(120_000, 30_000, n), 3_000, None), 2))
    shares = np.array(list(PRODUCT_SHARES.values()))
    products = rng.choice(np.array(list(PRODUCT_SHARES)), n, p=shares / shares.sum())
    card = (rng.random(n) < HAS_CR_CARD_SHARE).astype(np.int64)
    active = (rng.random(n) < ACTIVE_SHARE).astype(np.int64)
    salary = np.round(rng.uniform(11.58, 199_992.48, n), 2)
    ids = 15_565_701 + rng.permutation(max(2 * n, 250_000))[:n]
    surname = _SURNAMES[rng.integers(0, len(_SURNAMES), n)]
    df = pd.DataFrame({
        "RowNumber": np.arange(1, n + 1), "CustomerId": ids, "Surname": surname,
        "CreditScore": credit, "Geography": geo, "Gender": gender, "Age": age, "Tenure": tenure,
        "Balance": balance, "NumOfProducts": products, "HasCrCard": card,
        "IsActiveMember": active, "EstimatedSalary": salary,
    })
    p = churn_probability(df)
    y = (rng.random(n) < p).astype(np.int64)
    if n <= 100_000:
        masks = _level_masks(df)
        for _ in range(MAX_REDRAWS):
            if _rates_ok(masks, y, REDRAW_TOLERANCE):
                break
            y = (rng.random(n) < p).astype(np.int64)
    df["Exited"] = y
    return df[COLUMNS]


def write_sample(path: str | Path = config.SAMPLE_CSV, n: int = 10_000, seed: int = config.SEED) -> Path:
    """Write the synthetic sample as UTF-8 CSV (``data/sample_customers.csv`` by default).

    Parameters
    ----------
    path : str or Path
    n, seed : int
        Passed to :func:`make_bank_customers`.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_bank_customers(n, seed).to_csv(path, index=False, lineterminator="\n")
    return path


def sample_sha256s() -> frozenset:
    """SHA-256 digests of the shipped synthetic sample's bytes.

    Returns
    -------
    frozenset of str
        The digest of ``config.SAMPLE_CSV`` when that file exists, and of the bytes
        :func:`write_sample` writes with its defaults (the two are equal for an untouched
        checkout; the second covers a checkout whose sample file was removed).
    """
    import hashlib

    out = set()
    if config.SAMPLE_CSV.is_file():
        out.add(hashlib.sha256(config.SAMPLE_CSV.read_bytes()).hexdigest())
    out.add(_default_sample_sha256())
    return frozenset(out)


@lru_cache(maxsize=1)
def _default_sample_sha256() -> str:
    import hashlib

    text = make_bank_customers().to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_synthetic_sample(df: pd.DataFrame, data_sha256: str | None = None) -> bool:
    """Whether a table is a synthetic sample written by :func:`write_sample`.

    Parameters
    ----------
    df : DataFrame of shape (n_rows, n_columns)
        The table as read (text cells are fine).
    data_sha256 : str, optional
        SHA-256 of the file's bytes, when known.

    Returns
    -------
    bool
        True when ``data_sha256`` is a digest of :func:`sample_sha256s`, or when ``df`` has the
        sample's columns and equals, cell for cell as text, :func:`make_bank_customers` of the
        same number of rows with the project seed (``python -m churn_core sample --rows N``).
    """
    if data_sha256 is not None and data_sha256 in sample_sha256s():
        return True
    if [str(c) for c in df.columns] != list(COLUMNS) or not len(df):
        return False
    ref = make_bank_customers(len(df), config.SEED)
    try:
        for col in COLUMNS:
            a = pd.to_numeric(df[col], errors="coerce") if col not in ("Surname", "Geography", "Gender") \
                else df[col].astype(str)
            b = ref[col] if col not in ("Surname", "Geography", "Gender") else ref[col].astype(str)
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                return False
    except (TypeError, ValueError):
        return False
    return True
