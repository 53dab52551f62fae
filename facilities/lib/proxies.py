"""The client's address behind reverse proxies we trust (``FACILITIES_TRUSTED_PROXIES``).

Behind nginx every request's socket peer is the proxy, so per-address rate limits would lump all
citizens together. A proxy appends the address it received the request from to
``X-Forwarded-For``; everything to the left of that was written by whoever sent the request and
may be forged. So the header is read from the right, only while the hop that wrote an entry is
trusted, and stops at the first address we cannot vouch for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks; an address alone is a network of one.
    ValueError names the first bad entry."""
    return tuple(_network(entry) for entry in (p.strip() for p in raw.split(",")) if entry)


def _network(entry: str) -> Network:
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    try:  # say what was probably meant: 10.0.0.1/8 is 10.0.0.0/8 with host bits set
        meant = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValueError(
            f"{entry!r} is not an IP address or network (such as 127.0.0.1, 10.0.0.0/8 or ::1)"
        ) from None
    raise ValueError(f"{entry!r} has host bits set; did you mean {meant}?")


def client_address(peer: str, forwarded: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the socket ``peer`` unless it is a trusted proxy; then the
    rightmost ``X-Forwarded-For`` entry (``forwarded``: every such header, in order) that is not
    itself trusted, or the leftmost when all are. An entry that is not an address ends the walk
    at the last address seen, so garbage is never believed and never raises."""
    current = _address(peer)
    if current is None or not _is_trusted(current, trusted):
        return peer
    for entry in reversed(",".join(forwarded).split(",")):
        address = _address(entry.strip())
        if address is None:
            break
        current = address
        if not _is_trusted(address, trusted):
            break
    return str(current)


def _address(text: str) -> Address | None:
    """The address, with an IPv4-mapped IPv6 one (``::ffff:10.0.0.1``, as a dual-stack socket
    reports an IPv4 peer) read as the IPv4 address it carries; None for anything else."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)
