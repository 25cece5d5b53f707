"""Issue 6 kind 10: hypothesis-generated files never raise an unhandled exception.

Random CSV bytes (random cell types, blanks, junk bytes, odd headers, any delimiter and
encoding) go through read_table -> infer_schema -> validate; files with the trained model's
columns but random cells go on through scoring.score_frame. Only ChurnError subclasses may be
raised, and every row is accounted for. Fixed seed (derandomize) and bounded examples for CI.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churn_core.errors import ChurnError
from churn_core.data.infer import infer_schema
from churn_core.io.reader import read_table
from churn_core.data.validate import validate

FUZZ = settings(max_examples=60, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

cells = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NA", "Yes", "No", "True", "False", "1.234,56", "125,510.82", "=1+1",
                     "Lefèvre", "  france", "0", "1", "null", "\t", '"', "a;b", "x|y"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)
headers = st.one_of(
    st.sampled_from(["Exited", "Churn", "CustomerId", "Age", "Surname", "", " ", "age", "Age ",
                     "Balance", "id", "label", "a;b", "Geography", "Unnamed: 0"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8),
)


@st.composite
def csv_bytes(draw, header_strategy=headers, n_cols=None):
    names = draw(st.lists(header_strategy, min_size=1, max_size=6)) if n_cols is None else n_cols
    width = len(names)
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=25))
    if draw(st.booleans()):  # a recognisable target column with mostly valid labels
        names = [*names, "Exited"]
        width += 1
        rows = [r + [draw(st.sampled_from(["0", "1", "1.0", "", " ", "yes"]))] for r in rows]
    if rows and draw(st.integers(0, 3)) == 0:  # one ragged row
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i][:-1] if draw(st.booleans()) else rows[i] + ["extra"]
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    buf = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(names)
        writer.writerows(rows)
    else:  # naive join: broken quoting, stray delimiters inside cells
        buf.write("\n".join(delimiter.join(r) for r in [names, *rows]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = buf.getvalue().encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 0 and data:
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos:]
    return data


def _through_validation(data: bytes):
    try:
        df, rep = read_table(data, name="fuzz.csv")
        schema = infer_schema(df, decimal=rep.decimal)
        need = schema.target is not None and schema.positive_label is not None
        res = validate(df, schema, require_target=need, decimal=rep.decimal)
    except ChurnError as exc:
        assert str(exc)  # a message for the user
        return None
    assert len(res.valid) + len(res.rejected) == len(df)
    assert sorted(res.valid["source_row"].tolist() + res.rejected["source_row"].tolist()) == \
        sorted(df.index.tolist())
    assert res.rejected["reason"].map(bool).all()
    if need:
        assert res.y is not None and len(res.y) == len(res.valid) and set(np.unique(res.y)) <= {0, 1}
    for col in schema.numeric:
        assert res.valid[col].dtype == np.float64
        assert not np.isinf(res.valid[col]).any()
    return df, res


@FUZZ
@given(csv_bytes())
def test_fuzz_read_infer_validate(data):
    _through_validation(data)


SAMPLE_COLUMNS = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age",
                  "Tenure", "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]

sample_like_cells = st.one_of(
    st.sampled_from(["France", "Germany", "Spain", " spain ", "Mars", "Male", "Female", "", " ",
                     "1", "0", "2", "4", "42", "650", "1.234,56", "99999999", "-5", "abc", "NA"]),
    cells,
)


@st.composite
def sample_like_csv(draw):
    order = draw(st.permutations(SAMPLE_COLUMNS))
    names = [draw(st.sampled_from([c, c.upper(), f" {c} ", c.lower()])) for c in order]
    rows = draw(st.lists(st.lists(sample_like_cells, min_size=len(names), max_size=len(names)),
                         min_size=1, max_size=20))
    buf = io.StringIO()
    csv.writer(buf, delimiter=draw(st.sampled_from([",", ";"])), lineterminator="\n").writerows([names, *rows])
    return buf.getvalue().encode(draw(st.sampled_from(["utf-8", "cp1252"])), errors="replace")


@pytest.mark.slow
@FUZZ
@given(data=sample_like_csv())
def test_fuzz_through_scoring(tiny_bundle, data):
    scoring = pytest.importorskip("churn_core.campaign.scoring")
    try:
        df, _ = read_table(data, name="fuzz.csv")
        result = scoring.score_frame(tiny_bundle, df, source_name="fuzz.csv")
    except ChurnError as exc:
        assert str(exc)
        return
    assert len(result.scored) + len(result.rejected) == len(df)
    p = result.scored["churn_probability"].to_numpy(dtype=float)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))


@st.composite
def awkward_csv_bytes(draw):
    """``csv_bytes`` with awkward records mixed in: blank lines, quoted line breaks, doubled
    and stray quotes, an unclosed quote, lone CRs, CRLF, rows of empty fields, a title."""
    data = draw(csv_bytes())
    if draw(st.booleans()) or b"\x00" in data:
        return data
    text = data.decode("utf-8", "replace").replace("\x00", "")
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(1, max(1, len(lines))))
        lines.insert(i, draw(st.sampled_from(["", "\r", '1,"two\nlines",3', '4,"say ""hi""",5',
                                               "6,5'11\",7", ",,,", "8,9\r10,11", '12,"open,13'])))
    if draw(st.integers(0, 5)) == 0:
        lines.insert(0, "Customer export, November")
    return "\n".join(lines).encode("utf-8")


@FUZZ
@given(data=awkward_csv_bytes(), block=st.sampled_from([16, 61, 997, 1 << 16]), chunk=st.integers(1, 40))
def test_fuzz_streamed_read_equals_whole_read(tmp_path_factory, data, block, chunk):
    """Seeded fuzz: a file streamed in blocks of 16 bytes to 64 kB, in chunks of 1 to 40 rows,
    gives the whole read's frame row for row (cells, ``source_row``, parse errors), or the
    same error message."""
    from churn_core.io.reader import iter_table_chunks

    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(data)
    try:
        whole, _ = read_table(path)
    except ChurnError as exc:
        with pytest.raises(ChurnError) as streamed:
            list(iter_table_chunks(path, chunksize=chunk, block_size=block))
        assert str(streamed.value) == str(exc)
        return
    chunks = list(iter_table_chunks(path, chunksize=chunk, block_size=block))
    assert all(len(c) <= chunk for c, _ in chunks)
    assert [first for c, first in chunks if len(c)] == [int(c.index[0]) for c, _ in chunks if len(c)]
    got = pd.concat([c for c, _ in chunks])
    pd.testing.assert_frame_equal(got, whole, check_exact=True)
