"""What-if editor and change search (churn_core/explain/whatif.py, the CLI ``what-if``).

The edited customer's probability is checked against scoring the edited *file row* with
``score_frame`` (the normal scoring path), every suggestion against scoring its own row.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churn_core.campaign.scoring import score_frame
from churn_core.cli import main
from churn_core.data.validate import validate
from churn_core.explain import suggest as sg, whatif as wi
from churn_core.io.reader import ROW_INDEX

TOL = 1e-6  # float32 model outputs across batch shapes


@pytest.fixture(scope="module")
def valid(tiny_bundle, sample_df):
    return validate(sample_df, tiny_bundle.schema, require_target=False).valid


@pytest.fixture(scope="module")
def space(tiny_bundle, valid):
    return wi.feature_space(tiny_bundle, valid)


def _score_text_row(bundle, df, line, cells: dict) -> float:
    """Probability of file row ``line`` with some cells replaced by text, via score_frame."""
    one = df.loc[[line]].copy()
    for col, text in cells.items():
        one[col] = pd.array([text], dtype=one[col].dtype)
    res = score_frame(bundle, one)
    assert len(res.scored) == 1, res.rejected
    return float(res.scored["churn_probability"].iloc[0])


@pytest.mark.parametrize("name", ["Gender", "sex", "Age", "Customer_Age", "DateOfBirth", "DOB",
                                  "Nationality", "Geography", "Country", "Region", "Ethnicity",
                                  "Race", "Religion", "Marital_Status", "Dependents",
                                  "SeniorCitizen", "seniorcitizen", "Disability", "AgeGroup",
                                  "State", "Area code", "ZipCode", "City", "Latitude",
                                  "Citizenship", "Language", "sexual_orientation"])
def test_protected_names(name):
    assert wi.is_protected(name)


@pytest.mark.parametrize("name", ["Usage", "Balance", "NumOfProducts", "IsActiveMember",
                                  "Contract", "Message_count", "Storage", "Tenure",
                                  "StatementBalance", "Status", "Citywide_Plan"])
def test_not_protected_names(name):
    assert not wi.is_protected(name)


def test_actionable_columns_leave_out_protected_and_history():
    cols = ["CreditScore", "Age", "Tenure", "Balance", "EstimatedSalary", "Geography", "Gender",
            "NumOfProducts", "HasCrCard", "IsActiveMember"]
    assert wi.actionable_columns(cols) == ["Balance", "NumOfProducts", "HasCrCard",
                                           "IsActiveMember"]
    assert wi.actionable_columns(["tenure", "Partner", "MonthlyCharges", "Contract"]) == [
        "MonthlyCharges", "Contract"]


def test_space_from_the_preprocessor(tiny_bundle, space, valid):
    pre = tiny_bundle.preprocessor
    assert list(space) == pre.features
    for col in pre.categorical:
        assert space[col].values == tuple(pre.categories[col])
    for col in pre.numeric:
        spec = space[col]
        x = valid[col].dropna()
        if col in pre.edges:  # the training range is the outer bin edges
            assert (spec.low, spec.high) == (pre.edges[col][0], pre.edges[col][-1])
        assert spec.low <= min(spec.values) and max(spec.values) <= spec.high
        assert spec.integer == bool((x == np.round(x)).all())


def test_edited_probability_equals_scoring_the_edited_row(tiny_bundle, sample_df, valid, space):
    p = tiny_bundle.predict_proba(valid)
    i = int(np.argmax(p))
    row = valid.iloc[[i]]
    line = int(row[ROW_INDEX].iloc[0])
    cat = "NumOfProducts" if "NumOfProducts" in space else tiny_bundle.preprocessor.categorical[0]
    new_cat = next(v for v in space[cat].values if v != row[cat].iloc[0])
    num = tiny_bundle.preprocessor.numeric[0]
    new_num = space[num].values[len(space[num].values) // 2]
    res = wi.what_if(tiny_bundle, row, {cat: new_cat, num: str(new_num)}, space)
    assert res.changes == {cat: new_cat, num: float(new_num)}
    expected = _score_text_row(tiny_bundle, sample_df, line, {cat: new_cat, num: str(new_num)})
    assert res.probability_after == pytest.approx(expected, abs=TOL)
    assert res.probability_before == pytest.approx(p[i], abs=TOL)
    assert abs(res.probability_after - res.probability_before) > 1e-4  # a real change


def test_editing_to_itself_changes_nothing(tiny_bundle, valid, space):
    row = valid.iloc[[3]]
    same = {c: row[c].iloc[0] for c in tiny_bundle.features}
    # the same values typed differently: upper case, surrounding spaces, numbers as text
    typed = {c: (f"  {str(v).upper()} " if space[c].kind == "category" else repr(float(v)))
             for c, v in same.items()}
    for edits in (same, typed):
        res = wi.what_if(tiny_bundle, row, edits, space)
        assert res.changes == {}
        assert res.probability_after == res.probability_before
        pd.testing.assert_frame_equal(res.row_after, row)


def test_bad_edits_name_the_column_and_what_is_allowed(tiny_bundle, valid, space):
    row = valid.iloc[[0]]
    num = tiny_bundle.preprocessor.numeric[0]
    with pytest.raises(wi.WhatIfError, match=rf"{num}.*outside the training range"):
        wi.what_if(tiny_bundle, row, {num: space[num].high + 1e6}, space)
    cat = tiny_bundle.preprocessor.categorical[0]
    with pytest.raises(wi.WhatIfError, match=rf"{cat}.*not seen in training; known values"):
        wi.what_if(tiny_bundle, row, {cat: "no such value"}, space)
    with pytest.raises(wi.WhatIfError, match="not a feature"):
        wi.what_if(tiny_bundle, row, {"Nope": 1}, space)
    with pytest.raises(wi.WhatIfError, match="not a number"):
        wi.what_if(tiny_bundle, row, {num: "abc"}, space)


def test_suggestions_are_what_scoring_each_edited_row_gives(tiny_bundle, sample_df, valid, space):
    p = tiny_bundle.predict_proba(valid)
    i = int(np.argsort(-p)[5])
    row = valid.iloc[[i]]
    line = int(row[ROW_INDEX].iloc[0])
    sug = sg.suggest_changes(tiny_bundle, row, space, top=50)
    assert sug.searched == wi.actionable_columns(tiny_bundle.features)
    assert not any(wi.is_protected(c) for c in sug.searched)
    assert sug.probability_before == pytest.approx(p[i], abs=TOL)
    assert len(sug.singles) > 0
    assert (sug.singles["probability_after"].diff().dropna() >= 0).all()  # best first
    assert (sug.singles["difference"] < 0).all()
    for r in sug.singles.head(4).itertuples():
        text = space[r.column].format(r.value) if space[r.column].kind == "category" else repr(r.value)
        assert r.probability_after == pytest.approx(
            _score_text_row(tiny_bundle, sample_df, line, {r.column: text}), abs=TOL)
    pair = sug.best_pair
    assert pair is not None and pair["columns"][0] != pair["columns"][1]
    cells = {c: (v if space[c].kind == "category" else repr(v))
             for c, v in zip(pair["columns"], pair["values"])}
    assert pair["probability_after"] == pytest.approx(
        _score_text_row(tiny_bundle, sample_df, line, cells), abs=TOL)


def test_suggest_for_frame_matches_the_one_customer_search(tiny_bundle, valid, space):
    rows = valid.iloc[:60]
    calls = []
    best = sg.best_single_changes(tiny_bundle, rows, space, chunk=25,
                                  progress=lambda d, t, m: calls.append((d, t)))
    assert calls == [(25, 60), (50, 60), (60, 60)]
    assert (best["probability_after"] <= best["probability_before"]).all()
    for k in (0, 7, 31, 59):
        one = sg.suggest_changes(tiny_bundle, rows.iloc[[k]], space, top=1, pairs=False)
        b = best.iloc[k]
        if len(one.singles):
            assert b["column"] == one.singles["column"].iloc[0]
            assert b["probability_after"] == pytest.approx(one.singles["probability_after"].iloc[0],
                                                           abs=TOL)
        else:
            assert b["change"] == "" and b["probability_after"] == b["probability_before"]
    text = sg.suggest_for_frame(tiny_bundle, rows, space)
    assert text.name == "suggested_change" and text.index.equals(rows.index)
    has = best["change"] != ""
    assert (text[~has] == "").all()
    assert all(t.startswith(c) and f"{p:.3f}" in t
               for t, c, p in zip(text[has], best["change"][has], best["probability_after"][has]))


def test_cli_what_if_json_uses_the_spreadsheet_row(tiny_bundle, models_dir, sample_csv,
                                                   sample_df, capsys):
    line = int(sample_df.index[10])
    assert line == 12  # header = row 1, the 11th customer is on row 12
    model = str(models_dir / "tiny")
    assert main(["what-if", "--model", model, "--data", str(sample_csv), "--row", str(line),
                 "--set", "IsActiveMember=1", "--set", "Balance=0", "--suggest", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["probability_before"] == pytest.approx(_score_text_row(tiny_bundle, sample_df, line, {}),
                                                      abs=TOL)
    assert out["probability_after"] == pytest.approx(
        _score_text_row(tiny_bundle, sample_df, line, {"IsActiveMember": "1", "Balance": "0"}),
        abs=TOL)
    assert {"column", "value", "probability_after"} <= set(out["suggestions"][0])
    assert not {s["column"] for s in out["suggestions"]} & {"Gender", "Age", "Geography"}
    # row 1 is the header; a row past the end; a bad --set
    assert main(["what-if", "--model", model, "--data", str(sample_csv), "--row", "1"]) == 2
    assert "no customer on row 1" in capsys.readouterr().err
    assert main(["what-if", "--model", model, "--data", str(sample_csv), "--row", "2",
                 "--set", "Balance"]) == 2
    assert "COLUMN=VALUE" in capsys.readouterr().err


# ---------------------------------------------------------------------------- the bank file
@pytest.fixture(scope="session")
def bank_models(bank_csv, tmp_path_factory):
    """A small MLP trained on Churn_Modelling.csv, saved as ``bank`` in a temporary folder."""
    from churn_core.data.infer import infer_schema
    from churn_core.io.reader import read_table
    from churn_core.model.bundle import save_bundle
    from churn_core.model.network import TrainConfig
    from churn_core.model.train import train_bundle

    df, _ = read_table(bank_csv)
    schema = infer_schema(df, target="Exited", positive_label="1")
    cfg = TrainConfig(hidden=(16, 8), max_epochs=15, patience=3, batch_size=256,
                      learning_rate=0.01, seed=0)
    bundle = train_bundle(df, schema, cfg, name="bank", source_name=bank_csv.name)
    folder = tmp_path_factory.mktemp("bank_models")
    save_bundle(bundle, "bank", folder)
    return folder, bundle, df


@pytest.mark.slow
@pytest.mark.realdata
def test_bank_suggestion_for_a_high_risk_one_product_customer(bank_models, bank_csv, capsys):
    folder, bundle, df = bank_models
    scored = score_frame(bundle, df).scored
    one = scored[scored["NumOfProducts"].astype(str).str.strip() == "1"]
    top = one.sort_values("churn_probability", ascending=False).iloc[0]
    assert top["churn_probability"] >= bundle.tier_cutoffs["high"]  # a High-risk customer
    line = int(top[ROW_INDEX])
    assert main(["what-if", "--model", str(folder / "bank"), "--data", str(bank_csv), "--row",
                 str(line), "--suggest", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["probability_before"] == pytest.approx(top["churn_probability"], abs=TOL)
    cols = [s["column"] for s in out["suggestions"]]
    assert {"NumOfProducts", "IsActiveMember"} & set(cols)
    assert not {"Gender", "Age", "Geography"} & (set(cols) | set(out["best_pair"]["columns"]))
    assert all(s["probability_after"] < out["probability_before"] for s in out["suggestions"])


def test_workbench_view_and_list_column(tiny_bundle, sample_csv):
    from churn_core import workbench as wb
    from churn_core.campaign.tiers import assign_tiers

    data = wb.load_data(sample_csv, name=sample_csv.name)
    scores = wb.score_data(tiny_bundle, data)
    order = np.argsort(-scores.p, kind="stable")
    pos = int(order[0])
    space = wb.whatif_space(tiny_bundle, None, scores)
    cut = {"high": 0.5, "medium": 0.2}
    view = wb.what_if_view(tiny_bundle, scores, pos, {"IsActiveMember": "1", "Balance": 0},
                           cut, space=space)
    assert view.probability_before == pytest.approx(scores.p[pos], abs=TOL)
    assert [view.tier_before, view.tier_after] == list(
        assign_tiers([view.probability_before, view.probability_after], cut))
    sug, table = wb.suggestion_table(tiny_bundle, scores, pos, space=space, cutoffs=cut)
    assert list(table.columns) == ["change", "churn_probability", "difference", "risk_tier"]
    assert (table["churn_probability"] < sug.probability_before).all()
    listed = order[:40]
    seen = []
    col = wb.suggested_change_column(tiny_bundle, scores, listed, space,
                                     progress=lambda d, t, m: seen.append((d, t)))
    assert list(col.index) == list(listed) and seen[-1] == (40, 40)
    first = sg.suggest_changes(tiny_bundle, wb.customer_row(scores, pos), space, top=1,
                               pairs=False).singles
    assert col.loc[pos].startswith(first["change"].iloc[0])


def test_space_without_bin_edges_uses_the_reference_rows(tiny_bundle, valid):
    import copy

    from churn_core.model.preprocess import Preprocessor

    std = copy.copy(tiny_bundle)
    std.preprocessor = Preprocessor.from_dict({**tiny_bundle.preprocessor.to_dict(),
                                               "numeric_encoding": "standard", "edges": {}})
    assert std.preprocessor.edges == {}
    space = wi.feature_space(std, valid)
    for col in std.preprocessor.numeric:
        x = valid[col].dropna().to_numpy(float)
        lo, hi = std.preprocessor.bounds.get(col, (-np.inf, np.inf))
        x = x[(x >= lo) & (x <= hi)]
        assert (space[col].low, space[col].high) == (x.min(), x.max())
        q = np.quantile(x, np.linspace(0, 1, wi.N_QUANTILES))
        if space[col].integer:
            q = np.round(q)
        np.testing.assert_allclose(space[col].values, np.unique(q))
    # without reference rows: mean +- 3 standard deviations, never integer
    bare = wi.feature_space(std)
    col = std.preprocessor.numeric[0]
    m, s = std.preprocessor.means[col], std.preprocessor.scales[col]
    assert bare[col].low == pytest.approx(max(m - 3 * s, std.preprocessor.bounds.get(col, (-np.inf,))[0]))
    assert not bare[col].integer and len(bare[col].values) == wi.N_QUANTILES


def test_the_what_if_search_and_the_reasons_share_one_column_rule():
    """Protected and non-actionable columns are one rule (explain/reasons.py): cumulative
    history such as TotalCharges grows with tenure and is never a suggested change."""
    from churn_core.explain.reasons import non_actionable_columns, protected_columns

    cols = ["tenure", "TotalCharges", "MonthlyCharges", "Contract", "SeniorCitizen", "gender",
            "Customer_Lifetime_Value", "Total_Trans_Ct"]
    assert wi.actionable_columns(cols) == ["MonthlyCharges", "Contract", "Total_Trans_Ct"]
    assert [c for c in cols if wi.is_protected(c)] == protected_columns(cols) == ["SeniorCitizen", "gender"]
    assert non_actionable_columns(cols) == ["tenure", "TotalCharges", "Customer_Lifetime_Value"]


def test_the_change_search_skips_what_the_model_settings_protect(tiny_bundle, sample_csv):
    """Breakit item 2: a column the analyst marked protected (or not actionable) in the
    model's reason settings is never searched, in the Explain table as in the list column."""
    import copy

    from churn_core import workbench as wb
    from churn_core.explain.reasons import ReasonSettings

    cols = ["State", "Area code", "Account length", "Total day minutes", "Voice mail plan"]
    assert wi.actionable_columns(cols) == ["Total day minutes", "Voice mail plan"]
    mine = ReasonSettings(protected=["Voice mail plan"], non_actionable=[])
    assert wi.actionable_columns(cols, mine) == ["Total day minutes"]

    data = wb.load_data(sample_csv, name=sample_csv.name)
    scores = wb.score_data(tiny_bundle, data)
    pos = int(np.argmax(scores.p))
    space = wb.whatif_space(tiny_bundle, None, scores)
    sug, _ = wb.suggestion_table(tiny_bundle, scores, pos, space=space)
    assert sug.searched == ["Balance", "NumOfProducts", "HasCrCard", "IsActiveMember"]
    b = copy.copy(tiny_bundle)
    b.card = {**tiny_bundle.card, "reason_settings": {"protected": ["Gender", "Age",
                                                                     "Geography", "Balance"],
                                                      "non_actionable": ["HasCrCard"]}}
    sug, table = wb.suggestion_table(b, scores, pos, space=space)
    assert sug.searched == ["NumOfProducts", "IsActiveMember"]
    assert not table["change"].str.contains("Balance|HasCrCard").any()
