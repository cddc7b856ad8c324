"""Network safety for outbound connector traffic (SSRF).

A connector may not reach loopback, link-local (cloud metadata), private,
shared, multicast or reserved addresses unless the deployment allows it
(``ATLAS_ALLOW_PRIVATE_NETWORKS``, on in the demo and tests) or names the host
(``ATLAS_ALLOWED_PRIVATE_HOSTS``, for an on-premises ERP). The check runs on
the addresses the name resolves to, for every request, so it also holds on
each hop of a redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

from atlas.errors import AtlasError


class NetworkRefused(AtlasError):
    status = 422
    slug = "network-refused"


@dataclass(frozen=True)
class NetworkPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def is_forbidden_address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return bool(
            address.is_loopback
            or address.is_link_local
            or address.is_private
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
            or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
        )

    async def check(self, scheme: str, host: str, port: int | None) -> None:
        if scheme not in ("http", "https"):
            raise NetworkRefused("errors.connector_scheme", scheme=scheme)
        if not host:
            raise NetworkRefused("errors.connector_host_missing")
        if self.allow_private or host.lower() in self.allowed_hosts:
            return
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            addresses = [literal]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM
                )
            except socket.gaierror:
                raise NetworkRefused("errors.connector_dns", host=host) from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:
            if str(address) in self.allowed_hosts:
                continue
            if self.is_forbidden_address(address):
                raise NetworkRefused("errors.connector_private_network", host=host, address=str(address))
