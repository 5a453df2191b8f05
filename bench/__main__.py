"""`make bench`: run every benchmark, or the ones named with --only."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import startup

BENCHMARKS = {"startup": startup.main}


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
    for name in args.only or BENCHMARKS:
        print(f"== {name} ==", flush=True)
        BENCHMARKS[name](args.data)


if __name__ == "__main__":
    main()
