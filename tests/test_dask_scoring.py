"""Dask scoring of a folder of parts equals single-machine ``score_frame``, row for row.

One 2-worker ``LocalCluster`` (threads, in this process: fast and reliable in CI) serves the
whole module; the CLI test reaches it through ``--scheduler`` with its address.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churn_core.campaign.dask_scoring import list_parts, score_parts
from churn_core.errors import DataFileError
from churn_core.io.reader import read_table
from churn_core.campaign.scoring import _merge_counts, score_frame
from churn_core.campaign.tiers import assign_tiers

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=40)
    client = Client(lc)
    yield lc, client
    client.close()
    lc.close()


@pytest.fixture(scope="module")
def parts(sample_frame, tmp_path_factory):
    """Three parts (two CSV, one Parquet) of 900 customers with bad, blank and unseen cells."""
    df = sample_frame.drop(columns=["Exited"]).head(900).astype(str).reset_index(drop=True)
    df.loc[3, "Age"] = "forty"            # part 0, line 5: rejected (CSV header = line 1)
    df.loc[310, "Balance"] = ""           # part 1: imputed
    df.loc[320, "Geography"] = "Atlantis"  # part 1: unseen category
    df.loc[650, "CreditScore"] = "n/a"    # part 2 (Parquet): blank, imputed
    df.loc[700, "Age"] = "sixty"        # part 2: rejected, Parquet row 101
    folder = tmp_path_factory.mktemp("parts")
    df.iloc[:300].to_csv(folder / "a.csv", index=False)
    df.iloc[300:600].to_csv(folder / "b.csv", index=False)
    df.iloc[600:].to_parquet(folder / "c.parquet", index=False)
    (folder / "notes.md").write_text("not a data file")
    return folder


def _reference(tiny_bundle, folder):
    """Single-machine scores of each part, keyed by file name."""
    return {f.name: score_frame(tiny_bundle, read_table(f)[0]) for f in list_parts(folder)}


def _read_parts(folder, fmt):
    files = sorted(folder.glob(f"*.{fmt}"))
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    return pd.concat([read(f) for f in files], ignore_index=True)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_dask_scores_equal_single_machine_row_for_row(cluster, parts, models_dir, tiny_bundle,
                                                     tmp_path, fmt):
    _, client = cluster
    out = tmp_path / "scored"
    res = score_parts(models_dir / "tiny", parts, out, client=client, fmt=fmt)
    ref = _reference(tiny_bundle, parts)
    got = _read_parts(out / "scores", fmt)
    rej = _read_parts(out / "rejected", fmt)
    assert set(got["source_file"]) == {"a.csv", "b.csv", "c.parquet"}
    for name, r in ref.items():
        g = got[got["source_file"] == name].sort_values("source_row")
        assert g["source_row"].tolist() == r.scored["source_row"].tolist()
        # a partition may be scored in other batch shapes than the whole file: float32 outputs
        # agree to a few ulps (1e-6 on [0, 1]), not bit for bit; rows and labels are exact
        np.testing.assert_allclose(g["churn_probability"].to_numpy(),
                                   r.scored["churn_probability"].to_numpy(), rtol=0, atol=1e-6)
        np.testing.assert_array_equal(g["predicted_churn"].to_numpy(), r.scored["predicted_churn"].to_numpy())
        assert g["CustomerId"].astype(str).tolist() == r.scored["CustomerId"].astype(str).tolist()
        assert g["risk_tier"].tolist() == list(assign_tiers(r.scored["churn_probability"].to_numpy(),
                                                            tiny_bundle.tier_cutoffs))
        rj = rej[rej["source_file"] == name].sort_values("source_row")
        assert rj["source_row"].tolist() == r.rejected["source_row"].tolist()
        assert rj["reason"].tolist() == r.rejected["reason"].tolist()
    # rows in = scored + rejected, per file and overall; the two bad rows are the rejected ones
    assert res["rows_in"] == 900 == len(got) + len(rej)
    assert res["rows_rejected"] == 2 and sorted(rej["source_row"]) == [5, 101]
    assert res["predicted_churners"] == int(got["predicted_churn"].sum())
    summary = json.loads((out / "summary.json").read_text())
    assert {f["source_file"]: f["rows_in"] for f in summary["per_file"]} == \
        {"a.csv": 300, "b.csv": 300, "c.parquet": 300}
    # the notes the local engine prints (unseen category, imputed blanks), summed over parts
    assert res["unseen_categories"] == summary["unseen_categories"] == {"Geography": {"Atlantis": 1}}
    assert {c: n for c, n in res["imputed_cells"].items() if n} == {"Balance": 1, "CreditScore": 1}
    for key in ("unseen_categories", "imputed_cells"):
        total: dict = {}
        for r in ref.values():
            _merge_counts(total, r.report[key])
        assert res[key] == total
    assert not list(tmp_path.glob(".*partial*"))


def test_glob_threshold_and_cli_with_scheduler_address(cluster, parts, models_dir, tiny_bundle,
                                                       tmp_path, capsys):
    from churn_core.cli import main

    lc, _ = cluster
    out = tmp_path / "cli_out"
    code = main(["-q", "score", "--engine", "dask", "--scheduler", lc.scheduler_address,
                 "--model", str(models_dir / "tiny"), "--data", str(parts / "*.csv"),
                 "--out", str(out), "--threshold", "0.3", "--format", "csv"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "600 rows in = 599 scored + 1 rejected" in printed
    assert "column 'Geography' has values not seen in training" in printed and "'Atlantis' (1)" in printed
    got = _read_parts(out / "scores", "csv")
    assert set(got["source_file"]) == {"a.csv", "b.csv"}
    np.testing.assert_array_equal(got["predicted_churn"], (got["churn_probability"] >= 0.3).astype(int))


def test_user_errors(cluster, parts, models_dir, tmp_path):
    _, client = cluster
    with pytest.raises(DataFileError, match="no CSV or Parquet files"):
        score_parts(models_dir / "tiny", tmp_path / "nothing*.csv", tmp_path / "o1", client=client)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep me")
    with pytest.raises(DataFileError, match="not empty"):
        score_parts(models_dir / "tiny", parts, busy, client=client)
    assert (busy / "x.txt").read_text() == "keep me"
    with pytest.raises(DataFileError) as err:
        score_parts(models_dir / "tiny", parts, tmp_path / "out" / "scored.csv", client=client)
    assert str(err.value) == (f"--out {tmp_path / 'out' / 'scored.csv'}: the Dask engine writes a "
                              "folder (scores/, rejected/, summary.json), not one file; name a "
                              f"folder, e.g. --out {tmp_path / 'out' / 'scored'}/")
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "bad_parts"
    bad.mkdir()
    (bad / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataFileError, match="broken.parquet"):
        score_parts(models_dir / "tiny", bad, tmp_path / "o2", client=client)
    assert not (tmp_path / "o2").exists() and not list(tmp_path.glob(".o2.partial*"))


@pytest.mark.slow  # a Dask cluster of worker processes started by the CLI: 10-30 s on 2 shared cores
def test_cli_dask_worker_processes_print_no_tensorflow_log_lines(parts, models_dir, tmp_path):
    """Worker processes import TensorFlow themselves: its start-up lines (oneDNN, CUDA) are
    filtered there too, so the analyst sees the summary and nothing else."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    run = subprocess.run([sys.executable, "-m", "churn_core", "-q", "score", "--engine", "dask",
                          "--workers", "1", "--model", str(models_dir / "tiny"),
                          "--data", str(parts / "*.csv"), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "600 rows in = 599 scored + 1 rejected" in run.stdout
    noise = [line for line in run.stderr.splitlines()
             if any(k in line for k in ("oneDNN", "cuda", "absl::InitializeLog", "cuInit"))]
    assert not noise, noise


