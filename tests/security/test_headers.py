"""Security headers on every kind of page (clickjacking, referrers, sniffing), and the
pages still working under the Content-Security-Policy in Chromium: no violation is
reported while the file manager uploads, the player plays and the download page loads."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest

from partage.settings import Settings
from partage.web.headers import JS_FLAG_SCRIPT, page_policy
from partage.web.templating import TEMPLATES
from tests.admin.conftest import make_admin, web_login
from tests.conftest import Account, make_account
from tests.serverproc import Server
from tests.web.conftest import WebUser, login, new_context  # noqa: F401  (browser fixture)

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
VIOLATIONS_JS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def _clip(tmp: Path) -> Path:
    out = tmp / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", "-movflags", "+faststart", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def video(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A processed video of its own account: (account, code)."""
    acc = make_account(server)
    path = _clip(tmp_path_factory.mktemp("clip"))
    r = acc.client.put("/api/v1/files/clip.mp4", content=path.read_bytes(), headers=JSON)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = acc.client.get(f"/api/v1/files/{code}/media").json()["state"]
        if state in ("done", "failed", "not_media"):
            break
        time.sleep(0.2)
    assert state == "done", state
    yield acc, code
    acc.client.close()


def _app_page(r: httpx.Response, *, referrer: str = "strict-origin-when-cross-origin") -> None:
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'self'" in csp, (r.url, r.headers)
    assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp, csp
    assert "object-src 'none'" in csp and "form-action 'self'" in csp, csp
    assert r.headers.get("x-frame-options") == "SAMEORIGIN", (r.url, r.headers)
    assert r.headers.get("x-content-type-options") == "nosniff", (r.url, r.headers)
    assert r.headers.get("referrer-policy") == referrer, (r.url, r.headers)
    assert len(r.headers.get_list("content-security-policy")) == 1


def test_the_inline_script_is_the_one_the_policy_allows() -> None:
    """base.html's one inline script runs only if its text is exactly the hashed one."""
    base = (TEMPLATES / "base.html").read_text()
    assert f"<script>{JS_FLAG_SCRIPT}</script>" in base
    for tpl in TEMPLATES.glob("*.html"):
        text = tpl.read_text()
        inline = [s for s in re.findall(r"<script([^>]*)>", text) if "src=" not in s]
        assert all('type="application/json"' in s for s in inline if s), (tpl.name, inline)
        assert not re.search(r"\sstyle=|\son[a-z]+=", text), tpl.name


def test_every_page_kind_carries_the_headers(
    server: Server, alice: Account, video: tuple[Any, str]
) -> None:
    anon = httpx.Client(base_url=server.url, headers=HTML, timeout=30)
    _app_page(anon.get("/login"))
    _app_page(anon.get("/"))
    _app_page(anon.get("/nothing/here"))  # the 404 page
    _app_page(anon.get("/zzzzzzzzzzzz"))  # an unknown file code
    _app_page(anon.get("/password/reset/not-a-real-secret"), referrer="no-referrer")

    owner, code = video
    _app_page(anon.get(f"/{code}"), referrer="no-referrer")  # the download page
    _app_page(anon.get(f"/v/{code}"))  # the player

    folder = alice.client.post("/api/v1/folders", json={"name": "Shared"}).json()
    shared = alice.client.patch(f"/api/v1/folders/{folder['id']}", json={"shared": True})
    _app_page(anon.get(shared.json()["share_url"]), referrer="no-referrer")

    web = web_login(server, alice.email, alice.password)
    _app_page(web.get("/files"))
    _app_page(web.get("/account"))
    assert web.get("/admin").status_code in (403, 404)
    _app_page(web.get("/admin"))

    boss = make_admin(server)
    admin_web = web_login(server, boss.email, boss.password)
    _app_page(admin_web.get("/admin"))

    # The API: framing refused too, nothing sniffed.
    for r in (alice.client.get("/api/v1/files"), anon.get("/api/v1/files/zz")):
        assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_api_docs_page_has_the_strict_policy(server: Server) -> None:
    """Swagger UI is started by a static script: its page needs no inline script and
    gets the site's policy, framed by the site only."""
    r = httpx.get(f"{server.url}/api/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'self'" in csp
    assert "<script>" not in r.text
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert (
        "frame-ancestors 'self'"
        in httpx.get(f"{server.url}/api/v1/openapi.json").headers["content-security-policy"]
    )


def test_embed_keeps_its_own_frame_ancestors(server: Server, video: tuple[Any, str]) -> None:
    _, code = video
    r = httpx.get(f"{server.url}/embed/{code}", headers=HTML)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp == page_policy(Settings(), frame_ancestors="*"), csp
    assert "x-frame-options" not in r.headers  # old browsers would refuse every embedder
    assert len(r.headers.get_list("content-security-policy")) == 1


def test_user_content_keeps_its_sandbox(server: Server, alice: Account) -> None:
    up = alice.client.put(
        "/api/v1/files/page.html", content=b"<script>alert(1)</script>", headers=JSON
    )
    code = up.json()["code"]
    info = alice.client.get(f"/{code}", headers={"Accept": "application/json"}).json()
    link = next(v for k, v in info.items() if isinstance(v, str) and "/d/" in v)
    r = httpx.get(link, params={"inline": 1})
    assert r.status_code == 200
    csps = r.headers.get_list("content-security-policy")
    assert csps == [] or all("sandbox" in c or "default-src 'none'" in c for c in csps), csps
    assert r.headers["x-content-type-options"] == "nosniff"


def _watch(page: Any) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: seen.append(str(e)))
    page.add_init_script(VIOLATIONS_JS)
    return seen


def test_pages_work_under_the_policy_in_chromium(
    new_context: Any,  # noqa: F811  (the fixture imported above)
    alice: Account,
    video: tuple[Any, str],
    tmp_path: Path,
) -> None:
    page = new_context().new_page()
    seen = _watch(page)
    login(page, WebUser(alice.email, alice.password))
    page.locator("html.js").wait_for(state="attached")  # the hashed inline script ran
    src = tmp_path / "notes.txt"
    src.write_text("hello\n" * 100)
    page.get_by_label("Upload files").set_input_files(str(src))
    page.locator(".upload-item", has_text="notes.txt").locator("a", has_text="Done").wait_for()
    page.locator('#listing tr[data-name="notes.txt"]').wait_for()
    assert page.evaluate("window.__csp") == []

    _, code = video
    for url in (f"/v/{code}", f"/embed/{code}"):
        page.goto(url)
        page.wait_for_function("() => window.partagePlayer && window.partagePlayer.hls")
        page.evaluate("() => { const v = window.partagePlayer.video; v.muted = true; v.play(); }")
        page.wait_for_function("() => window.partagePlayer.video.currentTime > 1", timeout=30_000)
        assert page.evaluate("window.__csp") == [], url
    page.goto(f"/{code}")
    page.locator("html.js").wait_for(state="attached")
    assert page.evaluate("window.__csp") == []
    # The API's docs: Swagger UI renders its operations under the strict policy.
    page.goto("/api/docs")
    page.locator(".opblock").first.wait_for()
    assert page.evaluate("window.__csp") == []
    assert seen == [], seen
