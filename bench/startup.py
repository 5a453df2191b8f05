"""Start-up: seconds from `daodao-ai run` to `/readyz` 200, cold (empty data) and warm (restart).

Target (DESIGN.md): on an installed checkout, /readyz answers 200 within 20 s.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import print_table, write_result
from bench.stack import running_stack

TARGET_SECONDS = 20.0


def main(_data: Path | None = None) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="daodao-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        for phase in ("cold (first run: initdb, model export, demo data, index)", "warm (restart)"):
            with running_stack(data_dir) as stack:
                seconds = stack.seconds_to_ready
            rows.append(
                {
                    "phase": phase,
                    "seconds_to_ready": round(seconds, 2),
                    "target_s": TARGET_SECONDS,
                    "meets_target": seconds <= TARGET_SECONDS,
                }
            )
            print(f"  {phase}: {seconds:.2f} s", flush=True)
    print_table("start-up: daodao-ai run -> /readyz 200", rows)
    print(f"wrote {write_result('startup', rows)}")
    return {"rows": rows}
