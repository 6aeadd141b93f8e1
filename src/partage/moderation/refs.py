"""Public references of notices, decisions, statements and complaints: a letter saying what
it is and 16 random characters (80 bits), so a notice's receipt page, which its reference
opens without an account, cannot be found by guessing."""

from __future__ import annotations

from partage.security import random_code


def new_ref(kind: str) -> str:
    """`kind`: "N" notice, "D" decision, "S" statement, "C" complaint."""
    return f"{kind}-{random_code(16).upper()}"
