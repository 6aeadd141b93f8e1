"""Password hashing, random secrets and signed tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 low-memory profile

CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Hash for high-entropy secrets (session cookies, API tokens) at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def random_code(length: int = 12) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Compact HMAC-SHA256 signed payloads: `<payload>.<mac>`, both base64url."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._key = hashlib.sha256(key + b"\x00" + purpose.encode()).digest()

    def sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20]
        return f"{body}.{_b64(mac)}"

    def unsign(self, token: str) -> dict[str, Any] | None:
        body, _, mac = token.partition(".")
        if not body or not mac:
            return None
        expected = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:20]
        try:
            if not hmac.compare_digest(expected, _unb64(mac)):
                return None
            data = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        return data if isinstance(data, dict) else None