@pytest.fixture(scope="module")
def big_files(sample_frame, tmp_path_factory):
    """One CSV (a title line, a quoted surname holding a line break, a bad row) and one
    Parquet file (row groups of 100 rows, a bad row), 1,200 customers each."""
    df = sample_frame.drop(columns=["Exited"]).head(1200).astype(str).reset_index(drop=True)
    df.loc[10, "Surname"] = 'Smith\n"Jr"'   # quoted, with a line break: never cut there
    df.loc[700, "Age"] = "old"              # rejected
    folder = tmp_path_factory.mktemp("big")
    csv = folder / "big.csv"
    csv.write_text("Customer extract 2026-12-05\n" + df.to_csv(index=False), encoding="utf-8")
    pq_path = folder / "big.parquet"
    df.to_parquet(pq_path, index=False, row_group_size=100)
    return csv, pq_path


@pytest.mark.parametrize("which", [0, 1], ids=["csv-byte-ranges", "parquet-row-groups"])
def test_one_big_file_is_split_and_scores_equal_single_machine(cluster, big_files, models_dir,
                                                              tiny_bundle, tmp_path, which):
    from churn_core.campaign.dask_scoring import plan_partitions

    _, client = cluster
    path = big_files[which]
    blocksize = 8_000 if which == 0 else 1  # CSV: ~60 rows per range; Parquet: one row group each
    specs = plan_partitions([path], blocksize)
    assert len(specs) >= 10 and {s["kind"] for s in specs} == {"csv" if which == 0 else "parquet"}
    out = tmp_path / "scored"
    res = score_parts(models_dir / "tiny", path, out, client=client, blocksize=blocksize)
    assert res["partitions"] == len(specs) and res["parts"] == 1
    ref = score_frame(tiny_bundle, read_table(path)[0])
    got = _read_parts(out / "scores", "parquet").sort_values("source_row")
    rej = _read_parts(out / "rejected", "parquet")
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()
    np.testing.assert_allclose(got["churn_probability"].to_numpy(), ref.scored["churn_probability"].to_numpy(),
                               rtol=0, atol=1e-6)  # float32 model, other batch shapes
    assert got["Surname"].astype(str).tolist() == ref.scored["Surname"].astype(str).tolist()
    assert rej["source_row"].tolist() == ref.rejected["source_row"].tolist() == \
        ([703] if which == 0 else [701])  # title row + header; a quoted line break stays in its row
    assert res["rows_in"] == 1200 == len(got) + len(rej)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["per_file"] == [{"source_file": path.name, "rows_in": 1200, "rows_scored": 1199,
                                    "rows_rejected": 1, "predicted_churners": res["predicted_churners"]}]


