"""The pool of ``ServiceHost`` actors, and how sessions are placed on it.

A factory travels to a host by its import path; ``start`` opens a session
there and returns the [`RayHandle`][nanoservices.ray.RayHandle] that drives it.
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ray
from ray.util.placement_group import remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from nanoservices import OnFailure, RestartPolicy
from nanoservices.aio import AsyncServiceFactory

from ._handle import RayHandle
from ._host import Factory, HostCore, Keyed, SessionId, load_factory
from ._session import ASYNC_GRACE, Target, get_checked

__all__ = ["DEFAULT_RESTART", "ServiceHost", "ServiceHostPool"]

Placement = Literal["round_robin", "least_loaded"]

_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class _Host(HostCore):
    """A [`HostCore`][] that can also say where Ray placed it."""

    def node(self) -> str:
        """The Ray node id this host runs on."""
        return str(ray.get_runtime_context().get_node_id())


#: The Ray actor class: a [`HostCore`][] in its own worker process.
ServiceHost: Any = ray.remote(_Host)

#: Restarts allowed after a host actor is lost, for services with no policy of their own.
DEFAULT_RESTART: RestartPolicy = OnFailure(3, per=60.0)


def _path_of(
    service: str | Factory,
) -> tuple[str, dict[str, Any] | None]:
    """The import path a host uses to start ``service``, and options to apply to it.

    A factory travels by name (``module:attribute``), never pickled: every node
    imports the same code. Options set with ``with_options`` travel alongside.
    """
    if isinstance(service, str):
        load_factory(service)  # fail here, with a clear error, not in the actor
        return service, None
    spec = service.spec
    path = f"{spec.fn.__module__}:{spec.fn.__qualname__}"
    try:
        base = load_factory(path).spec
    except (ImportError, AttributeError, TypeError) as exc:
        raise TypeError(
            f"{service!r} cannot be started on Ray: its factory must be importable as "
            f"{path} on every node (define services at module level, not in __main__)"
        ) from exc
    if base == spec:
        return path, None
    options = {
        key: getattr(spec, key)
        for key in ("name", "restart")
        if getattr(spec, key) != getattr(base, key)
    }
    if spec.request_type != base.request_type:
        options["request_type"] = spec.request_type
    return path, options


def _keyed_target(
    key: str | None, store: str | os.PathLike[str] | None, snapshots: Any
) -> Keyed | None:
    """What a host needs to open a keyed session: (store location, key, snapshots)."""
    if key is None:
        if store is not None or snapshots is not None:
            raise ValueError("store= and snapshots= make a durable session: give its key= too")
        return None
    if not isinstance(key, str) or not key:
        raise TypeError(f"a durable key is a non-empty str, not {key!r}")
    if store is None:
        raise ValueError(
            "a durable session on Ray needs store=: an SQLite path or a postgresql:// DSN "
            "its hosts can reach"
        )
    if not isinstance(store, str | os.PathLike):
        raise TypeError(
            f"store= is a location every host reaches (an SQLite path or a postgresql:// "
            f"DSN), not {type(store).__name__}: a store object cannot travel to a Ray host"
        )
    location = os.fspath(store)
    if not location.startswith(("postgresql://", "postgres://")):
        location = os.path.abspath(location)  # the hosts' working folder is not ours
    return location, key, snapshots


def _per_host(what: str, value: Any, size: int) -> list[Mapping[str, Any]]:
    """``value`` for each of ``size`` hosts: one mapping for all, or a list of ``size``."""
    if value is None:
        return [{}] * size
    if isinstance(value, Mapping):
        return [value] * size
    each = list(value)
    if len(each) != size or not all(isinstance(item, Mapping) for item in each):
        raise ValueError(f"{what} must be one dict, or a list of {size} dicts (one per host)")
    return each


def _reserve(
    strategy: str,
    size: int,
    num_cpus: float,
    memory: int | None,
    resources: list[Mapping[str, float]],
) -> Any:
    """A placement group of one bundle per host, placed by ``strategy``; ready."""
    if strategy not in _STRATEGIES:
        raise ValueError(
            f"placement_group must be one of {', '.join(_STRATEGIES)}, not {strategy!r}"
        )
    bundles = []
    for index in range(size):
        bundle: dict[str, float] = {"CPU": num_cpus, **resources[index]}
        if memory is not None:
            bundle["memory"] = memory
        bundles.append(bundle)
    group = ray.util.placement_group(bundles, strategy=strategy)
    ray.get(group.ready())
    return group


class ServiceHostPool:
    """A pool of ``ServiceHost`` actors that many sessions share.

    Args:
        size: number of host actors.
        num_cpus: CPUs each actor reserves (Ray scheduling).
        memory: memory each actor reserves, in bytes.
        resources: custom resources each actor reserves: one dict for every
            host, or a list of ``size`` dicts, one per host (host ``i`` goes
            where its resources are: a node that offers ``{"gpu-box": 1}``...).
        per_host: other Ray actor options per host, a list of ``size`` dicts
            (say ``{"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id,
            soft=True)}``: host ``i`` on that node while it lives).
        placement_group: a Ray placement group strategy (``"PACK"``,
            ``"SPREAD"``, ``"STRICT_PACK"``, ``"STRICT_SPREAD"``): the pool
            reserves one bundle per host (its CPUs, memory and resources) and
            host ``i`` runs in bundle ``i``; or a ready ``PlacementGroup`` of at
            least ``size`` bundles that you made (and remove) yourself. A group
            the pool made is removed by [`shutdown`][].
        max_restarts: how often Ray restarts a dead host (-1: always); whether
            each service on it comes back is its handle's restart policy.
        placement: how sessions are spread over the hosts: ``"round_robin"``
            or ``"least_loaded"`` (fewest open sessions from this pool object);
            named sessions go by a hash of their name so every caller finds
            them; ``start(..., host=i)`` picks the host.
        name: name the actors ``{name}-{i}`` (in ``namespace``) so other
            processes reach the same hosts; an existing named pool is joined.
        detached: named actors outlive this driver (shut them down explicitly).
        options: any other ``ray.remote`` actor options, for every host.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        num_cpus: float = 1.0,
        memory: int | None = None,
        resources: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
        per_host: Sequence[Mapping[str, Any]] | None = None,
        placement_group: str | Any = None,
        max_restarts: int = -1,
        placement: Placement = "round_robin",
        name: str | None = None,
        namespace: str | None = None,
        detached: bool = False,
        options: dict[str, Any] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        if placement not in ("round_robin", "least_loaded"):
            raise ValueError(
                f"placement must be 'round_robin' or 'least_loaded', not {placement!r}"
            )
        each_resources = _per_host("resources", resources, size)
        each_options = _per_host("per_host", per_host, size)
        actor_options: dict[str, Any] = {
            "num_cpus": num_cpus,
            "max_restarts": max_restarts,
            "max_task_retries": 0,  # a request is never re-run behind the caller's back
            **(options or {}),
        }
        if memory is not None:
            actor_options["memory"] = memory
        if detached:
            actor_options["lifetime"] = "detached"
        self.name = name
        self.placement = placement
        self._own_group: Any = None
        group: Any = placement_group
        if isinstance(placement_group, str):
            group = self._own_group = _reserve(
                placement_group, size, num_cpus, memory, each_resources
            )
        self.actors: list[Any] = []
        for index in range(size):
            host_options = dict(actor_options)
            if each_resources[index]:
                host_options["resources"] = dict(each_resources[index])
            host_options.update(each_options[index])
            if group is not None:
                host_options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                    group, placement_group_bundle_index=index
                )
            if name is not None:
                host_options.update(name=f"{name}-{index}", namespace=namespace, get_if_exists=True)
            self.actors.append(ServiceHost.options(**host_options).remote())
        self._loads = [0] * size
        self._turn = itertools.count()

    # -- placement ------------------------------------------------------------------

    def _place(self, session: SessionId | None, host: int | None) -> int:
        if host is not None:
            if not 0 <= host < len(self.actors):
                raise ValueError(f"host must be 0 to {len(self.actors) - 1}, got {host}")
            return host
        if session is not None:
            return zlib.crc32(str(session).encode()) % len(self.actors)
        if self.placement == "least_loaded":
            return min(range(len(self.actors)), key=self._loads.__getitem__)
        return next(self._turn) % len(self.actors)

    def _released(self, index: int) -> None:
        self._loads[index] = max(0, self._loads[index] - 1)

    # -- starting services ----------------------------------------------------------

    def start(
        self,
        service: str | Factory,
        /,
        *args: Any,
        session: str | None = None,
        restart: RestartPolicy | None = None,
        batch: int = 256,
        host: int | None = None,
        timeout: float | None = None,
        key: str | None = None,
        store: str | os.PathLike[str] | None = None,
        snapshots: Any = None,
        **kwargs: Any,
    ) -> RayHandle[Any, Any]:
        """Start an instance of ``service`` (a factory, or ``"module:factory"``) on a host.

        Args:
            session: a name for the instance; every ``start`` with that name
                (from any process, on a named pool) joins the same instance.
            restart: the restart policy when the host actor is lost (default:
                the service's own, else ``DEFAULT_RESTART``).
            batch: the most streamed items fetched per round trip (1: strictly
                one at a time).
            host: the host (``0`` to ``size - 1``) the session lives on, for
                its whole life; default: the pool's ``placement``.
            timeout: the handle's default bound, in seconds, on how long each
                of its operations waits for its host (``None``: no bound); see
                ``RayHandle.timeout``. Starting is not bounded by it (a new
                host actor takes a while to start its process).
            key: make the instance the durable service of ``key`` (see
                ``nanoservices.durable``): its journal in ``store`` is replayed
                when it opens, and again when its host is restarted after a
                crash, so the state comes back instead of a fresh one.
            store: where durable journals live, as every host reaches it: an
                SQLite file path (hosts on this machine) or a ``postgresql://``
                DSN (sync mode: a reply the caller got is never lost).
            snapshots: the durable service's ``Snapshots`` (they must pickle).
            *args: the factory's positional arguments (they must pickle).
            **kwargs: the factory's keyword arguments (they must pickle).
        """
        path, options = _path_of(service)
        keyed = _keyed_target(key, store, snapshots)
        index = self._place(session, host)
        return self._open(index, session, path, args, kwargs, options, keyed, restart, batch,
                          timeout)  # fmt: skip

    def _open(
        self,
        index: int,
        session: str | None,
        path: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: dict[str, Any] | None,
        keyed: Keyed | None,
        restart: RestartPolicy | None,
        batch: int,
        timeout: float | None,
    ) -> RayHandle[Any, Any]:
        actor = self.actors[index]
        opened = get_checked(
            actor.open.remote(session, path, args, kwargs, options, session is not None, keyed),
            path,
        )
        session_id, name, incarnation, greeting = opened
        self._loads[index] += 1
        factory = load_factory(path, options)
        spec_restart = factory.spec.restart
        grace = ASYNC_GRACE if isinstance(factory, AsyncServiceFactory) else 0.0
        return RayHandle(
            Target(actor, path, args, kwargs, options, self, index, keyed, grace),
            session_id,
            name,
            incarnation,
            restart or spec_restart or DEFAULT_RESTART,
            batch,
            greeting,
            timeout,
        )

    def move(self, handle: RayHandle[Any, Any], host: int) -> RayHandle[Any, Any]:
        """Move a keyed (durable) session to ``host``: close it on its host (its state
        is kept and its key released), then open its key on ``host`` (its state brought
        back there). ``handle`` is closed; use the handle returned.

        Raises:
            ValueError: the session has no key (its state would not move).
        """
        target = handle._target
        if target.keyed is None:
            raise ValueError(
                f"only a keyed session moves between hosts (start it with key= and "
                f"store=): {handle.name!r} would start fresh on the other host"
            )
        if not 0 <= host < len(self.actors):
            raise ValueError(f"host must be 0 to {len(self.actors) - 1}, got {host}")
        handle.close()
        return self._open(
            host, None, target.path, target.args, target.kwargs, target.options,
            target.keyed, handle._policy, handle._batch, handle.timeout,
        )  # fmt: skip

    def start_many(
        self, service: str | Factory, count: int, /, *args: Any, **kwargs: Any
    ) -> list[RayHandle[Any, Any]]:
        """Start ``count`` instances with one round trip per host (spread evenly)."""
        path, options = _path_of(service)
        if options:
            raise ValueError("start_many takes a factory without with_options() changes")
        shares = [
            count // len(self.actors) + (i < count % len(self.actors))
            for i in range(len(self.actors))
        ]
        refs = [
            a.open_many.remote(path, n, args, kwargs)
            for a, n in zip(self.actors, shares, strict=True)
        ]
        incarnations = ray.get([a.ping.remote() for a in self.actors])
        factory = load_factory(path)
        spec = factory.spec
        grace = ASYNC_GRACE if isinstance(factory, AsyncServiceFactory) else 0.0
        handles: list[RayHandle[Any, Any]] = []
        for index, sessions in enumerate(ray.get(refs)):
            target = Target(self.actors[index], path, args, kwargs, None, self, index, grace=grace)
            self._loads[index] += len(sessions)
            handles.extend(
                RayHandle(
                    target,
                    session,
                    spec.name,
                    incarnations[index],
                    spec.restart or DEFAULT_RESTART,
                    256,
                    greeting,
                )
                for session, greeting in sessions
            )
        return handles

    # -- the pool itself --------------------------------------------------------------

    def nodes(self) -> list[str]:
        """The Ray node id each host runs on now (host ``i`` is ``nodes()[i]``)."""
        return list(ray.get([a.node.remote() for a in self.actors]))

    def loads(self) -> list[int]:
        """How many sessions each host holds right now (asks every host)."""
        return list(ray.get([a.count.remote() for a in self.actors]))

    def memory(self) -> list[dict[str, int]]:
        """Each host's resident memory (bytes) and session count."""
        return list(ray.get([a.memory.remote() for a in self.actors]))

    def shutdown(self) -> None:
        """Kill the host actors (for good): every session on them ends."""
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
        if self._own_group is not None:
            remove_placement_group(self._own_group)
            self._own_group = None

    def __enter__(self) -> ServiceHostPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<ServiceHostPool{name} of {len(self.actors)} hosts, {self.placement}>"
