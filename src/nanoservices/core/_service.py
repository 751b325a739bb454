"""Turning generator functions into services: ``@service``, ``raw`` and ``coroutine``.

``@service`` makes a *factory*: calling it with the service's configuration (a
DSN, a base URL...) starts a generator, primes it and returns a ready handle.
The factory keeps the function and its options in a [`ServiceSpec`][], which
every transport and the supervisor reuse to start fresh instances.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any, Generic, ParamSpec, TypeAlias, TypeVar, overload

from ._handle import LocalHandle
from ._protocol import NATIVE, Protocol, RawProtocol
from ._spec import ServiceSpec
from ._supervise import RestartPolicy
from ._validate import Check, UncheckableType, build_check, request_type_of

__all__ = ["ServiceFactory", "ServiceSpec", "coroutine", "raw", "service"]

P = ParamSpec("P")
RequestT = TypeVar("RequestT")
ReplyT = TypeVar("ReplyT")
GenT = TypeVar("GenT", bound=Generator[Any, Any, Any])


class _Default:
    """A default meaning "not given", whose repr says what happens instead (for signatures)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: What ``@service(...)`` and ``raw(...)`` return when given options only.
ServiceDecorator: TypeAlias = Callable[
    [Callable[..., Generator[Any, Any, Any]]], "ServiceFactory[Any, Any, Any]"
]

FROM_ANNOTATION: Any = _Default("FROM_ANNOTATION")
"""``request_type``'s default: read from the ``Generator[Reply, Request, Return]`` annotation."""
UNCHANGED: Any = _Default("UNCHANGED")
"""``with_options``' default: keep the option as this factory has it."""
_UNSET: Any = FROM_ANNOTATION  # the older name, kept for code that still uses it


