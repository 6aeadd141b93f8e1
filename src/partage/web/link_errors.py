"""What a person is told when a link cannot be used, beyond the error's message:
shared by the download page and the player pages."""

from __future__ import annotations

from typing import Any

from partage.errors import PartageError
from partage.web.i18n import N_

# What a person is told, beyond the error message, for each reason.
EXPLAIN = {
    "not_found": (N_("File not found"),
                  N_("Check the address. The file may not exist, or its owner keeps it private.")),
    "link_expired": (N_("This link has expired"),
                     N_("The person who shared it set an expiry date. Ask them for a new link.")),
    "download_limit_reached": (N_("Download limit reached"),
                               N_("This link could be downloaded a limited number of times, "
                                  "and all of them have been used. Ask the person who shared it.")),
    "file_deleted": (N_("This file was removed"),
                     N_("Its owner deleted it, or it was removed; it cannot be downloaded "
                        "any more.")),
    "unavailable_for_legal_reasons": (N_("Unavailable for legal reasons"),
                                      N_("Access to this file was disabled by a moderation "
                                         "decision.")),
    "link_revoked": (N_("This download link no longer works"),
                     N_("The file's link options changed since it was issued. Open the file's "
                        "page again for a new one.")),
    "wrong_password": (N_("Wrong password"), N_("Check the password and try again.")),
    "password_required": (N_("Password required"), N_("This file is protected by a password.")),
    "rate_limited": (N_("Too many attempts"), N_("Wait a moment before trying again.")),
}  # fmt: skip


def error_context(exc: PartageError) -> dict[str, Any]:
    title, explanation = EXPLAIN.get(exc.code, (N_("This link cannot be used"), ""))
    # The error itself as "message": `|translated` shows it in the page's language.
    return {"status": exc.status, "code": exc.code, "message": exc, "title": title,
            "explanation": explanation}  # fmt: skip
