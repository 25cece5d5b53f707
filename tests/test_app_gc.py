"""The app keeps imported modules out of Streamlit's garbage collection after every run.

Streamlit collects all generations after every script run of every session, fragment reruns
(a slider move) included. ``pages._gc.freeze_imported_modules`` (called by ``app.py`` at the
end of each run) moves the objects that exist when new modules were imported into the
garbage collector's permanent generation, after one collection so that no garbage is frozen.
"""
from __future__ import annotations

import gc
import sys
import types
import weakref

import pytest
from apptest_util import app_models, assert_no_exception, new_app  # noqa: F401

from pages import _gc as _ui


@pytest.fixture
def unfrozen():
    """No object frozen and no import counted before the test; the same again afterwards."""
    gc.unfreeze()
    _ui._FROZEN_MODULES[0] = 0
    yield
    gc.unfreeze()
    _ui._FROZEN_MODULES[0] = 0


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the garbage collector frees it


def test_freezes_once_per_new_import_and_never_freezes_garbage(unfrozen):
    _ui.freeze_imported_modules()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the objects of every module imported so far

    made_since = [[] for _ in range(1000)]  # objects a session creates: left to collections
    _ui.freeze_imported_modules()  # nothing imported since: nothing more is frozen
    assert gc.get_freeze_count() == frozen
    assert len(made_since) == 1000

    cycle = _Node()
    gone = weakref.ref(cycle)
    del cycle  # garbage, but kept alive by its own cycle until a collection
    sys.modules["_fake_module_for_test_app_gc"] = types.ModuleType("_fake")
    try:
        _ui.freeze_imported_modules()  # a new module: collect, then freeze
    finally:
        del sys.modules["_fake_module_for_test_app_gc"]
    assert gc.get_freeze_count() > frozen
    assert gone() is None  # the cycle was collected, not frozen


@pytest.mark.slow
def test_a_run_of_the_app_freezes_its_imports(app_models, unfrozen):  # noqa: F811
    at = new_app()
    at.run()
    assert_no_exception(at)
    assert gc.get_freeze_count() > 10_000
    assert _ui._FROZEN_MODULES[0] > 0  # the number of modules when it froze
