"""Finding and starting the service named on the command line (``MODULE:FACTORY``).

Shared by ``run`` ([`load_target`][]) and ``serve`` ([`load_services`][]),
so both take the same targets. ``MODULE`` is an importable module
(``nanoservices.services.hashing``; the current folder is importable, as with
``python -m``) or a Python file (``talk.py``, imported under its own name as
``python talk.py`` would find it); ``FACTORY`` names an attribute in it, dotted
if nested. Without ``--raw`` it must be a service factory (``@service``) or,
for ``run``, a callable returning a handle; with ``--raw`` it is a generator
function in the talk's style, hosted unchanged through [`nanoservices.raw`][].
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nanoservices
from nanoservices import Handle, ServiceError
from nanoservices.core import ServiceFactory

__all__ = [
    "StartError",
    "Target",
    "TargetError",
    "load_services",
    "load_target",
    "start_service",
]


class TargetError(Exception):
    """``MODULE:FACTORY`` names nothing usable: a usage error (exit status 2)."""


class StartError(Exception):
    """The factory was found but the service did not start (exit status 3)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A service factory found from the command line, ready to start."""

    spec: str
    module: ModuleType
    factory: Any
    raw: bool


def load_target(spec: str, *, raw: bool = False, reset_with: str | None = None) -> Target:
    """Import ``MODULE:FACTORY``; with ``raw``, wrap the generator function in ``nanoservices.raw``.

    Args:
        reset_with: with ``raw``, the exception class the generator catches to
            abandon a stream (the talk's ``DifferentCity``): a name in the
            same module, or ``MODULE:NAME``.

    Raises:
        TargetError: the module or attribute is missing, or is not a service.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(
            f"expected MODULE:FACTORY (like nanoservices.examples.basics:md5), got {spec!r}"
        )
    module = _import(module_name)
    obj = _lookup(module, attr, spec)
    if raw:
        return Target(spec, module, _raw_factory(obj, module, spec, reset_with), raw=True)
    if reset_with is not None:
        raise TargetError("--reset-with only applies to --raw (talk-style) generators")
    if isinstance(obj, ServiceFactory | Handle):
        return Target(spec, module, obj, raw=False)
    if inspect.isgeneratorfunction(obj):
        raise TargetError(_plain_generator("run", spec))
    if not callable(obj):
        raise TargetError(f"{spec} is a {type(obj).__name__}, not a service factory")
    return Target(spec, module, obj, raw=False)


def load_services(
    spec: str, *, raw: bool = False, reset_with: str | None = None, taker: str = "serve"
) -> dict[str, Any]:
    """The service factories ``nanoservices serve`` offers, by name.

    ``MODULE:FACTORY`` or ``file.py:name`` is one factory (with ``raw``, a
    talk-style generator function hosted through [`nanoservices.raw`][]);
    ``MODULE`` or ``file.py`` alone is every ``@service`` and ``@aservice``
    factory it exports.

    ``taker`` names what takes the factory in the error text (``serve``, or a
    ``journal`` command's ``--service``, which has no ``--raw``).

    Raises:
        TargetError: nothing to serve, or the object named is not a service factory.
    """
    from nanoservices.aio import AsyncServiceFactory

    module_name, sep, attr = spec.partition(":")
    if not module_name or (sep and not attr):
        raise TargetError(
            f"expected MODULE, MODULE:FACTORY or file.py[:name] "
            f"(like nanoservices.examples.basics:counter), got {spec!r}"
        )
    if not attr:
        if raw or reset_with is not None:
            raise TargetError("--raw and --reset-with need one generator: MODULE:NAME")
        module = _import(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[:1] != "_"]
        found: dict[str, Any] = {}
        for name in names:
            value = getattr(module, name, None)
            if isinstance(value, ServiceFactory | AsyncServiceFactory):
                found[value.spec.name] = value
        if not found:
            raise TargetError(
                f"no @service or @aservice factories in {module_name} "
                "(name one: MODULE:FACTORY, or --raw MODULE:NAME for a talk-style generator)"
            )
        return found
    if raw:
        target = load_target(spec, raw=True, reset_with=reset_with)
        return {target.factory.spec.name: target.factory}
    if reset_with is not None:
        raise TargetError("--reset-with only applies to --raw (talk-style) generators")
    obj = _lookup(_import(module_name), attr, spec)
    if isinstance(obj, ServiceFactory | AsyncServiceFactory):
        return {obj.spec.name: obj}
    if inspect.isgeneratorfunction(obj) and taker == "serve":
        raise TargetError(_plain_generator("serve", spec))
    raise TargetError(
        f"{spec} is a {type(obj).__name__}, not a service factory: {taker} takes a function "
        "decorated with @nanoservices.service or @nanoservices.aio.aservice"
    )


def _plain_generator(command: str, spec: str) -> str:
    """What to write when ``spec`` names a generator function that is not a service."""
    return (
        f"{spec} is a plain generator function, not a service. If it is written in the "
        f"talk's style (request = yield reply, a falsy request ends it), host it as is: "
        f"nanoservices {command} --raw {spec} (add --reset-with NAME for the exception "
        f"that abandons a stream); or decorate it with @nanoservices.service"
    )


def start_service(target: Target, args: list[Any], kwargs: dict[str, Any]) -> Handle[Any, Any]:
    """Call the factory with ``args`` and ``kwargs``; the running service's handle.

    Raises:
        StartError: the factory raised (for example wrong arguments), or did
            not return a handle.
    """
    factory = target.factory
    if isinstance(factory, Handle):  # a module-level handle: already running
        if args or kwargs:
            raise StartError(f"{target.spec} is a running handle: it takes no arguments")
        return factory
    try:
        handle = factory(*args, **kwargs)
    except ServiceError as exc:
        raise StartError(_with_cause(str(exc), exc)) from exc
    except Exception as exc:
        raise StartError(f"{target.spec}: could not start: {type(exc).__name__}: {exc}") from exc
    if not isinstance(handle, Handle):
        raise StartError(
            f"{target.spec}(...) returned {type(handle).__name__}, not a service handle"
        )
    return handle


def _with_cause(message: str, exc: BaseException) -> str:
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in message:
        return f"{message} ({type(cause).__name__}: {cause})"
    return message


def _import(module_name: str) -> ModuleType:
    """The module ``module_name`` (dotted) or the Python file it names (``.py``).

    The current folder is importable first, as with ``python -m``: a console
    script does not put it on ``sys.path``, so ``mysvc:factory`` beside you
    would otherwise be "No module named 'mysvc'".
    """
    if module_name.endswith(".py"):
        return _import_file(Path(module_name))
    _put_first_on_path(Path.cwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise TargetError(
                f"no module named {module_name!r} (looked in the current folder "
                f"{Path.cwd()} and on sys.path; a file is written as {module_name}.py)"
            ) from exc
        raise TargetError(f"importing {module_name} failed: {exc}") from exc
    except Exception as exc:
        raise TargetError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    """Import ``path`` as ``python path`` would: its folder on ``sys.path``, its
    stem as its module name (what errors, pickling and Ray workers see)."""
    if not path.is_file():
        raise TargetError(f"no such file: {path}")
    path = path.resolve()
    name = path.stem
    _put_first_on_path(path.parent)
    known = sys.modules.get(name)
    if known is not None and not _same_file(getattr(known, "__file__", None), path):
        raise TargetError(
            f"{path} has the name of the module {name!r} already imported from "
            f"{getattr(known, '__file__', None) or 'the interpreter'}: rename the file"
        )
    try:
        module = importlib.import_module(name) if name.isidentifier() else _exec_file(name, path)
    except Exception as exc:
        raise TargetError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    if not _same_file(getattr(module, "__file__", None), path):
        raise TargetError(
            f"{path} has the name of the module {name!r} found first at "
            f"{getattr(module, '__file__', None) or 'the interpreter'}: rename the file"
        )
    return module


def _exec_file(name: str, path: Path) -> ModuleType:
    """A file whose stem is not an identifier (``my-svc.py``): loaded under that name."""
    file_spec = importlib.util.spec_from_file_location(name, path)
    if file_spec is None or file_spec.loader is None:  # pragma: no cover - .py always loads
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(file_spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    file_spec.loader.exec_module(module)
    return module


def _put_first_on_path(folder: Path) -> None:
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _same_file(filename: str | None, path: Path) -> bool:
    return filename is not None and Path(filename).resolve() == path


def _lookup(module: ModuleType, attr: str, spec: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{spec}: {module.__name__} has no attribute {attr!r}") from None
    return obj


def _raw_factory(
    obj: Any, module: ModuleType, spec: str, reset_with: str | None
) -> ServiceFactory[Any, Any, Any]:
    if isinstance(obj, ServiceFactory):
        if reset_with is None and obj.spec.protocol.name == "raw":
            return obj  # already hosted with nanoservices.raw
        raise TargetError(f"{spec} is already a service; --raw takes a plain generator function")
    if not inspect.isgeneratorfunction(obj):
        raise TargetError(f"--raw takes a generator function; {spec} is {type(obj).__name__}")
    reset = _reset_exception(reset_with, module) if reset_with is not None else None
    return nanoservices.raw(obj, reset_with=reset)


def _reset_exception(name: str, module: ModuleType) -> type[BaseException]:
    if ":" in name:
        module_name, _, attr = name.partition(":")
        module = _import(module_name)
        name = attr
    exc = _lookup(module, name, name)
    if not (isinstance(exc, type) and issubclass(exc, BaseException)):
        raise TargetError(f"--reset-with {name}: not an exception class")
    return exc
