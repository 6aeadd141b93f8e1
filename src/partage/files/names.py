"""The one rule for user-given names of files and folders.

Names are kept as given for display (Unicode, spaces) and are never used as
paths. The rule: Unicode NFC; surrounding white space stripped; control
characters (Unicode category Cc, and the line/paragraph separators) rejected;
bidirectional controls rejected (U+202E makes `invoice\u202etxt.exe` show as
"invoiceexe.txt"); `/` and `\\` rejected; `.` and `..` rejected; at most 255 bytes in UTF-8.
"""

from __future__ import annotations

import unicodedata

from partage.errors import InvalidName, Term
from partage.web.i18n import N_

MAX_NAME_BYTES = 255
# Unicode's explicit bidirectional formatting characters (UAX #9): they reorder what is
# shown, so a name would read other than it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def clean_name(raw: str, *, what: str = N_("file name")) -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName("The %(what)s is empty.", what=Term(what))
    if name in (".", ".."):
        raise InvalidName("%(name)s is not a valid %(what)s.", name=repr(name), what=Term(what))
    for ch in name:
        if ch in "/\\":
            raise InvalidName(
                "A %(what)s cannot contain '/' or '\\\\': %(name)s.",
                what=Term(what),
                name=repr(name),
            )
        if ch in BIDI_CONTROLS:
            raise InvalidName(
                "A %(what)s cannot contain bidirectional control characters, which change "
                "the order it is shown in (found U+%(code)s).",
                what=Term(what),
                code=format(ord(ch), "04X"),
            )
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise InvalidName(
                "A %(what)s cannot contain control characters (found U+%(code)s).",
                what=Term(what),
                code=format(ord(ch), "04X"),
            )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidName(
            "The %(what)s is %(length)s bytes long in UTF-8; %(max)s at most.",
            what=Term(what),
            length=len(name.encode()),
            max=MAX_NAME_BYTES,
        )
    return name
