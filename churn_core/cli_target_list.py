"""``python -m churn_core target-list``: the retention target list from the command line.

Example::

    python -m churn_core target-list --model models/bank --data customers.csv \\
        --budget 500 --value-column Balance --margin 0.01 --contact-cost 15 \\
        --success-rate 0.25 --currency EUR --out lists/

``--out`` is a folder (the file is named after the rule:
``retention_targets_<model>_<date>_budget500.csv``) or a file name ending in ``.csv`` or
``.xlsx``. Beside the list go its rejected rows (``<stem>_rejected.csv``) and the decision
log (``<stem>_decision_log.json``: rule, counts with rows in = listed + excluded +
rejected, value assumptions, fairness table, model, data SHA-256).
"""
from __future__ import annotations

import sys
from pathlib import Path

from churn_core.errors import ChurnError


def add_parser(sub) -> None:
    """Register the ``target-list`` sub-command on an argparse sub-parser collection."""
    t = sub.add_parser("target-list", help="write a retention target list (one campaign rule, "
                       "reason codes, value, fairness check, decision log)")
    t.add_argument("--model", required=True, help="models/NAME")
    t.add_argument("--data", required=True, help="customer file to score (CSV, Parquet, XLSX)")
    rule = t.add_mutually_exclusive_group(required=True)
    rule.add_argument("--budget", type=int, help="contact the N highest-risk customers")
    rule.add_argument("--budget-share", type=float,
                      help="contact the highest-risk P %% of this file (0 < P <= 100)")
    rule.add_argument("--threshold", type=float,
                      help="contact every customer with churn probability >= T")
    rule.add_argument("--tiers", help="contact these risk tiers, e.g. High or High,Medium")
    rule.add_argument("--max-value", action="store_true",
                      help="contact every customer with a positive expected net value")
    val = t.add_mutually_exclusive_group()
    val.add_argument("--value", type=float, help="value of one saved customer (one amount)")
    val.add_argument("--value-column", help="numeric column whose value x --margin is each "
                     "customer's value")
    t.add_argument("--margin", type=float, default=1.0,
                   help="share of --value-column kept as value (default 1)")
    t.add_argument("--contact-cost", type=float, default=20.0,
                   help="cost per contact incl. the offer (default 20)")
    t.add_argument("--success-rate", type=float, default=0.3,
                   help="share of would-be churners the offer keeps (default 0.3)")
    t.add_argument("--currency", default="EUR", help="currency symbol or code (default EUR)")
    t.add_argument("--include-protected", action="store_true",
                   help="allow protected attributes (gender, age, geography ...) as reasons")
    t.add_argument("--id-columns", help="comma-separated ID columns (default: the model's)")
    t.add_argument("--extra-columns", help="comma-separated contact/context columns to carry")
    t.add_argument("--control-share", type=float, default=None,
                   help="share of the list held back as a control group, not called, to measure "
                        "the campaign later with campaign-results (default 0.10, or none with a "
                        "note when the list has no customer ID column; 0 = none)")
    t.add_argument("--control-seed", type=int, default=42, help="seed of the control-group draw")
    t.add_argument("--out", required=True,
                   help="folder (file named after the rule) or a .csv / .xlsx file name")
    t.set_defaults(func=cmd_target_list)


def _csv_list(text):
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _rule(args):
    from churn_core.campaign.rule import CampaignRule

    if args.budget is not None:
        return CampaignRule("budget", budget=args.budget)
    if args.budget_share is not None:
        return CampaignRule("budget_share", share=args.budget_share)
    if args.threshold is not None:
        return CampaignRule("threshold", threshold=args.threshold)
    if args.tiers is not None:
        return CampaignRule("tiers", tiers=tuple(_csv_list(args.tiers) or ()))
    return CampaignRule("max_value")


def _value(args):
    from churn_core.campaign.value import ValueAssumptions

    if args.value is None and args.value_column is None:
        if args.max_value:
            raise ChurnError("--max-value needs a customer value: --value X or "
                             "--value-column C --margin X")
        return None
    return ValueAssumptions(amount=args.value, column=args.value_column, margin=args.margin,
                            success_rate=args.success_rate,
                            cost_per_contact=args.contact_cost, currency=args.currency)


