"""The app's process and Python's garbage collector (used by ``app.py`` after every run)."""
from __future__ import annotations

import gc
import sys

_FROZEN_MODULES = [0]  # len(sys.modules) at the last gc.freeze()


def freeze_imported_modules() -> None:
    """Keep the objects of newly imported modules out of every later garbage collection.

    Streamlit runs a full collection (``gc.collect(2)``) after every run of every session,
    fragment reruns included (config option ``runner.postScriptGC``). With pandas, plotly,
    scikit-learn and the workbench imported, that walk took 0.09 of the 0.12 CPU-s a slider
    move costs the server, holding the interpreter lock the other sessions wait for. Frozen
    objects (Python docs, ``gc.freeze``: "ignore them in all the future collections") are
    skipped, so the collection after a run only walks what sessions created: it still frees
    their garbage. Called at the end of each run of ``app.py``; it freezes only when modules
    were imported since the last call (the first visit of a page), after one collection so
    that no garbage is frozen.
    """
    n = len(sys.modules)
    if n != _FROZEN_MODULES[0]:
        gc.collect()
        gc.freeze()
        _FROZEN_MODULES[0] = n
