"""Command line: ``python -m churn_core {train,evaluate,score,sample,what-if}`` (what-if: :mod:`churn_core.cli_whatif`).

Thin wrappers over the engine (io -> infer -> validate -> train/bundle/scoring). User errors
(:class:`churn_core.errors.ChurnError`, missing files) print one line on stderr naming the
file and column and exit with code 2; no traceback. Ctrl-C prints one ``interrupted: ...``
line saying what was (not) written and exits with code 130. Anything else is a bug and exits
1 with the traceback.

Examples
--------
Reproduce the shipped default model (``models/default/``) from the shipped synthetic sample::

    python -m churn_core sample --out data/sample_customers.csv
    python -m churn_core train --data data/sample_customers.csv --target Exited --out models/default

Real public files (kept outside the repo)::

    python -m churn_core train --data ../shared/data/Churn_Modelling.csv --target Exited --out models/bank
    python -m churn_core train --data ../shared/data/WA_Fn-UseC_-Telco-Customer-Churn.csv \\
        --target Churn --positive-label Yes --out models/telco
    python -m churn_core evaluate --model models/bank --data ../shared/data/Churn_Modelling.csv
    python -m churn_core score --model models/bank --data customers.csv --out scores.parquet
    python -m churn_core score --engine dask --model models/bank --data "parts/*.csv" --out scored/
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from churn_core import config
from churn_core.errors import ChurnError
from churn_core.model.tf_quiet import import_tensorflow_quietly

#: Scoring engines: name -> function(args, bundle) -> counts dict. ``dask`` plugs in here.
SCORE_ENGINES: dict = {}

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the text saying what is (not) on disk, e.g. ``"no model saved"``."""


