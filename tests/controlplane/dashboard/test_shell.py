"""The page at ``/`` that loads the dashboard, and the ES modules it loads, as the browser fetches them."""

from __future__ import annotations

import json
import posixpath
import re

import pytest
from django.test import Client

# `import ... from "./x.js"` and `import "./x.js"`: the dashboard's modules import each other relatively.
RELATIVE_IMPORT = re.compile(r"""^import\s(?:[^"']*\sfrom\s)?["'](\.{1,2}/[^"']+)["'];""", re.MULTILINE)


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def import_map(shell: str) -> dict[str, str]:
    found = re.search(r'<script type="importmap">(.*?)</script>', shell, re.DOTALL)
    return json.loads(found.group(1))["imports"]


@pytest.fixture
def shell(db) -> str:
    response = Client().get("/")
    assert response.status_code == 200
    return body(response)


def test_the_shell_is_served_to_anyone_with_a_csrf_cookie_and_no_caching(db):
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "csrftoken" in response.cookies  # the SPA's first write, the login, sends it back
    assert "no-cache" in response["Cache-Control"]
    assert '<div id="app">' in body(response)


def test_the_shell_only_answers_reads(db):
    assert Client().post("/").status_code == 405


def test_vue_comes_from_the_vendored_copy(shell):
    vue = import_map(shell)["vue"]
    assert vue == "/static/vendor/vue/vue.esm-browser.prod.js"
    response = Client().get(vue)
    assert response.status_code == 200
    assert "createApp" in body(response)


def test_every_module_the_dashboard_imports_is_served(shell):
    """From main.js through every relative import: a renamed or missing module fails here, not in a browser."""
    entry = re.search(r'<script type="module" src="([^"]+)"', shell).group(1)
    pending, seen = [entry], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = Client().get(path)
        assert response.status_code == 200, path
        assert "javascript" in response["Content-Type"], path
        for relative in RELATIVE_IMPORT.findall(body(response)):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), relative)))
    assert len(seen) > 10  # the walk really followed the imports
