"""The first sync of this checkout against an earlier commit's, in one run, alternating, with the ratio.

Each round runs `benchmarks/sync_throughput.py` of the earlier commit (checked out in a temporary git worktree,
its own code and migrations on its own fresh database) and then this checkout's, with the same arguments, so
both meet the machine in the same state. Prints each round and the ratio of the medians of records per second and
of CPU seconds (Python, PostgreSQL), then removes the worktree.

    .venv/bin/python benchmarks/sync_compare.py --baseline b7d9539 --rounds 3 [--records 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MEASURES = (
    "full_sync_first_records_per_second",
    "full_sync_first_cpu_python",
    "full_sync_first_cpu_postgres",
    "full_sync_unchanged_records_per_second",
)


def run(root: Path, records: int, page_size: int) -> dict[str, Any]:
    """One benchmark run of the checkout at ``root``, importing that checkout's ``atlas`` (checked)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    where = subprocess.run(
        [sys.executable, "-c", "import atlas, sys; sys.stdout.write(atlas.__file__)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"{root} imports atlas from {where}: the comparison would measure the wrong code")
    done = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "sync_throughput.py"),
            "--records",
            str(records),
            "--page-size",
            str(page_size),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="the earlier commit (e.g. b7d9539)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    worktree = Path(tempfile.mkdtemp(prefix="atlas-baseline-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=ROOT, check=True, capture_output=True
    )
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    try:
        for number in range(1, args.rounds + 1):
            for name, root in (("baseline", worktree), ("current", ROOT)):
                found = run(root, args.records, args.page_size)
                results[name].append(found)
                print(f"round {number} {name:<8} " + "  ".join(f"{m} {found[m]}" for m in MEASURES), flush=True)
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False, capture_output=True
        )
    summary = {}
    for measure in MEASURES:
        base = statistics.median(r[measure] for r in results["baseline"])
        now = statistics.median(r[measure] for r in results["current"])
        summary[measure] = {"baseline": base, "current": now, "ratio": round(now / base, 3) if base else None}
        print(f"{measure:<40} baseline {base:>10}  current {now:>10}  ratio {summary[measure]['ratio']}")
    print(json.dumps({"baseline": args.baseline, "rounds": args.rounds, "median": summary}))


if __name__ == "__main__":
    main()
