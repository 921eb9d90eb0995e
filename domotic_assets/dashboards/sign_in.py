"""Signing in to the dashboards: the session cookie, the CSRF tokens of the forms, and the password check.

* A session is a token kept as a hash in `meta.api_tokens` (kind `session`), so the API takes the cookie
  like a bearer token and `domotic accounts revoke` ends sessions with the rest. The cookie is HttpOnly,
  SameSite=Lax (a shared link still opens signed in), and Secure when the request came over TLS (behind a
  proxy: uvicorn's `--forwarded-allow-ips` and `X-Forwarded-Proto`).
* CSRF: a signed-in form carries a token derived from the session (HMAC), checked on every POST; the sign-in
  form carries a random token that must equal its cookie (double submit). A POST to the API with the
  cookie needs the session's token in `X-CSRF-Token`; with a bearer token it needs none.
* The password is checked with argon2 in a worker thread (it takes tens of milliseconds by design); an
  unknown login costs the same time as a wrong password, so that logins cannot be told apart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_COOKIE = "domotic_session"
LOGIN_CSRF_COOKIE = "domotic_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12.0
"""A session lasts this long after sign-in; then the reader signs in again."""

_HASHER = PasswordHasher()
_DECOY = _HASHER.hash(secrets.token_urlsafe(16))
"""Checked against when the login is unknown or has no password, so that it takes as long as a real check."""


def csrf_of(session: str) -> str:
    """The CSRF token of a session: derived from it, so nothing more is stored."""
    return hmac.new(session.encode(), b"domotic csrf", hashlib.sha256).hexdigest()[:32]


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


async def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one of `stored_hash` (argon2), checked off the event loop."""

    def check() -> bool:
        try:
            return _HASHER.verify(stored_hash or _DECOY, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def delay_after(failures: int) -> float:
    """Seconds a failed sign-in waits before it is answered: 0.5 s, doubling with each recent failure from
    the same address, at most 8 s (then 429 after `request_context.FAILURES_ALLOWED`)."""
    return min(0.5 * 2 ** max(failures - 1, 0), 8.0)
