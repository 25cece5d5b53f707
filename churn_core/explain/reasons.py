"""Reasons a call-centre agent can act on, written as sentences with context.

From a customer's SHAP values per raw column (:mod:`churn_core.explain.shap_values`) to up
to three ``reason_1..3`` sentences such as::

    Number of products: 3 (high: 97 % of customers have fewer)
    Active member: no (like 48 % of customers)

Rules (issue 15):

* **Protected / sensitive attributes** (gender, sex, age, date of birth, nationality,
  citizenship, geography: country / region / state / province / county / city / town / zip
  or postal code / area code / address / location / latitude and longitude; ethnicity,
  race, religion, language, marital and partner status (partner, spouse, married,
  widowed, divorced, relationship status), dependents and children, senior citizen,
  disability, pregnancy, sexual orientation) are matched by the words of the column name
  (:func:`protected_columns`) and are **never** a reason unless the analyst asks
  (``include_protected``). The list is editable and saved with the model
  (:class:`ReasonSettings`).
* Reasons come from **actionable** columns. Columns the team cannot change but that are
  legitimate context (tenure, account length, income, education ...) are *non-actionable*:
  used only when no actionable column raises a customer's risk, and then marked
  ``(context, not actionable)``.
* Each column has a **business label** (editable dictionary saved with the model; default:
  the name prettified, :func:`pretty_label`).
* The value is put **in context** against reference customers (the model's training rows
  when available, else the scored file): the share of customers with a higher / lower value
  (numbers), or the share with the same value (categories).
* Columns that say the same thing (``|Pearson r| >= 0.9`` on the reference rows, e.g.
  tenure and total charges) are **grouped into one reason**: their SHAP values are summed
  (SHAP values are additive, so a group's value is its members' sum; Lundberg & Lee, 2017)
  and the sentence names the member with the largest contribution.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "PROTECTED_WORDS", "PROTECTED_SEQUENCES", "NON_ACTIONABLE_WORDS", "CORRELATION_GROUPING",
    "name_words", "pretty_label", "protected_columns", "non_actionable_columns",
    "ReasonSettings", "ReferenceProfile", "reason_sentences",
]

#: Words of a column name marking a protected / sensitive attribute (matched on whole words
#: of the name: ``Customer_Age`` and ``SeniorCitizen`` match, ``Usage`` does not; ``State``
#: and ``Zip_Code`` match, ``StatementBalance``, ``Status`` and ``Citywide_Plan`` do not).
PROTECTED_WORDS = frozenset({
    "gender", "sex", "age", "birth", "dob", "birthdate", "birthday", "nationality",
    "citizenship", "ethnicity", "ethnic", "race", "religion", "religious", "marital",
    "married", "dependents", "dependent", "senior", "disability", "disabled", "language",
    "pregnancy", "pregnant", "sexuality",
    # marital / partner status and family: a column *named* with the word ``partner``
    # (telco's ``Partner``, also ``PartnerCode``) is protected by default (whole words:
    # ``Partnership`` is not); untick it in the reason settings if it is a business partner
    "partner", "partners", "spouse", "spouses", "widowed", "divorced", "children", "child",
    "kids",
    # geography: where the customer lives
    "geography", "country", "region", "state", "province", "county", "city", "town", "zip",
    "zipcode", "postcode", "postal", "areacode", "address", "location", "latitude",
    "longitude", "lat", "lon", "lng",
    # the same written as one word
    "seniorcitizen", "dateofbirth", "yearofbirth", "maritalstatus",
})
#: Word sequences marking a protected attribute where each word alone is not one
#: (``Area code``, ``sexual_orientation``, ``Relationship_Status``; ``Total_Relationship_Count``,
#: the products a bank customer holds, is no family relationship).
PROTECTED_SEQUENCES = (("area", "code"), ("sexual", "orientation"), ("relationship", "status"),
                       ("in", "relationship"))
#: Word sequences marking a legitimate column the team cannot act on (context only): who the
#: customer is, and cumulative history (what they have paid or spent so far grows with
#: tenure; no offer changes it).
NON_ACTIONABLE_WORDS = (
    ("tenure",), ("account", "length"), ("months", "on", "book"), ("customer", "since"),
    ("education",), ("income",), ("salary",), ("credit", "score"),
    ("total", "charges"), ("total", "spend"), ("total", "paid"), ("lifetime",),
)
#: Columns whose ``|Pearson r|`` on the reference rows reaches this are one reason.
CORRELATION_GROUPING = 0.9
#: Reference values kept per numeric column (a seeded sample; shares are exact below it).
REFERENCE_SAMPLE = 20_000
#: Abbreviations spelled out in default labels.
_ABBREVIATIONS = {"ct": "count", "amt": "amount", "num": "number", "avg": "average",
                  "trans": "transactions", "chng": "change", "mon": "months", "cnt": "count",
                  "qty": "quantity", "pct": "percent", "no": "number", "nr": "number",
                  "intl": "international", "cr": "credit", "tot": "total", "mins": "minutes",
                  "cust": "customer", "serv": "service", "util": "utilisation",
                  "ratio": "ratio", "acct": "account", "yrs": "years"}
#: Version of the name rules saved with a model's reason settings. Settings saved under an
#: older version get columns that the current rules protect moved from non-actionable to
#: protected (version 2: partner status, ``Partner``, was non-actionable in version 1).
RULES_VERSION = 2
NOT_ACTIONABLE_MARK = " (context, not actionable)"
PROTECTED_MARK = " (protected attribute)"


def name_words(column: str) -> list[str]:
    """Lower-case words of a column name (``"NumOfProducts"`` -> num, of, products;
    ``"Total_Trans_Ct"`` -> total, trans, ct)."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]