class ServiceFactory(Generic[P, RequestT, ReplyT]):
    """Calling it starts a primed service instance: ``md5()`` -> a ready handle."""

    __slots__ = ("__dict__", "spec")

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        functools.update_wrapper(self, spec.fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> LocalHandle[RequestT, ReplyT]:
        return LocalHandle(self.spec, args, kwargs)

    def with_options(
        self,
        *,
        name: str | None = None,
        restart: RestartPolicy | None = UNCHANGED,
        request_type: Any = UNCHANGED,
        validate: bool = True,
    ) -> ServiceFactory[P, RequestT, ReplyT]:
        """The same service under other options (a new factory; this one is unchanged)."""
        spec = self.spec
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if restart is not UNCHANGED:
            changes["restart"] = restart
        if request_type is not UNCHANGED:
            changes["request_type"] = request_type
            changes["check"] = _check_for(request_type, name or spec.name) if validate else None
        elif not validate:
            changes["check"] = None
        return ServiceFactory(replace(spec, **changes))

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<service factory {self.spec.name!r} ({self.spec.protocol.name})>"


def _make_spec(
    fn: Callable[..., Generator[Any, Any, Any]],
    *,
    name: str | None,
    protocol: Protocol,
    restart: RestartPolicy | None,
    request_type: Any,
    validate: bool,
    refuses: bool | None = None,
) -> ServiceSpec:
    if not callable(fn):
        raise TypeError(f"{fn!r} is not a generator function")
    if request_type is FROM_ANNOTATION:
        request_type = request_type_of(fn)
    name = name or str(getattr(fn, "__name__", repr(fn)))
    check = _check_for(request_type, name) if validate else None
    if refuses is None:
        refuses = _names(fn, {"refuse", "Refusal"})
    return ServiceSpec(
        fn=fn,
        name=name,
        protocol=protocol,
        restart=restart,
        request_type=request_type,
        check=check,
        refuses=refuses,
        streams=protocol is NATIVE and _names(fn, {"streamed", "Stream", "astreamed"}),
    )


def _factory_or_decorator(
    fn: Callable[..., Generator[Any, Any, Any]] | None, **options: Any
) -> ServiceFactory[Any, Any, Any] | ServiceDecorator:
    """``fn``'s factory made with ``options`` (those of ``_make_spec``), or, without
    ``fn`` (``@service(...)``), the decorator that makes it."""

    def decorate(fn: Callable[..., Generator[Any, Any, Any]]) -> ServiceFactory[Any, Any, Any]:
        return ServiceFactory(_make_spec(fn, **options))

    return decorate if fn is None else decorate(fn)


def _check_for(request_type: object, name: str) -> Check | None:
    """``build_check``, with a type it cannot check refused here, at declaration,
    naming the service (every call would otherwise be refused)."""
    try:
        return build_check(request_type)
    except UncheckableType as exc:
        raise UncheckableType(f"service {name!r}: {exc}") from None


def _names(fn: Callable[..., Any], names: set[str]) -> bool:
    """Whether ``fn``'s body (or a function nested in it) names one of ``names``:
    ``refuse``/``Refusal`` for a service that may refuse, ``streamed``/``Stream``
    for one that may reply with a stream (what ``spec`` tells tools such as
    ``nanoservices run``; the handle decides by each reply's type)."""
    code = getattr(fn, "__code__", None)
    pending = [code] if code is not None else []
    while pending:
        code = pending.pop()
        if names & set(code.co_names):
            return True
        pending.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return False


@overload
def service(
    fn: Callable[P, Generator[ReplyT, RequestT, Any]], /
) -> ServiceFactory[P, RequestT, ReplyT]: ...


@overload
def service(
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    request_type: Any = FROM_ANNOTATION,
    validate: bool = True,
    refuses: bool | None = None,
) -> Callable[
    [Callable[P, Generator[ReplyT, RequestT, Any]]], ServiceFactory[P, RequestT, ReplyT]
]: ...


def service(
    fn: Callable[..., Generator[Any, Any, Any]] | None = None,
    /,
    *,
    name: str | None = None,
    restart: RestartPolicy | None = None,
    request_type: Any = FROM_ANNOTATION,
    validate: bool = True,
    refuses: bool | None = None,
) -> ServiceFactory[Any, Any, Any] | ServiceDecorator:
    """Make a service factory from a generator function (native protocol).

    Args:
        name: the service's name in errors and listings (default: the function's).
        restart: what to do when the body raises (default: nothing, it stays FAILED).
        request_type: the type requests must have; default: read from the
            ``Generator[Reply, Request, Return]`` annotation. Declared types are
            checked before the service sees a request.
        validate: whether to check requests against ``request_type`` before the
            service sees them (``False`` skips the check).
        refuses: whether the service may yield ``refuse(reason)`` (default:
            found from the function's code). Descriptive only (``spec.refuses``):
            every reply that is a refusal is refused, however it was built.

    Raises:
        TypeError: the request type is one no request could be checked
            against, such as a union of two plain dataclasses; the message
            names the service and says what to declare instead.
    """

    return _factory_or_decorator(
        fn,
        name=name,
        protocol=NATIVE,
        restart=restart,
        request_type=request_type,
        validate=validate,
        refuses=refuses,
    )


@overload
def raw(fn: Callable[P, Generator[Any, Any, Any]], /) -> ServiceFactory[P, Any, Any]: ...


@overload
def raw(
    *,
    reset_with: type[BaseException] | None = None,
    name: str | None = None,
    restart: RestartPolicy | None = None,
) -> Callable[[Callable[P, Generator[Any, Any, Any]]], ServiceFactory[P, Any, Any]]: ...


@overload
def raw(
    fn: Callable[P, Generator[Any, Any, Any]],
    /,
    *,
    reset_with: type[BaseException] | None = None,
    name: str | None = None,
    restart: RestartPolicy | None = None,
) -> ServiceFactory[P, Any, Any]: ...


def raw(
    fn: Callable[..., Generator[Any, Any, Any]] | None = None,
    /,
    *,
    reset_with: type[BaseException] | None = None,
    name: str | None = None,
    restart: RestartPolicy | None = None,
) -> ServiceFactory[Any, Any, Any] | ServiceDecorator:
    """Host a generator written in the talk's style, unchanged.

    ``call(x)`` is ``send(x)``; ``stream(x)`` hands out what it yields until it
    yields ``None``; a falsy request that ends the generator closes the handle.
    ``reset_with`` is the exception the generator catches to abandon a stream
    (the talk's ``DifferentCity``); without one, ending a stream early restarts
    the service from its function.
    """
    if reset_with is not None and not (
        isinstance(reset_with, type) and issubclass(reset_with, BaseException)
    ):
        raise TypeError(f"reset_with must be an exception class, got {reset_with!r}")
    protocol = RawProtocol(reset_with)

    return _factory_or_decorator(
        fn,
        name=name,
        protocol=protocol,
        restart=restart,
        request_type=Any,
        validate=False,
        refuses=False,
    )


def coroutine(fn: Callable[P, GenT]) -> Callable[P, GenT]:
    """David Beazley's priming decorator: calling ``fn`` returns a primed generator.

    The bare version of what ``@service`` does, for code that wants the raw
    generator: ``g = times_five(); g.send(10)`` with no ``next(g)`` first.
    """

    @functools.wraps(fn)
    def start(*args: P.args, **kwargs: P.kwargs) -> GenT:
        gen = fn(*args, **kwargs)
        next(gen)
        return gen

    return start
