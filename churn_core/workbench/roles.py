"""The column-role form of the Data page, as pure functions: no choice can trap the analyst.

Whatever the analyst picks (a target, ID / personal / excluded / numeric / categorical
lists), :func:`resolve_roles` turns it into overrides that :func:`churn_core.workbench.data.
apply_schema` accepts: the target is taken out of every other list, and a column picked for
two roles keeps the first in :data:`ROLE_ORDER` (with a note saying so).
"""
from __future__ import annotations

#: Role lists in precedence order: a column picked twice keeps the earlier role.
ROLE_ORDER = ("id_columns", "personal_columns", "excluded", "numeric", "categorical")
ROLE_WORDS = {"id_columns": "customer ID", "personal_columns": "personal data",
              "excluded": "excluded", "numeric": "numeric feature",
              "categorical": "categorical feature"}


def target_labels(data, column: str | None) -> list[str]:
    """The labels of ``column`` in ``data`` (summary rows left out), most frequent first.

    Parameters
    ----------
    data : ActiveData
    column : str or None

    Returns
    -------
    list of str
        Empty for None or a column not in the file.
    """
    from churn_core.data.infer import column_labels

    if column is None or column not in data.frame.columns:
        return []
    return [str(v) for v in column_labels(data.frame, column)]


def suggested_label(data, column: str | None) -> str | None:
    """The churned value to preselect for ``column``: the schema's when ``column`` is the
    inferred target, else :func:`churn_core.data.infer.suggest_positive_label`."""
    from churn_core.data.infer import suggest_positive_label

    values = target_labels(data, column)
    if column == data.schema.target and data.schema.positive_label in values:
        return data.schema.positive_label
    return suggest_positive_label(values) if values else None


def other_labels_warning(data, column: str | None, positive: str | None) -> str | None:
    """The warning for a target ``column`` of ``data`` holding more than two labels (which
    values count as churned, which as not churned, which rows are rejected as neither), or
    None (:func:`churn_core.data.infer.other_labels_warning`, the CLI's warning)."""
    from churn_core.data.infer import other_labels_warning as warning

    if column is None or column not in data.frame.columns:
        return None
    return warning(data.frame, column, positive)


def without_target(selection: dict, target: str | None) -> dict:
    """``selection`` (role -> list of columns) with ``target`` removed from every list."""
    return {role: [c for c in (cols or []) if c != target] for role, cols in selection.items()}


def resolve_roles(target: str | None, positive: str | None, selection: dict,
                  labels: list[str] | None = None) -> tuple[dict, list[str]]:
    """Overrides for ``apply_schema`` from the form's choices, free of contradictions.

    Parameters
    ----------
    target : str or None
        The chosen target column (None: the file has no churn column, scoring only).
    positive : str or None
        The chosen churned value; ignored when not one of ``labels``.
    selection : dict
        Role (:data:`ROLE_ORDER`) -> list of columns as picked.
    labels : list of str, optional
        The target's labels (:func:`target_labels`).

    Returns
    -------
    (dict, list of str)
        The overrides (``target``, ``positive_label``, every role list) and one note per
        change made to the analyst's choices (shown by the page).
    """
    notes = []
    clean = without_target(selection, target)
    for role, cols in selection.items():
        if target is not None and target in (cols or []):
            notes.append(f"{target} is the target, so it is not also a {ROLE_WORDS[role]} column")
    taken: dict = {}
    out = {}
    for role in ROLE_ORDER:
        keep = []
        for c in clean.get(role, []):
            if c in taken:
                notes.append(f"{c} was picked as {ROLE_WORDS[taken[c]]} and as "
                             f"{ROLE_WORDS[role]}: kept as {ROLE_WORDS[taken[c]]}")
                continue
            taken[c] = role
            keep.append(c)
        out[role] = keep
    labels = labels or []
    pos = positive if positive in labels else None
    return {"target": target, "positive_label": pos, **out}, notes


def apply_roles(data, target, positive, selection: dict):
    """Apply the form's choices to ``data``; never raises for a combination of choices.

    Returns
    -------
    (ActiveData, list of str)
        The data with its new schema and the notes of :func:`resolve_roles`. Should the
        engine still refuse the roles (``ChurnError``), the forced feature lists are dropped
        (types inferred again) and a note says so.
    """
    from churn_core.errors import ChurnError
    from churn_core.workbench.data import apply_schema

    overrides, notes = resolve_roles(target, positive, selection, target_labels(data, target))
    try:
        return apply_schema(data, overrides), notes
    except ChurnError as exc:
        relaxed = {**overrides, "numeric": None, "categorical": None}
        notes.append(f"the chosen feature types could not be used ({exc}); types were "
                     "inferred from the values instead")
        return apply_schema(data, relaxed), notes
