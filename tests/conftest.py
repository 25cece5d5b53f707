"""Shared session fixtures: paths, the synthetic sample and ONE tiny trained bundle.

Other test modules import nothing from here; they just name the fixtures:

* ``bank_csv`` / ``telco_csv`` / ``orange_csv`` - paths of the real public files (skip when absent);
* ``sample_frame`` - 3,000 synthetic bank customers as generated (typed columns);
* ``sample_csv`` - the same rows written to a CSV in a temporary folder;
* ``sample_df`` - that CSV read back with :func:`churn_core.io.reader.read_table` (text cells,
  ``source_row`` index), i.e. exactly what the app and CLI work with;
* ``sample_schema`` - :func:`churn_core.data.infer.infer_schema` of ``sample_df`` (target Exited);
* ``tiny_cfg`` - the tiny :class:`TrainConfig` used for the shared bundle;
* ``trained_bundle`` - the bundle as returned by ``train_bundle`` (in memory);
* ``models_dir`` - a temporary models folder holding that bundle saved as ``tiny``;
* ``tiny_bundle`` - the bundle loaded back from ``models_dir`` with ``load_bundle``;
* ``bank_models_dir`` - a temporary models folder holding ``bank``, the tiny recipe trained
  on the real bank file (skips when it is absent).

Treat them as read-only (copy before changing).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from churn_core import config

SAMPLE_ROWS = 3_000
SAMPLE_SEED = 7
TINY_BUNDLE_NAME = "tiny"


def _require(path):
    if not config.SHARED_DATA_DIR.is_dir():
        pytest.skip(f"real data folder {config.SHARED_DATA_DIR} is absent")
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def bank_csv():
    """Path of ``Churn_Modelling.csv`` (skips when ../shared/data is absent)."""
    return _require(config.BANK_CSV)


@pytest.fixture(scope="session")
def telco_csv():
    """Path of the telco churn CSV (skips when ../shared/data is absent)."""
    return _require(config.TELCO_CSV)


@pytest.fixture(scope="session")
def orange_csv():
    """Path of ``Orange_Telecom_Churn.csv`` (skips when ../shared/data is absent)."""
    return _require(config.ORANGE_CSV)


@pytest.fixture(scope="session")
def sample_frame():
    """3,000 synthetic bank customers (``make_bank_customers``, fixed seed), typed columns."""
    from churn_core.data.synthetic import make_bank_customers

    return make_bank_customers(n=SAMPLE_ROWS, seed=SAMPLE_SEED)


@pytest.fixture(scope="session")
def sample_csv(sample_frame, tmp_path_factory):
    """The sample frame written to ``<tmp>/sample_customers.csv``."""
    path = tmp_path_factory.mktemp("sample") / "sample_customers.csv"
    sample_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def sample_df(sample_csv):
    """``sample_csv`` as read by ``read_table`` (text cells, ``source_row`` index)."""
    from churn_core.io.reader import read_table

    df, _ = read_table(sample_csv)
    return df


@pytest.fixture(scope="session")
def sample_schema(sample_df):
    """Inferred schema of the sample (target ``Exited``, positive label ``"1"``)."""
    from churn_core.data.infer import infer_schema

    return infer_schema(sample_df, target="Exited", positive_label="1")


@pytest.fixture(scope="session")
def tiny_cfg():
    """Small, fast hyperparameters (a few seconds of training on 3,000 rows)."""
    from churn_core.model.network import TrainConfig

    return TrainConfig(hidden=(16, 8), max_epochs=15, patience=3, batch_size=128,
                       learning_rate=0.01, seed=0, recipe="quick")


@pytest.fixture(scope="session")
def trained_bundle(sample_df, sample_schema, tiny_cfg):
    """The shared tiny bundle, as returned by ``train_bundle`` (not reloaded)."""
    from churn_core.model.train import train_bundle

    return train_bundle(sample_df, sample_schema, tiny_cfg, name=TINY_BUNDLE_NAME,
                        source_name="sample_customers.csv")


@pytest.fixture(scope="session")
def models_dir(trained_bundle, tmp_path_factory):
    """A temporary models folder holding the tiny bundle saved as ``tiny``."""
    from churn_core.model.bundle import save_bundle

    folder = tmp_path_factory.mktemp("models")
    save_bundle(trained_bundle, TINY_BUNDLE_NAME, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bundle(models_dir):
    """The tiny bundle loaded with ``load_bundle("tiny", models_dir)``."""
    from churn_core.model.bundle import load_bundle

    return load_bundle(TINY_BUNDLE_NAME, models_dir)


@pytest.fixture(scope="session")
def bank_models_dir(bank_csv, tiny_cfg, tmp_path_factory):
    """A temporary models folder holding ``bank``: the tiny recipe trained on the real bank
    file (``Churn_Modelling.csv``, target ``Exited``); skips when the file is absent."""
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import save_bundle
    from churn_core.model.train import train_bundle

    df, _ = read_table(bank_csv)
    schema = infer_schema(df, target="Exited", positive_label="1")
    from churn_core.workbench.data import sha256_of

    bundle = train_bundle(df, schema, tiny_cfg, name="bank", source_name=bank_csv.name,
                          data_sha256=sha256_of(bank_csv))
    folder = tmp_path_factory.mktemp("bank_models")
    save_bundle(bundle, "bank", folder)
    return folder
