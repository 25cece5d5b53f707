"""The floor of ``bench_users.py``: the same clicks in a Streamlit app that does almost nothing.

Seven pages with the workbench's titles in ``st.navigation``; Overview is a title and the
"Where to go next" heading; Data is a file uploader that reads the CSV with pandas and says
"Active data: <file>"; Performance is the "Decision threshold" slider and three metrics
counted from the file. No model, no scoring, no chart, no table.

``bench_users.py --floor`` drives N simultaneous Chromium users through this app with the
same harness as through ``app.py``: what it measures is what Streamlit and Chromium cost on
this machine whatever the app does (every user's browser runs on the same cores as the
server here), the lower bound of the app's own figures.

Run alone: ``streamlit run benchmarks/floor_app.py``.
"""
from __future__ import annotations

import io

import pandas as pd
import streamlit as st


def overview() -> None:
    st.title("Churn analyst's workbench")
    st.subheader("Where to go next")


def data() -> None:
    st.title("Data")
    upload = st.file_uploader("Customer file", type=["csv"])
    if upload is not None:
        st.session_state["frame"] = pd.read_csv(io.BytesIO(upload.getvalue()))
        st.session_state["name"] = upload.name
    if "name" in st.session_state:
        st.success("Active data: " + st.session_state["name"].replace("_", "\\_"))


def performance() -> None:
    st.title("Performance")
    threshold = st.slider("Decision threshold", 0.0, 1.0, 0.5, step=0.01)
    frame = st.session_state.get("frame")
    n = 0 if frame is None else len(frame)
    c = st.columns(3)
    c[0].metric("Customers", f"{n:,}")
    c[1].metric("Flagged", f"{round(n * (1 - threshold)):,}")
    c[2].metric("Not flagged", f"{round(n * threshold):,}")


def _empty() -> None:
    st.title("Empty page")


st.navigation([
    st.Page(overview, title="Overview", default=True),
    st.Page(data, title="Data", url_path="data"),
    st.Page(_empty, title="Model", url_path="model"),
    st.Page(performance, title="Performance", url_path="performance"),
    st.Page(_empty, title="Explain", url_path="explain"),
    st.Page(_empty, title="Score & segment", url_path="score_segment"),
    st.Page(_empty, title="Campaigns", url_path="campaigns"),
]).run()
