"""Command-line stages of the campaign loop: ``campaign-sample``, ``train-uplift`` and
``campaign-results`` (registered by :func:`add_commands` in :mod:`churn_core.cli`)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from churn_core import config
from churn_core.errors import ChurnError
from churn_core.io.writer import write_atomically


def cmd_campaign_sample(args) -> int:
    """``campaign-sample``: write the synthetic randomised campaign (see
    :mod:`churn_core.data.synthetic_campaign`)."""
    from churn_core.data.synthetic_campaign import make_campaign

    if args.rows < 100:
        raise ChurnError(f"--rows must be at least 100, got {args.rows}")
    df = make_campaign(args.rows, args.seed)
    write_atomically(args.out, lambda p: df.to_csv(p, index=False, lineterminator="\n"), "the campaign sample")
    print(f"wrote {len(df)} synthetic campaign customers ({int(df['treatment'].sum())} called) "
          f"to {args.out}")
    return 0


def cmd_train_uplift(args) -> int:
    """``train-uplift``: train the T-learner on campaign data and print its held-out Qini."""
    from churn_core.cli_util import _need_file, _split_model_path
    from churn_core.io.reader import read_table
    from churn_core.model.tf_quiet import import_tensorflow_quietly
    from churn_core.model.uplift import save_uplift, train_uplift

    data = _need_file(args.data)
    models_dir, name = _split_model_path(args.out)
    import_tensorflow_quietly()
    df, _ = read_table(data)
    say = None if args.quiet or args.json else (lambda text: print(text, file=sys.stderr))
    ub = train_uplift(df, treatment=args.treatment, outcome=args.outcome, name=name,
                      holdout=args.holdout, seed=args.seed, source_name=data.name, progress=say)
    folder = save_uplift(ub, name, models_dir)
    c = ub.card
    keys = ("qini_model", "qini_risk_only", "qini_random")
    if args.json:
        print(json.dumps({"model": str(folder), **{k: c[k] for k in keys},
                          "holdout_rows": c["holdout_rows"], "learner": c["learner"]}, indent=1))
    else:
        print(f"uplift model saved to {folder}")
        print(f"held-out customers: {c['holdout_rows']:,}; Qini coefficient (higher = finds the "
              "customers a call keeps):")
        print(f"  uplift model   {c['qini_model']:.4f}")
        print(f"  risk only      {c['qini_risk_only']:.4f}   (ranking by churn probability)")
        print(f"  random         {c['qini_random']:.4f}")
    return 0


def cmd_campaign_results(args) -> int:
    """``campaign-results``: called vs control churn per risk tier, with 95 % intervals."""
    from churn_core.campaign.results import campaign_results, log_value_assumptions, saved_sentence
    from churn_core.cli_util import _need_file
    from churn_core.io.reader import read_table

    log_path = _need_file(args.log)
    try:
        log = json.loads(log_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChurnError(f"{log_path.name}: not a readable decision log ({exc})") from exc
    outcomes_path = _need_file(args.outcomes)
    df, _ = read_table(outcomes_path)
    # value, cost and currency not given: the ones the list was made with (its decision log)
    known = log_value_assumptions(log)
    from_log = [flag for flag, given in (("--value", args.value), ("--contact-cost", args.contact_cost),
                                         ("--currency", args.currency)) if given is None]
    value = args.value if args.value is not None else known["value_per_customer"] or 0.0
    cost = args.contact_cost if args.contact_cost is not None else known["cost_per_contact"] or 0.0
    currency = args.currency if args.currency is not None else known["currency"] or ""
    if from_log and not args.quiet:
        print(f"{known['note']}; used for {', '.join(from_log)} (give them to override)",
              file=sys.stderr)
    res = campaign_results(log.get("campaign") or {}, df, id_column=args.id_column,
                           outcome_column=args.outcome_column,
                           value_per_customer=value, cost_per_contact=cost,
                           currency=currency, source_name=outcomes_path.name)
    rep = res.report
    if args.out:
        out = Path(args.out)
        write_atomically(out, lambda p: res.table.to_csv(p, index=False), "the campaign results")
        rej = out.with_name(f"{out.stem}_rejected{out.suffix}")
        write_atomically(rej, lambda p: res.rejected.to_csv(p, index=False), "the rejected outcome rows")
        unm = out.with_name(f"{out.stem}_unmatched{out.suffix}")
        write_atomically(unm, lambda p: res.unmatched.to_csv(p, index=False), "the outcome rows not on the list")
    if args.json:
        print(json.dumps({"report": rep, "table": json.loads(res.table.to_json(orient="records"))},
                         indent=1))
        return 0
    print(f"campaign {rep['campaign_id']}: {rep['rows_in']} outcome rows = {rep['matched']} matched "
          f"+ {rep['unmatched']} not on the list + {rep['rejected']} rejected")
    for note in rep.get("notes", []):
        print(f"  note: {note}")
    for reason, n in rep["rejected_reasons"].items():
        print(f"  rejected: {n} x {reason}")
    miss = rep["listed_without_outcome"]
    if sum(miss.values()):
        print(f"  listed customers with no outcome: {miss['treatment']} called, {miss['control']} control")
    cur = f" {currency}" if currency else ""
    print("risk tier  called  control  churn called  churn control  uplift [95 % interval]  saved  net value")
    for r in res.table.to_dict("records"):
        print(_table_line(r, cur))
    for r in res.table.to_dict("records"):  # the same sentences as the Campaigns page
        print(f"{r['risk_tier']}: {saved_sentence(r)}")
    print(f"uplift = churn rate of the control group minus that of the called group; {rep['method']}; "
          f"{rep['analysis']}.")
    return 0


def _table_line(r: dict, cur: str) -> str:
    """One risk tier's line of the ``campaign-results`` table; a tier without called or
    control customers with an outcome reads "not measurable (...)", never ``nan``."""
    from churn_core.campaign.results import NOT_MEASURABLE

    def rate(x, width):
        return f"{x:>{width}.1%}" if math.isfinite(float(x)) else f"{'-':>{width}}"

    head = (f"{r['risk_tier']:<9} {r['called']:>7,} {r['control']:>8,} "
            f"{rate(r['churn_rate_called'], 13)} {rate(r['churn_rate_control'], 14)}  ")
    keys = ("uplift", "ci_low", "ci_high", "customers_saved")
    if not all(math.isfinite(float(r[k])) for k in keys):
        return head + NOT_MEASURABLE
    return (head + f"{r['uplift']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
            f"  {r['customers_saved']:>5.1f}  {round(float(r['net_value'])):,}{cur}")  # round(): never "-0"


def add_commands(sub) -> None:
    """Register the campaign-loop subcommands on the ``python -m churn_core`` parser."""
    c = sub.add_parser("campaign-sample", help="write the synthetic randomised campaign")
    c.add_argument("--out", default="data/sample_campaign.csv")
    c.add_argument("--rows", type=int, default=20_000)
    c.add_argument("--seed", type=int, default=config.SEED)
    c.set_defaults(func=cmd_campaign_sample)

    u = sub.add_parser("train-uplift", help="train an uplift model on campaign data "
                                            "(features, treatment 0/1, churned 0/1)")
    u.add_argument("--data", required=True, help="campaign file: one row per customer")
    u.add_argument("--out", required=True, help="models/NAME")
    u.add_argument("--treatment", default="treatment", help="column: 1 = called, 0 = control")
    u.add_argument("--outcome", default="churned", help="column: 1 = churned, 0 = stayed")
    u.add_argument("--holdout", type=float, default=0.3, help="share held out for the Qini evaluation")
    u.add_argument("--seed", type=int, default=config.SEED)
    u.add_argument("--json", action="store_true", help="print the Qini coefficients as JSON")
    u.set_defaults(func=cmd_train_uplift)

    r = sub.add_parser("campaign-results", help="measure a campaign: called vs control group")
    r.add_argument("--log", required=True, help="the list's decision log (list_decision_log.json)")
    r.add_argument("--outcomes", required=True, help="outcomes file: customer ID, churned yes/no "
                                                     "(optionally contacted yes/no)")
    r.add_argument("--id-column", help="customer ID column of the outcomes file (default: the list's)")
    r.add_argument("--outcome-column", help="churned yes/no column (default: churned, churn, exited...)")
    r.add_argument("--value", type=float, default=None,
                   help="value of keeping one customer (default: the list's, from its decision "
                        "log; 0 when the log has no single amount)")
    r.add_argument("--contact-cost", type=float, default=None,
                   help="cost of one call (default: the list's cost per contact, from its "
                        "decision log; else 0)")
    r.add_argument("--currency", default=None,
                   help="currency name for the printout, e.g. EUR (default: the list's)")
    r.add_argument("--out", help="write the results table (CSV) and its rejected / unmatched rows")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    r.set_defaults(func=cmd_campaign_results)
