"""``python -m churn_core``: see :mod:`churn_core.cli`."""
import os

# TensorFlow's C++ info/warning lines mean nothing to an analyst (set before TF is imported).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .cli import main  # noqa: E402

raise SystemExit(main())
