"""The feature schema: which columns are the target, IDs, personal data and features.

The schema is a small dataclass saved as ``schema.json`` inside every model bundle. It is
inferred from a table by :func:`infer_schema` (see ``churn_core/infer.py``) and every part can
be overridden by the caller.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA_VERSION = 1


@dataclass
class FeatureSchema:
    """Roles of the columns of a customer table.

    Parameters
    ----------
    target : str or None
        Column holding the churn label; ``None`` for files to score.
    positive_label : str or None
        The target value (as text, e.g. ``"1"``, ``"Yes"``, ``"Attrited Customer"``) that
        means *churned*. Always stated, never guessed from alphabetical order.
    numeric : list of str
        Feature columns treated as numbers (blanks become missing and are imputed).
    categorical : list of str
        Feature columns treated as categories (one-hot encoded).
    id_columns : list of str
        Customer identifiers: kept in every output, never features.
    personal_columns : list of str
        Personal data (surname, e-mail, phone...): kept for output, never features.
    excluded : list of str
        Columns ignored as features for any other reason (passed through to outputs).
    negative_label : str or None
        The other target value, when known (documentation only).
    reasons : dict of str to str
        Why each excluded column is excluded (e.g. ``"constant: every value is '1'"``).
    """

    target: str | None = None
    positive_label: str | None = None
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    negative_label: str | None = None
    version: int = SCHEMA_VERSION
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Feature columns in model order: numeric first, then categorical."""
        return [*self.numeric, *self.categorical]

    @property
    def passthrough(self) -> list[str]:
        """Columns carried into outputs beside the score (IDs, then personal columns)."""
        return [*self.id_columns, *self.personal_columns]

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSchema":
        """Build a schema from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            If a feature is listed twice or is also the target, or the version is newer
            than this code understands.
        """
        known = {f for f in cls.__dataclass_fields__}
        schema = cls(**{k: v for k, v in data.items() if k in known})
        schema.check()
        return schema

    def check(self) -> None:
        """Raise ``ValueError`` when the roles contradict each other."""
        if self.version > SCHEMA_VERSION:
            raise ValueError(f"schema version {self.version} is newer than this code ({SCHEMA_VERSION})")
        feats = self.features
        dupes = sorted({c for c in feats if feats.count(c) > 1})
        if dupes:
            raise ValueError(f"columns listed as both numeric and categorical: {dupes}")
        if self.target is not None and self.target in feats:
            raise ValueError(f"the target column {self.target!r} cannot also be a feature")
        clash = sorted(set(feats) & set(self.id_columns + self.personal_columns))
        if clash:
            raise ValueError(f"ID or personal columns cannot be features: {clash}")

    def save(self, path: str | Path) -> None:
        """Write the schema as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "FeatureSchema":
        """Read a schema written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
