"""The churn analyst's workbench: entry point of the multipage Streamlit dashboard.

Run with ``streamlit run app.py``. This file is the frame around every page: it sets the
session defaults once (active model and data, decision threshold and tier cutoffs from the
model card), draws the sidebar status and routes to the pages in ``pages/`` with
``st.navigation`` (default URL paths, derived from the file names).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # pages import churn_core and pages._ui from the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from pages import _gc, _ui  # noqa: E402

st.set_page_config(page_title="Churn analyst's workbench", page_icon=":material/insights:",
                   layout="wide")

_ui.init_session()

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/table:"),
    st.Page("pages/model.py", title="Model", icon=":material/neurology:"),
    st.Page("pages/performance.py", title="Performance", icon=":material/monitoring:"),
    st.Page("pages/explain.py", title="Explain", icon=":material/lightbulb:"),
    st.Page("pages/score_segment.py", title="Score & segment", icon=":material/groups:"),
    st.Page("pages/campaigns.py", title="Campaigns", icon=":material/campaign:"),
]

page = st.navigation(PAGES)
_target = st.session_state.pop(_ui.INTENDED_PAGE, None)
if _target:  # a direct page URL arrived before st.navigation was set up (see _ui.bootstrap)
    st.switch_page(_target)
# ?page=... of a bookmark or a reload (the URL path already names the page in a browser;
# the parameter also brings it back where only the query string survives)
_names = {p.url_path or "overview": p for p in PAGES}
if not st.session_state.get("_url_page_restored"):
    st.session_state["_url_page_restored"] = True
    _wanted = _names.get(st.query_params.get(_ui.PAGE_PARAM, ""))
    if _wanted is not None and (_wanted.url_path or "overview") != (page.url_path or "overview"):
        st.switch_page(_wanted)
_ui.sync_url(page.url_path or "overview")
_ui.sidebar_status()
try:
    page.run()
finally:  # also when the page stops early (st.stop) or reruns
    _gc.freeze_imported_modules()
