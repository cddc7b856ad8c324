"""The outbound network policy (SSRF): IPv6 forms that carry an IPv4 address are judged by that address, the
private-host allow-list names host and port, and the connection goes to the address that was checked (no DNS
rebinding between the check and the connect). Real local HTTP servers on 127.0.0.x; the only stand-in is the
system resolver, patched to answer as a rebinding DNS server would."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from atlas.config import Settings
from atlas.execution_lock import NetworkPolicy, NetworkRefused, ReadOnlyHttp
from atlas.execution_lock.network import embedded_ipv4, is_forbidden_address, parse_allowed_hosts
from atlas.execution_lock.transport import NotChecked, PinnedBackend, TransportFailure
from tests.services import free_port

CLOSED = NetworkPolicy(allow_private=False)


# --- IPv6 forms that carry an IPv4 address ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
        ("::ffff:10.0.0.5", "10.0.0.5"),
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # ... to the cloud metadata address
        ("64:ff9b:1::c0a8:101", "192.168.1.1"),  # NAT64 local-use prefix (RFC 8215)
        ("2002:7f00:1::", "127.0.0.1"),  # 6to4
        ("2002:a00:5:1::1", "10.0.0.5"),
        ("2002:a9fe:a9fe::", "169.254.169.254"),
        ("2002:6440:1::", "100.64.0.1"),  # 6to4 to carrier-grade NAT space
        # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe)
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
    ],
)
def test_an_ipv6_address_carrying_a_forbidden_ipv4_address_is_refused(address: str, carried: str) -> None:
    parsed = ipaddress.IPv6Address(address)
    assert ipaddress.IPv4Address(carried) in embedded_ipv4(parsed)
    assert is_forbidden_address(parsed)

    async def go() -> None:
        await CLOSED.check("http", address, 8080)

    with pytest.raises(NetworkRefused) as refused:
        asyncio.run(go())
    assert refused.value.message_key == "errors.connector_private_network"
    assert refused.value.params["address"] == str(parsed)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "64:ff9b:1::808:808", "2002:808:808::1"])
def test_an_ipv6_address_carrying_a_public_ipv4_address_is_allowed_and_checked(address: str) -> None:
    async def go() -> Any:
        return await CLOSED.check("https", address, None)

    destination = asyncio.run(go())
    assert destination.addresses == (str(ipaddress.IPv6Address(address)),)
    assert destination.port == 443


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible (deprecated): refused whatever it carries
        "::8.8.8.8",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo with a public client: 2001::/32 is not a public block
        "::1",
        "fe80::1",
        "fd00::1",
        "ff02::1",
    ],
)
def test_other_non_public_ipv6_addresses_are_refused(address: str) -> None:
    assert is_forbidden_address(ipaddress.IPv6Address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))


# --- the allow-list names host and port ----------------------------------------------------------------------


def test_the_allow_list_is_parsed_as_host_and_port() -> None:
    assert parse_allowed_hosts(" erp.local:8443, 10.0.0.5:443,[FD00:0::1]:443,ERP.Example:80 ,") == {
        ("erp.local", 8443),
        ("10.0.0.5", 443),
        ("fd00::1", 443),
        ("erp.example", 80),
    }
    assert parse_allowed_hosts("") == frozenset()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("erp.local", "'erp.local' names no port"),
        ("erp.local:8443,10.0.0.5", "'10.0.0.5' names no port"),
        ("fd00::1", "names no port"),  # an IPv6 address goes in brackets
        ("[fd00::1]", "names no port"),
        ("erp.local:", "names no port"),
        ("erp.local:0", "no valid port"),
        ("erp.local:65536", "no valid port"),
        ("erp.local:https", "no valid port"),
    ],
)
def test_an_entry_without_a_valid_port_refuses_the_start(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_allowed_hosts(value)
    with pytest.raises(ValidationError) as refused:
        Settings(ATLAS_ALLOWED_PRIVATE_HOSTS=value)
    assert "ATLAS_ALLOWED_PRIVATE_HOSTS" in str(refused.value)
    assert message in str(refused.value)


def test_settings_build_the_policy_from_the_allow_list() -> None:
    policy = NetworkPolicy.from_settings(Settings(ATLAS_ALLOWED_PRIVATE_HOSTS="erp.local:8443,[fd00::1]:443"))
    assert policy.allows("ERP.local", 8443) and policy.allows("[fd00:0::1]", 443)
    assert not policy.allows("erp.local", 443) and not policy.allows("erp.local", 5432)


class Counter:
    def __init__(self) -> None:
        self.paths: list[str] = []


@contextmanager
def local_server(host: str, port: int | None = None) -> Iterator[tuple[int, Counter]]:
    """A real HTTP server on ``host`` that answers every GET with JSON and counts what it was asked."""
    counter = Counter()
    port = port or free_port()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            counter.paths.append(self.path)
            body = b'{"items": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, counter
    finally:
        server.shutdown()
        server.server_close()


def get(policy: NetworkPolicy, url: str) -> int:
    async def go() -> int:
        async with ReadOnlyHttp(network=policy, timeout=5) as http:
            return (await http.get(url)).status

    return asyncio.run(go())


def test_an_allowed_host_opens_its_port_and_no_other() -> None:
    # Two services on one private host: the ERP (allowed) and, say, a database's or an admin API's port.
    with local_server("127.0.0.2") as (erp_port, erp), local_server("127.0.0.2") as (other_port, other):
        policy = NetworkPolicy.from_settings(Settings(ATLAS_ALLOWED_PRIVATE_HOSTS=f"127.0.0.2:{erp_port}"))
        assert get(policy, f"http://127.0.0.2:{erp_port}/items") == 200
        with pytest.raises(NetworkRefused):
            get(policy, f"http://127.0.0.2:{other_port}/items")
        assert erp.paths == ["/items"]
        assert other.paths == []


def test_an_allowed_name_opens_its_port_and_no_other() -> None:
    with local_server("127.0.0.1") as (erp_port, erp), local_server("127.0.0.1") as (other_port, other):
        policy = NetworkPolicy.from_settings(Settings(ATLAS_ALLOWED_PRIVATE_HOSTS=f"localhost:{erp_port}"))
        assert get(policy, f"http://localhost:{erp_port}/items") == 200
        with pytest.raises(NetworkRefused):
            get(policy, f"http://localhost:{other_port}/items")
        with pytest.raises(NetworkRefused):  # the name was allowed, not the address
            get(policy, f"http://127.0.0.1:{erp_port}/items")
        assert erp.paths == ["/items"]
        assert other.paths == []


def test_an_allowed_host_on_the_default_port_of_its_scheme() -> None:
    policy = NetworkPolicy(allowed_hosts=parse_allowed_hosts("10.0.0.5:443"))

    async def go(url_scheme: str) -> Any:
        return await policy.check(url_scheme, "10.0.0.5", None)

    assert asyncio.run(go("https")).addresses == ("10.0.0.5",)
    with pytest.raises(NetworkRefused):
        asyncio.run(go("http"))  # port 80 is not on the list


# --- the connection goes to the checked address ----------------------------------------------------------------


class RebindingResolver:
    """The system resolver as a rebinding DNS server would answer: ``rebind.test`` is ``first`` on the first
    lookup and ``then`` on every later one. Other names resolve as usual."""

    def __init__(self, first: str, then: str) -> None:
        self.first, self.then = first, then
        self.lookups = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("rebind.test", b"rebind.test"):
            return self._real(host, port, *args, **kwargs)
        self.lookups += 1
        address = self.first if self.lookups == 1 else self.then
        return self._real(address, port, *args, **kwargs)


def test_a_name_that_rebinds_after_the_check_is_reached_only_at_the_checked_address(monkeypatch) -> None:
    # The operator allowed one address (127.0.0.2:P). The name resolves there for the check, then to 127.0.0.1,
    # where another service listens on the same port: without pinning, the connection's own lookup (the second
    # answer) would reach it. The request must reach 127.0.0.2 and never 127.0.0.1.
    resolver = RebindingResolver(first="127.0.0.2", then="127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = free_port()
    with local_server("127.0.0.2", port) as (_, allowed), local_server("127.0.0.1", port) as (_, forbidden):
        policy = NetworkPolicy(allowed_hosts=parse_allowed_hosts(f"127.0.0.2:{port}"))
        assert get(policy, f"http://rebind.test:{port}/stock") == 200
        assert resolver.lookups == 1  # the check's lookup only: the connection did not resolve the name again
        # The next request is checked again: the name now answers 127.0.0.1, which is refused before any connection.
        with pytest.raises(NetworkRefused) as refused:
            get(policy, f"http://rebind.test:{port}/stock")
        assert refused.value.params["address"] == "127.0.0.1"
        assert allowed.paths == ["/stock"]
        assert forbidden.paths == []


def test_the_backend_refuses_a_connection_nobody_checked() -> None:
    with local_server("127.0.0.1") as (port, counter):

        async def go() -> None:
            await PinnedBackend().connect_tcp("127.0.0.1", port)

        with pytest.raises(NotChecked):
            asyncio.run(go())
        assert counter.paths == []


# --- TLS over a pinned connection: SNI and the certificate are the host name's ---------------------------------


def make_certificates(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``name`` signed by it: (CA file, certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Atlas test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital signature, key cert sign, CRL sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@contextmanager
def tls_server(cert_file: Path, key_file: Path) -> Iterator[tuple[int, list[tuple[str | None, str]]]]:
    """A real HTTPS server on 127.0.0.1 recording (SNI name, Host header) of each request."""
    seen: list[tuple[str | None, str]] = []
    sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((sni[-1] if sni else None, self.headers.get("Host", "")))
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_pinned_https_connection_verifies_the_certificate_of_the_host_name(monkeypatch, tmp_path) -> None:
    ca_file, cert_file, key_file = make_certificates(tmp_path, "erp.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host in ("erp.test", "other.test") else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with tls_server(cert_file, key_file) as (port, seen):
        policy = NetworkPolicy(allowed_hosts=parse_allowed_hosts(f"erp.test:{port},other.test:{port}"))
        assert get(policy, f"https://erp.test:{port}/items") == 200
        assert seen == [("erp.test", f"erp.test:{port}")]  # SNI and Host are the name, not the pinned address
        # The same address under a name the certificate does not cover: verification fails, nothing is read.
        with pytest.raises(TransportFailure):
            get(policy, f"https://other.test:{port}/items")
        assert len(seen) == 1
