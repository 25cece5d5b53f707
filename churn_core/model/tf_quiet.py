"""Import TensorFlow without the start-up log lines an analyst cannot act on (command line).

TensorFlow 2.21 writes some lines while it is imported, before it applies
``TF_CPP_MIN_LOG_LEVEL``; :func:`import_tensorflow_quietly` applies the level to them.

LAZY IMPORTS: ``tensorflow`` is imported inside the functions that use it, on purpose (the one
exception to "imports at the top"): importing TensorFlow costs 4.6-5.3 CPU-s and about
560 MB in a fresh process (measured, /work/shared/REFERENCE.md), and the app's first page,
the workbench facade and ``import churn_core.workbench`` must not pay it before a model is
actually loaded, trained or run. ``tests/test_imports.py`` checks that importing
``churn_core.workbench`` does not import TensorFlow.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile

# A line TensorFlow's C++ code writes before its logging is set up, so TF_CPP_MIN_LOG_LEVEL
# does not filter it: "I0000 00:00:1796235566.861947    5590 port.cc:153] oneDNN custom ...".
_GLOG_LINE = re.compile(r"^([IWEF])\d{4} ")
_ABSL_PREINIT = "All log messages before absl::InitializeLog() is called are written to STDERR"


def drop_tf_startup_lines(text: str, level: str | None) -> str:
    """Drop the start-up log lines below ``TF_CPP_MIN_LOG_LEVEL`` (``level``) from ``text``.

    TensorFlow 2.21 writes ``I...``/``W...``/``E...`` lines (oneDNN, CUDA drivers) and absl's
    ``All log messages before absl::InitializeLog()`` notice while it is imported, before it
    applies ``TF_CPP_MIN_LOG_LEVEL``; this applies it. Every other line is kept.

    Parameters
    ----------
    text : str
        What was written to stderr during the import.
    level : str or None
        The ``TF_CPP_MIN_LOG_LEVEL`` value: 0 keeps everything (also for None or text that
        is not a number), 1 drops info lines, 2 also warnings, 3 also errors.

    Returns
    -------
    str
        ``text`` without the dropped lines.
    """
    try:
        min_level = int(level or 0)
    except ValueError:
        min_level = 0
    if min_level <= 0:
        return text
    keep = []
    for line in text.splitlines(keepends=True):
        m = _GLOG_LINE.match(line)
        if m and "IWEF".index(m.group(1)) < min_level:
            continue
        if _ABSL_PREINIT in line:
            continue
        keep.append(line)
    return "".join(keep)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up log lines filtered (see :func:`drop_tf_startup_lines`).

    Those lines are written by C++ straight to file descriptor 2, so stderr is redirected to a
    temporary file during the import and what is left after filtering is written back.
    Does nothing when TensorFlow is already imported; imports as is when file descriptor 2
    cannot be duplicated.

    Raises
    ------
    ImportError
        As ``import tensorflow`` (the captured lines are written back first).
    """
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: import as is
        import tensorflow  # noqa: F401
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            rest = drop_tf_startup_lines(tmp.read().decode("utf-8", "replace"),
                                          os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