def pretty_label(column: str) -> str:
    """Default business label of a column: words of the name, abbreviations spelled out,
    first letter capitalised (``"Total_Trans_Ct"`` -> ``"Total transactions count"``)."""
    words = [_ABBREVIATIONS.get(w, w) for w in name_words(column)]
    if words[:1] == ["is"] and len(words) > 1:  # IsActiveMember -> Active member
        words = words[1:]
    if words[:1] == ["has"] and len(words) > 1:  # HasCrCard -> Has cr card (kept)
        pass
    text = " ".join(words) or str(column)
    return text[:1].upper() + text[1:]


def _has_sequence(words: list[str], seq: tuple) -> bool:
    k = len(seq)
    return any(tuple(words[i:i + k]) == seq for i in range(len(words) - k + 1))


def protected_columns(columns: Sequence[str]) -> list[str]:
    """Columns whose name holds a word of :data:`PROTECTED_WORDS` or a sequence of
    :data:`PROTECTED_SEQUENCES`, in the given order.

    Parameters
    ----------
    columns : sequence of str

    Returns
    -------
    list of str
        E.g. ``["State", "Area code"]`` of Orange Telecom's columns; ``Customer_Age``,
        ``SeniorCitizen``, ``Geography``, ``gender`` of the bank and telco files.
    """
    out = []
    for c in columns:
        words = name_words(c)
        if set(words) & PROTECTED_WORDS or any(_has_sequence(words, s)
                                               for s in PROTECTED_SEQUENCES):
            out.append(c)
    return out


def non_actionable_columns(columns: Sequence[str]) -> list[str]:
    """Columns whose name holds a sequence of :data:`NON_ACTIONABLE_WORDS` (not protected)."""
    prot = set(protected_columns(columns))
    return [c for c in columns if c not in prot
            and any(_has_sequence(name_words(c), s) for s in NON_ACTIONABLE_WORDS)]


@dataclass
class ReasonSettings:
    """Which columns may be reasons and what they are called (saved with the model).

    Attributes
    ----------
    protected : list of str
        Protected / sensitive attributes: never reasons unless asked for.
    non_actionable : list of str
        Legitimate context columns the team cannot change.
    labels : dict of str to str
        Business label per column (columns absent get :func:`pretty_label`).
    rules : int
        :data:`RULES_VERSION` of the name rules these settings were made under.
    """

    protected: list = field(default_factory=list)
    non_actionable: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    rules: int = RULES_VERSION

    @classmethod
    def defaults(cls, columns: Sequence[str]) -> "ReasonSettings":
        """Name-matched defaults for the feature ``columns``."""
        cols = list(columns)
        return cls(protected_columns(cols), non_actionable_columns(cols),
                   {c: pretty_label(c) for c in cols})

    def label(self, column: str) -> str:
        """Business label of ``column``."""
        return str(self.labels.get(column) or pretty_label(column))

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None, columns: Sequence[str] = ()) -> "ReasonSettings":
        """Settings saved with a model; missing parts default from ``columns``.

        Settings saved under older rules (no ``rules`` entry, or a smaller one than
        :data:`RULES_VERSION`) have the non-actionable columns that the current rules
        protect moved to protected (``Partner`` of a telco model trained before partner
        status was protected): a saved default never outlives the promise.
        """
        base = cls.defaults(columns)
        data = dict(data or {})
        protected = list(data.get("protected", base.protected))
        context = list(data.get("non_actionable", base.non_actionable))
        if int(data.get("rules", 1)) < RULES_VERSION:
            moved = [c for c in context if protected_columns([c])]
            protected += [c for c in moved if c not in protected]
            context = [c for c in context if c not in moved]
        return cls(protected, context, {**base.labels, **dict(data.get("labels") or {})})


