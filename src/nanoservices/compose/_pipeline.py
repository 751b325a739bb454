"""Push pipelines (David Beazley's coroutine pipelines): source > stages > sink.

A stage is a generator function whose first argument is ``push``, the send of
the next stage: it receives items with ``item = yield`` and passes results on
with ``push(result)``. Stages compose with ``|`` (or [`pipeline`][]) into a
reusable [`Pipeline`][] definition; [`Pipeline.open`][] starts one
generator per stage and gives an [`OpenPipeline`][] you push items into.

* ``push`` *is* the next generator's bound ``send``: nothing sits between two
  stages, which is why a pipeline runs close to the same functions called by hand.
* [`broadcast`][] fans an item out to several branches; whatever comes out
  of the branches flows on into the stages after the broadcast (a join).
  [`merge`][] starts a pipeline with several inputs feeding one downstream.
* Closing closes every stage in order, upstream first, so a stage's
  ``finally`` (or ``except GeneratorExit``) may still flush into the stages
  after it; a stage that *returns* on close (see [`collect`][]) has its
  value in [`OpenPipeline.results`][].
* A stage that raises breaks the pipeline: the stages after it are closed (in
  order, their ``finally`` blocks run) and the caller gets
  [`StageError`][] naming the stage, with the original as ``__cause__``.
* Adjacent plain stages ([`transform`][], [`keep`][], and an [`each`][]
  or [`collect`][] ending the run) are *fused* when the pipeline opens: one generator calls
  their functions in turn, one resume per item instead of one per stage. They
  behave as the separate stages would; an error still names the stage whose
  function raised (each fused step is on its own line of the fused code, and
  the traceback's line says which).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable
from types import FrameType, GeneratorType, TracebackType
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeAlias

from nanoservices.core import ServiceClosedError, StageError

__all__ = [
    "OpenPipeline",
    "Pipeline",
    "Stage",
    "broadcast",
    "collect",
    "each",
    "keep",
    "merge",
    "pipeline",
    "stage",
    "transform",
]

P = ParamSpec("P")
Push: TypeAlias = Callable[[Any], Any]
StageGen: TypeAlias = Generator[Any, Any, Any]
#: What a pipeline is made of: stages, or plain functions meaning ``transform(fn)``.
Step: TypeAlias = "_Node | Callable[[Any], Any]"


def _discard(item: object) -> None:
    """What the last stage pushes into: nothing."""


class _Running(NamedTuple):
    """One started stage generator of an open pipeline.

    ``label`` names it in results and errors; a fused generator runs several
    stages: ``names`` are theirs, upstream first, and ``lines`` maps each line
    of the fused code to the stage it runs. ``collected`` is the list of a
    fused ``collect()`` (its result, even when an earlier step killed the
    fused generator: the separate ``collect`` would have lived on);
    ``feeder`` runs many items through a fused stage's steps in one loop.
    """

    label: str
    gen: StageGen
    names: tuple[str, ...]
    lines: dict[int, str]
    collected: list[Any] | None = None
    feeder: Callable[[Iterable[Any]], None] | None = None


# -- definitions -----------------------------------------------------------------


class _Node:
    """Something that can sit in a pipeline; ``a | b`` chains nodes."""

    __slots__ = ()

    def _nodes(self) -> tuple[_Node, ...]:
        return (self,)

    def __or__(self, other: Step) -> Pipeline:
        if not isinstance(other, _Node) and not callable(other):
            return NotImplemented
        return Pipeline(*self._nodes(), *_as_node(other)._nodes())

    def __ror__(self, other: Callable[[Any], Any]) -> Pipeline:
        if not callable(other):
            return NotImplemented
        return Pipeline(_as_node(other), *self._nodes())

    def open(self) -> OpenPipeline:
        """Start a pipeline of this one node (see [`Pipeline.open`][])."""
        return Pipeline(self).open()

    def run(self, items: Iterable[Any]) -> dict[str, Any]:
        """Open, push every item, close; return the stages' results."""
        return Pipeline(self).run(items)


Node = _Node  # the public-looking name broadcast() and merge() return, in signatures


