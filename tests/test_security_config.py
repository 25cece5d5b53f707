"""The running app's exposure (issue 14, item 8): local address, no static serving, uploads
kept outside the repository and outside any served folder."""
from __future__ import annotations

import tomllib

from churn_core import config


def _server() -> dict:
    with open(config.STREAMLIT_CONFIG, "rb") as fh:
        return tomllib.load(fh)["server"]


def test_app_listens_on_localhost_by_default_and_serves_no_static_files():
    server = _server()
    assert server["address"] == "127.0.0.1"
    assert server["enableStaticServing"] is False


def test_upload_folder_is_outside_the_repository_and_never_under_static():
    folder = config.UPLOADS_DIR.resolve()
    assert not folder.is_relative_to(config.ROOT.resolve())
    assert "static" not in folder.parts


def test_readme_says_how_to_serve_to_a_team_with_oidc_login():
    text = (config.ROOT / "README.md").read_text(encoding="utf-8")
    for needle in ("127.0.0.1", "st.login", "[auth]", "redirect_uri", "cookie_secret",
                   "server_metadata_url", "--server.address"):
        assert needle in text, needle