@pytest.mark.slow
def test_readme_remote_scheduler_and_worker_on_localhost(parts, models_dir, tmp_path):
    """The README's two-terminal example on 127.0.0.1: the project installed with
    ``pip install -e .`` into a fresh virtual environment (no PYTHONPATH), a ``dask scheduler``
    and a ``dask worker`` started from another folder, and the ``churn`` command."""
    import os
    import site
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    inner = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    # the libraries of the running environment, not the project
    Path(inner, "_base.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(root)],
                   check=True, env=env, cwd=tmp_path, timeout=300, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(py), "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        procs.append(subprocess.Popen([str(py), "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
                                       "--nthreads", "1", "--no-dashboard"], cwd=tmp_path, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        run = subprocess.run([str(venv / "bin" / "churn"), "-q", "score", "--engine", "dask", "--scheduler",
                              address, "--model", str(models_dir / "tiny"), "--data", str(parts),
                              "--out", str(tmp_path / "scored")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "900 rows in = 898 scored + 2 rejected" in run.stdout
    summary = json.loads((tmp_path / "scored" / "summary.json").read_text())
    assert summary["rows_in"] == 900 and summary["parts"] == 3


@pytest.mark.slow  # starts a local cluster of 2 forked worker processes: 2-10 s on 2 shared cores
def test_local_cluster_of_forked_workers_splits_one_file_evenly(big_files, models_dir, tiny_bundle,
                                                                 tmp_path):
    """The path of ``score --engine dask`` on one big file: the client plans the ranges (an
    even number for 2 workers), scores a few rows itself before forking the workers (warm-up,
    nothing of it left on disk) and the workers' parts equal the single-machine scores."""
    path = big_files[0]
    out = tmp_path / "scored"
    res = score_parts(models_dir / "tiny", path, out, n_workers=2, blocksize=8_000)
    assert res["partitions"] >= 10 and res["partitions"] % 2 == 0
    ref = score_frame(tiny_bundle, read_table(path)[0])
    got = _read_parts(out / "scores", "parquet").sort_values("source_row")
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()
    np.testing.assert_allclose(got["churn_probability"].to_numpy(), ref.scored["churn_probability"].to_numpy(),
                               rtol=0, atol=1e-6)
    assert _read_parts(out / "rejected", "parquet")["source_row"].tolist() == [703]
    assert sorted(p.name for p in out.iterdir()) == ["rejected", "scores", "summary.json"]
    assert len(list((out / "scores").iterdir())) == res["partitions"]
    assert list(tmp_path.iterdir()) == [out]  # no partial folder, no warm-up output


def test_duplicate_ids_are_counted_across_partitions_as_the_local_engine(cluster, sample_frame,
                                                                         models_dir, tiny_bundle,
                                                                         tmp_path):
    """A customer in the first and the last range of a split file (and a pair inside one range):
    the Dask run counts 4 rows sharing a CustomerId, as ``score_file``; each range alone saw 2."""
    from churn_core.campaign.scoring import score_file

    _, client = cluster
    df = sample_frame.drop(columns=["Exited"]).head(1200).astype(str).reset_index(drop=True)
    df.loc[1150, "CustomerId"] = df.loc[5, "CustomerId"]   # far apart: other ranges
    df.loc[8, "CustomerId"] = df.loc[7, "CustomerId"]      # neighbours: the same range
    path = tmp_path / "dups.csv"
    df.to_csv(path, index=False)
    res = score_parts(models_dir / "tiny", path, tmp_path / "scored", client=client, blocksize=8_000)
    assert res["partitions"] >= 10
    local = score_file(tiny_bundle, path, tmp_path / "local.csv", chunksize=300, drift=False)
    assert res["duplicate_ids"] == local["duplicate_ids"] == {"CustomerId": 4}
    summary = json.loads((tmp_path / "scored" / "summary.json").read_text())
    assert summary["duplicate_ids"] == {"CustomerId": 4}
    # no duplicate: no entry (RowNumber is unique)
    clean = tmp_path / "clean.csv"
    sample_frame.drop(columns=["Exited"]).head(600).to_csv(clean, index=False)
    assert score_parts(models_dir / "tiny", clean, tmp_path / "scored2", client=client,
                       blocksize=8_000)["duplicate_ids"] == {}


def test_one_big_file_with_cut_off_rows_rejects_them_as_the_local_engine(cluster, sample_frame, models_dir,
                                                                        tiny_bundle, tmp_path):
    """A cut-off and an over-long record far into a split file: those rows are rejected with
    the local engine's reasons; the run does not stop."""
    _, client = cluster
    lines = sample_frame.drop(columns=["Exited"]).head(1200).astype(str).to_csv(index=False).splitlines()
    lines[900] = ",".join(lines[900].split(",")[:5])
    lines[1000] = lines[1000] + ",extra"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "scored"
    res = score_parts(models_dir / "tiny", path, out, client=client, blocksize=8_000)
    ref = score_frame(tiny_bundle, read_table(path)[0])
    assert res["partitions"] >= 10
    assert (res["rows_in"], res["rows_scored"], res["rows_rejected"]) == \
        (1200, len(ref.scored), len(ref.rejected)) == (1200, 1198, 2)
    rej = _read_parts(out / "rejected", "parquet").sort_values("source_row")
    assert rej["source_row"].tolist() == ref.rejected["source_row"].tolist() == [901, 1001]
    assert rej["reason"].tolist() == ref.rejected["reason"].tolist()
    got = _read_parts(out / "scores", "parquet").sort_values("source_row")
    assert got["source_row"].tolist() == ref.scored["source_row"].tolist()


@pytest.mark.slow  # a local cluster of worker processes started by the CLI
def test_cli_dask_unreadable_file_is_one_line(models_dir, tmp_path):
    """An unreadable part stops the run with the file named in one line: no worker log."""
    import subprocess
    import sys

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    run = subprocess.run([sys.executable, "-m", "churn_core", "-q", "score", "--engine", "dask",
                          "--workers", "1", "--model", str(models_dir / "tiny"), "--data", str(bad),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: broken.parquet: cannot be read as Parquet"), lines
    assert not (tmp_path / "out").exists()
