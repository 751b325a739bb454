"""The talk's recipes: fib, read_n, vowels."""

from __future__ import annotations

import inspect
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nanoservices.recipes import fib, read_n, vowels


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_fib_starts_with_the_known_sequence() -> None:
    assert list(itertools.islice(fib(), 10)) == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


def test_fib_is_a_generator_that_keeps_going() -> None:
    numbers = fib()
    assert inspect.isgenerator(numbers)
    assert next(itertools.islice(numbers, 100, None)) == 354224848179261915075


def test_read_n_yields_n_lines_per_chunk(tmp_path: Path) -> None:
    path = write(tmp_path, "a\nb\nc\nd\ne\n")
    assert list(read_n(path, 2)) == ["a\nb\n", "c\nd\n", "e\n"]


def test_read_n_keeps_a_last_line_without_newline(tmp_path: Path) -> None:
    path = write(tmp_path, "a\nb\nc")
    assert list(read_n(path, 2)) == ["a\nb\n", "c"]


def test_read_n_of_an_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert list(read_n(write(tmp_path, ""), 3)) == []


def test_read_n_with_n_larger_than_the_file_yields_it_whole(tmp_path: Path) -> None:
    assert list(read_n(write(tmp_path, "a\nb\n"), 10)) == ["a\nb\n"]


@pytest.mark.parametrize("n", [0, -1])
def test_read_n_refuses_n_below_one_at_the_call(tmp_path: Path, n: int) -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        read_n(write(tmp_path, "a\n"), n)


def test_read_n_reads_a_large_file_lazily(tmp_path: Path) -> None:
    lines = [f"line {i}\n" for i in range(200_000)]
    path = write(tmp_path, "".join(lines))
    chunks = read_n(path, 1000)
    assert next(chunks) == "".join(lines[:1000])
    assert sum(1 for _ in chunks) == 199
    chunks.close()


def test_read_n_closes_the_file_when_left_early(tmp_path: Path) -> None:
    chunks = read_n(write(tmp_path, "a\nb\n"), 1)
    next(chunks)
    chunks.close()  # would warn (an error here) about an unclosed file if it leaked


@given(text=st.text(alphabet="ab\n", max_size=60), n=st.integers(1, 5))
def test_read_n_chunks_join_back_to_the_file(text: str, n: int) -> None:
    # tmp_path is shared by every example hypothesis runs: use a fresh directory
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), text)
        chunks = list(read_n(path, n))
    assert "".join(chunks) == text
    assert all(chunk.count("\n") <= n for chunk in chunks)


def test_vowels_yields_each_vowel_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "Hello,\nWORLD of Python!\n")
    assert list(vowels(path)) == ["e", "o", "O", "o", "o"]


def test_vowels_of_an_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert list(vowels(write(tmp_path, ""))) == []


def test_vowels_reads_a_large_file_lazily(tmp_path: Path) -> None:
    path = write(tmp_path, "xyz\n" * 100_000 + "a")
    assert list(vowels(path)) == ["a"]
