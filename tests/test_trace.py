"""Tracing: events reach sinks (recorder, logging, OpenTelemetry); off costs nothing."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from nanoservices import InvalidRequestError, ServiceFailedError
from nanoservices.observe import (
    EventKind,
    LoggingTracer,
    OpenTelemetryTracer,
    Recorder,
    trace,
    traced,
)

from ._observe_services import Boom, calc, echo, numbers

K = EventKind


def test_untraced_handle_calls_the_generator_directly() -> None:
    from nanoservices.examples.basics import echo as bare_echo  # neither streams nor refuses

    h = bare_echo()
    assert h._sink is h.generator  # nothing between caller and service
    with trace(h, Recorder()):
        assert h._sink is not h.generator
    assert h._sink is h.generator  # back to bare once tracing stops


def test_recorder_sees_request_and_reply_with_timing() -> None:
    h = echo()
    rec = Recorder()
    with trace(h, rec):
        assert h("hi") == "hi"
    assert rec.kinds() == [K.REQUEST, K.REPLY]
    reply = rec.expect(K.REPLY, "hi")
    assert reply.service == "echo"
    assert reply.duration_ns is not None
    assert reply.duration_ns >= 0
    assert rec.expect(K.REQUEST).time_ns <= reply.time_ns


def test_stream_items_are_traced() -> None:
    h = echo()
    rec = Recorder()
    with trace(h, rec):
        assert list(h.stream(("rows", 3))) == [0, 1, 2]
    assert rec.values(K.ITEM) == [0, 1, 2]
    assert rec.kinds()[-5:] == [K.STREAM_OPEN, K.ITEM, K.ITEM, K.ITEM, K.STREAM_END]


def test_error_restart_reset_and_close_are_traced() -> None:
    h = echo()
    rec = Recorder()
    trace(h, rec)
    with pytest.raises(ServiceFailedError):
        h("boom")
    s = h.stream(("rows", 5))
    next(s)
    s.cancel()
    h.close()
    kinds = rec.kinds()
    for kind in (K.ERROR, K.RESTART, K.RESET, K.CLOSE):
        assert kind in kinds
    assert isinstance(rec.errors()[0], Boom)


def test_invalid_request_is_traced_as_an_error() -> None:
    h = numbers(1)
    rec = Recorder()
    with trace(h, rec), pytest.raises(InvalidRequestError):
        h("not an int")  # type: ignore[arg-type]
    assert rec.kinds() == [K.REQUEST, K.ERROR]


def test_stop_unsubscribes_only_its_own_sinks() -> None:
    h = echo()
    mine, other = Recorder(), Recorder()
    keep = trace(h, other)
    with trace(h, mine):
        h(1)
    h(2)
    assert len(mine) == 2
    assert other.values(K.REQUEST) == [1, 2]
    keep.stop()
    assert not keep.active
    assert h.hooks == ()


def test_expect_says_what_was_seen() -> None:
    rec = Recorder()
    h = echo()
    with trace(h, rec):
        h(1)
    with pytest.raises(AssertionError, match="no item event was recorded; events: request 1"):
        rec.expect(K.ITEM)


def test_observe_traces_every_handle_a_factory_makes() -> None:
    rec = Recorder()
    traced_echo = traced(echo, rec)
    a, b = traced_echo(), traced_echo()
    a(1)
    b(2)
    assert rec.values(K.REQUEST) == [1, 2]
    echo()(3)  # the original factory is unchanged
    assert len(rec.of(K.REQUEST)) == 2


def test_shared_handles_are_traced_through_their_local_handle() -> None:
    rec = Recorder()
    shared = echo().shared()
    with trace(shared, rec):
        shared(1)
    assert rec.values(K.REPLY) == [1]


def test_a_non_handle_cannot_be_traced() -> None:
    with pytest.raises(TypeError, match="cannot be observed"):
        trace(object(), Recorder())


def test_logging_tracer_logs_one_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    h = echo()
    with caplog.at_level(logging.DEBUG, logger="nanoservices.trace"), trace(h, LoggingTracer()):
        h("hello")
        with pytest.raises(ServiceFailedError):
            h("boom")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "echo request 'hello'"
    assert messages[1].startswith("echo reply 'hello' (")
    assert "echo error 'boom' Boom: asked to fail" in messages
    assert caplog.records[1].service == "echo"  # type: ignore[attr-defined]
    assert caplog.records[1].event == "reply"  # type: ignore[attr-defined]


def test_logging_tracer_can_leave_values_out(caplog: pytest.LogCaptureFixture) -> None:
    h = echo()
    with (
        caplog.at_level(logging.INFO, logger="x"),
        trace(h, LoggingTracer("x", logging.INFO, values=False)),
    ):
        h("secret")
    assert all("secret" not in r.getMessage() for r in caplog.records)


def test_a_sink_that_raises_is_removed_and_the_service_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("sink bug")

    h = echo()
    with caplog.at_level(logging.ERROR, logger="nanoservices"):
        trace(h, broken)
        assert h(1) == 1
    assert h.hooks == ()
    assert "raised and was removed" in caplog.text


@pytest.fixture
def spans() -> tuple[OpenTelemetryTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetryTracer(provider, values=True), exporter


def test_otel_spans_for_calls_streams_and_errors(
    spans: tuple[OpenTelemetryTracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = spans
    h = echo()
    with trace(h, tracer):
        h("a")
        assert list(h.stream(("rows", 2))) == [0, 1]
        with pytest.raises(ServiceFailedError):
            h("boom")
    finished = exporter.get_finished_spans()
    names = [s.name for s in finished]
    assert names == ["echo call", "echo call", "echo stream", "echo call", "echo restart"]
    first = finished[0]
    assert first.attributes is not None
    assert first.attributes["nanoservices.request"] == "'a'"
    assert first.attributes["nanoservices.reply"] == "'a'"
    assert first.end_time is not None
    assert first.start_time is not None
    assert first.end_time >= first.start_time
    stream_span = finished[2]
    assert stream_span.attributes is not None
    assert stream_span.attributes["nanoservices.items"] == 2
    assert len(stream_span.events) == 2
    failed = finished[3]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.events[0].name == "exception"


def test_otel_leaves_values_out_by_default() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    h = calc()
    with trace(h, OpenTelemetryTracer(provider)):
        h("1")
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert "nanoservices.request" not in span.attributes


def test_otel_is_not_imported_by_the_package() -> None:
    import subprocess
    import sys

    code = "import nanoservices, sys; print('opentelemetry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
