"""Request type checks, built once per service and run only when a type is declared.

Plain classes and unions of them are checked with one ``isinstance`` (the cheap
case, and the common one); anything richer (``dict[str, int]``, ``Literal``,
``TypedDict``, msgspec ``Struct``) is checked by msgspec in strict mode, which
does the deep work in C.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = [
    "Check",
    "ConvertCheck",
    "Fast",
    "InstanceCheck",
    "KeyedCheck",
    "UncheckableType",
    "build_check",
    "fast_form",
    "request_type_of",
]

#: Returns None when the request is acceptable, else the reason it is not.
Check = Callable[[object], str | None]


def _class_tuple(tp: object) -> tuple[type, ...] | None:
    """The classes an ``isinstance`` check can use for ``tp``, if it is that simple."""
    if tp is None or tp is type(None):
        return (type(None),)
    if isinstance(tp, type) and not typing.get_args(tp) and not _converted(tp):
        return (tp,)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        classes: list[type] = []
        for arg in typing.get_args(tp):
            part = _class_tuple(arg)
            if part is None:
                return None
            classes.extend(part)
        return tuple(classes)
    return None


def _converted(tp: type) -> bool:
    """Whether requests of class ``tp`` are built by conversion (a dict becomes a
    dataclass, a ``Struct``, a ``TypedDict``...), not checked by ``isinstance``."""
    return (
        typing.is_typeddict(tp)
        or dataclasses.is_dataclass(tp)
        or issubclass(tp, msgspec.Struct)
        or hasattr(tp, "__attrs_attrs__")
    )


def _type_name(tp: object) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__qualname__
    if isinstance(tp, types.UnionType):  # A | B: the classes by name, as written
        return " | ".join(_type_name(arg) for arg in typing.get_args(tp))
    return repr(tp).replace("typing.", "")


class InstanceCheck:
    """A check that is one ``isinstance``: the handle inlines it into its send."""

    __slots__ = ("classes", "expected", "refuse_bool")

    def __init__(self, classes: tuple[type, ...], refuse_bool: bool, expected: str) -> None:
        self.classes = classes
        self.refuse_bool = refuse_bool
        self.expected = expected

    def __call__(self, request: object) -> str | None:
        if isinstance(request, self.classes) and not (self.refuse_bool and type(request) is bool):
            return None
        return f"expected {self.expected}, got {type(request).__name__}"


def build_check(tp: object) -> Check | None:
    """A check for requests of type ``tp``; None when every request is acceptable.

    Raises [`UncheckableType`][] for a type no request could be checked against
    (a union of two plain dataclasses, say)."""
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return None
    classes = _class_tuple(tp)
    if classes is not None:
        expected = _type_name(tp)
        # PEP 484's numeric tower: an int is acceptable where a float is declared.
        if float in classes or complex in classes:
            classes = (*classes, int) if complex not in classes else (*classes, int, float)

        # bool is an int subclass, but True is rarely a number a service wants:
        # refuse it unless bool itself is declared.
        refuse_bool = bool not in classes and any(
            issubclass(bool, c) for c in classes if c is not object
        )

        return InstanceCheck(classes, refuse_bool, expected)

    return ConvertCheck(tp)


class UncheckableType(TypeError):
    """A declared request type that no request could be checked against (msgspec
    cannot take it): the service is refused when it is declared, not on each call."""


def _passed_through(tp: object) -> tuple[type, ...]:
    """The classes whose exact instances ``msgspec.convert`` hands back unchanged
    for ``tp`` (a ``Struct`` or dataclass class, or a union of ``Struct`` classes
    and ``None``): a request of one of them needs no conversion."""
    if isinstance(tp, type):
        if issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp):
            return (tp,)
        return ()
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if all(
            arg is type(None) or (isinstance(arg, type) and issubclass(arg, msgspec.Struct))
            for arg in args
        ):
            return tuple(arg for arg in args if arg is not type(None))
    return ()


#: What a check accepts as it is, without being called: a tuple of exact classes,
#: or (a router's) a dict of route keys to what each route's payload may be
#: (None: anything). The handles test it inline (the C accelerator without a call).
Fast = tuple[type, ...] | dict[Any, Any]


class KeyedCheck:
    """A router's check: a ``(key, payload)`` pair whose key is one of ``routes``
    and whose payload that route accepts as it is (``routes[key]``: None for any
    payload, else its own [`Fast`][] form) passes without a call; everything else
    goes to ``check``, which says why it cannot be routed."""

    __slots__ = ("check", "routes")

    def __init__(self, check: Check, routes: dict[Any, Fast | None]) -> None:
        self.check = check
        self.routes = routes

    def __call__(self, request: object) -> str | None:
        return self.check(request)


def fast_form(check: Check | None) -> Fast | None:
    """What ``check`` accepts as it is (see [`Fast`][]): None for no check at all,
    ``()`` for a check that must always be called."""
    if check is None:
        return None
    if isinstance(check, InstanceCheck):
        return check.classes
    if isinstance(check, ConvertCheck):
        return check.exact
    if isinstance(check, KeyedCheck):
        return check.routes
    return ()


class Invalid(Exception):
    """Internal: why a request does not convert to the declared type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConvertCheck:
    """A deep check by msgspec (strict): the body receives the *converted* value.

    A request that passes is what the declared type says it is (a dataclass or a
    ``Struct`` built from a dict, say), so the body never meets the raw form.
    Whatever msgspec raises becomes a reason, never a raw exception.
    """

    __slots__ = ("exact", "tp")

    def __init__(self, tp: object) -> None:
        try:
            msgspec.inspect.type_info(tp)
        except TypeError as exc:
            raise UncheckableType(
                f"the request type {_type_name(tp)} cannot be checked: {exc}. Declare "
                "what msgspec can check: for several kinds of request, a tagged union "
                "of msgspec.Struct classes (class Add(msgspec.Struct, tag=True): ...); "
                "or pass validate=False and check requests in the service"
            ) from None
        self.tp = tp
        #: requests of these exact classes are accepted as they are (no conversion)
        self.exact = _passed_through(tp)

    def convert(self, request: object) -> object:
        """The request as the declared type; ``Invalid`` with the reason if it is not."""
        try:
            return msgspec.convert(request, self.tp, strict=True)
        except msgspec.ValidationError as exc:
            raise Invalid(f"expected {_type_name(self.tp)}: {exc}") from None
        except Exception as exc:  # a type msgspec cannot check, a string it cannot encode
            raise Invalid(
                f"cannot be checked against {_type_name(self.tp)}: {type(exc).__name__}: {exc}"
            ) from None

    def __call__(self, request: object) -> str | None:
        try:
            self.convert(request)
        except Invalid as invalid:
            return invalid.reason
        return None


def request_type_of(fn: Callable[..., Any]) -> object:
    """The request type from ``fn``'s ``Generator[Reply, Request, Return]`` annotation.

    Returns ``Any`` when the function is not annotated that way.
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: no declared type
        return Any
    ret = hints.get("return")
    if typing.get_origin(ret) is collections.abc.Generator:
        args = typing.get_args(ret)
        if len(args) >= 2:
            return args[1]
    return Any
