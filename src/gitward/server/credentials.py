"""What gitward keeps of a secret: scrypt hashes of passwords, SHA-256 of API tokens.

A password is stored as ``scrypt$n$r$p$salt$hash`` (`hash_password`) and
checked in constant time (`verify_password`); a login for an unknown user
costs as much as one for a known user (`burn_password_time`), so timing does
not tell which names exist. An API token is ``gw_`` and 43 random URL-safe
characters (`new_token`); the store keeps only its SHA-256 (`hash_token`).
Used by the login routes (`gitward.server.login`), the bearer check
(`gitward.server.auth`) and the admin CLI (`gitward.server.admin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = [
    "TOKEN_PREFIX", "burn_password_time", "hash_password", "hash_token", "new_token",
    "unpadded_b64", "unpadded_b64_decode", "verify_password",
]

TOKEN_PREFIX = "gw_"

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in unpadded base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R,
                            p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${unpadded_b64(salt)}${unpadded_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` hashes to `stored`; False for anything malformed."""
    try:
        scheme, n_text, r_text, p_text, salt_text, hash_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = unpadded_b64_decode(salt_text), unpadded_b64_decode(hash_text)
    except ValueError:
        return False
    # Bounds keep a tampered row from costing the server more than a login should.
    if scheme != "scrypt" or not (2 <= n <= 2 ** 17 and 1 <= r <= 16 and 1 <= p <= 4
                                  and 16 <= len(expected) <= 64):
        return False
    try:
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p,
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def burn_password_time(password: str) -> None:
    """Cost an unknown user's login as much as a known one's (no user enumeration)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _DUMMY_HASH)


def new_token() -> str:
    """A fresh API token: ``gw_`` and 43 URL-safe characters."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def unpadded_b64(raw: bytes) -> str:
    """URL-safe base64 without the ``=`` padding (as in hashes and session cookies)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpadded_b64_decode(text: str) -> bytes:
    """The bytes of `unpadded_b64` text; ValueError if it is not base64."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64") from None
