"""AppTest: a new session never opens in a broken state (champion of another kind of file).

When the champion was trained on a file of another kind than the shipped sample (e.g. a
telco file, while the sample is a bank file), a fresh session at the bare URL must not show
"required column(s) missing" errors: it opens the shipped default model on the sample with a
one-line note. It never opens the champion's own training file from the upload folder: that
is another analyst's upload, reached only with its link (break-it 2.1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptest_util import app_models, assert_no_exception, new_app  # noqa: F401

from churn_core import config

pytestmark = pytest.mark.slow

NAME = "telco1"
FILE = "WA_telco_like.csv"


def _telco_like_bytes(n=400) -> bytes:
    rng = np.random.default_rng(0)
    tenure = rng.integers(0, 72, n)
    monthly = rng.uniform(20, 110, n).round(2)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    churn = np.where(rng.random(n) < 0.1 + 0.4 * (contract == "Month-to-month"), "Yes", "No")
    frame = pd.DataFrame({"customerID": [f"C{i:05d}" for i in range(n)], "tenure": tenure,
                          "MonthlyCharges": monthly, "Contract": contract, "Churn": churn})
    return frame.to_csv(index=False).encode("utf-8")


@pytest.fixture(scope="module")
def telco_champion(app_models, tiny_cfg):  # noqa: F811
    """A tiny model trained on a telco-like file, saved and made the champion."""
    import io

    from churn_core.data.infer import infer_schema
    from churn_core.model.bundle import save_bundle
    from churn_core.model.registry import set_champion
    from churn_core.model.train import train_bundle
    from churn_core.workbench.data import sha256_of

    raw = _telco_like_bytes()
    df = pd.read_csv(io.BytesIO(raw), dtype=str)
    schema = infer_schema(df, target="Churn", positive_label="Yes")
    bundle = train_bundle(df, schema, tiny_cfg, name=NAME, source_name=FILE,
                          data_sha256=sha256_of(raw))
    save_bundle(bundle, NAME, app_models)
    set_champion(NAME, app_models)
    yield raw
    (app_models / "champion.json").unlink(missing_ok=True)


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_a_champion_that_cannot_score_the_sample_is_not_opened_on_it(telco_champion):
    at = new_app()
    at.run()
    assert_no_exception(at)
    ss = at.session_state
    assert ss["active_model"] == config.DEFAULT_MODEL_NAME  # a model that fits the sample
    assert ss["active_data"] is None  # the shipped sample
    assert _errors(at) == []
    notes = [w.value for w in at.sidebar.warning]
    assert any(f"champion {NAME} was trained on other columns ({FILE}): upload such a file "
               "on the Data page" in n.replace("\\", "") for n in notes), notes
    for page in ("pages/explain.py", "pages/score_segment.py"):
        at.switch_page(page).run()
        assert_no_exception(at)
        assert not [e for e in _errors(at) if "missing" in e], page


def test_the_champions_kept_training_file_is_never_opened_without_its_link(telco_champion):
    """Break-it 2.1: analyst A's upload (the champion's training file, kept for A's reloads)
    must not open in a new browser at the bare URL; only its ``data=`` link opens it."""
    from churn_core.workbench.data import sha256_of
    from churn_core.workbench.uploads import UploadFolder

    raw = telco_champion
    sha = sha256_of(raw)
    UploadFolder().save(sha, FILE, raw)
    at = new_app()
    at.run()
    assert_no_exception(at)
    ss = at.session_state
    assert ss["active_model"] == config.DEFAULT_MODEL_NAME
    assert ss["active_data"] is None  # the shipped sample, not A's customers
    assert "data" not in at.query_params
    assert [s.value for s in at.sidebar.text][1] == config.SAMPLE_CSV.name
    assert not any(FILE in s.value for s in at.sidebar.text)
    notes = [w.value.replace("\\", "") for w in at.sidebar.warning]
    assert any(f"The champion {NAME} was trained on other columns ({FILE})" in n
               for n in notes), notes
    assert _errors(at) == []

    linked = new_app()  # A's own reload (the link carries the file's SHA-256) still works
    linked.query_params["data"] = sha
    linked.query_params["model"] = NAME
    linked.run()
    assert_no_exception(linked)
    assert linked.session_state["active_model"] == NAME
    assert linked.session_state["active_data"].sha256 == sha
    assert len(linked.session_state["active_data"].frame) == 400


def test_a_links_missing_model_and_the_model_shown_are_named_once(telco_champion):
    """Break-it s7 10b: ``/?model=nonexistent`` said "showing telco1" and then "Showing
    default on the sample": the first note no longer names a model that is not shown."""
    at = new_app()
    at.query_params["model"] = "nonexistent"
    at.run()
    assert_no_exception(at)
    assert at.session_state["active_model"] == config.DEFAULT_MODEL_NAME
    notes = [w.value.replace("\\", "") for w in at.sidebar.warning]
    assert "The model 'nonexistent' of this link no longer exists." in notes, notes
    assert not any(f"showing {NAME}" in n for n in notes), notes
    assert sum("Showing default on" in n for n in notes) == 1, notes


def test_a_model_deleted_in_another_tab_is_replaced_on_the_next_page(app_models):  # noqa: F811
    """Break-it s7 1: every page said "no model named 'mine'" after another tab deleted it."""
    import shutil

    shutil.copytree(app_models / config.DEFAULT_MODEL_NAME, app_models / "mine")
    at = new_app()
    at.run()
    at.session_state["active_model"] = "mine"
    at.switch_page("pages/performance.py").run()
    assert_no_exception(at)
    assert at.session_state["active_model"] == "mine" and _errors(at) == []
    shutil.rmtree(app_models / "mine")  # the other tab's "Yes, delete it"
    at.switch_page("pages/score_segment.py").run()
    assert_no_exception(at)
    assert at.session_state["active_model"] == config.DEFAULT_MODEL_NAME
    assert _errors(at) == []
    notes = [w.value.replace("\\", "") for w in at.sidebar.warning]
    assert any(n.startswith("The model 'mine' was deleted") and "showing default" in n
               for n in notes), notes
