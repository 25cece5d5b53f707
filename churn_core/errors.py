"""Errors shown to users. Every message names the file, the column and the row (as a
spreadsheet numbers it) when known."""
from __future__ import annotations


#: How much of a cell a message quotes (a 100 kB cell is not echoed whole).
SHOWN_CHARS = 80


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """``repr`` of a cell (or name) for a message, cut to ``limit`` characters with its length."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 1]}...' ({len(str(value)):,} characters)"


class ChurnError(ValueError):
    """Base class for problems with the user's input that the app shows as a message."""


class DataFileError(ChurnError):
    """A file cannot be read as a customer table (encoding, delimiter, format, size)."""


class SchemaError(ChurnError):
    """The column roles cannot work (no target, contradictory overrides...)."""


class MissingColumnsError(SchemaError):
    """Required columns are absent; ``missing`` lists all of them."""

    def __init__(self, missing: list[str], source: str | None = None, found: list | None = None):
        self.missing = list(missing)
        where = f" in {source}" if source else ""
        seen = ""
        if found is not None:  # what the file does have: a title line read as the header shows here
            names = [str(c) for c in found if str(c) not in ("source_row", "__parse_error__")]
            seen = (f"; the file's {len(names)} column(s): {', '.join(shown(n) for n in names[:8])}"
                    f"{', ...' if len(names) > 8 else ''}")
            if len(names) <= 2:
                seen += " (is the header on the first line, and is the delimiter right?)"
        super().__init__(
            f"{len(self.missing)} required column(s) missing{where}: {', '.join(self.missing)}{seen}"
        )


class TrainingDataError(ChurnError):
    """The data cannot train a model (one class, too few rows, constant columns...)."""


class BundleError(ChurnError):
    """A model bundle is missing, damaged, incompatible or outside ``models/``."""


class WriteError(ChurnError):
    """An output file cannot be written (disk full, no permission); nothing partial is left."""
