"""The active model measured on the active file, and whether it was trained on other data.

Every quality figure on screen says which model, measured on which customers: the model's
own test split (recorded at training) or the analyst's labelled file
(:func:`churn_core.model.measure.measure_frame`, the function behind
``python -m churn_core evaluate --model M --data F``, so the app and the CLI agree).
"""
from __future__ import annotations

from dataclasses import dataclass

from churn_core.workbench.data import ActiveData


def model_label(bundle_or_card) -> str:
    """A model's name as shown everywhere: ``"default (synthetic)"`` for a synthetic model.

    Parameters
    ----------
    bundle_or_card : ModelBundle or dict
        A bundle (its ``name`` and ``card``) or a card (its ``name``).

    Returns
    -------
    str
    """
    from churn_core.model.registry import is_synthetic

    card = bundle_or_card if isinstance(bundle_or_card, dict) else \
        (getattr(bundle_or_card, "card", None) or {})
    name = card.get("name") if isinstance(bundle_or_card, dict) else \
        getattr(bundle_or_card, "name", card.get("name"))
    return f"{name} (synthetic)" if is_synthetic(card) else str(name)


def trained_on_text(card: dict) -> str:
    """``"sample_customers.csv (synthetic)"``: the file a model was trained on."""
    from churn_core.model.registry import is_synthetic

    src = card.get("source") or "an unnamed file"
    return f"{src} (synthetic)" if is_synthetic(card) else str(src)


@dataclass
class ModelOnFile:
    """The active model seen from the active file.

    Attributes
    ----------
    model : str
        Model label (:func:`model_label`).
    trained_on : str
        Training file as text (:func:`trained_on_text`).
    data_name : str
        The active file's name.
    other_data : bool
        The active file is not the model's training file (different SHA-256).
    synthetic : bool
        The model was trained on the shipped synthetic sample.
    measure : FileMeasure or None
        Quality on the file's own labels (None when the file has no usable labels).
    error : str or None
        Why the file could not be measured (e.g. its labels are all blank).
    test_roc_auc, test_pr_auc : float or None
        The model's own test-split figures (from its card).
    test_n : int or None
        Test customers behind those figures.
    cannot_train : str or None
        Why this file cannot train a model (its churn column has one value only, or it has
        none), as the Data page says; None when it can.
    """

    model: str
    trained_on: str
    data_name: str
    other_data: bool
    synthetic: bool
    measure: object = None
    error: str | None = None
    test_roc_auc: float | None = None
    test_pr_auc: float | None = None
    test_n: int | None = None
    cannot_train: str | None = None

    @property
    def not_measurable(self) -> str | None:
        """Why the file's ROC-AUC / PR-AUC cannot be measured, or None when they can.

        Returns
        -------
        str or None
            ``"not measurable: every customer in this file churned (ROC-AUC needs churners
            and stayers)"`` (``"no customer in this file churned"`` for the opposite) when
            every evaluated customer has the same outcome.
        """
        m = self.measure
        if m is None or m.y is None or len(m.y) == 0:
            return None
        churned = int((m.y == 1).sum())
        if 0 < churned < len(m.y):
            return None
        who = "every customer" if churned else "no customer"
        return (f"not measurable: {who} in this file churned (ROC-AUC needs churners and "
                "stayers)")

    def notice(self, esc=str, scored: bool = False) -> str | None:
        """The "trained on other data" sentence (markdown), or None for the training file.

        Parameters
        ----------
        esc : callable, default str
            Applied to every name (file and model names come from the analyst: the page
            passes its markdown escaper).
        scored : bool, default False
            The file is one uploaded to be scored (Score & segment), not the active data:
            the sentence names it as the file being scored.
        """
        if not self.other_data:
            return None
        kind = "synthetic customers, not yours" if self.synthetic else "another file"
        what = "The file being scored" if scored else "The active data"
        advice = ("" if scored or self.cannot_train else ", or train a model on this file")
        return (f"The active model **{esc(self.model)}** was trained on other data: "
                f"{esc(self.trained_on)} ({kind}). {what} is **{esc(self.data_name)}**: check "
                f"how the model does on these customers before using its target list{advice}.")

    def summary(self, esc=str) -> str:
        """Which figure is which, in one sentence (markdown; names passed through ``esc``)."""
        own = (f"Test figures: measured on {self.test_n:,} held-out customers of "
               f"{esc(self.trained_on)}" if self.test_n else f"Test figures: from {esc(self.trained_on)}")
        if self.measure is None:
            return own + "."
        m = self.measure
        figures = (self.not_measurable or f"ROC-AUC {m.roc_auc:.3f}, PR-AUC {m.pr_auc:.3f}")
        text = (f"{own}. Measured on your file {esc(self.data_name)}: {figures} on "
                f"{m.n_evaluated:,} customers with a known outcome")
        if m.n_rejected:
            text += f" ({m.n_rejected:,} rows without a usable label or with bad cells left out)"
        return text + "."

    def overlap_warning(self, esc=str) -> str | None:
        """Says so when the file holds customers the model learned from (optimistic figures;
        markdown, names passed through ``esc``)."""
        m = self.measure
        if m is None or not m.overlaps_training:
            return None
        if m.same_file:
            return (f"{esc(self.data_name)} is the file this model was trained on: the figures on it "
                    "include customers the model learned from and are **optimistic**; the test "
                    "figures are the honest estimate.")
        return (f"{m.shared_ids:,} customers of {esc(self.data_name)} (matched on "
                f"{esc(m.id_column)}) were "
                "in this model's training data: the figures on this file are **optimistic**.")


