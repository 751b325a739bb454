"""The talk's first generators, as small documented recipes.

These are plain generators, not services: they show what a generator is (lazy,
stateful between steps, one value per ``next``) before the talk turns them into
coroutines. Each reads or computes only as much as its caller asks for, so a
huge file or an infinite sequence costs one step's worth of memory.
"""

from __future__ import annotations

import os
from collections.abc import Generator

__all__ = ["VOWELS", "fib", "read_n", "vowels"]

#: The characters [`vowels`][] yields (both cases; ``y`` is not one).
VOWELS = frozenset("aeiouAEIOU")


def fib() -> Generator[int, None, None]:
    """Yield the Fibonacci numbers 0, 1, 1, 2, 3, 5, ... forever.

    The two locals survive between ``next`` calls; that kept state is the point
    of the example. Take a slice with ``itertools.islice``.
    """
    first, second = 0, 1
    while True:
        yield first
        first, second = second, first + second


def read_n(path: str | os.PathLike[str], n: int) -> Generator[str, None, None]:
    """Yield the text of ``path`` ``n`` lines at a time, each chunk one string.

    Lines keep their line endings, so ``"".join(read_n(p, n))`` is the whole
    file. The last chunk holds whatever is left (fewer than ``n`` lines, and no
    final newline if the file has none). An empty file yields nothing. The file
    is open only while the generator runs and is closed when it ends or is
    closed early.

    Raises:
        ValueError: ``n`` is less than 1 (checked at the call, not at the
            first ``next``, so the mistake shows where it was made).
    """
    if n < 1:
        raise ValueError(f"read_n needs n >= 1 lines per chunk, got {n!r}")
    return _read_n(path, n)


def _read_n(path: str | os.PathLike[str], n: int) -> Generator[str, None, None]:
    with open(path, encoding="utf-8") as f:
        while chunk := "".join(f.readline() for _ in range(n)):
            yield chunk


def vowels(path: str | os.PathLike[str]) -> Generator[str, None, None]:
    """Yield each vowel of the file at ``path``, one character at a time, in order.

    The file is read line by line, never whole, so its size does not matter.
    """
    with open(path, encoding="utf-8") as f:
        for line in f:
            for char in line:
                if char in VOWELS:
                    yield char
