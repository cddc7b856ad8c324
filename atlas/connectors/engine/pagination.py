"""The rules that make a paginated read exact: it never loses a row and never loops.

Every paginator in `atlas.connectors.engine.reader` passes each page of one slot (one parent record × one
time window) through one `PageGuard`:

- A page whose records repeat an earlier page's records ends the read at that first repeat with a
  `PaginationLoop` (``repeated_page``). Pages are compared by content (a hash of the encoded records), not
  by cursor or link: a server can hand out a fresh cursor for the same records, and numbered pages can come
  back A, B, A, B. An empty page is never a repeat.
- The source's declared total (``total_path``) is checked when the read ends. The largest total the source
  declared during the read is the one that counts: fewer records than that is a `TotalMismatch` ("read 250
  of 950 records the server declared"), never a success. More records than declared is not a loss (the
  source grew while it was read, or a shifted record was read twice) and succeeds.
- Empty pages are followed only while the API says more follow; `EMPTY_RUN_LIMIT` of them in a row stop the
  read (``empty_pages``), since a server handing out fresh cursors over nothing would otherwise never end.

`end_signal` reads the API's own end signal (``has_more_path``, ``next_path``); `place` puts paging values at
dotted paths of a read-RPC body.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from atlas.connectors.engine.config import PaginationConfig
from atlas.connectors.engine.errors import FetchError, PaginationLoop
from atlas.connectors.engine.jsonpath import CompiledPath, compile_path

EMPTY_RUN_LIMIT = 20
_encoder = msgspec.json.Encoder()


class TotalMismatch(FetchError):
    """A read that ended with fewer records than its source declared: a loss, so the read fails."""

    def __init__(self, *, url: str, read: int, declared: int) -> None:
        super().__init__("total_mismatch", url=url, detail=f"read {read} of {declared} records the server declared")
        self.read = read
        self.declared = declared

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "read": self.read, "declared": self.declared}


def fingerprint(records: list[Any]) -> bytes:
    """What a page holds, independent of the cursors, links and totals around it.

    SHA-256 rather than blake2b: on these machines (SHA extensions) it hashes a page of 1,000 records in less than
    half of blake2b's time (0.06 against 0.14 ms); encoding the page costs another 0.11 ms."""
    return hashlib.sha256(_encoder.encode(records)).digest()[:16]


def declared_number(path: CompiledPath | None, body: Any) -> int | None:
    """A non-negative count at ``path`` (some APIs send counts as digit strings); None when there is none."""
    if path is None:
        return None
    value = path.first(body)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def end_signal(pagination: PaginationConfig, body: Any) -> bool | None:
    """The API's own word on this page: True when it says this is the last page, False when it says more
    follow, None when it says nothing (no end signal configured, or the path matches nothing).

    ``has_more_path`` is a boolean, false on the last page; ``next_path`` a next link or cursor, empty or null
    on the last page. A path that matches nothing is no signal at all (a misspelt path then reads on to an
    empty page, rather than ending after the first page). When both speak and disagree, "more" wins: reading
    one page too many costs a request, stopping one too early loses rows.
    """
    verdicts: list[bool] = []
    if pagination.has_more_path:
        found = compile_path(pagination.has_more_path).find(body)
        more = _truth(found[0]) if found else None
        if more is not None:
            verdicts.append(not more)
    if pagination.next_path:
        found = compile_path(pagination.next_path).find(body)
        if found:
            verdicts.append(found[0] in (None, "", False) or found[0] == [] or found[0] == {})
    if not verdicts:
        return None
    return all(verdicts)


class PageGuard:
    """Watches the pages of one slot: repeats, runs of empty pages, and the declared total."""

    def __init__(self, pagination: PaginationConfig, url: str) -> None:
        self.url = url
        self.records = 0
        self.pages = 0
        self.declared: int | None = None
        self._total_path = compile_path(pagination.total_path) if pagination.total_path else None
        self._seen: dict[bytes, int] = {}
        self._empty_run = 0

    def admit(self, records: list[Any], body: Any, *, url: str, status: int | None) -> None:
        """Take one page, in reading order. Raises `PaginationLoop` when its records repeat an earlier page's."""
        self.pages += 1
        total = declared_number(self._total_path, body)
        if total is not None:
            self.declared = total if self.declared is None else max(self.declared, total)
        if not records:
            self._empty_run += 1
            return
        self._empty_run = 0
        digest = fingerprint(records)
        earlier = self._seen.get(digest)
        if earlier is not None:
            raise PaginationLoop(
                "repeated_page",
                url=url,
                status=status,
                detail=f"page {self.pages} has the same records as page {earlier}",
            )
        self._seen[digest] = self.pages
        self.records += len(records)

    def check_empty_run(self, *, url: str, status: int | None) -> None:
        """Called before following an empty page the API says is not the last."""
        if self._empty_run >= EMPTY_RUN_LIMIT:
            raise PaginationLoop(
                "empty_pages",
                url=url,
                status=status,
                detail=f"{self._empty_run} empty pages in a row while the server said more would follow",
            )

    def short_of_total(self) -> bool:
        """True while fewer records were read than the source declared."""
        return self.declared is not None and self.records < self.declared

    def finish(self) -> None:
        """The read ended: fewer records than the largest declared total is a loss."""
        if self.declared is not None and self.records < self.declared:
            raise TotalMismatch(url=self.url, read=self.records, declared=self.declared)


def place(body: dict[str, Any], dotted: str, value: Any, *, url: str) -> None:
    """Set ``value`` at a dotted path of a JSON body, creating objects on the way: ``offset``, ``variables.after``,
    and through lists by index, ``params.args.6.offset`` (Odoo's JSON-RPC ``execute_kw`` takes its arguments as a
    list) or ``domain.1.2`` (the value of a domain's second term). A list is never grown: an index past its end,
    a name where a list takes an index, or a path that runs into a text or a number is a configuration error,
    said plainly."""
    parts = [part.strip() for part in dotted.strip().split(".")]
    if not parts or any(not part for part in parts):
        raise FetchError("paging_path_invalid", url=url, detail=f"{dotted!r} is not a dotted path in the body")
    target: Any = body
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(target, list):
            if not part.isdigit():
                raise FetchError(
                    "paging_path_invalid", url=url, detail=f"{dotted} runs into a list at {part}: a list takes an index"
                )
            index = int(part)
            if index >= len(target):
                raise FetchError(
                    "paging_path_invalid",
                    url=url,
                    detail=f"{dotted}: index {index} is past the end of a list of {len(target)}",
                )
            if last:
                target[index] = value
                return
            following = target[index]
            if following is None:
                following = target[index] = {}
        elif isinstance(target, dict):
            if last:
                target[part] = value
                return
            following = target.get(part)
            if following is None:
                following = target[part] = {}
        else:
            raise FetchError(
                "paging_path_invalid", url=url, detail=f"{dotted} runs into a {type(target).__name__} before {part}"
            )
        target = following
