"""What a journal holds: entry kinds, and the digests replay compares.

An entry is ``(seq, kind, body, digest)``: ``body`` is msgspec MessagePack (the
request, or a thrown exception's name and arguments), never pickle; ``digest`` is
a CRC-32 of the outcome (the reply's MessagePack, or the error's type name) so
replay can check determinism without storing replies. ``crc`` guards a stored
row against a torn or corrupted write.
"""

from __future__ import annotations

import enum
import zlib
from typing import Any, NamedTuple

import msgspec

__all__ = [
    "END_OK",
    "UNCHECKED",
    "Entry",
    "Kind",
    "digest_error",
    "digest_reply",
    "encode",
    "row_crc",
    "with_crc",
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


class Entry(NamedTuple):
    """One journal entry as stored."""

    seq: int
    kind: int
    body: bytes
    digest: int


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


def row_crc(seq: int, kind: int, body: bytes, digest: int) -> int:
    """The checksum a stored row must match (detects torn and corrupted rows)."""
    return zlib.crc32(body, (seq * 2654435761 + kind * 97 + digest) & 0xFFFFFFFF)


def with_crc(
    rows: list[tuple[str, int, int, bytes, int]],
) -> list[tuple[str, int, int, bytes, int, int]]:
    """``rows`` with their checksums ([`row_crc`][], inlined: one pass per group)."""
    crc32 = zlib.crc32
    return [
        (
            key,
            seq,
            kind,
            body,
            digest,
            crc32(body, (seq * 2654435761 + kind * 97 + digest) & 0xFFFFFFFF),
        )
        for key, seq, kind, body, digest in rows
    ]


def decoder_for(request_type: Any) -> msgspec.msgpack.Decoder[Any]:
    """A decoder that rebuilds requests as ``request_type`` (plain data when msgspec
    cannot decode that type)."""
    try:
        return msgspec.msgpack.Decoder(request_type)
    except TypeError:
        return msgspec.msgpack.Decoder()
