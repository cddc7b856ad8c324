"""The format of Moyasar's API keys: which mode a key is (test or live), and what is wrong with a pair of them.

Pure checks on strings, shared by the settings (``atlas.config`` refuses to start on a bad pair) and by billing's
Moyasar client (``atlas.billing.moyasar`` re-exports them). They live below both, so that validating the settings
never imports billing.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import SecretStr

__all__ = ["KeyMode", "key_mode", "key_problems", "reveal"]

KeyMode = Literal["test", "live"]
_KEY_PREFIXES: Final = {"sk_test_": "test", "pk_test_": "test", "sk_live_": "live", "pk_live_": "live"}


def reveal(key: str | SecretStr) -> str:
    return key.get_secret_value() if isinstance(key, SecretStr) else key


def key_mode(key: str | SecretStr) -> KeyMode:
    """`"test"` or `"live"`, from the key's prefix; ValueError (without the key) for anything else."""
    value = reveal(key)
    for prefix, mode in _KEY_PREFIXES.items():
        if value.startswith(prefix) and len(value) > len(prefix):
            return mode  # type: ignore[return-value]
    raise ValueError("not a Moyasar API key: it must start with sk_test_, sk_live_, pk_test_ or pk_live_")


def key_problems(*, secret_key: str | SecretStr | None, publishable_key: str | None, environment: str) -> list[str]:
    """What is wrong with this pair of keys for this environment, as sentences naming the settings (never the
    keys); empty when they are fine. Atlas refuses to start on any of these (atlas.config)."""
    secret = reveal(secret_key) if secret_key is not None else ""
    public = publishable_key or ""
    if not secret and not public:
        return []
    problems: list[str] = []
    if not secret or not public:
        missing = "MOYASAR_SECRET_KEY" if not secret else "MOYASAR_PUBLISHABLE_KEY"
        problems.append(f"{missing} must be set too: Moyasar needs both keys (or neither, to turn payments off)")
    modes: dict[str, KeyMode] = {}
    for name, value, kind in (("MOYASAR_SECRET_KEY", secret, "sk_"), ("MOYASAR_PUBLISHABLE_KEY", public, "pk_")):
        if not value:
            continue
        try:
            modes[name] = key_mode(value)
        except ValueError:
            problems.append(f"{name} is not a Moyasar key (it must start with {kind}test_ or {kind}live_)")
            continue
        if not value.startswith(kind):
            other = "secret" if kind == "pk_" else "publishable"
            problems.append(f"{name} holds a {other} key ({'sk' if kind == 'pk_' else 'pk'}_...): swap the two keys")
    if len(set(modes.values())) > 1:
        problems.append(
            "MOYASAR_SECRET_KEY and MOYASAR_PUBLISHABLE_KEY are of different modes (one test, one live): "
            "use the two keys of the same mode"
        )
    if "live" in modes.values() and environment != "production":
        problems.append("a live Moyasar key is set outside production (ATLAS_ENV=production): use test keys here")
    return problems
