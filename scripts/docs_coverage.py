"""Did a README move lose a fact? Checks that every paragraph of an earlier README still has its key terms in the docs.

    .venv/bin/python scripts/docs_coverage.py                    # the README of the commit before the split (default)
    .venv/bin/python scripts/docs_coverage.py --before 510ceee   # any earlier README (a git revision)
    .venv/bin/python scripts/docs_coverage.py --before FILE.md   # or a file

A block is a paragraph, a list item or a table row of the earlier README. Its key terms are what a reader would
search for: every code span (`atlas audit verify`, `ATLAS_TRIAL_DAYS`, `/api/drafts/export.csv`), every upper-case
setting name, every route (``/api/…``, ``/app/…``, ``/platform…``), every figure with a unit or a percent sign, and
every **bold** phrase; a block with none of these (a table row of plain words) must be there word for word.
A term is found when it occurs, whitespace normalised, in ``docs/**/*.md``,
``benchmarks/README.md`` or the README as it is now. The script prints each block that lost a term (with the terms)
and exits 1 if any did, 0 otherwise, with the counts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The last commit whose README still held everything (issue 18 moves it to docs/).
DEFAULT_BEFORE = "510ceee"

CODE = re.compile(r"`([^`\n]+)`")
BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
SETTING = re.compile(r"\b(?:ATLAS|MOYASAR|OIDC|TEMPORAL|DATABASE)_[A-Z0-9_]+\b")
ROUTE = re.compile(r"(?<![\w.])/(?:api|app|platform|v1|_fake)(?:/[\w{}.\-|]+)*")
FIGURE = re.compile(r"\b\d[\d,.]*\s?(?:%|ms|s\b|records/s|series/s|halalas|days|minutes|SAR)")


def read_before(before: str) -> str:
    path = Path(before)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    git = shutil.which("git") or "git"
    return subprocess.run(  # noqa: S603 - a fixed argument list; the revision is the caller's own
        [git, "show", f"{before}:README.md"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def blocks(markdown: str) -> list[tuple[int, str]]:
    """Paragraphs, list items and table rows, with the line each starts on; fenced code is one block."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    fenced = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
        stripped = line.strip()
        new_block = not fenced and (
            not stripped or stripped.startswith(("- ", "|", "#")) or re.match(r"\d+\. ", stripped)
        )
        if new_block and current:
            out.append((start, " ".join(current)))
            current = []
        if stripped and not stripped.startswith("#") and not set(stripped) <= set("|- :"):
            if not current:
                start = number
            current.append(stripped)
            if stripped.startswith("|") and not fenced:
                out.append((start, " ".join(current)))
                current = []
    if current:
        out.append((start, " ".join(current)))
    return out


def key_terms(block: str) -> set[str]:
    terms: set[str] = set()
    for match in CODE.findall(block):
        terms.add(match.strip())
    for match in BOLD.findall(block):
        terms.add(match.strip().rstrip(".:"))
    terms.update(SETTING.findall(block))
    plain = CODE.sub(" ", block)
    terms.update(route.rstrip(".,;:)") for route in ROUTE.findall(plain))
    terms.update(figure.strip() for figure in FIGURE.findall(plain))
    return {term for term in terms if len(term) > 1}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", "").replace("*", ""))


def corpus() -> str:
    paths = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "benchmarks" / "README.md", ROOT / "README.md"]
    return normalise("\n".join(path.read_text(encoding="utf-8") for path in paths if path.is_file()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision or file of the earlier README")
    args = parser.parse_args(argv)
    text = corpus()
    checked = terms_total = 0
    lost: list[tuple[int, str, list[str]]] = []
    for line, block in blocks(read_before(args.before)):
        terms = key_terms(block)
        if not terms:
            # No term to search for: the block itself must still be there, word for word (a table row, a list item).
            # A lead-in that only introduces what follows ("Who it is for:") has nothing of its own to lose.
            if block.endswith(":"):
                continue
            terms = {block}
        checked += 1
        terms_total += len(terms)
        missing = sorted(term for term in terms if normalise(term) not in text)
        if missing:
            lost.append((line, block, missing))
    for line, block, missing in lost:
        print(f"README line {line}: {block[:100]}…\n    missing: {', '.join(missing)}")
    print(
        f"{checked} blocks with {terms_total} key terms checked; "
        f"{len(lost)} blocks lost {sum(len(m) for _, _, m in lost)} terms"
    )
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
