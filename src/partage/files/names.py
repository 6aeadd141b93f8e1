"""The one rule for user-given names of files and folders.

Names are kept as given for display (Unicode, spaces) and are never used as
paths. The rule: Unicode NFC; surrounding white space stripped; control
characters (Unicode category Cc, and the line/paragraph separators) rejected;
`/` and `\\` rejected; `.` and `..` rejected; at most 255 bytes in UTF-8.
"""

from __future__ import annotations

import unicodedata

from partage.errors import InvalidName

MAX_NAME_BYTES = 255


def clean_name(raw: str, *, what: str = "file name") -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName(f"The {what} is empty.")
    if name in (".", ".."):
        raise InvalidName(f"{name!r} is not a valid {what}.")
    for ch in name:
        if ch in "/\\":
            raise InvalidName(f"A {what} cannot contain '/' or '\\\\': {name!r}.")
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise InvalidName(
                f"A {what} cannot contain control characters (found U+{ord(ch):04X})."
            )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidName(
            f"The {what} is {len(name.encode())} bytes long in UTF-8; {MAX_NAME_BYTES} at most."
        )
    return name
