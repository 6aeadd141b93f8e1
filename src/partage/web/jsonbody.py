"""Reading a JSON body by hand (routes that take free-form JSON rather than a model)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from partage.errors import BadRequest
from partage.web.i18n import N_


async def read_json(request: Request, message: str = N_("The body must be JSON.")) -> Any:
    """The parsed body, or a 400 with `message`. Nesting deeper than Python's recursion
    limit (`[[[[…` a thousand times) is refused too, rather than raising RecursionError."""
    try:
        return await request.json()
    except ValueError:
        raise BadRequest(message) from None
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply.") from None
