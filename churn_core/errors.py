"""Errors shown to users. Every message names the file, the column and the line when known."""
from __future__ import annotations


class ChurnError(ValueError):
    """Base class for problems with the user's input that the app shows as a message."""


class DataFileError(ChurnError):
    """A file cannot be read as a customer table (encoding, delimiter, format, size)."""


class SchemaError(ChurnError):
    """The column roles cannot work (no target, contradictory overrides...)."""


class MissingColumnsError(SchemaError):
    """Required columns are absent; ``missing`` lists all of them."""

    def __init__(self, missing: list[str], source: str | None = None):
        self.missing = list(missing)
        where = f" in {source}" if source else ""
        super().__init__(
            f"{len(self.missing)} required column(s) missing{where}: {', '.join(self.missing)}"
        )


class TrainingDataError(ChurnError):
    """The data cannot train a model (one class, too few rows, constant columns...)."""


class BundleError(ChurnError):
    """A model bundle is missing, damaged, incompatible or outside ``models/``."""