def _csv_list(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _split_model_path(text: str) -> tuple[Path, str]:
    """``models/NAME`` or ``/any/dir/NAME`` -> (models folder, bundle name)."""
    from churn_core.model.bundle import sanitize_model_name

    path = Path(text)
    if ".." in path.parts:
        from churn_core.errors import BundleError

        raise BundleError(f"model path {text!r}: '..' is not allowed; give models/NAME or an absolute folder")
    if path.parent == Path(".") or str(path.parent) == "models":
        return config.MODELS_DIR, sanitize_model_name(path.name)
    return path.parent.resolve(), sanitize_model_name(path.name)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _need_file(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise ChurnError(f"{path}: file not found")
    return p


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _print_report(title: str, rep: dict) -> None:
    at = rep.get("at_threshold", {})
    print(f"{title}: n={rep['n']}  churn rate={rep['base_rate']:.3f}  ROC-AUC={_fmt(rep.get('roc_auc'))}  "
          f"PR-AUC={_fmt(rep.get('pr_auc'))}  Brier={rep['brier']:.4f}")
    if at:
        print(f"  at threshold {at.get('threshold', 0):.3f}: precision={at.get('precision', 0):.3f}  "
              f"recall={at.get('recall', 0):.3f}  F1={at.get('f1', 0):.3f}  "
              f"accuracy={at.get('accuracy', 0):.3f}")


def _train_config(args):
    """The :class:`TrainConfig` of the ``train`` options; bad values -> :class:`ChurnError`."""
    import math

    from churn_core.model.network import TrainConfig

    try:
        hidden = tuple(int(h) for h in args.hidden.split(",") if h.strip())
    except ValueError:
        raise ChurnError(f"--hidden {args.hidden!r}: give layer widths as whole numbers, e.g. 64,32") from None
    if not hidden:
        raise ChurnError("--hidden: give at least one layer width, e.g. 64,32")
    for opt, val in (("--learning-rate", args.learning_rate), ("--l2", args.l2)):
        if not math.isfinite(val) or val < 0 or (opt == "--learning-rate" and val == 0):
            raise ChurnError(f"{opt} must be a positive number, got {val}")
    if args.patience < 0:
        raise ChurnError(f"--patience must be 0 or more, got {args.patience}")
    try:
        return TrainConfig(
            hidden=hidden, dropout=args.dropout, l2=args.l2,
            learning_rate=args.learning_rate, batch_size=args.batch_size, max_epochs=args.max_epochs,
            patience=args.patience, imbalance=args.imbalance, seed=args.seed,
        )
    except ValueError as exc:
        raise ChurnError(f"training options: {exc}") from None


def _check_threshold(thr) -> None:
    if thr is not None and not 0 <= thr <= 1:  # also refuses nan
        raise ChurnError(f"--threshold must be between 0 and 1, got {thr}")


# --------------------------------------------------------------------------- commands
def cmd_train(args) -> int:
    """``train``: fit a bundle on a labelled file and save it to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``train`` options.

    Returns
    -------
    int
        0.

    Raises
    ------
    ChurnError
        For unusable files, options or data.
    KeyboardInterrupt
        On Ctrl-C, with a text saying whether a model was saved.
    """
    from churn_core.model.bundle import is_bundle_folder

    models_dir, name = _split_model_path(args.out)
    target = models_dir / name
    existed = is_bundle_folder(target)
    stage = {"saved": None, "unwritten": None}  # what is on disk, for the Ctrl-C message
    try:
        return _train(args, models_dir, name, stage)
    except KeyboardInterrupt:
        if stage["saved"] is not None:
            raise _Interrupted(f"model saved to {stage['saved']}"
                               + (f", but {stage['unwritten']}" if stage["unwritten"] else "")) from None
        note = "no model saved"
        if existed and is_bundle_folder(target):
            note += f"; the existing model {target} is unchanged"
        elif existed:
            moved = sorted(models_dir.glob(f".tmp-old-{name}-*"))
            note += (f"; the previous model {target} was being replaced: it is now in "
                     f"{moved[0] if moved else 'a hidden .tmp-old-' + name + '-* folder'}")
        raise _Interrupted(note) from None


def _train(args, models_dir: Path, name: str, stage: dict) -> int:
    from tqdm.auto import tqdm

    from churn_core.model.bundle import save_bundle
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.train import train_bundle

    data = _need_file(args.data)
    cfg = _train_config(args)
    df, report = read_table(data)
    schema = infer_schema(df, target=args.target, positive_label=args.positive_label,
                          id_columns=_csv_list(args.id_columns),
                          personal_columns=_csv_list(args.personal_columns),
                          numeric=_csv_list(args.numeric), categorical=_csv_list(args.categorical),
                          excluded=_csv_list(args.exclude), decimal=report.decimal)
    _print_warnings(data.name, report.warnings)
    _print_other_labels(df, schema)
    print(f"{data.name}: {len(df)} rows; target {schema.target!r} (churn = {schema.positive_label!r}); "
          f"{len(schema.numeric)} numeric + {len(schema.categorical)} categorical features; "
          f"not features: {', '.join(schema.passthrough + schema.excluded) or 'none'}")
    bar = tqdm(total=cfg.max_epochs, unit="epoch", desc="training", disable=args.quiet, file=sys.stderr)

    def progress(epoch, total, logs):
        bar.update(epoch - bar.n)
        bar.set_postfix(loss=f"{logs.get('loss', 0):.4f}", val_loss=f"{logs.get('val_loss', 0):.4f}",
                        **({"val_auc": f"{logs['val_auc']:.4f}"} if "val_auc" in logs else {}))

    import_tensorflow_quietly()
    try:
        bundle = train_bundle(df, schema, cfg, name=name, progress=progress,
                              data_sha256=_file_sha256(data), source_name=data.name)
    finally:
        bar.close()
    result = bundle.__dict__.get("validation")
    if result is not None and len(result.rejected):
        stage["unwritten"] = "its rejected-rows file was not written"
    folder = stage["saved"] = save_bundle(bundle, name, models_dir)
    card = bundle.card
    print(f"rows: {card['rows']['valid']} valid, {card['rows']['rejected']} rejected; "
          f"split train/validation/test = {card['split_sizes']['train']}/"
          f"{card['split_sizes']['validation']}/{card['split_sizes']['test']}; "
          f"{card['epochs_trained']} epoch{'s' if card['epochs_trained'] != 1 else ''} "
          f"(best {card['best_epoch']})")
    _print_report("test split", bundle.metrics["test"])
    print(f"default decision threshold (max F1 on validation): {bundle.default_threshold:.3f}")
    print(f"saved {folder}")
    if result is not None and len(result.rejected):
        rej = folder.parent / f"{folder.name}_rejected_rows.csv"
        if rej.resolve() == data.resolve():  # never overwrite the training file itself
            rej = folder / "rejected_rows.csv"
        from churn_core.campaign.export import neutralise_formulas
        from churn_core.campaign.scoring import rejected_layout

        partial = rej.with_name(f".{rej.name}.partial")
        try:
            neutralise_formulas(rejected_layout(result.rejected)).to_csv(partial, index=False)
            os.replace(partial, rej)
        finally:
            partial.unlink(missing_ok=True)
        stage["unwritten"] = None
        kinds = ", ".join(f"{k} ({v})" for k, v in sorted(card.get("rejected_reasons", {}).items(),
                                                          key=lambda kv: -kv[1])[:5])
        print(f"rejected rows (not used for training): {rej}  [{kinds}]")
    _print_data_notes({"duplicate_ids": card.get("duplicate_ids")})
    for text in card.get("warnings") or []:
        print(f"warning: {text}")
    return 0


def _with_positive_label(df, schema, label: str, source: str):
    """A copy of ``schema`` whose churned value is ``label``, checked against the file's target.

    The other value becomes the negative label when the column holds exactly two; with more,
    every other value counts as not churned (as in ``train``).
    """
    import dataclasses

    from churn_core.data.infer import target_values
    from churn_core.data.validate import label_text, match_columns

    col = match_columns(df.columns, [schema.target]).get(schema.target)
    if col is None:  # validate() names the missing target column with the file's columns
        return dataclasses.replace(schema, positive_label=label_text(label) or label, negative_label=None)
    want = label_text(label)
    values = target_values(df[col])
    match = [v for v in values if want is not None and v.casefold() == want.casefold()]
    if not match:
        found = (f"values found: {', '.join(map(repr, values[:10]))}{', ...' if len(values) > 10 else ''}"
                 if values else "the column is blank in every row")
        raise ChurnError(f"{source}: --positive-label {label!r} is not a value of column "
                         f"{schema.target!r} ({found})")
    others = [v for v in values if v.casefold() != match[0].casefold()]
    return dataclasses.replace(schema, positive_label=match[0],
                               negative_label=others[0] if len(others) == 1 else None)


def cmd_evaluate(args) -> int:
    """``evaluate``: print a bundle's stored test metrics, or its metrics on a labelled file.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``evaluate`` options; ``--positive-label`` replaces the bundle's churned
        value for the rows of ``--data``.

    Returns
    -------
    int
        0.

    Raises
    ------
    ChurnError
        For a bad threshold, model or file, a file with no (valid) rows, or a positive label
        that is not a value of the file's target column.
    """
    from churn_core.model.bundle import load_bundle

    _check_threshold(args.threshold)
    if args.positive_label is not None and args.data is None:
        raise ChurnError("--positive-label applies to a labelled file: give it with --data")
    models_dir, name = _split_model_path(args.model)
    import_tensorflow_quietly()
    bundle = load_bundle(name, models_dir)
    thr = bundle.default_threshold if args.threshold is None else args.threshold
    if args.data is None:
        rep = bundle.metrics.get("test")
        if not rep:
            raise ChurnError(f"model {name!r} has no stored test metrics; pass --data")
        if args.threshold is not None:
            import numpy as np

            from churn_core.evaluate.metrics import evaluate

            t = bundle.evaluation["test"]
            rep = evaluate(np.array(t["y"]), np.array(t["p"]), thr).to_dict()
        _print_report(f"{name} on its test split", rep)
    else:
        from churn_core.io.reader import read_table
        from churn_core.evaluate.metrics import evaluate
        from churn_core.data.validate import validate

        data = _need_file(args.data)
        df, read_rep = read_table(data)
        _print_warnings(data.name, read_rep.warnings)
        if bundle.schema.target is None:
            raise ChurnError(f"model {name!r} has no target column to evaluate against")
        if len(df) == 0:
            raise ChurnError(f"{data.name}: the file has a header but no customer rows; metrics "
                             f"need labelled customers")
        schema = bundle.schema
        if args.positive_label is not None:
            schema = _with_positive_label(df, schema, args.positive_label, data.name)
            print(f"{data.name}: churn = {schema.positive_label!r} in column {schema.target!r} "
                  f"(the model was trained with churn = {bundle.schema.positive_label!r})")
            _print_other_labels(df, schema)
        res = validate(df, schema, require_target=True, source_name=data.name)
        if len(res.valid) == 0:
            why = f"; first: {res.rejected['reason'].iloc[0]}" if len(res.rejected) else ""
            hint = ("; if another value means churned in this file, name it with --positive-label"
                    if args.positive_label is None and any(k.endswith("unknown label")
                                                           for k in res.report.rejected_reasons) else "")
            raise ChurnError(f"{data.name}: no valid rows to evaluate ({len(res.rejected)} of {len(df)} "
                             f"rows rejected{why}){hint}")
        _print_data_notes({"duplicate_ids": res.report.duplicate_ids})
        p = bundle.predict_proba(res.valid)
        rep = evaluate(res.y, p, thr).to_dict()
        print(f"{data.name}: {len(res.valid)} rows evaluated, {len(res.rejected)} rejected")
        _print_report(f"{name} on {data.name}", rep)
    if args.json:
        print(json.dumps(rep, indent=1))
    return 0


def _score_local(args, bundle) -> dict:
    from tqdm.auto import tqdm

    from churn_core.campaign.scoring import score_file

    bar = tqdm(unit="rows", desc="scoring", disable=args.quiet, file=sys.stderr)

    def progress(done, total):
        bar.update(done - bar.n)

    try:
        return score_file(bundle, _need_file(args.data), args.out, chunksize=args.chunksize,
                          progress=progress, threshold=args.threshold)
    finally:
        bar.close()


SCORE_ENGINES["local"] = _score_local


def _score_dask(args, bundle) -> dict:
    """``--engine dask``: score a folder/glob of parts on a Dask cluster (see dask_scoring)."""
    from tqdm.auto import tqdm

    from churn_core.campaign.dask_scoring import score_parts

    models_dir, name = _split_model_path(args.model)
    bar = tqdm(unit="part", desc="scoring parts", disable=args.quiet, file=sys.stderr)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    try:
        return score_parts(models_dir / name, args.data, args.out, scheduler=args.scheduler,
                           threshold=args.threshold, fmt=args.format, n_workers=args.workers,
                           progress=progress, bundle=bundle)
    finally:
        bar.close()


SCORE_ENGINES["dask"] = _score_dask


def cmd_score(args) -> int:
    """``score``: score a customer file with a bundle and write scores and rejected rows.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``score`` options.

    Returns
    -------
    int
        0, also for a file with a header and no customer rows: its outputs are written with
        a header only, and a ``WARNING:`` line on stderr says nothing was scored.

    Raises
    ------
    ChurnError
        For a bad option, model or file (e.g. missing feature columns).
    """
    from churn_core.model.bundle import load_bundle

    _check_threshold(args.threshold)
    if args.chunksize < 1:
        raise ChurnError(f"--chunksize must be a positive number of rows, got {args.chunksize}")
    models_dir, name = _split_model_path(args.model)
    import_tensorflow_quietly()
    bundle = load_bundle(name, models_dir)
    counts = SCORE_ENGINES[args.engine](args, bundle)
    if counts["rows_in"] == 0:
        print(f"WARNING: {args.data}: the file has a header but no customer rows; nothing was scored",
              file=sys.stderr)
    print(f"{counts['rows_in']} rows in = {counts['rows_scored']} scored + {counts['rows_rejected']} "
          f"rejected; {counts['predicted_churners']} predicted churners at threshold "
          f"{counts['threshold']:.3f}")
    print(f"scores: {counts['out']}")
    print(f"rejected rows: {counts['rejected_out']}")
    _print_data_notes(counts)
    return 0


def _print_data_notes(info: dict) -> None:
    """Print what an analyst should check: unseen categories, imputed blanks, values outside the
    training range, duplicate IDs."""
    for col, values in sorted((info.get("unseen_categories") or {}).items()):
        top = sorted(values.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{v!r} ({n})" for v, n in top[:5]) + (f", ... {len(top) - 5} more" if len(top) > 5 else "")
        print(f"note: column {col!r} has values not seen in training, scored as 'none of the known "
              f"categories': {shown}")
    blanks = {c: n for c, n in (info.get("imputed_cells") or {}).items() if n}
    if blanks:
        print("note: blank cells filled by the training rules: "
              + ", ".join(f"{c} ({n})" for c, n in sorted(blanks.items())))
    outside = {c: n for c, n in (info.get("outside_training_range") or {}).items() if n}
    if outside:
        print("note: values outside the range seen in training (the model extrapolates; check for "
              "typing errors): " + ", ".join(f"{c} ({n})" for c, n in sorted(outside.items())))
    for col, n in sorted((info.get("duplicate_ids") or {}).items()):
        print(f"warning: {n} rows share an ID value in column {col!r} (duplicate customers?)")


def _print_other_labels(df, schema) -> None:
    """Warn when more than two target labels exist: all but the positive one count as 'stayed'."""
    from churn_core.data.infer import target_values
    from churn_core.data.validate import match_columns

    col = match_columns(df.columns, [schema.target]).get(schema.target) if schema.target else None
    if col is None or schema.positive_label is None or schema.negative_label is not None:
        return
    pos = schema.positive_label.casefold()
    others = [v for v in target_values(df[col]) if v.casefold() != pos]
    if len(others) > 1:
        print(f"warning: column {schema.target!r} has {len(others) + 1} labels; every value other than "
              f"{schema.positive_label!r} counts as not churned: {', '.join(map(repr, others[:10]))}")


def _print_warnings(source: str, warnings) -> None:
    for w in warnings or []:
        print(f"warning: {source}: {w}")


def cmd_sample(args) -> int:
    """``sample``: write the synthetic sample to ``--out`` (replaced whole, or left as it was).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``sample`` options.

    Returns
    -------
    int
        0.
    """
    from churn_core.data import synthetic

    out = Path(args.out)
    partial = out.with_name(f".{out.name}.partial")
    try:
        synthetic.write_sample(partial, n=args.rows, seed=args.seed)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {args.rows} synthetic customers to {out}")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m churn_core``."""
    from churn_core.model.network import TrainConfig

    d = TrainConfig()
    ap = argparse.ArgumentParser(prog="python -m churn_core",
                                 description="Churn analyst's workbench: train, evaluate and score churn models.")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model bundle on a labelled customer file")
    t.add_argument("--data", required=True,
                   help="CSV (or .csv.gz), Parquet or XLSX file with a churn column")
    t.add_argument("--target", help="churn column (default: recognised by name)")
    t.add_argument("--positive-label", help="target value meaning 'churned' (e.g. Yes, 1)")
    t.add_argument("--out", required=True, help="models/NAME (bundle folder; an existing bundle of that "
                                                "name is replaced, any other folder is refused)")
    t.add_argument("--id-columns", help="comma-separated ID columns (kept, never features)")
    t.add_argument("--personal-columns", help="comma-separated personal columns (kept, never features)")
    t.add_argument("--numeric", help="comma-separated columns forced numeric")
    t.add_argument("--categorical", help="comma-separated columns forced categorical")
    t.add_argument("--exclude", help="comma-separated columns not used as features")
    t.add_argument("--hidden", default=",".join(map(str, d.hidden)), help="hidden layer widths, e.g. 64,32")
    t.add_argument("--dropout", type=float, default=d.dropout,
                   help=f"share of hidden units dropped while training, 0 to <1 (default {d.dropout})")
    t.add_argument("--l2", type=float, default=d.l2, help=f"L2 weight penalty (default {d.l2})")
    t.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help=f"Adam learning rate (default {d.learning_rate})")
    t.add_argument("--batch-size", type=int, default=d.batch_size,
                   help=f"customers per training step (default {d.batch_size})")
    t.add_argument("--max-epochs", type=int, default=d.max_epochs,
                   help=f"most passes over the training split; early stopping usually ends sooner "
                        f"(default {d.max_epochs})")
    t.add_argument("--patience", type=int, default=d.patience,
                   help=f"epochs without validation improvement before stopping (default {d.patience})")
    t.add_argument("--imbalance", choices=["class_weight", "smote", "none"], default=d.imbalance,
                   help=f"how the rarer churners are weighted (default {d.imbalance})")
    t.add_argument("--seed", type=int, default=config.SEED,
                   help=f"random seed: same data + seed = same model (default {config.SEED})")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="show a bundle's test metrics, or evaluate it on a labelled file")
    e.add_argument("--model", required=True, help="models/NAME")
    e.add_argument("--data", help="labelled file to evaluate on (default: the stored test split)")
    e.add_argument("--threshold", type=float, help="decision threshold (default: the bundle's)")
    e.add_argument("--positive-label", help="target value of --data meaning 'churned' when the file "
                                            "labels churn differently from the training file "
                                            "(e.g. Churned; default: the model's)")
    e.add_argument("--json", action="store_true", help="also print the report as JSON")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("score", help="score a customer file (no churn column needed)")
    s.add_argument("--model", required=True, help="models/NAME")
    s.add_argument("--data", required=True, help="CSV (or .csv.gz), Parquet or XLSX customer file")
    s.add_argument("--out", required=True, help="output .csv or .parquet (rejected rows go beside it)")
    s.add_argument("--threshold", type=float, help="decision threshold (default: the bundle's)")
    s.add_argument("--chunksize", type=int, default=100_000, help="rows per chunk (bounded memory)")
    s.add_argument("--engine", choices=sorted(SCORE_ENGINES), default="local",
                   help="scoring engine (local: chunked single process; dask: a folder or glob "
                        "of CSV/Parquet parts on a Dask cluster, --out is a folder)")
    s.add_argument("--scheduler", help="dask: scheduler address, e.g. tcp://host:8786 "
                                       "(default: a local cluster)")
    s.add_argument("--workers", type=int, default=2, help="dask: local cluster worker processes")
    s.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                   help="dask: format of the output part files")
    s.set_defaults(func=cmd_score)

    g = sub.add_parser("sample", help="write the synthetic bank-customer sample")
    g.add_argument("--out", default=str(config.SAMPLE_CSV.relative_to(config.ROOT)))
    g.add_argument("--rows", type=int, default=10_000)
    g.add_argument("--seed", type=int, default=config.SEED)
    g.set_defaults(func=cmd_sample)
    from churn_core.cli_whatif import add_parser as add_what_if  # noqa: E402 - keeps cli.py small
    add_what_if(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 2 user error, 130 Ctrl-C).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 2 after a user error, reported as one ``error: ...`` line on stderr;
        130 after Ctrl-C, reported as one ``interrupted: ...`` line on stderr saying what was
        (not) written. No traceback in either case.
    """
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (ChurnError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        note = str(exc) if isinstance(exc, _Interrupted) and str(exc) else "no output written"
        print(f"interrupted: {note}", file=sys.stderr)
        return EXIT_INTERRUPTED