@dataclass
class ReferenceProfile:
    """Where a value sits among reference customers, and which columns say the same thing.

    Build with :meth:`fit`; ``source`` says which customers (e.g. "the model's training
    rows").
    """

    numeric: dict  # column -> sorted float ndarray (finite values)
    categorical: dict  # column -> {value: share}
    groups: list  # lists of columns with |r| >= CORRELATION_GROUPING (2+ members)
    source: str = ""
    n_rows: int = 0
    binary: list = field(default_factory=list)  # columns holding only 0 / 1 (yes / no)

    @classmethod
    def fit(cls, frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
            source: str = "", seed: int = 0,
            threshold: float = CORRELATION_GROUPING) -> "ReferenceProfile":
        """Profile the reference customers.

        Parameters
        ----------
        frame : DataFrame
            Reference customers (typed valid rows or text cells).
        numeric, categorical : sequence of str
            Feature columns by kind (absent ones skipped).
        source : str
            Words naming the reference customers.
        seed : int
            Seed of the sample kept when there are more than :data:`REFERENCE_SAMPLE` rows.
        threshold : float, default 0.9
            ``|Pearson r|`` from which numeric columns are grouped.

        Returns
        -------
        ReferenceProfile
        """
        if len(frame) > REFERENCE_SAMPLE:
            frame = frame.sample(n=REFERENCE_SAMPLE, random_state=seed)
        num = {}
        nums = pd.DataFrame(index=frame.index)
        for c in numeric:
            if c in frame.columns:
                v = pd.to_numeric(frame[c], errors="coerce")
                nums[c] = v
                x = v.to_numpy(dtype=float)
                num[c] = np.sort(x[np.isfinite(x)])
        cat = {}
        for c in categorical:
            if c in frame.columns:
                s = frame[c].astype("string").str.strip()
                cat[c] = {str(k): float(v) for k, v in s.value_counts(normalize=True).items()}
        groups = _correlated_groups(nums, threshold) if nums.shape[1] > 1 else []
        binary = [c for c, x in num.items() if x.size and bool(np.isin(x, (0.0, 1.0)).all())]
        binary += [c for c, shares in cat.items()
                   if shares and set(shares) <= {"0", "1", "0.0", "1.0"}]
        return cls(num, cat, groups, source, int(len(frame)), binary)

    def context(self, column: str, value) -> str:
        """Where ``value`` sits, e.g. ``"low: 80 % of customers have more"``; "" if unknown."""
        if column in self.numeric:
            ref = self.numeric[column]
            try:
                v = float(value)
            except (TypeError, ValueError):
                return ""
            if not ref.size or not np.isfinite(v):
                return ""
            more = 1.0 - np.searchsorted(ref, v, side="right") / ref.size
            less = np.searchsorted(ref, v, side="left") / ref.size
            if column in self.binary:
                return _share_text(1 - more - less)
            if more >= 1.0:
                return "lowest: every customer has more"
            if less >= 1.0:
                return "highest: every customer has less"
            if more >= 2 / 3:
                return f"low: {_pct(more)} of customers have more"
            if less >= 2 / 3:
                return f"high: {_pct(less)} of customers have less"
            return f"typical: {_pct(more)} of customers have more"
        if column in self.categorical:
            share = self.categorical[column].get(str(value).strip())
            return _share_text(share) if share is not None else "a value rarely seen"
        return ""


def _pct(x: float) -> str:
    """A share in whole percent that never rounds a part to "0 %" or "100 %"."""
    x = float(x)
    if 0.0 < x < 0.005:
        return "under 1 %"
    if 0.995 <= x < 1.0:
        return "over 99 %"
    return f"{100 * x:.0f} %"


#: Below this share of training customers a category value is called rare in a reason.
RARE_SHARE = 0.10


def _share_text(share: float) -> str:
    """How common a category value is: ``"rare: 1 % of customers"`` or ``"like 48 % of customers"``."""
    return f"rare: {_pct(share)} of customers" if share < RARE_SHARE else f"like {_pct(share)} of customers"


