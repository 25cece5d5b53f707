"""What-if speed (issue 21): the ``suggested_change`` column for 2,000 listed customers.

Run: ``python benchmarks/bench_whatif.py`` (the shipped ``models/default`` bundle, default
recipe, on the shipped sample; ``--model DIR`` and ``--data FILE`` for others).

Measured (median of ``--repeat`` runs, 3 by default; the machine's load average is printed
before and after, since the cores are shared):

* ``suggest_for_frame`` for the ``--customers`` (2,000) highest-risk customers, as the target
  list calls it (goal <= 10 s);
* ``suggest_changes`` for one customer: every single change and every pair, one model call;
* ``what_if`` of one customer with two edits.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks._util import median, timed  # noqa: E402
from churn_core import config  # noqa: E402

GOAL_S = 10.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(config.MODELS_DIR / config.DEFAULT_MODEL_NAME))
    ap.add_argument("--data", default=str(config.SAMPLE_CSV))
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from churn_core.data.validate import validate
    from churn_core.explain import suggest as sg, whatif as wi
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import load_bundle

    model = Path(args.model)
    bundle = load_bundle(model.name, model.parent)
    df, _ = read_table(args.data)
    valid = validate(df, bundle.schema, require_target=False).valid
    p = bundle.predict_proba(valid)
    listed = valid.iloc[np.argsort(-p, kind="stable")[: args.customers]]
    space = wi.feature_space(bundle, valid)
    cols = wi.actionable_columns(list(space))
    n_cand = len(sg._candidates(space, cols, listed.iloc[:1]))
    sg.suggest_for_frame(bundle, listed.iloc[:50], space)  # warm-up (compiled forward pass)

    load0 = os.getloadavg()
    outs = []
    frame_s = [timed(lambda: outs.append(sg.suggest_for_frame(bundle, listed, space)))
               for _ in range(args.repeat)]
    out = outs[-1]
    one = listed.iloc[[0]]
    sug_s = [timed(lambda: sg.suggest_changes(bundle, one, space)) for _ in range(args.repeat)]
    n_scored = sg.suggest_changes(bundle, one, space).n_scored
    edits = {cols[0]: space[cols[0]].values[0], cols[-1]: space[cols[-1]].values[-1]}
    edit_s = [timed(lambda: wi.what_if(bundle, one, edits, space)) for _ in range(args.repeat)]
    load1 = os.getloadavg()

    med = median(frame_s)
    print(f"model {model.name} ({bundle.card.get('hyperparameters', {}).get('members', 1)} members), "
          f"data {Path(args.data).name}; searched columns: {', '.join(cols)}; "
          f"{n_cand} single changes per customer")
    print(f"load average (1, 5, 15 min) before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; cores: {os.cpu_count()}")
    print(f"suggest_for_frame, {len(listed):,} customers: median {med:.2f} s of "
          f"{[round(s, 2) for s in frame_s]} (goal <= {GOAL_S:.0f} s: "
          f"{'met' if med <= GOAL_S else 'NOT met'}); {int((out != '').sum()):,} customers "
          f"got a suggestion")
    print(f"suggest_changes, one customer ({n_scored} edited rows: singles + pairs, one call): "
          f"median {1000 * median(sug_s):.1f} ms")
    print(f"what_if, one customer, two edits: median {1000 * median(edit_s):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
