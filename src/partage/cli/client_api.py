"""The partage JSON API as the CLI uses it (httpx), with server errors turned into
ClientError lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from partage.cli.client_errors import ClientError

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def user_agent() -> str:
    from partage import __version__

    return f"partage-cli/{__version__}"


def error_from_response(r: httpx.Response, *, hint_login: bool = True) -> ClientError:
    """The server's own message when it sent one (`{"error", "message"}`), else the status."""
    message = ""
    try:
        body = r.json()
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("detail") or body.get("error") or "")
    except ValueError:
        text = r.text.strip() if r.headers.get("content-type", "").startswith("text/plain") else ""
        message = text.splitlines()[0][:300] if text else ""
    if not message:
        message = f"the server answered {r.status_code} {r.reason_phrase}".rstrip()
    if r.status_code == 401 and hint_login and "/api/" in r.request.url.path:
        message += " (check your token: `partage login URL`)"
    return ClientError(message, status=r.status_code, fatal=r.status_code == 401)


def transport_error(url: str, exc: httpx.HTTPError) -> ClientError:
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc).split("] ")[-1] or "connection failed"
        return ClientError(f"cannot reach {url}: {reason.lower()}", fatal=True)
    if isinstance(exc, httpx.TimeoutException):
        return ClientError(f"{url} did not answer in time", fatal=True)
    return ClientError(f"talking to {url} failed: {exc or type(exc).__name__}", fatal=True)


class Api:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": user_agent(), "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response, whatever its status; only transport failures raise."""
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(self.url, exc) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Decoded JSON of a successful answer (None for an empty one); ClientError otherwise."""
        r = self.send(method, path, **kwargs)
        if r.status_code >= 400:
            raise error_from_response(r)
        if r.status_code == 204 or not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise ClientError(
                f"{self.url} answered {method} {path} with something that is not JSON: "
                "is this a partage server?"
            ) from None

    # -- account ---------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return dict(self.call("GET", "/api/v1/me"))

    # -- files -----------------------------------------------------------------------------

    def file(self, code: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v1/files/{code}"))

    def files(self, folder_id: int | None, order: str = "name") -> Iterator[dict[str, Any]]:
        page, seen = 1, 0
        while True:
            params: dict[str, Any] = {"order": order, "page": page, "per_page": 500}
            if folder_id is not None:
                params["folder"] = folder_id  # the server's name; the design said folder_id
            data = self.call("GET", "/api/v1/files", params=params)
            items = data["items"] if isinstance(data, dict) else data
            yield from items
            seen += len(items)
            total = data.get("total", seen) if isinstance(data, dict) else seen
            if not items or seen >= total:
                return
            page += 1

    def update_file(self, code: str, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("PATCH", f"/api/v1/files/{code}", json=fields))

    def delete_file(self, code: str) -> None:
        self.call("DELETE", f"/api/v1/files/{code}")

    def bulk(self, action: str, codes: list[str], folder_id: int | None = None) -> Any:
        body: dict[str, Any] = {"action": action, "codes": codes}
        if action in ("move", "copy"):
            body["folder_id"] = folder_id
        return self.call("POST", "/api/v1/files/bulk", json=body)

    # -- folders ---------------------------------------------------------------------------

    def folders(self, parent_id: int | None) -> list[dict[str, Any]]:
        params = {} if parent_id is None else {"parent_id": parent_id}
        data = self.call("GET", "/api/v1/folders", params=params)
        items: list[dict[str, Any]] = data["items"] if isinstance(data, dict) else data
        return list(items)

    def create_folder(self, name: str, parent_id: int | None) -> dict[str, Any]:
        return dict(
            self.call("POST", "/api/v1/folders", json={"name": name, "parent_id": parent_id})
        )
