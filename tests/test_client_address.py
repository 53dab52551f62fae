"""The client's address behind reverse proxies (``FACILITIES_TRUSTED_PROXIES``): only a trusted
peer's ``X-Forwarded-For`` is believed, read from the right, and never past something that is
not an address; per-address rate limits then count each citizen, not the proxy."""

from __future__ import annotations

import dataclasses
import ipaddress

import httpx
import pytest

from facilities.accounts.tables import RateLimitBucket
from facilities.app import create_app
from facilities.lib.proxies import client_address, parse_networks
from facilities.settings import Settings, SettingsError
from tests.kit.clients import client_for_app

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # a peer we do not trust: its header is whatever it chose to write
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", ["127.0.0.1"], "203.0.113.9"),
        # nginx on this machine, the client straight behind it
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        # no header from a trusted peer: the peer itself (a local Prometheus)
        ("127.0.0.1", [], "127.0.0.1"),
        # a forged entry on the left of what our proxy appended is never reached
        ("127.0.0.1", ["127.0.0.1, 198.51.100.1"], "198.51.100.1"),
        # a chain: client, a load balancer in 10/8, then nginx; several headers read in order
        ("127.0.0.1", ["198.51.100.1, 10.1.2.3"], "198.51.100.1"),
        ("127.0.0.1", ["192.0.2.66, 198.51.100.1", "10.1.2.3"], "198.51.100.1"),
        # every hop trusted: the leftmost
        ("127.0.0.1", ["10.9.9.9, 10.1.2.3"], "10.9.9.9"),
        # IPv6, normalised so one client is one rate-limit key
        ("::1", ["2001:DB8::0:1"], "2001:db8::1"),
        ("fd00::5", ["2001:db8::7, fd00::1"], "2001:db8::7"),
        # an IPv4 peer as a dual-stack socket reports it
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        # garbage: stop at the last address seen, or the peer
        ("127.0.0.1", ["198.51.100.1, not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", ["not-an-ip, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["198.51.100.1:4431"], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1,,10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", [""], "127.0.0.1"),
        # a peer that is not an address at all is passed through as before
        ("testclient", ["198.51.100.1"], "testclient"),
    ],
)
def test_client_address(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client():
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_trusted_proxies_parse_addresses_and_networks_of_both_families():
    settings = Settings.from_env({"FACILITIES_TRUSTED_PROXIES": " 127.0.0.1 ,10.0.0.0/8,::1,"})
    assert settings.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert Settings.from_env({}).trusted_proxies == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("127.0.0.1, nginx.local", "'nginx.local' is not an IP address or network"),
        ("10.0.0.300", "'10.0.0.300' is not an IP address or network"),
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8"),
        ("fd00::/200", "'fd00::/200' is not an IP address or network"),
    ],
)
def test_a_malformed_trusted_proxy_names_the_variable_and_the_entry(raw, message):
    with pytest.raises(SettingsError, match="FACILITIES_TRUSTED_PROXIES") as caught:
        Settings.from_env({"FACILITIES_TRUSTED_PROXIES": raw})
    assert message in str(caught.value)


async def _subscribe(client: httpx.AsyncClient, n: int, forwarded: str) -> int:
    if client.cookies.get("csrftoken") is None:
        await client.get("/subscriptions")
    response = await client.post(
        "/subscriptions",
        data={
            "email": f"reader{n}@citizen.example",
            "target": "all",
            "_csrf_token": client.cookies.get("csrftoken"),
        },
        headers={"x-forwarded-for": forwarded},
    )
    return response.status_code


async def test_each_forwarded_client_has_its_own_subscription_limit(app, settings, clock, now):
    clock.set(now, frozen=True)
    behind_nginx = dataclasses.replace(
        settings, subscribe_rate_limit=1, trusted_proxies=parse_networks("127.0.0.1")
    )
    application = create_app(behind_nginx, embed_scheduler=False, clock=clock)
    async with client_for_app(application) as proxy:  # the socket peer is 127.0.0.1
        codes = [
            await _subscribe(proxy, 1, "203.0.113.7"),
            await _subscribe(proxy, 2, "198.51.100.4"),
            await _subscribe(proxy, 3, "203.0.113.7"),
        ]
    assert codes == [303, 303, 429]
    keys = await RateLimitBucket.select(RateLimitBucket.key).where(
        RateLimitBucket.key.like("subscribe:ip:%")
    )
    assert sorted(row["key"] for row in keys) == [
        "subscribe:ip:198.51.100.4",
        "subscribe:ip:203.0.113.7",
    ]


async def test_a_forged_forwarded_header_cannot_escape_the_limit(app, settings, clock, now):
    clock.set(now, frozen=True)
    direct = dataclasses.replace(settings, subscribe_rate_limit=1)
    application = create_app(direct, embed_scheduler=False, clock=clock)
    async with client_for_app(application) as client:
        codes = [
            await _subscribe(client, 1, "203.0.113.7"),
            await _subscribe(client, 2, "198.51.100.4"),
        ]
    assert codes == [303, 429]
