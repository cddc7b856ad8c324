"""The execution hard lock: Atlas reads from customer systems and never writes to them (SPEC 8.1).

`ReadOnlyHttp` is the only HTTP client that can reach a customer system;
its transport refuses every method but reads and the declared read kinds
(token request, session login, read-RPC proved by `read_proofs`), each audited.
An architecture test keeps every other module from importing an HTTP client library.

Where an approved action ends: `lock.attempt` stores an execution draft of a `CanonicalAction` (plain data,
`action.py`, built by the approvals from a recommendation) and records ``action_blocked``; nothing sends it.
The package imports nothing above the platform (docs/architecture.md; tests/test_architecture.py).
"""

from atlas.execution_lock.network import NetworkPolicy, NetworkRefused
from atlas.execution_lock.transport import (
    BlockedAttempt,
    DeclaredFailure,
    DeclaredKind,
    DeclaredRequest,
    ExecutionBlocked,
    GuardedTransport,
    RawResponse,
    ReadOnlyHttp,
    TransportFailure,
    safe_url,
)

__all__ = [
    "BlockedAttempt",
    "DeclaredFailure",
    "DeclaredKind",
    "DeclaredRequest",
    "ExecutionBlocked",
    "GuardedTransport",
    "NetworkPolicy",
    "NetworkRefused",
    "RawResponse",
    "ReadOnlyHttp",
    "TransportFailure",
    "safe_url",
]
