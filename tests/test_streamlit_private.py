"""The private Streamlit APIs pages/_ui.py relies on still exist with the shape it uses.

Each is used because no public API does the job (the reasons are in pages/_ui.py); this test
fails when a Streamlit upgrade moves or changes one, instead of the app failing in use.
"""
from __future__ import annotations

import inspect

import streamlit


def test_pages_manager_flag_for_the_legacy_pages_folder():
    from streamlit.runtime.pages_manager import PagesManager

    assert isinstance(PagesManager.uses_pages_directory, (bool, type(None)))


def test_rerun_exception_carries_the_target_page():
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

    exc = RerunException(RerunData(page_script_hash="abc"))
    assert exc.rerun_data.page_script_hash == "abc"


def test_script_run_context_names_the_current_page():
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    assert get_script_run_ctx(suppress_warning=True) is None  # outside a script run
    assert isinstance(inspect.getattr_static(ScriptRunContext, "page_script_hash"), property)
    assert streamlit.__version__.split(".")[0] == "1"