class Stage(_Node):
    """One stage, not running yet: a generator function, its arguments, a name."""

    __slots__ = ("args", "fn", "kwargs", "name")

    def __init__(
        self,
        fn: Callable[..., StageGen],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs or {}
        self.name = name or str(getattr(fn, "__name__", "stage"))

    def named(self, name: str) -> Stage:
        """The same stage under another name (in errors and results)."""
        return Stage(self.fn, self.args, self.kwargs, name)

    def _start(self, push: Push) -> StageGen:
        gen = self.fn(push, *self.args, **self.kwargs)
        if not isinstance(gen, GeneratorType):
            raise TypeError(f"stage {self.name!r}: {self.fn!r} did not return a generator")
        next(gen)
        return gen

    def __repr__(self) -> str:
        return f"<Stage {self.name!r}>"


class _Branches(_Node):
    __slots__ = ("branches", "kind")

    def __init__(self, kind: str, branches: tuple[Pipeline, ...]) -> None:
        if not branches:
            raise ValueError(f"{kind}() needs at least one branch")
        self.kind = kind
        self.branches = branches

    def __repr__(self) -> str:
        return f"<{self.kind} of {len(self.branches)} branches>"


class Pipeline(_Node):
    """A chain of stages, not running yet; open it as often as you like."""

    __slots__ = ("_fused", "name", "nodes")

    def __init__(self, *nodes: Step, name: str = "pipeline") -> None:
        flat: list[_Node] = []
        for node in nodes:
            flat.extend(_as_node(node)._nodes())
        for node in flat[1:]:
            if isinstance(node, _Branches) and node.kind == "merge":
                raise ValueError("merge() can only start a pipeline (it is its inputs)")
        self.nodes = tuple(flat)
        self.name = name
        self._fused: tuple[_Node, ...] | None = None

    def _nodes(self) -> tuple[_Node, ...]:
        return self.nodes

    def _running_nodes(self) -> tuple[_Node, ...]:
        """The nodes as they run: plain runs fused (worked out once, on first open)."""
        fused = self._fused
        if fused is None:
            fused = self._fused = _fuse(self.nodes)
        return fused

    def named(self, name: str) -> Pipeline:
        return Pipeline(*self.nodes, name=name)

    def open(self) -> OpenPipeline:
        """Start every stage (sinks first, so each stage gets its ``push``)."""
        opened: list[_Running] = []
        nodes = self._running_nodes()
        try:
            inputs = _open_chain(nodes, _discard, opened, "")
        except BaseException:
            for running in opened:
                running.gen.close()
            raise
        result = OpenPipeline(self.name, inputs, opened)
        head = nodes[0] if nodes else None
        feeder = opened[0].feeder if opened else None
        if isinstance(head, _FusedStage) and feeder is not None:  # opened[0] is the head
            result._fed_by(feeder, head.code.feed, head.feed_lines)
        return result

    def run(self, items: Iterable[Any]) -> dict[str, Any]:
        """Open, push every item, close; return the stages' results."""
        with self.open() as running:
            running.feed(items)
        return running.results

    def __repr__(self) -> str:
        return f"<Pipeline {self.name!r}: {' | '.join(map(repr, self.nodes))}>"


def _open_chain(
    nodes: tuple[_Node, ...], downstream: Push, opened: list[_Running], prefix: str
) -> tuple[Push, ...]:
    """Start ``nodes`` (plain runs already fused) backwards; record them in
    ``opened`` in upstream-first order."""
    pushes: tuple[Push, ...] = (downstream,)
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        mine: list[_Running] = []
        if isinstance(node, _FusedStage):
            collected: list[Any] | None = [] if node.collects else None
            gen = node.start(pushes[0], collected)
            names, lines = node.labels(prefix)
            feeder = node.feeder(pushes[0], collected)
            mine.append(_Running(prefix + node.name, gen, names, lines, collected, feeder))
            pushes = (gen.send,)
        elif isinstance(node, Stage):
            gen = node._start(pushes[0])
            mine.append(_Running(prefix + node.name, gen, (prefix + node.name,), {}))
            pushes = (gen.send,)
        else:
            assert isinstance(node, _Branches)
            heads: list[Push] = []
            for number, branch in enumerate(node.branches):
                label = f"{prefix}{node.kind}[{number}] > "
                branch_opened: list[_Running] = []
                heads.extend(_open_chain(branch._running_nodes(), pushes[0], branch_opened, label))
                mine.extend(branch_opened)
            pushes = tuple(heads) if node.kind == "merge" else (_fan_out(tuple(heads)),)
        opened[:0] = mine
    return pushes


def _fan_out(heads: tuple[Push, ...]) -> Push:
    def fan_out(item: object) -> None:
        for push in heads:
            push(item)

    return fan_out


# -- fusing plain stages ---------------------------------------------------------


class _FusedStage(Stage):
    """Adjacent plain stages run by one generator (see [`_fused_code`][]).

    ``parts`` are the stages' names, upstream first; ``lines`` maps each line
    of the fused code to the name of the stage that line runs; ``name`` is the
    last stage's.
    """

    __slots__ = ("_labels", "code", "collects", "feed_lines", "lines", "parts")

    def __init__(self, stages: tuple[Stage, ...]) -> None:
        kinds = tuple(_PLAIN[stage.fn] for stage in stages)
        code = _fused_code(kinds)
        args = tuple(arg for stage in stages for arg in stage.args)
        super().__init__(code.gen, args, name=stages[-1].name)
        self.code = code
        self.parts = tuple(stage.name for stage in stages)
        self.lines = {line: self.parts[step] for line, step in code.gen_steps.items()}
        self.feed_lines = {line: self.parts[step] for line, step in code.feed_steps.items()}
        self.collects = kinds[-1] == "collect"
        self._labels: dict[str, tuple[tuple[str, ...], dict[int, str]]] = {}

    def feeder(self, push: Push, collected: list[Any] | None) -> Callable[[Iterable[Any]], None]:
        """``feeder(items)`` runs every item through the steps, as the started
        generator would, one call per item instead of one resume."""
        if collected is None:
            return functools.partial(self.code.feed, push, *self.args)
        return functools.partial(self.code.feed, push, collected, *self.args)

    def start(self, push: Push, collected: list[Any] | None) -> StageGen:
        """Start the fused generator; a fused ``collect()`` appends to ``collected``."""
        if collected is None:
            return self._start(push)
        gen = self.fn(push, collected, *self.args)
        next(gen)
        return gen

    def labels(self, prefix: str) -> tuple[tuple[str, ...], dict[int, str]]:
        """The stages' names and the line map, under ``prefix`` (made once
        per prefix: opening a pipeline is part of the cost of using one)."""
        found = self._labels.get(prefix)
        if found is None:
            names = tuple(prefix + name for name in self.parts)
            lines = {line: prefix + name for line, name in self.lines.items()}
            found = self._labels[prefix] = (names, lines)
        return found


def _is_plain(node: _Node) -> bool:
    if type(node) is not Stage or node.kwargs:
        return False
    kind = _PLAIN.get(node.fn)
    return kind is not None and len(node.args) == (0 if kind == "collect" else 1)


def _fuse(nodes: tuple[_Node, ...]) -> tuple[_Node, ...]:
    """``nodes`` with each run of two or more adjacent plain stages made one
    [`_FusedStage`][] (an ``each`` or a ``collect`` ends a run: it pushes
    nothing on)."""
    fused: list[_Node] = []
    run: list[Stage] = []

    def flush() -> None:
        if len(run) > 1:
            fused.append(_FusedStage(tuple(run)))
        else:
            fused.extend(run)
        run.clear()

    for node in nodes:
        if _is_plain(node):
            assert isinstance(node, Stage)
            run.append(node)
            if node.fn is _each or node.fn is _collect:
                flush()
        else:
            flush()
            fused.append(node)
    flush()
    return tuple(fused)


_FUSED_FILE = "<nanoservices fused stages>"


class _FusedCode(NamedTuple):
    """The code of one shape of fused stages: the stage's generator function
    and a loop feeding many items through the same steps, each with a map from
    its lines to the step (index into the kinds) a line runs."""

    gen: Callable[..., StageGen]
    gen_steps: dict[int, int]
    feed: Callable[..., None]
    feed_steps: dict[int, int]


@functools.cache
def _fused_code(kinds: tuple[str, ...]) -> _FusedCode:
    """The fused code running the plain steps ``kinds`` in turn.

    Built from a fixed template, the way ``dataclasses`` and ``namedtuple``
    build their methods: only the step kinds shape the text (never a name or a
    value from the caller), and one function per shape is made and cached. One
    step per line is what lets an error name its stage: the traceback's line
    in the fused frame says which step raised.

    ``gen(push, [items,] f0, f1, ...)`` is the stage (``x = yield`` per item);
    ``feed(push, [items,] f0, f1, ..., source)`` runs every item of ``source``
    through the same steps without a generator resume per item, for
    [`OpenPipeline.feed`][] when the fused stage is the pipeline's head.
    """
    collects = kinds[-1] == "collect"
    params = ["push", *(["items"] if collects else [])]
    params += [f"f{i}" for i, kind in enumerate(kinds) if kind != "collect"]
    gen_lines = [f"def fused({', '.join(params)}):"]
    feed_lines = [f"def feed({', '.join([*params, 'source'])}):"]
    if collects:
        gen_lines.append("    append = items.append")
        feed_lines.append("    append = items.append")
    gen_lines += ["    while True:", "        x = yield"]
    feed_lines += ["    for item in source:", "        x = item"]
    gen_steps = _fused_body(kinds, gen_lines)
    feed_steps = _fused_body(kinds, feed_lines)
    gen: Callable[..., StageGen] = _compiled(gen_lines, "fused")
    gen.__qualname__ = gen.__name__ = "fused_" + "_".join(kinds)
    feed: Callable[..., None] = _compiled(feed_lines, "feed")
    feed.__qualname__ = feed.__name__ = "feed_" + "_".join(kinds)
    return _FusedCode(gen, gen_steps, feed, feed_steps)


def _fused_body(kinds: tuple[str, ...], lines: list[str]) -> dict[int, int]:
    """Append the steps, one a line, to ``lines``; return line -> step."""
    steps: dict[int, int] = {}
    for i, kind in enumerate(kinds):
        if kind == "transform":
            lines.append(f"        x = f{i}(x)")
        elif kind == "keep":
            lines.append(f"        if not f{i}(x):")
            steps[len(lines)] = i
            lines.append("            continue")
        elif kind == "each":  # the last step: pushes nothing on
            lines.append(f"        f{i}(x)")
        else:  # collect: the last step, its list given by the caller
            lines.append("        append(x)")
        steps[len(lines)] = i
    if kinds[-1] not in ("each", "collect"):
        lines.append("        push(x)")  # in the last stage, as unfused
        steps[len(lines)] = len(kinds) - 1
    return steps


def _compiled(lines: list[str], name: str) -> Callable[..., Any]:
    """The function ``name`` that ``lines`` (the fused stages' code) define."""
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", _FUSED_FILE, "exec"), namespace)
    fused: Callable[..., Any] = namespace[name]
    return fused


# -- building stages -------------------------------------------------------------


def stage(fn: Callable[Concatenate[Push, P], StageGen]) -> Callable[P, Stage]:
    """Make a stage factory from a generator function taking ``push`` first.

    ```python
    @stage
    def grep(push, pattern):
        while True:
            line = yield
            if pattern in line:
                push(line)

    grep("python") | each(print)
    ```
    """

    @functools.wraps(fn)
    def make(*args: P.args, **kwargs: P.kwargs) -> Stage:
        return Stage(fn, args, kwargs)

    return make


def _transform(push: Push, fn: Callable[[Any], Any]) -> StageGen:
    while True:
        push(fn((yield)))


def _keep(push: Push, predicate: Callable[[Any], object]) -> StageGen:
    while True:
        item = yield
        if predicate(item):
            push(item)


def _each(push: Push, fn: Callable[[Any], object]) -> StageGen:
    while True:
        fn((yield))


def _collect(push: Push) -> Generator[None, Any, list[Any]]:
    items: list[Any] = []
    append = items.append
    try:
        while True:
            append((yield))
    except GeneratorExit:
        return items


#: the stage bodies that may be fused, by the kind of step they are
_PLAIN: dict[Callable[..., StageGen], str] = {
    _transform: "transform",
    _keep: "keep",
    _each: "each",
    _collect: "collect",
}


def _fn_name(fn: object) -> str:
    return str(getattr(fn, "__name__", type(fn).__name__))


def transform(fn: Callable[[Any], Any], *, name: str | None = None) -> Stage:
    """A stage pushing ``fn(item)`` for each item (a ``map``)."""
    return Stage(_transform, (fn,), name=name or f"transform({_fn_name(fn)})")


def keep(predicate: Callable[[Any], object], *, name: str | None = None) -> Stage:
    """A stage pushing only the items for which ``predicate`` is true (a ``filter``)."""
    return Stage(_keep, (predicate,), name=name or f"keep({_fn_name(predicate)})")


def each(fn: Callable[[Any], object], *, name: str | None = None) -> Stage:
    """A sink calling ``fn(item)`` for each item (pushes nothing on)."""
    return Stage(_each, (fn,), name=name or f"each({_fn_name(fn)})")


def collect(*, name: str = "collect") -> Stage:
    """A sink keeping every item; the list is its result when the pipeline closes."""
    return Stage(_collect, name=name)


def broadcast(*branches: Step) -> Node:
    """Fan out: each item goes to every branch, in order; what the branches
    push out flows on into the stages after the broadcast (if any)."""
    return _Branches("broadcast", tuple(map(_as_pipeline, branches)))


def merge(*inputs: Step) -> Node:
    """Fan in: a pipeline with several inputs (``OpenPipeline.inputs``), each
    a branch whose output flows into the stages after the merge."""
    return _Branches("merge", tuple(map(_as_pipeline, inputs)))


def _as_node(step: Step) -> _Node:
    """A stage as given, or a plain function as the [`transform`][] it means."""
    if isinstance(step, _Node):
        return step
    if callable(step):
        return transform(step)
    raise TypeError(f"not a pipeline stage: {step!r} (a stage, or a function of one item)")


def _as_pipeline(node: Step) -> Pipeline:
    return node if isinstance(node, Pipeline) else Pipeline(node)


def pipeline(*steps: Step, name: str = "pipeline") -> Pipeline:
    """``pipeline(a, b, c)`` is ``a | b | c``, with a name for errors.

    A plain function where a stage is expected is the [`transform`][] it
    means: ``pipeline(str.strip, keep(bool), collect())``.
    """
    return Pipeline(*steps, name=name)


# -- a running pipeline ----------------------------------------------------------


class OpenPipeline:
    """A running pipeline: push items in with [`send`][] or [`feed`][]."""

    __slots__ = (
        "_feed_code",
        "_feed_lines",
        "_feeder",
        "_frames",
        "_head",
        "_stages",
        "closed",
        "inputs",
        "name",
        "results",
    )

    def __init__(self, name: str, inputs: tuple[Push, ...], stages: list[_Running]) -> None:
        self.name = name
        self.inputs = inputs
        self._head = inputs[0]
        self._stages = stages
        #: each stage generator's frame -> how it runs, to tell from a
        #: traceback which stage raised
        self._frames: dict[FrameType, _Running] = {
            frame: running for running in stages if (frame := _frame_of(running.gen)) is not None
        }
        self.results: dict[str, Any] = {}
        self.closed = False
        self._feeder: Callable[[Iterable[Any]], None] | None = None
        self._feed_code: Any = None
        self._feed_lines: dict[int, str] = {}

    def _fed_by(
        self, feeder: Callable[[Iterable[Any]], None], fn: Any, lines: dict[int, str]
    ) -> None:
        """Let [`feed`][] run the fused head's steps in one loop (``fn`` is
        that loop's function; ``lines`` map its lines to the stages)."""
        self._feeder = feeder
        self._feed_code = fn.__code__
        self._feed_lines = lines

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages' names, upstream first (the order they close in)."""
        return tuple(name for running in self._stages for name in running.names)

    def send(self, item: object) -> None:
        """Push one item in (into the first input)."""
        try:
            self._head(item)
        except Exception as exc:
            self._failed(item, exc)

    __call__ = send

    def feed(self, items: Iterable[Any], input: int = 0) -> None:
        """Push every item of ``items`` in (into input number ``input``)."""
        feeder = self._feeder
        if feeder is not None and input == 0:
            try:
                feeder(items)
            except Exception as exc:
                self._failed(self._fed_item(exc), exc)
            return
        push = self.inputs[input]
        item: Any = None
        try:
            for item in items:
                push(item)
        except Exception as exc:
            self._failed(item, exc)

    def close(self) -> dict[str, Any]:
        """Close every stage, upstream first; return the stages' results.

        Every stage is closed even if one raises; the first failure is then
        raised as [`StageError`][]. Closing twice is fine.
        """
        if self.closed:
            return self.results
        self.closed = True
        # not a bound method: that would make a reference cycle, and a closed
        # pipeline (with its results) would wait for the garbage collector
        refuse = functools.partial(_refuse_closed, self.name)
        self._feeder = None
        self._head = refuse
        self.inputs = (refuse,) * len(self.inputs)
        first: StageError | None = None
        for label, gen, _, _, collected, _ in self._stages:
            try:
                value = _finish(gen)
                if collected is not None:  # a fused collect()
                    value = collected
            except Exception as exc:
                error = StageError(self.name, self._stage_of(exc, label), None, "")
                error.message = f"stage {error.stage!r} failed while closing"
                error.__cause__ = exc
                first = first or error
                continue
            if value is not None:
                self.results[label] = value
        # The stages' frames are done with: on Python 3.12+ a finished generator's
        # frame still reaches the stage that ran it, a cycle through this pipeline.
        self._frames = {}
        if first is not None:
            raise first
        return self.results

    def _failed(self, item: object, exc: Exception) -> None:
        """A stage raised while an item went through: close the rest, report it."""
        if isinstance(exc, ServiceClosedError) and exc.service == self.name:
            raise exc
        label = self._stage_of(exc, "?")
        try:
            self.close()  # the stages it went through are dead; the rest close in order
        except StageError as late:
            exc.add_note(f"closing the rest of the pipeline failed too: {late}")
        raise StageError(self.name, label, item) from exc

    def _stage_of(self, exc: BaseException, default: str) -> str:
        """The deepest stage whose frame is in ``exc``'s traceback (in a fused
        frame, the stage whose line it is)."""
        found = default
        tb: TracebackType | None = exc.__traceback__
        frames = self._frames
        while tb is not None:
            running = frames.get(tb.tb_frame)
            if running is not None:
                found = running.lines.get(tb.tb_lineno, running.label)
            elif tb.tb_frame.f_code is self._feed_code:  # the fused head's loop
                found = self._feed_lines.get(tb.tb_lineno, found)
            tb = tb.tb_next
        return found

    def _fed_item(self, exc: BaseException) -> object:
        """The item the fused head's loop was on when ``exc`` left it."""
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code is self._feed_code:
                return tb.tb_frame.f_locals.get("item")
            tb = tb.tb_next
        return None

    def __enter__(self) -> OpenPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<OpenPipeline {self.name!r} ({len(self.stages)} stages, {state})>"


def _refuse_closed(name: str, item: object) -> None:
    """What pushing into a closed pipeline does."""
    raise ServiceClosedError(name, "cannot push: the pipeline is closed")


def _frame_of(gen: StageGen) -> FrameType | None:
    frame: FrameType | None = getattr(gen, "gi_frame", None)
    return frame


def _finish(gen: StageGen) -> object:
    """Close ``gen`` and return what it returned (``close()`` drops it before 3.13)."""
    if _frame_of(gen) is None:
        return None
    try:
        gen.throw(GeneratorExit)
    except StopIteration as stop:
        return stop.value
    except GeneratorExit:
        return None
    gen.close()  # it yielded: close() raises the "ignored GeneratorExit" RuntimeError
    raise RuntimeError("generator ignored GeneratorExit")
