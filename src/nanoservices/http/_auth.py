"""Who is asking: bearer tokens checked in constant time, and whom a quota counts.

With no tokens configured auth is off (bind the server to 127.0.0.1 then); a
session's owner is then the client id a client sends itself. With tokens, the
owner is the token and the client id together, so sessions are bound to the
token that opened them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from starlette.requests import Request

from . import _problems
from ._wire import CLIENT_HEADER

__all__ = ["Auth", "header_bytes"]


def header_bytes(text: str) -> bytes:
    """Header text as bytes for constant-time comparison (headers may hold any byte)."""
    return text.encode("utf-8", "surrogateescape")


class Auth:
    """The bearer tokens a server accepts (none: auth is off)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(header_bytes(t) for t in tokens)

    @property
    def on(self) -> bool:
        return bool(self._tokens)

    def owner(self, request: Request) -> str:
        """Who is asking: the bearer token (when auth is on) and the client id; a
        request without a valid token is refused (401)."""
        client = request.headers.get(CLIENT_HEADER, "")
        if not self._tokens:
            return client
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = header_bytes(token)
        matched = False
        for t in self._tokens:  # every token compared, in constant time each
            matched |= secrets.compare_digest(given, t)
        if scheme.lower() == "bearer" and matched:
            return f"{token}\x00{client}"
        raise _problems.unauthorized()

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is one of the server's (every token compared, in constant time)."""
        given = header_bytes(token)
        matched = False
        for t in self._tokens:
            matched |= secrets.compare_digest(given, t)
        return matched

    def sealed(self, secret: bytes) -> tuple[bytes, ...]:
        """Each token sealed with ``secret`` (HMAC-SHA256): what a browser may keep in
        a cookie instead of the token itself."""
        return tuple(hmac.new(secret, t, hashlib.sha256).digest() for t in self._tokens)

    def seal(self, secret: bytes, token: str) -> bytes:
        """``token`` sealed as [`sealed`][] seals the server's."""
        return hmac.new(secret, header_bytes(token), hashlib.sha256).digest()

    def quota_key(self, request: Request) -> str:
        """Who a session quota counts against: the token with auth on, else the peer address
        (a client id is the client's own choice, so it cannot be what a quota counts)."""
        if self._tokens:
            return request.headers.get("authorization", "")
        return request.client.host if request.client is not None else ""
