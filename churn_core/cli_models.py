"""Command line: ``models``, the registry of saved models (registered by :mod:`churn_core.cli`)."""
from __future__ import annotations

import json
import sys

from churn_core import config
from churn_core.cli_util import _file_sha256, _need_file, _print_warnings
from churn_core.errors import ChurnError


def cmd_models(args) -> int:
    """``models``: list every saved model (the registry), as a table or as JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``--json`` prints a JSON list of registry rows
        (:func:`churn_core.model.registry.list_models`); ``--champion NAME`` marks a model
        as the champion first; ``--delete NAME`` deletes one (never ``default``); ``--data F``
        adds ``file_roc_auc`` / ``file_pr_auc``: each model measured on the labelled file F
        (:func:`churn_core.model.measure.measure_frame`, as ``evaluate --data``).

    Returns
    -------
    int
        0.

    Raises
    ------
    ChurnError
        For an unknown model, or deleting the shipped default.
    """
    from churn_core.model import registry

    if args.delete:
        registry.delete_model(args.delete)
        print(f"deleted model {args.delete!r}", file=sys.stderr if args.json else sys.stdout)
    if args.champion:
        registry.set_champion(args.champion)
        print(f"champion: {args.champion}", file=sys.stderr if args.json else sys.stdout)
    rows = registry.list_models()
    if args.data:  # every model measured on one labelled file (as ``evaluate --data``)
        from churn_core.io.reader import read_table
        from churn_core.model.bundle import load_bundle
        from churn_core.model.measure import measure_frame

        data = _need_file(args.data)
        df, report = read_table(data)
        _print_warnings(data.name, report.warnings, sys.stderr if args.json else None)
        sha = _file_sha256(data)
        for r in rows:
            try:
                m = measure_frame(load_bundle(r["name"]), df, data.name, data_sha256=sha)
            except ChurnError:  # a model that cannot read this file: no figure
                r["file_roc_auc"] = r["file_pr_auc"] = None
            else:
                r["file_roc_auc"], r["file_pr_auc"] = m.report.get("roc_auc"), m.report.get("pr_auc")
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print(f"no saved model in {config.MODELS_DIR}")
        return 0

    def cell(r, k):
        v = r[k]
        if k in ("test_roc_auc", "test_pr_auc", "churn_rate", "file_roc_auc", "file_pr_auc"):
            return "n/a" if v is None else f"{v:.3f}"
        if k in ("synthetic", "champion"):
            return "yes" if v else ""
        if k == "data_sha256":
            return (v or "?")[:12]
        return "?" if v is None else str(v)

    keys = [k for k in registry.FIELDS if k != "recipe"] + (
        ["file_roc_auc", "file_pr_auc"] if args.data else []) + ["recipe"]
    table = [[k for k in keys]] + [[cell(r, k) for k in keys] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(keys))]
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def add_commands(sub) -> None:
    """Register ``models`` on the ``python -m churn_core`` parser."""
    m = sub.add_parser("models", help="list the saved models (name, training file, scores, "
                                       "synthetic, champion)")
    m.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    m.add_argument("--champion", metavar="NAME", help="mark NAME as the champion (the model the "
                                                      "app opens with) before listing")
    m.add_argument("--delete", metavar="NAME", help="delete the saved model NAME (not default)")
    m.add_argument("--data", help="labelled file: add every model's ROC-AUC / PR-AUC on it "
                                  "(file_roc_auc, file_pr_auc; as evaluate --data)")
    m.set_defaults(func=cmd_models)
