"""Command line: ``python -m churn_core {train,evaluate,models,score,sample,target-list,what-if,...}``.

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
    python -m churn_core models --json
    python -m churn_core score --model models/bank --data customers.csv --out scores.parquet
    python -m churn_core score --model models/bank --data customers.csv --out scores.parquet \\
        --drift-report drift.json
    python -m churn_core score --engine dask --model models/bank --data "parts/*.csv" --out scored/
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from churn_core import config
from churn_core.campaign.scoring import rejected_layout, score_file
from churn_core.data import synthetic
from churn_core.data.infer import infer_schema
from churn_core.errors import ChurnError
from churn_core.evaluate.metrics import evaluate
from churn_core.io.reader import read_table
from churn_core.io.writer import csv_bytes, write_atomically
from churn_core.model.bundle import is_bundle_folder, load_bundle, save_bundle
from churn_core.model.network import TrainConfig
from churn_core.model.tf_quiet import import_tensorflow_quietly
from churn_core.cli_util import (_file_sha256, _need_file, _print_challenger, _print_data_notes,
                                 _print_other_labels, _progress_bar, _print_report, _print_warnings,
                                 _print_header_warnings, _print_trained, _report_rejected,
                                 _split_model_path)

#: Scoring engines: name -> function(args, bundle) -> counts dict. ``dask`` plugs in here.
SCORE_ENGINES: dict = {}

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the text saying what is (not) on disk, e.g. ``"no model saved"``."""


def _csv_list(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _load_for_scoring(name: str, models_dir):
    """``load_bundle`` for ``evaluate``/``score``: the NumPy network, no TensorFlow import
    (unless the model is not the plain Dense chain; its note is printed on stderr)."""
    bundle = load_bundle(name, models_dir)
    for note in bundle.notes:
        print(f"note: {note}", file=sys.stderr)
    return bundle


def _train_config(args):
    """The :class:`TrainConfig` of the ``train`` options; bad values -> :class:`ChurnError`."""


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
            recipe=args.recipe, time_budget=args.time_budget,
        )
    except ValueError as exc:
        raise ChurnError(f"training options: {exc}") from None


def _print_recipe(sel: dict) -> None:
    """The adaptive recipe's candidates (validation scores) and why the winner won."""
    if sel.get("recipe") != "adaptive":
        return
    print(f"adaptive recipe (time budget {sel['time_budget_s']:.0f} s, used {sel.get('seconds', 0):.0f} s; "
          f"chosen on the {sel['validation_rows']} validation rows only):")
    for c in sel["candidates"]:
        if c["status"] == "fitted":
            print(f"  {'*' if c['name'] == sel['winner'] else ' '} {c['name']:22s} validation PR-AUC "
                  f"{c['val_pr_auc']:.3f}  ROC-AUC {c['val_roc_auc']:.3f}  ({c['seconds']:.1f} s)")
        else:
            print(f"    {c['name']:22s} skipped: {c['reason']}")
    print(f"  {sel['why']}")


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

    models_dir, name = _split_model_path(args.out)
    target = models_dir / name
    if target.resolve() == (config.MODELS_DIR / config.DEFAULT_MODEL_NAME).resolve():
        raise ChurnError(f"{args.out} is the shipped model (the app's fallback, made on the synthetic "
                         "sample): it is not replaced; train into another name, e.g. --out models/mymodel")
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
    data = _need_file(args.data)
    cfg = _train_config(args)
    df, report = read_table(data, sheet=args.sheet)
    schema = infer_schema(df, target=args.target, positive_label=args.positive_label,
                          id_columns=_csv_list(args.id_columns),
                          personal_columns=_csv_list(args.personal_columns),
                          numeric=_csv_list(args.numeric), categorical=_csv_list(args.categorical),
                          excluded=_csv_list(args.exclude), decimal=report.decimal)
    _print_warnings(data.name, report.warnings)
    _print_other_labels(df, schema)
    print(f"{data.name}: {len(df):,} rows; target {schema.target!r} (churn = {schema.positive_label!r}); "
          f"{len(schema.numeric)} numeric + {len(schema.categorical)} categorical features; "
          f"not features: {', '.join(schema.passthrough + schema.excluded) or 'none'}")
    # progress bars only on a terminal (tqdm's disable=None): a log file gets no \r clutter
    bar = _progress_bar(args, total=cfg.max_epochs, unit="epoch", desc="training")

    def progress(epoch, total, logs):
        if bar.total != total:  # the adaptive recipe counts epochs over all its candidates
            bar.total = total
        bar.update(epoch - bar.n)
        if "candidate_number" in logs:
            bar.set_description(f"training candidate {logs['candidate_number']}/{logs['candidates']}")
        bar.set_postfix(loss=f"{logs.get('loss', 0):.4f}", val_loss=f"{logs.get('val_loss', 0):.4f}",
                        **({"val_auc": f"{logs['val_auc']:.4f}"} if "val_auc" in logs else {}))

    import_tensorflow_quietly()
    from churn_core.model.train import train_bundle  # sklearn + TensorFlow: training only

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
    _print_trained(card)
    _print_recipe(card.get("recipe") or {})
    _print_report("test split", bundle.metrics["test"])
    print(f"default decision threshold (max F1 on validation): {bundle.default_threshold:.3f}")
    print(f"saved {folder}")
    if result is not None and len(result.rejected):
        rej = folder.parent / f"{folder.name}_rejected_rows.csv"
        if rej.resolve() == data.resolve():  # never overwrite the training file itself
            rej = folder / "rejected_rows.csv"

        content = csv_bytes(rejected_layout(result.rejected), excel_bom=False)
        write_atomically(rej, lambda p: p.write_bytes(content), "the rejected rows")
        stage["unwritten"] = None
        from churn_core.data.validate import reason_summary

        kinds = reason_summary(card.get("rejected_reasons", {}), len(result.rejected))
        print(f"rejected rows (not used for training): {rej}  [{kinds}]")
    _print_data_notes({"duplicate_ids": card.get("duplicate_ids")})
    for text in card.get("warnings") or []:
        print(f"warning: {text}")
    return 0


