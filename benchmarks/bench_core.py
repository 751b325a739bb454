"""Issue 2's benchmark: what a nanoservice request costs, side by side.

One run times every row interleaved (a plain function call, a bare
``gen.send``, each nanoservices call path, a thread + queue, an asyncio task +
queue, a multiprocessing pipe, a Pykka actor), all hosting the same echo body,
and reports medians as ratios to the bare send; then memory per idle service
against a bare primed generator, an asyncio task and a thread; then the
targets, PASS or MISS. The measuring lives in ``nanoservices._bench`` (shared
with ``nanoservices bench``); this script is its thin command line.

    python benchmarks/bench_core.py --quick
    python benchmarks/bench_core.py --json bench.json --png docs/img/bench.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from nanoservices._bench import FULL, QUICK
from nanoservices._bench.output import write_json
from nanoservices._bench.report import print_report
from nanoservices._bench.runner import run_with_progress


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (missed targets are reported, not fatal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every number here")
    parser.add_argument("--png", type=Path, metavar="PATH", help="draw the chart here")
    args = parser.parse_args(argv)
    console = Console()
    result = run_with_progress(QUICK if args.quick else FULL, console)
    print_report(result, console)
    if args.json is not None:
        console.print(f"wrote {write_json(result, args.json)}")
    if args.png is not None:
        from nanoservices._bench.chart import draw_chart

        console.print(f"wrote {draw_chart(result, [args.png])[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
