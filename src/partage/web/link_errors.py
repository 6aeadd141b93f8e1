"""What a person is told when a link cannot be used, beyond the error's message:
shared by the download page and the player pages."""

from __future__ import annotations

from typing import Any

from partage.errors import PartageError

# What a person is told, beyond the error message, for each reason.
EXPLAIN = {
    "not_found": ("File not found",
                  "Check the address. The file may not exist, or its owner keeps it private."),
    "link_expired": ("This link has expired",
                     "The person who shared it set an expiry date. Ask them for a new link."),
    "download_limit_reached": ("Download limit reached",
                               "This link could be downloaded a limited number of times, "
                               "and all of them have been used. Ask the person who shared it."),
    "file_deleted": ("This file was deleted",
                     "Its owner deleted it, or it was removed; it cannot be downloaded."),
    "unavailable_for_legal_reasons": ("Unavailable for legal reasons",
                                      "Access to this file was disabled by a moderation decision."),
    "wrong_password": ("Wrong password", "Check the password and try again."),
    "password_required": ("Password required", "This file is protected by a password."),
    "rate_limited": ("Too many attempts", "Wait a moment before trying again."),
}  # fmt: skip


def error_context(exc: PartageError) -> dict[str, Any]:
    title, explanation = EXPLAIN.get(exc.code, ("This link cannot be used", ""))
    return {"status": exc.status, "code": exc.code, "message": exc.message, "title": title,
            "explanation": explanation}  # fmt: skip
