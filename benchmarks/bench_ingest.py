"""Speed of ingestion (engineer A's modules) on a big synthetic bank file.

Run: ``TF_CPP_MIN_LOG_LEVEL=2 /work/venv/bin/python benchmarks/bench_ingest.py [--rows 1000000]``

Prints the median wall time of ``--repeat`` runs for: the baseline (bare ``pyarrow.csv``
read + write of the same file), ``io.read_table``, ``infer.infer_schema``, ``validate.validate``,
streaming ``io.iter_table_chunks`` and ``synthetic.make_bank_customers``, and the ratio
read_table+validate / baseline (the scoring benchmark's target is <= 2 for the whole path).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _util import median_time as timed  # noqa: E402  (puts the repo on sys.path)

import pyarrow.csv as pacsv  # noqa: E402

import churn_core.io.reader as cio  # noqa: E402
from churn_core.data.infer import infer_schema  # noqa: E402
from churn_core.data.synthetic import make_bank_customers  # noqa: E402
from churn_core.data.validate import validate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    rows.append(("make_bank_customers", timed(lambda: make_bank_customers(args.rows, seed=1), 1)))
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in.csv", Path(d) / "out.csv"
        make_bank_customers(args.rows, seed=1).to_csv(src, index=False)
        base = timed(lambda: pacsv.write_csv(pacsv.read_csv(src), out), args.repeat)
        rows.append(("baseline pyarrow read+write", base))
        df, rep = cio.read_table(src)
        schema = infer_schema(df)
        rows.append(("read_table", timed(lambda: cio.read_table(src), args.repeat)))
        rows.append(("infer_schema", timed(lambda: infer_schema(df), args.repeat)))
        rows.append(("validate (training mode)", timed(lambda: validate(df, schema, True), args.repeat)))
        both = timed(lambda: validate(cio.read_table(src)[0], schema, False), args.repeat)
        rows.append(("read_table + validate (scoring)", both))

        def stream():
            return sum(len(c) for c, _ in cio.iter_table_chunks(src, 200_000))

        rows.append(("iter_table_chunks (streaming)", timed(stream, 1)))
    print(f"{'step':34s} {'rows':>10s} {'median s':>10s}")
    for name, s in rows:
        print(f"{name:34s} {args.rows:10d} {s:10.3f}")
    print(f"ratio (read_table + validate) / baseline: {both / base:.2f}")


if __name__ == "__main__":
    main()
