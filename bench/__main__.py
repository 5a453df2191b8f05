"""`make bench`: every benchmark in turn (or those named with --only), on ../shared/data."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    feedback,
    feedback_quality,
    gateway,
    latency,
    recommend,
    search,
    soak,
    startup,
)

BENCHMARKS: dict[str, Callable[[Path], Any]] = {
    "startup": startup.main,
    "search": search.run_all,
    "latency": lambda data: latency.run(data, [10_000, 100_000]),
    "recommend": lambda data: recommend.run(data / "ml-latest-small"),
    "feedback": lambda data: feedback.run(),
    "feedback-quality": lambda data: feedback_quality.run(),
    "gateway": lambda data: gateway.run(),
    # The short soak; `make bench-soak` runs it for 5 minutes.
    "soak": lambda data: soak.run(seconds=60),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data"),
        help="folder with the public evaluation data (see ../shared/data)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    args = parser.parse_args()
    if not args.data.is_dir():
        parser.error(
            f"--data {args.data}: no such folder (it holds scifact-train, cmrc2018-zh, ...)"
        )
    for name in args.only or BENCHMARKS:
        print(f"== {name} ==", flush=True)
        BENCHMARKS[name](args.data)


if __name__ == "__main__":
    main()
