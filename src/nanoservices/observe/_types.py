"""The handle types the observers take: any sync or async handle kind.

Only for annotations: naming the async protocol here must not import asyncio
when ``nanoservices.observe`` is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from nanoservices.aio import AsyncHandleProtocol
    from nanoservices.core import Handle

    #: What ``trace``, ``measure``, ``statistics`` and ``inspect_service`` take.
    AnyHandle: TypeAlias = Handle[Any, Any] | AsyncHandleProtocol[Any, Any]

__all__ = ["AnyHandle"]
