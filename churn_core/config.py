"""One place that derives every path and project-wide default.

Everything else imports its paths from here (cookiecutter-data-science habit): no module
builds a path from ``__file__`` on its own.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
MODELS_DIR = Path(os.environ.get("CHURN_MODELS_DIR", ROOT / "models")).resolve()
SAMPLE_CSV = DATA_DIR / "sample_customers.csv"
DEFAULT_MODEL_NAME = "default"
STREAMLIT_CONFIG = ROOT / ".streamlit" / "config.toml"

# Real public data sets live beside the repo (never copied into it).
SHARED_DATA_DIR = Path(os.environ.get("CHURN_SHARED_DATA", ROOT.parent / "shared" / "data"))
BANK_CSV = SHARED_DATA_DIR / "Churn_Modelling.csv"
TELCO_CSV = SHARED_DATA_DIR / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
ORANGE_CSV = SHARED_DATA_DIR / "Orange_Telecom_Churn.csv"

#: The local workspace folder where the app keeps uploaded files (one file per SHA-256) so
#: that a reload or a bookmark brings the active data back. Outside the repository by default
#: (never under a tracked folder, never under ``static/``: Streamlit does not serve it);
#: set ``CHURN_UPLOADS_DIR`` to move it.
UPLOADS_DIR = Path(os.environ.get("CHURN_UPLOADS_DIR",
                                  Path.home() / ".cache" / "churn-workbench" / "uploads")).resolve()
#: Uploaded files not used for this many hours are deleted from :data:`UPLOADS_DIR`
#: (``CHURN_UPLOAD_MAX_AGE_HOURS``; default one week).
UPLOAD_MAX_AGE_HOURS = float(os.environ.get("CHURN_UPLOAD_MAX_AGE_HOURS", 24 * 7))

SEED = 42
#: Fewer valid training rows than this is refused with a clear message.
MIN_TRAIN_ROWS = 200
#: Minimum number of rows of each class needed to train.
MIN_ROWS_PER_CLASS = 20
DEFAULT_THRESHOLD = 0.5
#: Default risk-tier cutoffs on the churn probability: High >= high, Medium >= medium.
DEFAULT_TIER_CUTOFFS = {"high": 0.5, "medium": 0.25}
#: Files with more rows than this are explained on a random sample of this size.
SHAP_MAX_ROWS = 10_000
SHAP_BACKGROUND_SIZE = 100
#: The SHAP estimate behind reason codes (the target list's, and Score & segment's for every
#: customer). Reasons only need each customer's top columns, not precise values: 50 background
#: rows x 2 antithetic column orders (a quarter of the Explain page's walks) put ``reason_1`` on
#: the same column as exact SHAP for 98 % of listed bank customers
#: (``benchmarks/bench_reasons.py``) at about a third of the CPU.
REASON_BACKGROUND_SIZE = 50
REASON_PERMUTATIONS = 2
#: SHAP estimates by name: (background rows, column orders per background row; None = the
#: explainer's default). "precise" draws the Explain page's charts; "reasons" gives reason codes.
SHAP_ESTIMATES = {"precise": (SHAP_BACKGROUND_SIZE, None),
                  "reasons": (REASON_BACKGROUND_SIZE, REASON_PERMUTATIONS)}


def max_upload_mb() -> int:
    """Return the upload limit in megabytes configured in ``.streamlit/config.toml``.

    Returns
    -------
    int
        ``server.maxUploadSize`` (Streamlit's default, 200, when unset or unreadable).
    """
    try:
        with open(STREAMLIT_CONFIG, "rb") as fh:
            return int(tomllib.load(fh).get("server", {}).get("maxUploadSize", 200))
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return 200
