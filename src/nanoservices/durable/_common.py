"""What the sync durable handle and the async durable engine share: reading entries
back (requests, thrown exceptions) and telling what a service never saw.

A mixin, so that both read the journal by one set of rules; it needs ``key``,
``name``, ``_spec`` (the service's spec) and ``_decode`` (the request decoder).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import msgspec

from nanoservices import InvalidRequestError, ServiceBusyError, ServiceClosedError
from nanoservices.core import ServiceSpec

from ._entries import Entry
from ._errors import JournalError, JournalTypeError, ReplayMismatchError

__all__ = ["REFUSALS", "JournalReader"]

#: Errors that mean the service never saw the request (so nothing is journalled).
REFUSALS = (ServiceClosedError, ServiceBusyError)


class JournalReader:
    """Reading a journal back, and what is journalled at all (see the module)."""

    __slots__ = ()

    key: str
    _spec: ServiceSpec
    _decode: Callable[[bytes], Any]

    @property
    def name(self) -> str:
        return self._spec.name

    def _mismatch(self, entry: Entry, request: object, detail: str) -> ReplayMismatchError:
        return ReplayMismatchError(self.name, self.key, entry.seq, request, detail)

    def _decode_request(self, entry: Entry) -> object:
        try:
            request = self._decode(entry.body)
        except msgspec.DecodeError as exc:
            raw: object = entry.body
            if isinstance(exc, msgspec.ValidationError):
                raw = msgspec.msgpack.decode(entry.body)
            raise JournalTypeError(self.name, self.key, entry.seq, raw, str(exc)) from None
        check = self._spec.check
        if check is not None:
            reason = check(request)
            if reason is not None:
                raise JournalTypeError(self.name, self.key, entry.seq, request, reason)
        return request

    def _decode_exception(self, entry: Entry) -> BaseException:
        module, qualname, args = msgspec.msgpack.decode(entry.body)
        cls: Any = sys.modules.get(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise JournalError(
                self.name,
                self.key,
                f"entry {entry.seq} throws {module}.{qualname}, which is not a loaded "
                "exception class",
            )
        return cls(*args)

    def _refused(self, request: object, exc: BaseException) -> bool:
        """Whether ``exc`` means the service never saw ``request`` (not journalled)."""
        if isinstance(exc, REFUSALS):
            return True
        check = self._spec.check
        return (
            isinstance(exc, InvalidRequestError)
            and check is not None
            and check(request) is not None
        )

    def _unencodable(self, request: object, exc: BaseException) -> InvalidRequestError:
        return InvalidRequestError(
            self.name, request, f"a durable service journals requests as msgspec data: {exc}"
        )