def _correlated_groups(nums: pd.DataFrame, threshold: float) -> list[list[str]]:
    """Connected components of the graph ``|r| >= threshold`` over numeric columns."""
    r = nums.corr(method="pearson").abs().fillna(0.0).to_numpy()
    cols = list(nums.columns)
    parent = list(range(len(cols)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(cols)):
        for j in range(i + 1, len(cols)):
            if r[i, j] >= threshold:
                parent[find(i)] = find(j)
    comp: dict = {}
    for i, c in enumerate(cols):
        comp.setdefault(find(i), []).append(c)
    return [g for g in comp.values() if len(g) > 1]


def _format_value(value, binary: bool) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "missing"
    try:
        v = float(value)
    except (TypeError, ValueError):
        text = str(value).strip()
        return text if text and text.lower() != "nan" else "missing"
    if not np.isfinite(v):
        return "missing"
    if binary and v in (0.0, 1.0):  # also "0" / "1" text of a categorical 0/1 column
        return "yes" if v == 1.0 else "no"
    return f"{int(v):,}" if v.is_integer() else f"{v:,.2f}"


def reason_sentences(values: np.ndarray, data: pd.DataFrame, columns: Sequence[str],
                     settings: ReasonSettings, profile: ReferenceProfile | None = None,
                     binary: Sequence[str] = (), include_protected: bool = False,
                     top: int = 3) -> pd.DataFrame:
    """Up to ``top`` reasons per customer, as sentences with context.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
        SHAP values per raw column (probability units), columns in ``columns`` order.
    data : DataFrame of shape (n_samples, >= n_columns)
        The customers' raw values (its index is the result's index).
    columns : sequence of str
        Raw feature columns, in the order of ``values``.
    settings : ReasonSettings
    profile : ReferenceProfile, optional
        Context and correlated groups; without it sentences carry no context and no
        columns are grouped.
    binary : sequence of str
        0/1 numeric columns (written as yes / no).
    include_protected : bool, default False
        Allow protected attributes as reasons (marked ``(protected attribute)``).
    top : int, default 3

    Returns
    -------
    DataFrame of shape (n_samples, top)
        ``reason_1`` .. ``reason_<top>``: only columns raising the customer's risk (positive
        SHAP value), largest first; actionable columns first, non-actionable ones (marked)
        only when no actionable column raises the risk; empty strings for the rest.
        ``reason_1`` is empty only when no allowed column raises the risk.
    """
    vals = np.asarray(values, dtype=float)
    cols = list(columns)
    n, m = vals.shape if vals.ndim == 2 else (0, len(cols))
    idx = {c: j for j, c in enumerate(cols)}
    prot = {c for c in settings.protected if c in idx}
    non_act = {c for c in settings.non_actionable if c in idx} - prot
    allowed = [c for c in cols if include_protected or c not in prot]
    # groups of correlated columns among the allowed ones (protected never join a group)
    grouped: list[list[str]] = []
    seen: set = set()
    for g in (profile.groups if profile is not None else []):
        members = [c for c in g if c in allowed]
        if len(members) > 1:
            grouped.append(members)
            seen.update(members)
    grouped += [[c] for c in allowed if c not in seen]
    if not grouped or n == 0:
        return pd.DataFrame({f"reason_{i + 1}": [""] * n for i in range(top)}, index=data.index)
    gval = np.column_stack([vals[:, [idx[c] for c in g]].sum(axis=1) for g in grouped])
    gact = np.array([not any(c in non_act for c in g) for g in grouped])
    # actionable groups rank above non-actionable ones: score = value + (huge if actionable)
    pos = gval > 0
    key = np.where(pos, gval, -np.inf)
    rank_key = np.where(pos & gact[None, :], key + 1e6, key)
    order = np.argsort(-rank_key, axis=1, kind="stable")[:, :top]
    binset = set(binary) | set(profile.binary if profile is not None else ())
    out = np.full((n, top), "", dtype=object)
    data_cols = {c: data[c].to_numpy() for c in allowed if c in data.columns}
    has_act = (pos & gact[None, :]).any(axis=1)
    for i in range(n):
        for r, gj in enumerate(order[i]):
            if not pos[i, gj] or (has_act[i] and not gact[gj]):
                continue  # not raising risk, or context while an actionable reason exists
            g = grouped[gj]
            lead = g[int(np.argmax([vals[i, idx[c]] for c in g]))] if len(g) > 1 else g[0]
            v = data_cols[lead][i] if lead in data_cols else None
            text = f"{settings.label(lead)}: {_format_value(v, lead in binset)}"
            where = profile.context(lead, v) if profile is not None else ""
            others = [settings.label(c) for c in g if c != lead]
            bits = [b for b in (where, ("same as " + ", ".join(others)) if others else "") if b]
            if bits:
                text += " (" + "; ".join(bits) + ")"
            if lead in prot:
                text += PROTECTED_MARK
            elif not gact[gj]:
                text += NOT_ACTIONABLE_MARK
            out[i, r] = text
    # compact: filled reasons first
    res = pd.DataFrame(index=data.index)
    packed = [[t for t in row if t] + [""] * top for row in out]
    for r in range(top):
        res[f"reason_{r + 1}"] = [row[r] for row in packed]
    return res
