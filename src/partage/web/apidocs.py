"""The API's description tells the truth about errors, and /api/docs works offline.

Every error answers `{"error": code, "message": text}` (the `Error` schema, with the
details some errors add). Each operation lists the statuses it can answer: those every
operation may answer (400 for a path that is not UTF-8, 422 for a parameter out of
bounds, 429 after too many bad tokens, 500, and the HTTP server's 414 for an address
too long), those of any operation that takes a body
(413, 415, and 507 when the disk is full), and those of its area (its tag: a router).

Swagger UI is served from `static/vendor/swagger-ui` (npm `swagger-ui-dist`, copied by
scripts/build-assets), not from a CDN: the page works offline and sends visitors nowhere.
It is started by `static/apidocs.js`, not by an inline script (FastAPI's own page has
one), so the docs page lives under the site's strict Content-Security-Policy like every
other page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

OPENAPI_URL = "/api/v1/openapi.json"
DOCS_URL = "/api/docs"
_VENDOR = "/static/vendor/swagger-ui/"


class Error(BaseModel):
    """What every error answers. Some add details beside these: `fields` (an incomplete
    notice or complaint), `lines` (a bad hash list), `request_id` (an internal error)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="A stable code for programs: not_found, quota_exceeded…")
    message: str = Field(description="What went wrong, in English, for a person.")
    request_id: str | None = Field(
        default=None, description="On a 500: the id to find the error in the server's log."
    )


DESCRIPTIONS = {
    400: "Bad request: a malformed body, header or parameter, or an address not in UTF-8",
    401: "Not authenticated: no valid token (or the link's password is needed)",
    403: "Forbidden: not yours, not allowed for your role, or a wrong link password",
    404: "Not found (or not yours to see)",
    409: "Conflict with the current state (a name taken, a step already done)",
    410: "Gone: deleted, expired, or its download limit reached",
    414: "URI too long: the server refuses the address before the app sees it",
    412: "Precondition failed: a tus version this server does not speak",
    413: "Too large: the request body, the file for your plan, or your quota",
    415: "Unsupported media type: the body's Content-Type is not one this operation takes",
    423: "Locked: another PATCH is writing to this upload",
    422: "Invalid request: a parameter or field missing, of the wrong type or out of bounds",
    429: "Rate limited: wait for Retry-After seconds",
    451: "Unavailable for legal reasons: removed by a moderation decision, or blocked content",
    460: "Checksum mismatch: the tus Upload-Checksum does not match the bytes sent",
    503: "Unavailable for now: the file waits for its malware scan (Retry-After)",
    500: "Internal error: logged with the request id given in the answer",
    507: "Insufficient storage: the server's disk is full",
}

EVERY_OPERATION = (400, 414, 422, 429, 500)
WITH_BODY = (413, 415, 507)
# By tag, that is by router: what its operations answer beyond the above.
BY_TAG: dict[str, tuple[int, ...]] = {
    "accounts": (401, 403, 404, 409),
    "files": (401, 403, 404, 409, 410, 451, 503),
    "uploads": (401, 403, 404, 409, 410, 412, 413, 415, 423, 451, 460, 507),
    "media": (401, 403, 404, 409, 451, 503),
    "admin": (401, 403, 404, 409),
    "moderation": (401, 403, 404, 409, 410),
    "staydown": (401, 403, 404, 409),
}
_BODY_METHODS = ("post", "put", "patch")
_REF = {"$ref": "#/components/schemas/Error"}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error statuses and the `Error` schema to an OpenAPI document, in place
    (idempotent: FastAPI caches the document and this runs on each read)."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", Error.model_json_schema())
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if method not in ("get", "head", "post", "put", "patch", "delete", "options"):
                continue
            statuses = set(EVERY_OPERATION)
            if method in _BODY_METHODS:
                statuses.update(WITH_BODY)
            for tag in op.get("tags", ()):
                statuses.update(BY_TAG.get(tag, ()))
            responses = op.setdefault("responses", {})
            for status in sorted(statuses):
                responses[str(status)] = {"description": DESCRIPTIONS[status]}
                if status != 414:  # the HTTP server's, with no body
                    responses[str(status)]["content"] = {"application/json": {"schema": _REF}}
    # Our 422 is an Error too, not FastAPI's {"detail": [...]}.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Wrap the app's OpenAPI document with the errors; serve Swagger UI from our files."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(generate())

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(router)


router = APIRouter(include_in_schema=False)


_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>partage API</title>
<link rel="icon" href="{_VENDOR}favicon-32x32.png">
<link rel="stylesheet" href="{_VENDOR}swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>
<script src="{_VENDOR}swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""


@router.get(DOCS_URL)
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(_PAGE)
