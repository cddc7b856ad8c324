"""Network safety for outbound connector traffic (SSRF).

A connector may not reach loopback, link-local (cloud metadata), private,
shared, multicast or reserved addresses unless the deployment allows it
(``ATLAS_ALLOW_PRIVATE_NETWORKS``, on in tests) or names the host **and port**
(``ATLAS_ALLOWED_PRIVATE_HOSTS="erp.local:8443,10.0.0.5:443,[fd00::1]:443"``, for
an on-premises ERP): an allowed host opens that one port, no other.

An IPv6 address that carries an IPv4 address is judged by the IPv4 address it
carries: IPv4-mapped (``::ffff:a.b.c.d``), NAT64 (``64:ff9b::/96`` and the
local-use ``64:ff9b:1::/48``, the IPv4 address in the last 32 bits), 6to4
(``2002::/16``) and Teredo (``2001::/32``, server and client). The deprecated
IPv4-compatible form (``::a.b.c.d``) is always refused.

The check runs on the addresses the name resolves to, for every request (so on
each hop of a redirect too), and returns them as a `Destination`: the
connection is then made to one of those checked addresses and to nothing else
(`atlas.execution_lock.transport` pins it), so a name that resolves to a public
address for the check and to ``127.0.0.1`` a moment later (DNS rebinding) never
reaches ``127.0.0.1``.

The policy is built here from the two settings (`NetworkPolicy.from_settings`): the settings only check the
allow-list's form (`atlas.config.allowed_host_ports`, in the base layer) and never import the lock.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

from atlas.config import Settings, allowed_host_ports
from atlas.errors import AtlasError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HostPort = tuple[str, int]

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): not public
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated by RFC 4291


class NetworkRefused(AtlasError):
    status = 422
    slug = "network-refused"


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def normalise_host(host: str) -> str:
    """A host as the policy compares it: lower case, no brackets, IDNA names in their ASCII form, an IP address in
    its canonical spelling (``FD00:0::1`` is ``fd00::1``)."""
    host = host.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def parse_allowed_hosts(value: str) -> frozenset[HostPort]:
    """``"erp.local:8443,10.0.0.5:443,[fd00::1]:443"`` as ``{("erp.local", 8443), ...}``, each host as
    `normalise_host` spells it.

    Every entry names its port: an entry without one raises `ValueError` naming the entry (the settings refuse the
    same value at start-up with the same words, through the same `atlas.config.allowed_host_ports`), so a deployment
    with an old-style list refuses to start rather than open every port of the host."""
    return frozenset((normalise_host(host), port) for host, port in allowed_host_ports(value))


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (a packet to it ends up at them): mapped, NAT64, 6to4, Teredo."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in prefix for prefix in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _not_public(address: IPAddress) -> bool:
    return bool(
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    )


def is_forbidden_address(address: IPAddress) -> bool:
    """Whether an address is not a public one, judging an IPv6 address that carries IPv4 by what it carries."""
    if isinstance(address, ipaddress.IPv4Address):
        return _not_public(address)
    if address in _IPV4_COMPATIBLE:
        return True  # ::a.b.c.d (and :: and ::1): deprecated, never a public service
    carried = embedded_ipv4(address)
    if any(_not_public(v4) for v4 in carried):
        return True
    if address.ipv4_mapped is not None or any(address in prefix for prefix in _NAT64):
        # Python counts ::ffff:0:0/96 and 64:ff9b::/96 as reserved, yet they are only a way to write the IPv4
        # address they carry, and that address is public.
        return False
    return _not_public(address)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a checked request may connect: its host (as `normalise_host` spells it), its port, and the addresses
    that were checked, in the resolver's order. The transport connects to these and to nothing else."""

    host: str
    port: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class NetworkPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[HostPort] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkPolicy:
        """This deployment's policy: ``ATLAS_ALLOW_PRIVATE_NETWORKS`` and ``ATLAS_ALLOWED_PRIVATE_HOSTS``. The lock
        reads the settings (they sit below it) rather than the settings building the lock's policy."""
        return cls(
            allow_private=settings.allow_private_networks,
            allowed_hosts=parse_allowed_hosts(settings.allowed_private_hosts),
        )

    def is_forbidden_address(self, address: IPAddress) -> bool:
        return is_forbidden_address(address)

    def allows(self, host: str, port: int) -> bool:
        """Whether ``host:port`` is on the private-host allow-list (a host name or an address)."""
        return (normalise_host(host), port) in self.allowed_hosts

    async def check(self, scheme: str, host: str, port: int | None) -> Destination | None:
        """Refuse (`NetworkRefused`) a request this deployment does not let a connector make; else the checked
        `Destination` to connect to (None when every address is allowed, so there is nothing to pin)."""
        if scheme not in ("http", "https"):
            raise NetworkRefused("errors.connector_scheme", scheme=scheme)
        if not host:
            raise NetworkRefused("errors.connector_host_missing")
        if self.allow_private:
            return None
        port = port or default_port(scheme)
        name = normalise_host(host)
        addresses = await resolve(name, port)
        if not addresses:
            raise NetworkRefused("errors.connector_dns", host=host)
        named = (name, port) in self.allowed_hosts
        for address in addresses:
            if named or (str(address), port) in self.allowed_hosts:
                continue
            if is_forbidden_address(address):
                raise NetworkRefused("errors.connector_private_network", host=host, address=str(address))
        return Destination(name, port, tuple(str(address) for address in addresses))


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to, each once, in the resolver's order (an address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise NetworkRefused("errors.connector_dns", host=host) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]))
        if address not in addresses:
            addresses.append(address)
    return addresses
