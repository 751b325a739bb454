"""Routers: services made of sub-services, composed through ``yield from``.

Two shapes:

* [`Menu`][] (the talk's ``combined``): the first request picks a
  sub-service, which then serves every request until it finishes; control
  comes back to the menu. The delegation *is* ``yield from``, so sends,
  throws, ``close()``, return values and exceptions pass through exactly as
  PEP 380 says.
* [`Router`][] (keyed): every request names its sub-service,
  ``(key, payload)``. Several sub-services stay alive side by side, so this
  cannot be one ``yield from``; each step is delegated by hand following the
  PEP 380 expansion (``next`` for ``None``, ``send`` otherwise, ``throw`` and
  ``close`` passed to the sub-service that served last).

A failure inside a sub-service propagates unchanged (same object, same type);
on its way out each router records where it passed: [`route_of`][] returns
the whole path (``("combined", "tools", "md5")``) and a note shows it in the
traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping
from types import GeneratorType
from typing import Any, Final, NamedTuple, cast

from nanoservices.core import RestartPolicy, RoutingError, ServiceFactory, ServiceSpec
from nanoservices.core.seam import NATIVE, KeyedCheck, RawProtocol, fast_form, short_repr

__all__ = ["Menu", "Routed", "Router", "menu", "route", "route_of", "router"]

#: What a route may be: a generator function (or any callable returning an
#: iterable), a ``ServiceFactory`` (its function is used), another router, or a
#: plain iterable (delegated to as ``yield from`` would).
Route = Callable[[], Iterable[Any]] | ServiceFactory[Any, Any, Any] | Iterable[Any]

_PATH_ATTR: Final = "_nanoservices_route"
_NOTE_PREFIX: Final = "nanoservices route: "


class Routed(NamedTuple):
    """A request for a keyed [`Router`][] with named fields; a plain ``(key,
    payload)`` tuple (what [`route`][] makes) is the same request."""

    key: Hashable
    payload: Any = None


def route(key: Hashable, payload: object = None) -> tuple[Hashable, Any]:
    """The request a router sends to its route ``key``: ``h.call(route("add", 1))``.

    The tuple ``(key, payload)``, spelled without double parentheses (a plain
    tuple, the router's fastest request); a ``None`` payload is PEP 380's
    ``next()`` (the sub-service's next yield).
    """
    return (key, payload)


# -- failure paths -------------------------------------------------------------


def _mark(exc: BaseException, router: str, sub: str) -> None:
    """Record on ``exc`` that it left ``router`` through its route ``sub``.

    Routers deeper down marked it first; their path starts with their own name,
    which is ``sub`` when the sub-service is itself a router.
    """
    inner: tuple[str, ...] = getattr(exc, _PATH_ATTR, ())
    path = (router, *inner) if inner[:1] == (sub,) else (router, sub, *inner)
    setattr(exc, _PATH_ATTR, path)
    notes = getattr(exc, "__notes__", None)
    if notes:  # one note with the whole path, rewritten at each level
        notes[:] = [note for note in notes if not note.startswith(_NOTE_PREFIX)]
    exc.add_note(_NOTE_PREFIX + " > ".join(path))


def route_of(exc: BaseException) -> tuple[str, ...]:
    """The routers and sub-services an exception passed through, outermost first.

    Looks at ``exc`` and then its causes, so it works on the
    ``ServiceFailedError`` a handle raises for a failed router. Empty when the
    exception did not come out of a router.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        path: tuple[str, ...] = getattr(current, _PATH_ATTR, ())
        if path:
            return path
        current = current.__cause__ or current.__context__
    return ()


# -- routes --------------------------------------------------------------------


def _route_name(route: object, key: object) -> str:
    """The route's name in errors and ``route_of``: its function's, or its key's
    when it has none worth showing (a lambda, an iterator)."""
    if isinstance(route, ServiceFactory):
        return route.spec.name
    if isinstance(route, Menu | Router):
        return route.name
    if isinstance(route, functools.partial):
        route = route.func
    name = getattr(route, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    return key if isinstance(key, str) else repr(key)


def _open(route: object) -> Iterable[Any]:
    """A fresh sub-service (or iterable) for one delegation."""
    if isinstance(route, ServiceFactory):
        return route.spec.fn()
    if callable(route):
        opened: Iterable[Any] = route()
        return opened
    if not isinstance(route, Iterable):
        raise TypeError(f"a route is a service, a callable or an iterable, not {route!r}")
    return route


class _Spent:
    """The one-shot routes (iterators, e.g. a generator object) that finished.

    A generator function or factory route gives a fresh sub-service each time;
    an iterator route is one object that runs once. Once it returned or
    failed, delegating to it again would answer ``None`` for ever (PEP 380's
    ``yield from`` a finished iterator), so the router says so instead. Kept on
    the router object, so a restarted router still knows.
    """

    __slots__ = ("keys", "one_shot")

    def __init__(self, routes: Mapping[Hashable, object]) -> None:
        self.one_shot = frozenset(key for key, route in routes.items() if _is_one_shot(route))
        self.keys: set[Hashable] = set()

    def finished(self, key: Hashable) -> None:
        """Note that ``key``'s sub-service returned or failed."""
        if key in self.one_shot:
            self.keys.add(key)

    def check(self, routes: Mapping[Hashable, object], key: Hashable, name: str) -> None:
        """Raise ``RoutingError`` naming ``key`` if its one-shot route is over."""
        if key not in self.one_shot:
            return
        route = routes[key]
        if key in self.keys or getattr(route, "gi_frame", True) is None:
            raise RoutingError(
                name,
                f"route {short_repr(key)} has finished: it is a one-shot "
                f"{type(route).__name__}, which cannot start again (route a generator "
                "function or a service factory to get a fresh sub-service each time)",
            )


def _is_one_shot(route: object) -> bool:
    return isinstance(route, Iterator) and not isinstance(route, ServiceFactory | Menu | Router)


def _host(
    fn: Callable[[], Generator[Any, Any, Any]],
    *,
    name: str,
    raw: bool,
    reset_with: type[BaseException] | None,
    restart: RestartPolicy | None,
    check: Callable[[object], str | None] | None,
) -> ServiceFactory[[], Any, Any]:
    protocol = RawProtocol(reset_with) if raw else NATIVE
    return ServiceFactory(
        ServiceSpec(fn=fn, name=name, protocol=protocol, restart=restart, check=check)
    )


# -- the menu ------------------------------------------------------------------


class Menu:
    """The talk's menu service, reusable: a choice picks a sub-service, which
    serves until it finishes; then the menu asks again.

    Calling the menu returns a fresh generator (so a menu is itself a route,
    and menus nest). A falsy request at the menu ends it (the talk's rule), so
    choices must be truthy. An unknown choice gets the prompt again.
    """

    def __init__(
        self,
        choices: Mapping[Hashable, Route],
        *,
        prompt: object = None,
        name: str = "menu",
        on_return: Callable[[Hashable, Any], Any] | None = None,
    ) -> None:
        falsy = [key for key in choices if not key]
        if falsy:
            raise ValueError(f"menu choices must be truthy (a falsy request ends it): {falsy!r}")
        self.choices = dict(choices)
        self.prompt = prompt
        self.name = name
        self.__name__ = name
        self.on_return = on_return
        self._spent = _Spent(self.choices)

    def __call__(self) -> Generator[Any, Any, None]:
        """A fresh menu generator; its first yield is the prompt."""
        return self._serve()

    def _serve(self) -> Generator[Any, Any, None]:
        choices, prompt, on_return, name = self.choices, self.prompt, self.on_return, self.name
        spent = self._spent
        reply = prompt
        while choice := (yield reply):
            try:
                route = choices.get(choice)
            except TypeError:  # unhashable: not a choice
                route = None
            if route is None:
                reply = prompt
                continue
            spent.check(choices, choice, name)
            try:
                result: Any = yield from cast(Generator[Any, Any, Any], _open(route))
            except Exception as exc:
                spent.finished(choice)
                _mark(exc, name, _route_name(route, choice))
                raise
            spent.finished(choice)
            reply = prompt if on_return is None else on_return(choice, result)

    def service(
        self,
        *,
        name: str | None = None,
        raw: bool = False,
        reset_with: type[BaseException] | None = None,
        restart: RestartPolicy | None = None,
    ) -> ServiceFactory[[], Any, Any]:
        """A factory of handles hosting this menu: the native protocol, as for a
        [`Router`][]; ``raw=True`` for the talk's sub-services (they end
        streams with ``None``; ``reset_with`` is their reset exception)."""
        return _host(
            self,
            name=name or self.name,
            raw=raw,
            reset_with=reset_with,
            restart=restart,
            check=None,
        )

    def __repr__(self) -> str:
        return f"<Menu {self.name!r} {sorted(map(repr, self.choices))}>"


def menu(
    choices: Mapping[Hashable, Route],
    *,
    prompt: object = None,
    name: str = "menu",
    on_return: Callable[[Hashable, Any], Any] | None = None,
    raw: bool = False,
    reset_with: type[BaseException] | None = None,
    restart: RestartPolicy | None = None,
) -> ServiceFactory[[], Any, Any]:
    """A factory of menu services: ``h = menu({1: forecasts, 2: md5}, prompt="1 or 2?")()``.

    The first request picks a sub-service, which serves until it finishes;
    then the menu asks again (see [`Menu`][], which is also a route).

    Args:
        choices: choice -> route (generator function, service factory, router
            or plain iterable); a fresh sub-service is made each time it is chosen.
        prompt: what the menu replies while waiting for a choice.
        name: the service's name (errors, events, ``route_of``).
        on_return: ``(choice, value)`` -> the reply when a sub-service returns
            ``value``; default: the prompt.
        raw: host it with the talk's raw protocol (sub-services that end their
            streams with ``None``); the native protocol by default, as for
            [`router`][].
        reset_with: the raw sub-services' reset exception (ends a stream early).
        restart: the restart policy of the menu's handles.
    """
    return Menu(choices, prompt=prompt, name=name, on_return=on_return).service(
        raw=raw, reset_with=reset_with, restart=restart
    )


# -- the keyed router ------------------------------------------------------------


class Router:
    """Each request names its sub-service: ``(key, payload)`` or [`Routed`][].

    A sub-service starts on its first request and keeps its state between
    requests. The router forwards PEP 380 style: a ``None`` payload is
    ``next()``, anything else ``send()``; a ``None`` request continues the
    sub-service that served last (so a raw handle can stream through it);
    ``throw()`` goes to the sub-service that served last; closing the router
    closes every live sub-service, newest first. A sub-service that returns
    answers its request with its return value and starts afresh next time
    (a one-shot route, an iterator such as a generator object, cannot: naming
    it again raises ``RoutingError``, never a silent ``None``).

    The first request to a sub-service primes it (PEP 380's first ``next()``):
    with a ``None`` payload, what it yields first is the reply; otherwise that
    first yield is its greeting, dropped, and the payload is sent.
    """

    def __init__(self, routes: Mapping[Hashable, Route], *, name: str = "router") -> None:
        self.routes = dict(routes)
        self.name = name
        self.__name__ = name
        # key -> the payload's check (nested router, typed service) or None;
        # built once: the routes are fixed when the router is made
        self._payload_checks: dict[Hashable, Callable[[object], str | None] | None] = {
            key: _payload_check(route) for key, route in self.routes.items()
        }
        self._unchecked = frozenset(
            key for key, check in self._payload_checks.items() if check is None
        )
        # key -> what its payload may be without a call (None: anything), for the
        # handle's inline test; a nested router's is its own table
        self._fast: dict[Hashable, Any] = {
            key: route._fast if isinstance(route, Router) else fast_form(self._payload_checks[key])
            for key, route in self.routes.items()
        }
        self._spent = _Spent(self.routes)

    def __call__(self) -> Generator[Any, Any, None]:
        """A fresh router generator (primed, it yields ``None``)."""
        return self._serve()

    def check(self, request: object) -> str | None:
        """Why ``request`` cannot be routed, or None; nested routers and service
        factories with a declared request type check their payload too."""
        # the hot path of validation: a plain pair naming a route whose payload
        # needs no check (the class test first: unpacking must not consume an
        # arbitrary iterable); everything else goes the long way
        if request.__class__ is tuple or request.__class__ is Routed:
            try:
                key, _ = request
                if key in self._unchecked:
                    return None
            except (ValueError, TypeError):  # not a pair, or an unhashable key
                pass
        return self._check_slowly(request)

    def _check_slowly(self, request: object) -> str | None:
        if request is None:
            return None
        if isinstance(request, tuple) and len(request) == 2:
            key, payload = request
            try:
                inner = self._payload_checks.get(key, _NO_ROUTE)
            except TypeError:
                inner = _NO_ROUTE
            if inner is None or (inner is not _NO_ROUTE and payload is None):
                return None
            if inner is not _NO_ROUTE:
                reason = inner(payload)
                return None if reason is None else f"{key!r}: {reason}"
        return self._refusal(request)

    def _refusal(self, request: object) -> str:
        if not isinstance(request, tuple) or len(request) != 2:
            return f"expected a (key, payload) pair, got {type(request).__name__}"
        return f"no route {short_repr(request[0])} (routes: {', '.join(map(repr, self.routes))})"

    def _serve(self) -> Generator[Any, Any, None]:
        routes, name, spent = self.routes, self.name, self._spent
        live: dict[Hashable, Iterator[Any]] = {}  # started sub-services, oldest first
        # key -> the live sub-service's send, cached when it starts: the hot
        # path is one unpack, one lookup and one call (a generator's send(None)
        # is its next(), so a None payload needs no branch)
        sends: dict[Hashable, Callable[[Any], Any]] = {}
        current: Hashable = _NO_ROUTE  # the key that served last, while it lives
        reply: Any = None
        try:
            while True:
                try:
                    request = yield reply
                except GeneratorExit:
                    raise  # the finally below closes every sub-service (PEP 380)
                except BaseException as exc:
                    if current is _NO_ROUTE or not hasattr(live[current], "throw"):
                        raise  # not delegating, or no throw(): raised here (PEP 380)
                    key: Hashable = current
                    payload: Any = exc
                    send: Callable[[Any], Any] = cast(Any, live[key]).throw
                else:
                    try:  # the hot path: (key, payload) for a live sub-service
                        key, payload = request
                        send = sends[key]
                    except (TypeError, ValueError, KeyError):
                        if request is None:
                            if current is _NO_ROUTE:
                                reply = None  # nothing to continue
                                continue
                            key, payload = current, None
                        else:
                            key, payload = _split(request, name)
                        try:
                            send = sends[key]
                        except (KeyError, TypeError):  # its first request: start it
                            route = _lookup(routes, key, name)
                            spent.check(routes, key, name)
                            sub = live[key] = iter(_open(route))
                            send = _priming(sub, sends.setdefault(key, _send_of(sub)))
                try:
                    reply = send(payload)
                    current = key
                except StopIteration as finished:  # it returned: its value answers
                    del live[key], sends[key]
                    spent.finished(key)
                    current = _NO_ROUTE
                    reply = finished.value
                except Exception as exc:
                    sends.pop(key, None)
                    if live.pop(key, None) is not None:
                        spent.finished(key)
                        _mark(exc, name, _route_name(routes[key], key))
                    current = _NO_ROUTE
                    raise
        finally:
            sends.clear()
            _close_all(live, name, routes)

    def service(
        self,
        *,
        name: str | None = None,
        raw: bool = False,
        reset_with: type[BaseException] | None = None,
        restart: RestartPolicy | None = None,
        validate: bool = True,
    ) -> ServiceFactory[[], Any, Any]:
        """A factory of handles hosting this router; unroutable requests are
        refused before the router runs (``InvalidRequestError``), so a typo in a
        key cannot kill the router and its sub-services. ``validate=False``
        skips that check (a bad key then fails the router with ``RoutingError``)."""
        return _host(
            self,
            name=name or self.name,
            raw=raw,
            reset_with=reset_with,
            restart=restart,
            # the handle lets a pair its routes accept as it is through without a call
            check=KeyedCheck(self.check, self._fast) if validate else None,
        )

    def __repr__(self) -> str:
        return f"<Router {self.name!r} {sorted(map(repr, self.routes))}>"


def _close_all(live: dict[Hashable, Iterator[Any]], name: str, routes: Mapping[Any, Any]) -> None:
    """Close every live sub-service, newest first; re-raise the first failure
    once all are closed (as ``yield from`` lets a sub-service's close error out)."""
    first: BaseException | None = None
    for key in reversed(list(live)):
        sub = live.pop(key)
        try:  # the lookup too: a proxy's __getattr__ may raise
            close = getattr(sub, "close", None)
            if close is not None:
                close()
        except BaseException as exc:  # the others are closed all the same
            if isinstance(exc, Exception):
                _mark(exc, name, _route_name(routes.get(key), key))
            first = first or exc
    if first is not None:
        raise first


_NO_ROUTE: Final[Any] = object()


def _priming(sub: Iterator[Any], send: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The first step to a fresh sub-service, PEP 380's priming ``next()``:
    what it yields first is the reply to a None payload; otherwise that first
    yield (its greeting) is dropped and the payload is sent."""

    def prime(payload: object) -> object:
        reply = next(sub)
        return reply if payload is None else send(payload)

    return prime


def _send_of(sub: Iterator[Any]) -> Callable[[Any], Any]:
    """What the router calls for each payload to ``sub`` (primed): a
    generator's own ``send``; for any other iterator, PEP 380's steps (``next``
    on a None payload, else ``send``, looked up only then)."""
    if type(sub) is GeneratorType:
        return sub.send

    def send_to_iterator(payload: object) -> object:
        if payload is None:
            return next(sub)
        return sub.send(payload)  # type: ignore[attr-defined]

    return send_to_iterator


def _payload_check(route: object) -> Callable[[object], str | None] | None:
    if isinstance(route, Router):
        return route.check
    if isinstance(route, ServiceFactory):
        return route.spec.check
    return None


def _split(request: object, name: str) -> tuple[Hashable, Any]:
    try:
        key, payload = cast(tuple[Hashable, Any], request)
    except (TypeError, ValueError):
        raise RoutingError(
            name, f"expected a (key, payload) pair, got {short_repr(request)}"
        ) from None
    return key, payload


def _lookup(routes: Mapping[Hashable, Route], key: Hashable, name: str) -> Route:
    try:
        return routes[key]
    except (KeyError, TypeError):
        raise RoutingError(name, f"no route {short_repr(key)}") from None


def router(
    routes: Mapping[Hashable, Route],
    *,
    name: str = "router",
    raw: bool = False,
    reset_with: type[BaseException] | None = None,
    restart: RestartPolicy | None = None,
    validate: bool = True,
) -> ServiceFactory[[], Routed | tuple[Hashable, Any], Any]:
    """A factory of keyed routers: ``h = router({"md5": md5, "x5": times_five})()``,
    then ``h.call(route("md5", b"data"))``.

    Each request names its sub-service; sub-services live side by side and
    keep their state (see [`Router`][], which is also a route, so routers
    nest). Unroutable requests are refused before the router runs
    (``InvalidRequestError``) unless ``validate=False``.

    Args:
        routes: key -> route (generator function, service factory, router or
            one-shot iterator).
        name: the service's name (errors, events, ``route_of``).
        raw: host it with the talk's raw protocol; native by default, as for
            [`menu`][].
        reset_with: the raw sub-services' reset exception (ends a stream early).
        restart: the restart policy of the router's handles.
        validate: check each request's key (and payload, for typed routes)
            before the router sees it.
    """
    return Router(routes, name=name).service(
        raw=raw, reset_with=reset_with, restart=restart, validate=validate
    )
