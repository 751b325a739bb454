"""What a journal holds, built here and nowhere else: entry kinds, bodies, digests, checksums.

An entry is ``(seq, kind, body, digest)``: ``body`` is msgspec MessagePack (the
request, or a thrown exception's name and arguments: [`encode`][],
[`throw_body`][]), never pickle; ``digest`` is a CRC-32 of the outcome (the reply's
MessagePack, or the error's type name: [`digest_reply`][], [`digest_error`][]) so
replay can check determinism without storing replies. ``crc`` ([`row_crc`][], the
one formula) guards a stored row against a torn or corrupted write.
"""

from __future__ import annotations

import enum
import zlib
from typing import Any, NamedTuple

import msgspec

__all__ = [
    "CALL",
    "END_OK",
    "ITEM",
    "RESULT",
    "UNCHECKED",
    "Entry",
    "Kind",
    "Row",
    "decoder_for",
    "digest_error",
    "digest_reply",
    "encode",
    "row",
    "row_crc",
    "throw_body",
]


class Kind(enum.IntEnum):
    """What an entry records."""

    CALL = 1  # body: the request; digest: the reply or the error
    STREAM = 2  # body: the request; digest: opening it (0, or the error)
    ITEM = 3  # one item handed to the caller; digest: the item
    END = 4  # the stream ended (digest END_OK) or failed (the error)
    CANCEL = 5  # the caller stopped reading the stream
    THROW = 6  # body: [module, qualname, args]; digest: what the service yielded or raised
    RESET = 7
    RESTART = 8


#: The kinds the hot paths write, as plain ints: on Python 3.11 reading an enum member
#: costs about ten times reading a global, and arithmetic on an ``IntEnum`` misses the
#: interpreter's fast path for ``int``.
CALL = int(Kind.CALL)
ITEM = int(Kind.ITEM)

#: The kind of a [`Replayable`][nanoservices.durable.Replayable]'s recorded result (it
#: precedes the entry of the request that made it); not a ``Kind``: never replayed as a step.
RESULT = 9


class Entry(NamedTuple):
    """One journal entry as stored."""

    seq: int
    kind: int
    body: bytes
    digest: int


_crc32 = zlib.crc32
_encoder = msgspec.msgpack.Encoder()
encode = _encoder.encode
END_OK = 0x454E44  # "END": the digest of a stream that ended normally
#: The digest of an outcome nobody saw (an async call cancelled mid-request): replay
#: runs the entry and does not compare (a CRC-32 is never negative).
UNCHECKED = -1


def digest_reply(reply: object) -> int:
    """A CRC-32 of ``reply``'s MessagePack; for a reply msgspec cannot encode, of its
    type's name only (a weaker check, documented)."""
    try:
        return zlib.crc32(encode(reply))
    except (TypeError, msgspec.EncodeError):
        return zlib.crc32(type(reply).__qualname__.encode())


def digest_error(exc: BaseException) -> int:
    """The digest of an outcome that raised: its type's name (messages may hold addresses)."""
    return zlib.crc32(b"!" + type(exc).__qualname__.encode())


def throw_body(exc: BaseException | type[BaseException]) -> bytes:
    """The body of a THROW entry: the exception's module, qualified name and arguments
    (as text when msgspec cannot encode them), so replay raises its like again."""
    cls = exc if isinstance(exc, type) else type(exc)
    args = list(exc.args) if isinstance(exc, BaseException) else []
    try:
        return encode([cls.__module__, cls.__qualname__, args])
    except (TypeError, msgspec.EncodeError):
        return encode([cls.__module__, cls.__qualname__, [str(a) for a in args]])


Row = tuple[str, int, int, bytes, int, int]  # key, seq, kind, body, digest, crc


def row(key: str, seq: int, kind: int, body: bytes, digest: int) -> Row:
    """The stored row of an entry of ``key``: the entry and its checksum (the one
    formula; it detects torn and corrupted rows). The seed is taken modulo 2**32
    by ``crc32`` itself (it reads the low 32 bits of any int, a negative one as two's
    complement): the same checksum as masking it first, one operation less on the
    hot path."""
    return (key, seq, kind, body, digest, _crc32(body, seq * 2654435761 + kind * 97 + digest))


def row_crc(seq: int, kind: int, body: bytes, digest: int) -> int:
    """The checksum of [`row`][]; a snapshot's is ``row_crc(seq, 0, body, 0)``."""
    return row("", seq, kind, body, digest)[5]


def decoder_for(request_type: Any) -> msgspec.msgpack.Decoder[Any]:
    """A decoder that rebuilds requests as ``request_type`` (plain data when msgspec
    cannot decode that type)."""
    try:
        return msgspec.msgpack.Decoder(request_type)
    except TypeError:
        return msgspec.msgpack.Decoder()
