"""The public surface is pinned: the top level holds what writing and calling a
service needs, each subpackage's face its own names, and nothing private leaks."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nanoservices
import nanoservices.aio
import nanoservices.compose
import nanoservices.core
import nanoservices.observe

TOP_LEVEL = {
    # writing a service
    "service", "raw", "aservice", "NO_REPLY", "refuse", "streamed", "Stream",
    # calling it
    "Handle", "LocalHandle", "AsyncHandle", "AsyncHandleProtocol", "State",
    "connect", "aconnect", "to_async",
    # supervision
    "OnFailure", "Never", "RestartPolicy",
    # the error tree
    "ServiceError", "InvalidRequestError", "ProtocolViolationError", "ReentryError",
    "RestartLimitError", "ServiceBusyError", "ServiceClosedError", "ServiceFailedError",
    "ServiceStartError", "StreamReplyError", "TransportError", "UnknownServiceError",
    "RoutingError", "StageError", "DeadlineExceeded",
    # deadlines (the exception above; what a service reads to stop in time)
    "remaining",
    # replay (what a service reads to skip side effects when its journal is replayed)
    "replaying",
    # composition
    "router", "route", "menu", "pipeline", "Registry",
}  # fmt: skip

OBSERVE = {
    "trace", "traced", "Tracing", "Sink", "BindingSink", "Recorder", "LoggingTracer",
    "OpenTelemetryTracer", "format_duration",
    "measure", "statistics", "Statistics", "StatsCollector", "LatencyHistogram",
    "format_statistics", "render_statistics_table",
    "inspect_service", "Inspection", "FrameView", "live_services",
    "explain", "Explanation", "install_excepthook", "uninstall_excepthook",
    "Event", "EventKind", "Hook", "CallTimer",
}  # fmt: skip


def test_the_top_level_is_exactly_what_writing_and_calling_a_service_needs() -> None:
    assert set(nanoservices.__all__) == TOP_LEVEL
    assert len(nanoservices.__all__) == len(TOP_LEVEL)  # no duplicates


def test_observability_is_one_verb_per_idea_under_observe() -> None:
    assert set(nanoservices.observe.__all__) == OBSERVE
    for old in ("tracing", "observe", "collect_statistics", "stop_statistics", "explanation"):
        assert not hasattr(nanoservices.observe, old), old
        assert old not in nanoservices.__all__, old


def test_the_stream_marker_does_not_share_the_handles_method_name() -> None:
    assert not hasattr(nanoservices, "stream")
    assert nanoservices.streamed is nanoservices.core.streamed


@pytest.mark.parametrize(
    "face", [nanoservices, nanoservices.core, nanoservices.aio, nanoservices.compose,
             nanoservices.observe],
)  # fmt: skip
def test_every_exported_name_exists_and_is_public(face: object) -> None:
    for name in face.__all__:  # type: ignore[attr-defined]
        assert hasattr(face, name), name
        assert not name.startswith("_")


def test_the_top_level_names_are_the_subpackages_objects() -> None:
    for name in nanoservices.__all__:
        value = getattr(nanoservices, name)
        homes = [
            face
            for face in (nanoservices.core, nanoservices.aio, nanoservices.compose)
            if getattr(face, name, None) is value
        ]
        assert homes or name in ("connect", "aconnect"), name


def test_exports_report_their_public_home_as_their_module() -> None:
    assert nanoservices.LocalHandle.__module__ == "nanoservices"
    assert nanoservices.ServiceError.__module__ == "nanoservices"
    assert nanoservices.observe.Recorder.__module__ == "nanoservices.observe"
    assert nanoservices.core.SharedHandle.__module__ == "nanoservices.core"


def test_import_nanoservices_stays_quick_it_loads_no_transport() -> None:
    code = (
        "import sys, nanoservices\n"
        "heavy = [m for m in ('asyncio', 'httpx', 'ray', 'starlette', 'rich', "
        "'nanoservices.observe', 'nanoservices.aio') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
    # and the lazy names load on first use
    code = "import nanoservices, sys; nanoservices.to_async; print('asyncio' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True"
