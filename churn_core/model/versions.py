"""Versions of the libraries a model bundle depends on, read without importing them."""
from __future__ import annotations

import platform
from importlib import metadata

#: Libraries whose versions are recorded in the card and compared on load.
VERSIONED_LIBRARIES = ("tensorflow", "keras", "numpy", "pandas", "sklearn", "shap")
#: Their installed distributions (read from package metadata: importing TensorFlow to learn
#: its version cost 5 CPU-s and 560 MB).
_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "sklearn": ("scikit-learn",)}


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a bundle depends on (nothing is imported).

    Returns
    -------
    dict of str to str
        ``"absent"`` for a library that is not installed.
    """
    out = {"python": platform.python_version()}
    for lib in VERSIONED_LIBRARIES:
        out[lib] = "absent"
        for dist in _DISTRIBUTIONS.get(lib, (lib,)):
            try:
                out[lib] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out
