"""``python -m churn_core what-if``: one customer's churn probability before and after editing
some values, and (``--suggest``) the actionable changes that lower it most.

Example::

    python -m churn_core what-if --model models/bank --data ../shared/data/Churn_Modelling.csv \\
        --row 2 --set IsActiveMember=1 --suggest --json

``--row`` is the row number a spreadsheet shows for the customer (the header is row 1, so the
first customer is row 2): the index :func:`churn_core.io.reader.read_table` gives every row.
"""
from __future__ import annotations

import json

from churn_core.errors import ChurnError


def add_parser(sub) -> None:
    """Register the ``what-if`` sub-command on the ``python -m churn_core`` sub-parsers."""
    w = sub.add_parser("what-if", help="one customer's churn probability after editing values, "
                                       "and the changes that lower it most")
    w.add_argument("--model", required=True, help="models/NAME")
    w.add_argument("--data", required=True, help="CSV (or .csv.gz), Parquet or XLSX customer file")
    w.add_argument("--row", required=True, type=int,
                   help="the customer's row number as a spreadsheet shows it (header = row 1, "
                        "first customer = row 2)")
    w.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE",
                   help="a new value for a feature (repeatable): a number within the training "
                        "range or a category seen in training")
    w.add_argument("--suggest", action="store_true",
                   help="also search the actionable columns for the changes that lower the "
                        "churn probability most (never protected attributes)")
    w.add_argument("--top", type=int, default=5, help="single changes listed (default 5)")
    w.add_argument("--json", action="store_true", help="print the result as JSON")
    w.set_defaults(func=cmd_what_if)


def _parse_sets(items) -> dict:
    out = {}
    for item in items:
        col, eq, value = str(item).partition("=")
        if not eq or not col.strip():
            raise ChurnError(f"--set {item!r}: write COLUMN=VALUE, e.g. --set IsActiveMember=1")
        out[col.strip()] = value.strip()
    return out


def _json_value(spec, value):
    """A category as text, a number as a number (whole numbers as int)."""
    if spec.kind == "category":
        return str(value)
    v = float(value)
    return int(v) if spec.integer and v.is_integer() else v


def _customer(df, valid, rejected, row: int, source: str):
    """The validated row of spreadsheet row ``row`` (the ``source_row`` read_table gives)."""
    from churn_core.io.reader import ROW_INDEX

    hit = valid[valid[ROW_INDEX] == row]
    if len(hit):
        return hit.iloc[[0]]
    bad = rejected[rejected[ROW_INDEX] == row] if ROW_INDEX in rejected else rejected.iloc[:0]
    if len(bad):
        raise ChurnError(f"{source}, row {row}: this row cannot be scored: {bad['reason'].iloc[0]}")
    rows = df.index if df.index.name == ROW_INDEX else valid[ROW_INDEX]
    span = f"rows {int(rows.min())} to {int(rows.max())}" if len(rows) else "no customer rows"
    raise ChurnError(f"{source}: there is no customer on row {row} (the header is row 1; the "
                     f"file has {span})")


def cmd_what_if(args) -> int:
    """``what-if``: print one customer's churn probability before and after the ``--set`` edits.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``what-if`` options.

    Returns
    -------
    int
        0.

    Raises
    ------
    ChurnError
        For a bad model or file, a row that is not a customer (or was rejected, with the
        reason), a ``--set`` without ``=``, an unknown column or category, or a number
        outside the training range.
    """
    from churn_core.campaign.tiers import assign_tiers
    from churn_core.cli_util import _need_file, _print_warnings, _split_model_path, signed
    from churn_core.data.validate import validate
    from churn_core.explain import suggest as sg, whatif as wi
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import load_bundle
    from churn_core.model.tf_quiet import import_tensorflow_quietly

    if args.top < 1:
        raise ChurnError(f"--top must be 1 or more, got {args.top}")
    sets = _parse_sets(args.set)
    path = _need_file(args.data)
    models_dir, name = _split_model_path(args.model)
    import_tensorflow_quietly()
    bundle = load_bundle(name, models_dir)
    df, report = read_table(path)
    _print_warnings(path.name, report.warnings)  # e.g. a duplicate header
    bundle.check_columns(df, path.name)
    result = validate(df, bundle.schema, require_target=False, source_name=path.name)
    row = _customer(df, result.valid, result.rejected, args.row, path.name)
    space = wi.feature_space(bundle, result.valid)
    res = wi.what_if(bundle, row, sets, space)
    tiers = assign_tiers([res.probability_before, res.probability_after], bundle.tier_cutoffs)
    out = {"row": args.row, "probability_before": res.probability_before,
           "probability_after": res.probability_after, "risk_tier_before": str(tiers[0]),
           "risk_tier_after": str(tiers[1]),
           "changes": {c: _json_value(space[c], v) for c, v in res.changes.items()}}
    sug = None
    if args.suggest:
        from churn_core.campaign.target_list import reason_settings

        columns = wi.actionable_columns(list(space), reason_settings(bundle))
        sug = sg.suggest_changes(bundle, res.row_after, space, columns=columns, top=args.top)
        out["suggestions"] = [
            {"column": r.column, "value": _json_value(space[r.column], r.value),
             "probability_after": r.probability_after} for r in sug.singles.itertuples()]
        pair = sug.best_pair
        out["best_pair"] = None if pair is None else {
            "columns": pair["columns"],
            "values": [_json_value(space[c], v) for c, v in zip(pair["columns"], pair["values"])],
            "probability_after": pair["probability_after"]}
        out["searched_columns"] = sug.searched
        out["note"] = sug.note
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{path.name}, row {args.row}: churn probability {res.probability_before:.3f} "
          f"({tiers[0]} risk)")
    if sets:
        edits = ", ".join(f"{c} = {space[c].format(v)}" for c, v in res.changes.items()) \
            or "no value changed"
        print(f"after {edits}: {res.probability_after:.3f} ({tiers[1]} risk)")
    if sug is not None:
        print(f"changes that lower it most (columns searched: {', '.join(sug.searched)}):")
        for r in sug.singles.itertuples():
            print(f"  {r.change}: {r.probability_after:.3f} ({signed(r.difference)})")
        if sug.best_pair is not None:
            best = sug.best_pair
            print(f"  best pair, {best['change']}: "
                  f"{best['probability_after']:.3f} ({signed(best['difference'])})")
        if not len(sug.singles):
            print("  none: no single change of these columns lowers the probability")
        print(sug.note)
    return 0