def _model_label(bundle) -> str:
    """``name`` or ``name (synthetic: trained on the shipped synthetic sample)``."""
    from churn_core.model.registry import is_synthetic

    return (f"{bundle.name} (synthetic: trained on the shipped synthetic sample)"
            if is_synthetic(bundle.card) else bundle.name)


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

    _check_threshold(args.threshold)
    if (args.positive_label is not None or args.rejected) and args.data is None:
        raise ChurnError("--positive-label and --rejected apply to a labelled file: give it with --data")
    if args.challenger and args.data is None:
        raise ChurnError("--challenger trains gradient boosting on the model's own split: give the "
                         "model's training file with --data")
    models_dir, name = _split_model_path(args.model)
    bundle = _load_for_scoring(name, models_dir)
    thr = bundle.default_threshold if args.threshold is None else args.threshold
    if args.data is None:
        rep = bundle.metrics.get("test")
        if not rep:
            raise ChurnError(f"model {name!r} has no stored test metrics; pass --data")
        if args.threshold is not None:
            t = bundle.evaluation["test"]
            rep = evaluate(np.array(t["y"]), np.array(t["p"]), thr).to_dict()
        _print_report(f"{_model_label(bundle)} on its test split", rep)
    else:
        from churn_core.io.reader import read_table
        from churn_core.model.measure import measure_frame

        data = _need_file(args.data)
        df, read_rep = read_table(data, sheet=args.sheet)
        _print_warnings(data.name, read_rep.warnings)
        if args.positive_label is not None and bundle.schema.target is not None and len(df):
            from churn_core.model.measure import with_positive_label

            schema = with_positive_label(df, bundle.schema, args.positive_label, data.name)
            print(f"{data.name}: churn = {schema.positive_label!r} in column {schema.target!r} "
                  f"(the model was trained with churn = {bundle.schema.positive_label!r})")
        else:
            schema = bundle.schema
        _print_other_labels(df, schema)
        m = measure_frame(bundle, df, data.name, threshold=thr, positive_label=args.positive_label,
                          data_sha256=_file_sha256(data))
        _print_data_notes({"duplicate_ids": m.duplicate_ids})
        print(f"{data.name}: {m.n_evaluated:,} rows evaluated, {m.n_rejected:,} rejected")
        _report_rejected(m, data, args.rejected)
        rep = {**m.report, "rows_in": m.rows_in, "rows_rejected": m.n_rejected,
               "rejected_reasons": dict(m.rejected_reasons)}
        if m.same_file:
            print(f"warning: {data.name} is the file model {name!r} was trained on: these figures "
                  f"include its training customers and are optimistic")
        elif m.shared_ids:
            print(f"warning: {m.shared_ids:,} customers of {data.name} ({m.id_column}) were in the "
                  f"training data of model {name!r}: these figures are optimistic")
        _print_report(f"{_model_label(bundle)} on {data.name}", rep)
        if args.challenger:
            from churn_core.data.validate import validate

            _print_challenger(bundle, data, validate(df, bundle.schema, require_target=True,
                                                     source_name=data.name))
    if args.json:
        print(json.dumps(rep, indent=1))
    return 0


