"""Per-file seconds of a test run, for the order in which parallel test processes take the files.

    .venv/bin/python -m pytest tests -p no:cacheprovider -n 4 --dist loadfile --durations=0 -q > run.txt
    .venv/bin/python scripts/test_durations.py run.txt             # the slowest files and their seconds
    .venv/bin/python scripts/test_durations.py run.txt --write     # rewrite tests/file_seconds.json

Sums setup, call and teardown of every test of a file (pytest's ``--durations=0`` lines). The suite hands the
slowest files out first (tests/conftest.py), so that no long file starts last and runs on alone (docs/testing.md).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "file_seconds.json"
LINE = re.compile(r"\s*([\d.]+)s (?:setup|call|teardown)\s+(\S+?\.py)::")


def per_file(text: str) -> Counter[str]:
    seconds: Counter[str] = Counter()
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            seconds[match.group(2)] += float(match.group(1))
    return seconds


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    seconds = per_file(Path(argv[0]).read_text(encoding="utf-8"))
    if not seconds:
        print("no --durations=0 lines in that file", file=sys.stderr)
        return 1
    if "--write" in argv:
        table = {name: round(value) for name, value in sorted(seconds.items())}
        TABLE.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
        print(f"{TABLE.relative_to(ROOT)}: {len(table)} files")
    total = sum(seconds.values())
    print(f"{total:.0f} s in {len(seconds)} files")
    for name, value in seconds.most_common(30):
        print(f"{value:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