def model_on_file(bundle, data: ActiveData, threshold: float | None = None,
                  measure: bool = True) -> ModelOnFile:
    """Describe ``bundle`` against ``data``; measure it on the file's labels when it has them.

    Parameters
    ----------
    bundle : ModelBundle
    data : ActiveData
    threshold : float in [0, 1], optional
        Decision threshold of the metrics at a threshold (default: the bundle's).
    measure : bool, default True
        False: only the description (the "trained on other data" notice of Explain and Score
        & segment), without scoring the file's labels (and without importing scikit-learn:
        about 1 s of a server's first Explain visit).

    Returns
    -------
    ModelOnFile
        ``measure`` equals ``python -m churn_core evaluate --model M --data F`` (same
        function, same rows, same labels); with a file whose target column has another name
        or churn value than the model's, the file's own target and churn value are used.
    """
    from churn_core.errors import ChurnError
    from churn_core.model.measure import measure_frame
    from churn_core.model.registry import is_synthetic

    card = getattr(bundle, "card", None) or {}
    test = (getattr(bundle, "metrics", None) or {}).get("test") or {}
    out = ModelOnFile(model=model_label(bundle), trained_on=trained_on_text(card),
                      data_name=data.name,
                      other_data=data.sha256 != card.get("data_sha256"),
                      synthetic=is_synthetic(card),
                      test_roc_auc=card.get("test_roc_auc", test.get("roc_auc")),
                      test_pr_auc=card.get("test_pr_auc", test.get("pr_auc")),
                      test_n=test.get("n") or (card.get("split_sizes") or {}).get("test"),
                      cannot_train=cannot_train(data))
    if not measure or not data.has_labels or bundle.schema.target is None:
        return out
    frame, positive = _frame_for_model(bundle, data)
    try:
        out.measure = measure_frame(bundle, frame, data.name, threshold=threshold,
                                    positive_label=positive, data_sha256=data.sha256)
    except ChurnError as exc:
        out.error = str(exc)
    return out


def cannot_train(data: ActiveData) -> str | None:
    """Why ``data`` cannot train a model, in the Data page's words, or None when it can.

    Parameters
    ----------
    data : ActiveData

    Returns
    -------
    str or None
        E.g. ``"Exited has one value only (1) in this file: training needs both churners
        and stayers"``; None when the churn column has two or more values.
    """
    from churn_core.data.infer import target_values

    target = data.schema.target
    if not target or target not in data.frame.columns:
        return "it has no churn column (training needs one)"
    values = target_values(data.frame[target])
    if len(values) >= 2:
        return None
    held = f"one value only ({values[0]})" if values else "no value"
    return f"{target} has {held} in this file: training needs both churners and stayers"


def _frame_for_model(bundle, data: ActiveData):
    """The file's frame with its target under the model's target name, and the churn value
    to pass (None when it is the model's own)."""
    mt, mp = bundle.schema.target, bundle.schema.positive_label
    dt, dp = data.schema.target, data.schema.positive_label
    frame = data.frame
    if dt is not None and str(dt).strip().casefold() != str(mt).strip().casefold():
        frame = frame.drop(columns=[c for c in frame.columns
                                    if str(c).strip().casefold() == str(mt).strip().casefold()])
        frame = frame.rename(columns={dt: mt})
        frame.attrs.update(data.frame.attrs)
    same = dp is not None and mp is not None and str(dp).casefold() == str(mp).casefold()
    return frame, (None if same or dp is None else dp)


def outside_range_notes(report: dict) -> list[str]:
    """One sentence per column with values outside the training file's range: how many
    customers, which (IDs, else lines) and what the range was.

    Parameters
    ----------
    report : dict
        A scoring report (``ScoreResult.report`` / ``Scores.report``).

    Returns
    -------
    list of str
        Empty when every value lies within the range (e.g. the model's own training file).
    """
    from churn_core.model.ranges import describe

    detail = (report or {}).get("outside_training_range_detail")
    if detail:
        return describe(detail)
    counts = {c: n for c, n in ((report or {}).get("outside_training_range") or {}).items() if n}
    return [f"{c}: {n} customers outside the training range" for c, n in sorted(counts.items())]


__all__ = ["ModelOnFile", "outside_range_notes", "model_label", "model_on_file", "trained_on_text"]


def blank_feature_notes(bundle, scores, share: float = 0.95) -> list[str]:
    """One sentence per model feature blank in (nearly) every scored row of a file.

    Such a column is filled with the training median (numeric) or most frequent value
    (categorical) for every customer, so the scores ignore it. Uses the imputed-cell counts
    of the score report (``report["imputed_cells"]``, :func:`campaign.scoring.score_frame`).

    Parameters
    ----------
    bundle : ModelBundle
    scores : Scores
    share : float in [0, 1], default 0.95
        Smallest share of blank scored rows that triggers a note.

    Returns
    -------
    list of str
        Empty when no feature reaches ``share`` (or nothing was scored).
    """
    n = len(scores.scored)
    imputed = (scores.report or {}).get("imputed_cells") or {}
    if not n:
        return []
    numeric = set(bundle.schema.numeric)
    out = []
    for col, blank in imputed.items():
        if blank and blank / n >= share:
            how = "training median" if col in numeric else "most frequent training value"
            out.append(f"{col} is blank in {blank:,} of {n:,} scored customers: it was filled "
                       f"with the {how} for every customer, so the scores ignore it")
    return out