def _uplift_augment(args):
    """``score --uplift-model``: a function adding ``uplift`` and ``uplift_segment`` to scored rows."""
    if not getattr(args, "uplift_model", None):
        return None
    from churn_core.campaign.scoring import uplift_columns
    from churn_core.model.uplift import load_uplift

    models_dir, name = _split_model_path(args.uplift_model)
    return uplift_columns(load_uplift(name, models_dir))


def _score_local(args, bundle) -> dict:
    bar = _progress_bar(args, unit="rows", desc="scoring")

    def progress(done, total):
        bar.update(done - bar.n)

    try:
        return score_file(bundle, _need_file(args.data), args.out, chunksize=args.chunksize, sheet=args.sheet,
                          progress=progress, threshold=args.threshold,
                          augment=_uplift_augment(args))
    finally:
        bar.close()


SCORE_ENGINES["local"] = _score_local


def _score_dask(args, bundle) -> dict:
    """``--engine dask``: score a folder/glob of parts on a Dask cluster (see dask_scoring)."""
    from churn_core.campaign.dask_scoring import score_parts  # the dask engine only

    models_dir, name = _split_model_path(args.model)
    bar = _progress_bar(args, unit="part", desc="scoring parts")

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

    _check_threshold(args.threshold)
    if args.chunksize < 1:
        raise ChurnError(f"--chunksize must be a positive number of rows, got {args.chunksize}")
    models_dir, name = _split_model_path(args.model)
    bundle = _load_for_scoring(name, models_dir)
    if getattr(args, "uplift_model", None) and args.engine != "local":
        raise ChurnError("--uplift-model works with the local engine only")
    _print_header_warnings(args.data, args.sheet)  # before a missing-column error
    counts = SCORE_ENGINES[args.engine](args, bundle)
    if counts["rows_in"] == 0:
        print(f"WARNING: {args.data}: the file has a header but no customer rows; nothing was scored",
              file=sys.stderr)
    print(f"{counts['rows_in']:,} rows in = {counts['rows_scored']:,} scored + "
          f"{counts['rows_rejected']:,} rejected; {counts['predicted_churners']:,} predicted "
          f"churners at threshold {counts['threshold']:.3f}")
    print(f"scores: {counts['out']}\nrejected rows: {counts['rejected_out']}")
    _print_data_notes(counts)
    _report_drift(args, counts, bundle, models_dir / name)
    return 0


