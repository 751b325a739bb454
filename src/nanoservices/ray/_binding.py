"""A registry binding whose name lives on Ray: named host actors, maybe a named session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from nanoservices import RestartPolicy

from ._handle import RayHandle
from ._pool import ServiceHostPool

__all__ = ["RayBinding"]


@dataclass(frozen=True)
class RayBinding:
    """A registry binding: a name that lives on Ray (``registry.bind("md5", RayBinding(...))``).

    The host actors are named (``{pool}-{i}`` in ``namespace``); with a
    ``session``, the instance is named too, so every process that connects
    an equal binding reaches the same service instance.
    """

    target: str  # "module:factory"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    session: str | None = None  # None: a fresh instance per handle
    pool: str = "nanoservices"
    size: int = 1
    namespace: str = "nanoservices"
    num_cpus: float = 1.0
    restart: RestartPolicy | None = None

    kind: ClassVar[str] = "ray"

    @property
    def owned(self) -> bool:
        """Whether the registry may close what it connected (not a shared named session)."""
        return self.session is None

    def connect(self, name: str) -> RayHandle[Any, Any]:
        """The [`Binding`][nanoservices.compose.Binding] method: a handle on the bound service."""
        return self.make_handle()

    def describe(self) -> str:
        where = f"session {self.session!r}" if self.session else "a fresh instance"
        return f"{self.target} on Ray actors {self.pool}-* ({self.namespace}), {where}"

    def make_handle(self) -> RayHandle[Any, Any]:
        """A handle on the bound service (starting the hosts and the instance if needed)."""
        pool = ServiceHostPool(
            self.size, name=self.pool, namespace=self.namespace, num_cpus=self.num_cpus
        )
        return pool.start(
            self.target, *self.args, session=self.session, restart=self.restart, **self.kwargs
        )
