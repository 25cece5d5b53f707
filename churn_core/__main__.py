"""``python -m churn_core``: see :mod:`churn_core.cli`."""
from .cli import main

raise SystemExit(main())