def _report_drift(args, counts: dict, bundle, bundle_dir: Path) -> None:
    """Print the drift summary, write ``--drift-report`` and append the model's drift history."""
    from churn_core.campaign import drift as D

    report = counts.get("drift")
    out = getattr(args, "drift_report", None)
    if report is None:
        why = (D.NO_PROFILE if getattr(bundle, "profile", None) is None
               else f"drift checks are not computed by --engine {args.engine}")
        print(f"note: {why}")
        if out:
            text = json.dumps({"verdict": None, "message": why}, indent=1)
            write_atomically(out, lambda p: p.write_text(text, encoding="utf-8"), "the drift report")
            print(f"drift report: {out}")
        return
    for line in D.print_summary(report):
        print(line)
    if out:
        text = json.dumps(D.json_ready(report.to_dict()), indent=1, allow_nan=False)
        write_atomically(out, lambda p: p.write_text(text, encoding="utf-8"), "the drift report")
        print(f"drift report: {out}")
    if report.rows and not getattr(args, "no_drift_history", False):
        rec = D.history_record(report, bundle.name, bundle.card.get("created"),
                               _file_sha256(Path(args.data)))
        try:
            D.append_history(D.history_path(bundle_dir), rec)
            print(f"drift history: this batch was added to {D.history_path(bundle_dir)} "
                  "(charted on the Model page; --no-drift-history leaves it out)")
        except OSError as exc:
            print(f"warning: the drift history of {bundle.name!r} could not be updated ({exc})",
                  file=sys.stderr)


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

    out = Path(args.out)
    write_atomically(out, lambda p: synthetic.write_sample(p, n=args.rows, seed=args.seed), "the synthetic sample")
    print(f"wrote {args.rows:,} synthetic customers to {out}")
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m churn_core``."""

    d = TrainConfig()
    ap = argparse.ArgumentParser(prog="python -m churn_core",
                                 description="Churn analyst's workbench: train, evaluate and score churn models.")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model bundle on a labelled customer file")
    t.add_argument("--data", required=True,
                   help="CSV (or .csv.gz), Parquet or XLSX file with a churn column")
    t.add_argument("--sheet", help="XLSX input: the sheet to read (name or 0-based position) when "
                   "several sheets hold customer tables")
    t.add_argument("--target", help="churn column (default: recognised by name)")
    t.add_argument("--positive-label", help="target value meaning 'churned' (e.g. Yes, 1)")
    t.add_argument("--out", required=True, help="models/NAME (bundle folder; an existing bundle of that "
                                                "name is replaced, the shipped models/default and any other "
                                                "folder are refused)")
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
    t.add_argument("--recipe", choices=["adaptive", "quick"], default=d.recipe,
                   help="adaptive: try a few fixed variants of the options above and keep the best on "
                        "the validation split (never the test split); quick: the options above only "
                        f"(default {d.recipe})")
    t.add_argument("--time-budget", type=float, default=d.time_budget, metavar="S",
                   help=f"seconds the adaptive recipe may spend on its variants; the first always runs "
                        f"(default {d.time_budget:g})")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="show a bundle's test metrics, or evaluate it on a labelled file")
    e.add_argument("--model", required=True, help="models/NAME")
    e.add_argument("--data", help="labelled file to evaluate on (default: the stored test split)")
    e.add_argument("--sheet", help="XLSX input: the sheet to read (name or 0-based position) when "
                   "several sheets hold customer tables")
    e.add_argument("--threshold", type=float, help="decision threshold (default: the bundle's)")
    e.add_argument("--challenger", action="store_true",
                   help="also train gradient boosting on the model's own split of --data (its training "
                        "file) and say whether it beats the model by more than the noise")
    e.add_argument("--positive-label", help="target value of --data meaning 'churned' when the file "
                                            "labels churn differently from the training file "
                                            "(e.g. Churned; default: the model's)")
    e.add_argument("--rejected", metavar="FILE.csv", help="with --data: write the rejected rows "
                   "there (source_row, the file's cells, reason); a reason summary is always printed")
    e.add_argument("--json", action="store_true", help="also print the report as JSON (with --data: "
                   "rows_in, rows_rejected, rejected_reasons too)")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("score", help="score a customer file (no churn column needed)")
    s.add_argument("--model", required=True, help="models/NAME")
    s.add_argument("--data", required=True, help="CSV (or .csv.gz), Parquet or XLSX customer file")
    s.add_argument("--sheet", help="XLSX input: the sheet to read (name or 0-based position) when "
                   "several sheets hold customer tables")
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
    s.add_argument("--drift-report", metavar="DRIFT.json",
                   help="write the file's drift against the training data as JSON (per column: "
                        "psi, effect_size, verdict, blank_share; and an overall verdict)")
    s.add_argument("--no-drift-history", action="store_true",
                   help="do not append this batch to models/NAME/drift_history.jsonl")
    s.set_defaults(func=cmd_score)

    g = sub.add_parser("sample", help="write the synthetic bank-customer sample")
    g.add_argument("--out", default=str(config.SAMPLE_CSV.relative_to(config.ROOT)))
    g.add_argument("--rows", type=int, default=10_000)
    g.add_argument("--seed", type=int, default=config.SEED)
    g.set_defaults(func=cmd_sample)
    from churn_core import cli_models
    from churn_core.cli_campaign import add_commands
    from churn_core.cli_target_list import add_parser as add_target_list
    from churn_core.cli_whatif import add_parser as add_what_if

    s.add_argument("--uplift-model", help="models/NAME of an uplift model (train-uplift): adds the "
                                          "columns uplift and uplift_segment")
    add_commands(sub)
    cli_models.add_commands(sub)
    add_target_list(sub)
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