def _paths(out: str, default_name: str) -> tuple[Path, Path, Path]:
    p = Path(out)
    if p.suffix.lower() in (".csv", ".xlsx"):
        target = p
    elif p.suffix:
        raise ChurnError(f"--out {out}: the list is written as .csv or .xlsx (or give a folder)")
    else:
        target = p / default_name
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.with_suffix("")
    return (target, stem.parent / f"{stem.name}_rejected.csv",
            stem.parent / f"{stem.name}_decision_log.json")


def cmd_target_list(args) -> int:
    """Score ``--data`` with ``--model``, cut the list by the rule and write the three files."""
    from churn_core import workbench as wb
    from churn_core.campaign.control import DEFAULT_CONTROL_SHARE
    from churn_core.cli_util import (_need_file, _print_duplicate_ids, _print_warnings,
                                     _split_model_path)
    from churn_core.model.bundle import load_bundle
    from churn_core.model.tf_quiet import import_tensorflow_quietly

    rule = _rule(args)
    asked = args.control_share is not None
    share = DEFAULT_CONTROL_SHARE if not asked else args.control_share
    if not 0 <= share < 1:
        raise ChurnError(f"--control-share must be at least 0 and below 1, got {share}")
    import_tensorflow_quietly()
    value = _value(args)
    path = _need_file(args.data)
    models_dir, name = _split_model_path(args.model)
    bundle = load_bundle(name, models_dir)
    data = wb.load_data(path)
    _print_warnings(data.name, data.read_report.warnings)  # e.g. a duplicate header
    scores = wb.score_data(bundle, data)
    _print_duplicate_ids(scores.report or {}, data.frame, file=sys.stderr)
    ids = _csv_list(args.id_columns) or list(bundle.schema.id_columns)
    skipped = None
    if share and not [c for c in ids if c in scores.scored.columns]:
        # checked before the reason codes (the long part), not after them
        if asked:
            raise ChurnError(f"--control-share {share:g}: a control group needs a customer ID "
                             f"column in {data.name} to match outcomes later (--id-columns), "
                             "or use --control-share 0")
        skipped = (f"{data.name} has no customer ID column"
                   + (f" ({', '.join(ids)})" if ids else "")
                   + " to match outcomes later")
        print(f"note: no control group: {skipped}; every listed customer is to be called "
              "(give --id-columns to hold one back)", file=sys.stderr)
    ctx = wb.reason_context(bundle, data, scores)

    def progress(done, total, message):
        if not args.quiet:
            print(f"\r{message}: {done:,}/{total:,} customers", end="", file=sys.stderr)

    result = wb.build_list(bundle, data, scores, rule, ctx, value=value,
                           include_protected=args.include_protected,
                           id_columns=_csv_list(args.id_columns),
                           extra_columns=_csv_list(args.extra_columns) or (),
                           progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    if skipped:
        wb.control_group_skipped(result, skipped, share)
    elif share:
        wb.with_control_group(result, ids, share=share, seed=args.control_seed)
        camp = result.log["campaign"]
        print(f"control group: {camp['control']:,} of {camp['customers']:,} listed customers are not "
              f"to be called (campaign {camp['campaign_id']}, seed {camp['seed']})")
    ext = Path(args.out).suffix.lower().lstrip(".") or "csv"
    target, rejected, log_path = _paths(args.out, wb.list_name(bundle, rule, "csv"))
    target.write_bytes(wb.list_bytes(result, "xlsx" if ext == "xlsx" else "csv"))
    rejected.write_bytes(wb.rejected_csv_bytes(scores.rejected))
    log_path.write_bytes(wb.list_bytes(result, "json"))
    log = result.log
    print(f"{data.name}: {log['rows_in']:,} rows in = {log['rows_listed']:,} listed + "
          f"{log['rows_excluded'] - len(scores.rejected):,} excluded + "
          f"{len(scores.rejected):,} rejected ({result.selection.description})")
    print(wb.calls_sentence(wb.list_calls(result), value.currency if value is not None else ""))
    if wb.listed_actions_note(result):  # a listed Low-tier customer is contacted too
        print(f"note: {wb.listed_actions_note(result)}")
    for _, r in result.fairness_summary.iterrows():
        print(f"fairness {r['attribute']}: {r['note']}" + ("  [check]" if r["flag"] else ""))
    print(f"wrote {target}\nwrote {rejected}\nwrote {log_path}")
    return 0
