"""Why a fetch failed, in words that name the URL (never its secrets), the status and the cause."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that cannot produce correct records. A sync stops on it rather than miss rows."""

    def __init__(
        self,
        reason: str,
        *,
        url: str,
        status: int | None = None,
        detail: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.url = url
        self.status = status
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        # What the server said it expects (a 401's ``WWW-Authenticate`` scheme and realm), shown to the person
        # setting up the connector; never more than about 100 characters, never a credential.
        self.hint = hint
        where = f"{url} (HTTP {status})" if status is not None else url
        super().__init__(f"{reason} at {where}" + (f": {detail}" if detail else ""))

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"reason": self.reason, "url": self.url, "status": self.status}
        found["detail"] = self.detail
        if self.hint:
            found["hint"] = self.hint
        return found


class PaginationLoop(FetchError):
    """The server repeated a cursor, a next link or a whole page: stopped, not looped."""
