"""Helpers the browser tests share: dropping a folder tree on the page, reading a user's
tree back through the API, and cutting an upload's connection half-way."""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(client: Any, folder_id: int | None = None, prefix: str = "") -> dict[str, str]:
    """{path: sha256} of every file under a folder, through the API. `client` is anything
    with `.get(path, params=…)` answering `.json()`: an `httpx.Client` with a token, or a
    Playwright `context.request` carrying the page's session."""
    out: dict[str, str] = {}
    params: dict[str, Any] = {"per_page": 1000} | ({"folder": folder_id} if folder_id else {})
    for f in client.get("/api/v1/files", params=params).json()["items"]:
        out[prefix + f["name"]] = f["sha256"]
    sub = client.get("/api/v1/folders", params={"parent_id": folder_id} if folder_id else {})
    for d in sub.json()["items"]:
        out.update(tree(client, d["id"], f"{prefix}{d['name']}/"))
    return out


def make_dir(root, files: dict[str, bytes]) -> dict[str, str]:
    """Files on disk under root; their {relative path: sha256}."""
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return {rel: sha256(data) for rel, data in files.items()}


def binary(data: bytes) -> list[str]:
    """A file of any bytes in a `DROP_JS` spec (a plain string is a text file)."""
    return ["base64", base64.b64encode(data).decode()]


# A real drag from the desktop cannot be made by Playwright; the drop event is made in the
# page with FileSystemEntry look-alikes for the directories (what webkitGetAsEntry returns)
# around real File objects, so the walk, the folders and the uploads are the real ones.
# spec: {name: text | binary(bytes) | {name: …}} (a dict is a directory).
DROP_JS = """
(spec) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const fileEntry = (name, content) => ({ isFile: true, isDirectory: false, name,
    file: (ok) => ok(Array.isArray(content)
      ? new File([bytes(content[1])], name, { type: "application/octet-stream" })
      : new File([content], name, { type: "text/plain" })) });
  const dirEntry = (name, children) => ({ isFile: false, isDirectory: true, name,
    createReader() { let done = false;
      return { readEntries(ok) { const batch = done ? [] : children; done = true;
        setTimeout(() => ok(batch), 0); } }; } });
  const build = (node, name) =>
    typeof node === "string" || Array.isArray(node) ? fileEntry(name, node)
    : dirEntry(name, Object.entries(node).map(([n, c]) => build(c, n)));
  const entries = Object.entries(spec).map(([n, c]) => build(c, n));
  const dt = {
    types: ["Files"],
    items: entries.map((e) => ({ kind: "file", webkitGetAsEntry: () => e })),
    files: [],
  };
  for (const type of ["dragenter", "dragover", "drop"]) {
    const ev = new Event(type, { bubbles: true, cancelable: true });
    Object.defineProperty(ev, "dataTransfer", { value: dt });
    document.querySelector("#listing").dispatchEvent(ev);
  }
}
"""


def drop(page, spec: dict[str, Any]) -> None:
    """Drop files and folders (see DROP_JS) on the "My files" listing."""
    page.evaluate(DROP_JS, spec)


def tamper_first_patch(page, data: bytes, *, then: str, half: int | None = None) -> dict:
    """The first tus PATCH delivers only the first `half` bytes (half the file by default)
    to the server, then the client sees the connection fail (`then="abort"`), never hears
    back (`then="hang"`), or waits for the test to decide (`then="hold"`: the route is
    `seen["held"]`). Later PATCHes go through untouched."""
    cut = len(data) // 2 if half is None else half
    seen: dict = {"patch_offsets": [], "heads": 0, "half_sent": threading.Event()}

    def handle(route):
        req = route.request
        if req.method == "HEAD":
            seen["heads"] += 1
        if req.method != "PATCH":
            return route.continue_()
        seen["patch_offsets"].append(int(req.headers["upload-offset"]))
        if seen["half_sent"].is_set():
            return route.continue_()
        headers = {k: v for k, v in req.headers.items() if k.lower() != "content-length"}
        resp = route.fetch(post_data=data[:cut], headers=headers)
        assert resp.status == 204, resp.text()
        assert resp.headers["upload-offset"] == str(cut)
        seen["half_sent"].set()
        if then == "abort":
            route.abort("connectionreset")
        elif then == "hold":
            seen["held"] = route
        # "hang": leave the request unanswered; the test reloads the page.

    page.route("**/api/v1/uploads/*", handle)
    return seen


def wait_half_sent(page, seen: dict, timeout_s: float = 60) -> None:
    """Wait for tamper_first_patch's cut (Playwright runs route handlers only while the
    test calls into it, hence the short waits in the page rather than a plain Event.wait)."""
    for _ in range(int(timeout_s * 10)):
        if seen["half_sent"].is_set():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the first PATCH never came")
