"""The client's address, as rate limits and login throttling see it.

It is the socket peer, unless the peer is a proxy listed in TRUSTED_PROXIES: then it
is the right-most address of X-Forwarded-For that is not itself a trusted proxy. Any
other client can write anything into that header, so it is never read by default.
`TrustedProxyMiddleware` puts the result into the ASGI scope's `client`, so every
reader of `request.client` (Litestar's rate limits, the login throttle) agrees.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_FORWARDED_FOR = b"x-forwarded-for"


def parse_networks(text: str, setting: str = "TRUSTED_PROXIES") -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR ranges; blank: none."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{setting}: {item!r} is not an IP address or CIDR range such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Any, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """`peer`: the socket peer's address; `forwarded_for`: every X-Forwarded-For value
    joined by commas, left to right."""
    current = _address(peer)
    if not _trusted(current, trusted):
        return peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:  # not written by a proxy we trust: stop at the one that is
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


class TrustedProxyMiddleware:
    """Raw ASGI: replaces the scope's client address when the peer is a trusted proxy."""

    def __init__(self, app: Any, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.trusted and scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"]
            hops = b",".join(v for k, v in scope["headers"] if k == _FORWARDED_FOR)
            client = client_address(peer, hops.decode("latin-1"), self.trusted)
            if client != peer:
                scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)
