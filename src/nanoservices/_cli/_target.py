"""Finding and starting the service named on the command line (``MODULE:FACTORY``).

``MODULE`` is an importable module (``nanoservices.services.hashing``) or a
Python file (``talk.py``); ``FACTORY`` names an attribute in it, dotted if
nested. Without ``--raw`` it must be a service factory (``@service``) or a
callable returning a handle; with ``--raw`` it is a generator function in the
talk's style, hosted unchanged through :func:`nanoservices.raw`.
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

__all__ = ["StartError", "Target", "TargetError", "load_target", "start_service"]


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
        raise TargetError(
            f"{spec} is a plain generator function, not a service: pass --raw to host it "
            "in the talk's style, or decorate it with @nanoservices.service"
        )
    if not callable(obj):
        raise TargetError(f"{spec} is a {type(obj).__name__}, not a service factory")
    return Target(spec, module, obj, raw=False)


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
    path = Path(module_name)
    if module_name.endswith(".py"):
        if not path.is_file():
            raise TargetError(f"no such file: {module_name}")
        name = f"_nanoservices_run_{path.stem}"
        file_spec = importlib.util.spec_from_file_location(name, path)
        if file_spec is None or file_spec.loader is None:  # pragma: no cover - .py always loads
            raise TargetError(f"cannot load {module_name}")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            file_spec.loader.exec_module(module)
        except Exception as exc:
            raise TargetError(
                f"importing {module_name} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return module
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise TargetError(f"no module named {module_name!r}") from exc
        raise TargetError(f"importing {module_name} failed: {exc}") from exc
    except Exception as exc:
        raise TargetError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc


def _lookup(module: ModuleType, attr: str, spec: str) -> Any:
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{spec}: {module.__name__} has no attribute {attr!r}") from None
    return obj


def _raw_factory(obj: Any, module: ModuleType, spec: str, reset_with: str | None) -> Any:
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
