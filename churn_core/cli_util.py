"""Helpers shared by the command-line modules (``cli.py`` and its command groups)."""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from churn_core import config
from churn_core.errors import BundleError, ChurnError
from churn_core.model.bundle import sanitize_model_name


def _split_model_path(text: str) -> tuple[Path, str]:
    """``models/NAME`` or ``/any/dir/NAME`` -> (models folder, bundle name)."""

    path = Path(text)
    if ".." in path.parts:

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


def _print_trained(card: dict) -> None:
    """``train``'s summary line: rows and split sizes with thousands separators, epochs."""
    from churn_core.model.registry import card_counts

    n, epochs = card_counts(card), card["epochs_trained"]
    print(f"rows: {n['valid']} valid, {n['rejected']} rejected; split train/validation/test = "
          f"{n['train']}/{n['validation']}/{n['test']}; {epochs} epoch{'s' if epochs != 1 else ''} "
          f"(best {card['best_epoch']})")


def _print_report(title: str, rep: dict) -> None:
    at = rep.get("at_threshold", {})
    print(f"{title}: n={rep['n']}  churn rate={rep['base_rate']:.3f}  ROC-AUC={_fmt(rep.get('roc_auc'))}  "
          f"PR-AUC={_fmt(rep.get('pr_auc'))}  Brier={rep['brier']:.4f}")
    if at:
        print(f"  at threshold {at.get('threshold', 0):.3f}: precision={at.get('precision', 0):.3f}  "
              f"recall={at.get('recall', 0):.3f}  F1={at.get('f1', 0):.3f}  "
              f"accuracy={at.get('accuracy', 0):.3f}")


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
    detail = info.get("outside_training_range_detail") or {}
    if detail:
        from churn_core.model.ranges import describe

        print("note: values outside the range seen in training (smallest to largest value of the "
              "training file; the model extrapolates; check for typing errors): "
              + "; ".join(describe(detail)))
    elif outside:
        print("note: values outside the range seen in training (the model extrapolates; check for "
              "typing errors): " + ", ".join(f"{c} ({n})" for c, n in sorted(outside.items())))
    _print_duplicate_ids(info)


def _print_duplicate_ids(info: dict, frame=None, file=None) -> None:
    """One warning per ID column with shared values (``info["duplicate_ids"]``); with the
    file's ``frame``, up to three IDs with their rows (``workbench.duplicate_id_examples``)."""
    for col, n in sorted((info.get("duplicate_ids") or {}).items()):
        seen = []
        if frame is not None:
            from churn_core.workbench.quality import duplicate_id_examples

            seen = duplicate_id_examples(frame, [col])
        print(f"warning: {n:,} rows share an ID value in column {col!r} (duplicate customers?)"
              + (f", e.g. {'; '.join(seen)}" if seen else ""), file=file)


def _print_other_labels(df, schema) -> None:
    """Warn when the target holds more than two labels: which count as churned, which as not
    churned, and which are rejected as neither (:func:`churn_core.data.infer.label_class`);
    then say which columns were left out because they look like dates
    (:func:`churn_core.data.dates.date_notes`)."""
    from churn_core.data.dates import date_notes
    from churn_core.data.infer import other_labels_warning

    note = other_labels_warning(df, schema.target, schema.positive_label, schema.negative_label)
    if note:
        print(f"warning: {note}")
    for note in date_notes(schema):
        print(f"note: {note}")


def _report_rejected(m, data: Path, out: str | None) -> None:
    """``evaluate --data``: say why rows were rejected and write them with their reasons.

    Parameters
    ----------
    m : FileMeasure
        The measure of :func:`churn_core.model.measure.measure_frame`.
    data : Path
        The evaluated file (never overwritten).
    out : str or None
        ``--rejected``: the CSV to write (``source_row``, the file's cells, ``reason``; a header
        only when no row was rejected), as ``score`` writes ``<out>_rejected.csv``.
    """
    from churn_core.campaign.scoring import rejected_layout
    from churn_core.io.writer import csv_bytes, write_atomically

    if m.n_rejected:
        from churn_core.data.validate import reason_summary

        print(f"rejected rows, by reason: {reason_summary(m.rejected_reasons or {}, m.n_rejected, 8)}")
        print(f"  first: {m.rejected['reason'].iloc[0]}")
    if out is None:
        if m.n_rejected:
            print("write the rejected rows with their reasons with --rejected FILE.csv")
        return
    path = Path(out)
    if path.exists() and path.resolve() == data.resolve():
        raise ChurnError(f"--rejected {out}: that is the evaluated file; name another file")
    content = csv_bytes(rejected_layout(m.rejected), excel_bom=False)
    write_atomically(path, lambda p: p.write_bytes(content), "the rejected rows")
    print(f"rejected rows: {path}")


def signed(change: float, fmt: str = "+.3f") -> str:
    """A difference with its sign, as the pages show deltas (``pages/_display.shown_delta``):
    one that rounds to zero where it is shown has no sign (``"0.000"``, never ``"-0.000"``)."""
    text = f"{float(change):{fmt}}"
    return text if re.search(r"[1-9]", text) else text.lstrip("+-")


def _print_warnings(source: str, warnings, file=None) -> None:
    for w in warnings or []:
        print(f"warning: {source}: {w}", file=file or sys.stdout)


def _print_header_warnings(path, sheet=None) -> None:
    """Print a file's duplicate / blank header notes (``header 'Age' appears more than once
    ...; column 8 renamed 'Age.1'``) before a command that streams it (``score``) reads it;
    nothing for a folder or glob (``--engine dask``)."""
    from churn_core.io.reader import header_warnings

    p = Path(path)
    if p.is_file():
        _print_warnings(p.name, header_warnings(p, sheet))


def _print_challenger(bundle, data: Path, res) -> None:
    """Train the gradient-boosting challenger on the bundle's split of ``data`` and print the verdict."""
    import numpy as np

    from churn_core.evaluate.challenger import challenger_verdict, train_challenger

    card = bundle.card or {}
    if card.get("data_sha256") != _file_sha256(data):
        raise ChurnError(f"--challenger: {data.name} is not the file model {bundle.name!r} was trained on "
                         f"({card.get('source') or 'see its card'}); the challenger needs the same rows")
    _, p_test, _ = train_challenger(bundle, res.valid, res.y)
    t = bundle.evaluation["test"]
    v = challenger_verdict(np.asarray(t["y"]), np.asarray(t["p"]), p_test, seed=int(card.get("seed", 42)),
                           recipe=(card.get("recipe") or {}).get("recipe", "quick"))
    print(f"challenger (gradient boosting on the same split): {v.sentence}")
    if v.advice:
        print(v.advice)


class _HiddenBar:
    """The part of a tqdm bar the commands use, showing nothing (see :func:`_progress_bar`)."""

    def __init__(self, total=None):
        self.n, self.total = 0, total

    def update(self, k=1) -> None:
        self.n += k

    def set_description(self, *args, **kwargs) -> None:
        pass

    set_postfix = set_description

    def close(self) -> None:
        pass


def _progress_bar(args, **kwargs):
    """A tqdm progress bar on stderr, shown on a terminal only (as tqdm's ``disable=None``) and
    never with ``-q``; otherwise a :class:`_HiddenBar`, without importing tqdm (0.03 CPU-s)."""
    if args.quiet or not sys.stderr.isatty():
        return _HiddenBar(kwargs.get("total"))
    from tqdm.auto import tqdm

    return tqdm(file=sys.stderr, **kwargs)
