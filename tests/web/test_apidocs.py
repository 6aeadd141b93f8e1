"""/api/docs works offline: Swagger UI from our own static files, nothing from a CDN."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx

from tests.serverproc import Server


def test_api_docs_load_nothing_from_another_host(server: Server) -> None:
    r = httpx.get(server.url + "/api/docs", timeout=30)
    assert r.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", r.text)
    assets = [u for u in urls if not u.startswith(("#", "data:"))]
    assert any(u.endswith("swagger-ui-bundle.js") for u in assets), r.text
    assert any(u.endswith("swagger-ui.css") for u in assets), r.text
    for u in assets:
        full = urljoin(server.url + "/api/docs", u)
        assert urlsplit(full).netloc == urlsplit(server.url).netloc, u  # no third party
        assert httpx.get(full, timeout=30).status_code == 200, u
    assert "cdn." not in r.text and "https://" not in r.text


def test_the_openapi_document_describes_errors(server: Server) -> None:
    doc = httpx.get(server.url + "/api/v1/openapi.json", timeout=30).json()
    assert set(doc["components"]["schemas"]["Error"]["properties"]) >= {"error", "message"}
    notices = doc["paths"]["/api/v1/notices"]["post"]["responses"]
    assert {"400", "413", "422", "500"} <= set(notices)
    options = doc["paths"]["/api/v1/uploads/{upload_id}"]["options"]
    assert [p["name"] for p in options["parameters"]] == ["upload_id"]
