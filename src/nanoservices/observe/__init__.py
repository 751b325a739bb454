"""Observing services: the events a handle reports, and what consumes them.

One verb per idea:

* ``trace(handle, *sinks)`` sends a handle's events to sinks (a ``Recorder``,
  a ``LoggingTracer``, an ``OpenTelemetryTracer``, any callable) until the
  returned ``Tracing`` is stopped; ``traced(factory, *sinks)`` traces every
  handle a factory makes.
* ``measure(handle)`` collects statistics until the returned collector is
  stopped; ``statistics(handle)`` reads a snapshot of any handle.
* ``inspect_service(handle)`` looks inside a live handle (``str()`` it, or
  ``.tree()`` for a ``rich`` tree).
* ``explain(error)`` sorts out why a call failed (``str()`` it, or ``.rich()``).

Everything here subscribes to the events of [`nanoservices.core`][]; off,
a handle's call path is bare and observing costs nothing.
"""

from nanoservices.core import CallTimer as CallTimer
from nanoservices.core import Event as Event
from nanoservices.core import EventKind as EventKind
from nanoservices.core import Hook as Hook
from nanoservices.core.seam import publish

from ._durations import format_duration as format_duration
from ._explain import Explanation as Explanation
from ._explain import explain as explain
from ._explain import install_excepthook as install_excepthook
from ._explain import uninstall_excepthook as uninstall_excepthook
from ._inspect import FrameView as FrameView
from ._inspect import Inspection as Inspection
from ._inspect import inspect_service as inspect_service
from ._inspect import live_services as live_services
from ._otel import OpenTelemetryTracer as OpenTelemetryTracer
from ._stats import LatencyHistogram as LatencyHistogram
from ._stats import Statistics as Statistics
from ._stats import StatsCollector as StatsCollector
from ._stats import format_statistics as format_statistics
from ._stats import measure as measure
from ._stats import render_statistics_table as render_statistics_table
from ._stats import statistics as statistics
from ._trace import BindingSink as BindingSink
from ._trace import LoggingTracer as LoggingTracer
from ._trace import Recorder as Recorder
from ._trace import Sink as Sink
from ._trace import Tracing as Tracing
from ._trace import trace as trace
from ._trace import traced as traced

__all__ = [
    "BindingSink",
    "CallTimer",
    "Event",
    "EventKind",
    "Explanation",
    "FrameView",
    "Hook",
    "Inspection",
    "LatencyHistogram",
    "LoggingTracer",
    "OpenTelemetryTracer",
    "Recorder",
    "Sink",
    "Statistics",
    "StatsCollector",
    "Tracing",
    "explain",
    "format_duration",
    "format_statistics",
    "inspect_service",
    "install_excepthook",
    "live_services",
    "measure",
    "render_statistics_table",
    "statistics",
    "trace",
    "traced",
    "uninstall_excepthook",
]

publish(__name__, __all__, globals())
