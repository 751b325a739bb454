"""A registry binding: a service name that points at a URL instead of a local factory.

The registry (``_registry``) asks a binding for a handle; this one connects to
a ``nanoservices serve`` server, so callers keep asking for the name while
configuration decides where the service runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._client import AsyncRemoteHandle, RemoteHandle, aconnect, connect

__all__ = ["RemoteBinding"]


@dataclass(frozen=True)
class RemoteBinding:
    """Where a named service runs remotely, and how to open a session on it.

    Satisfies the registry's ``Binding`` protocol (``kind``, ``connect``,
    ``describe``): ``registry.bind("md5", RemoteBinding(url, "md5"))``. The
    registry owns the session it opens and closes it when the name goes.
    """

    kind: ClassVar[str] = "http"
    owned: ClassVar[bool] = True

    url: str
    service: str
    token: str | None = field(default=None, repr=False)
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0

    def connect(self, name: str) -> RemoteHandle[Any, Any]:
        """A new session on the bound service (the registry's ``Binding.connect``)."""
        return self.make_handle()

    def describe(self) -> str:
        return f"{self.service} at {self.url}"

    def make_handle(self, *args: Any, **kwargs: Any) -> RemoteHandle[Any, Any]:
        """A new session; ``args``/``kwargs`` (if any) replace the bound ones.

        The server accepts only the keyword options its operator declared for the
        service (``Served(options=...)``), unless it trusts clients (``client_args``).
        """
        return connect(
            self.url,
            self.service,
            *(args or self.args),
            token=self.token,
            kwargs=dict(kwargs or self.kwargs),
            timeout=self.timeout,
        )

    async def amake_handle(self, *args: Any, **kwargs: Any) -> AsyncRemoteHandle[Any, Any]:
        """The async twin of [`make_handle`][]."""
        return await aconnect(
            self.url,
            self.service,
            *(args or self.args),
            token=self.token,
            kwargs=dict(kwargs or self.kwargs),
            timeout=self.timeout,
        )
