"""shared.outbound: which URLs and addresses we call on someone's behalf (push endpoints)."""

from __future__ import annotations

import pytest

from shared.config import PushSettings
from shared.outbound import (
    BlockedAddress,
    UnsafeURL,
    UrlPolicy,
    is_public_address,
    loggable,
    parse_host_list,
    resolve_public,
)

POLICY = PushSettings().endpoint_policy  # the default allow-list
LOCAL = UrlPolicy(POLICY.allowed_hosts, ("127.0.0.1", "localhost:8123"))


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/abc:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://FCM.googleapis.com./fcm/send/x",
        "https://fcm.googleapis.com:443/fcm/send/x",
    ],
)
def test_real_push_services_are_accepted(url: str) -> None:
    target = POLICY.check_url(url)
    assert target.scheme == "https"
    assert target.port == 443
    assert not target.insecure


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://fcm.googleapis.com/fcm/send/x", "https"),
        ("https://127.0.0.1/x", "IP address"),
        ("https://169.254.169.254/latest/meta-data/", "IP address"),
        ("https://[::1]/x", "IP address"),
        ("https://[::ffff:127.0.0.1]/x", "IP address"),
        ("https://2130706433/x", "host name"),
        ("https://0x7f.1/x", "host name"),
        ("https://push.example/x", "not a known push service"),
        ("https://notify.windows.com/x", "not a known push service"),  # *. needs a subdomain
        ("https://fcm.googleapis.com.evil.example/x", "not a known push service"),
        ("https://evilfcm.googleapis.com/x", "not a known push service"),
        ("https://fcm.googleapis.com:8443/x", "standard https port"),
        ("https://user@fcm.googleapis.com/x", "user names"),
        ("https://fcm.googleapis.com@127.0.0.1/x", "user names"),
        ("https://fcm.googleapis.com/x\r\nHost: evil", "control characters"),
        ("ftp://fcm.googleapis.com/x", "https"),
        ("https:///x", "https"),
        ("https://fcm.googleapis.com:99999/x", "valid URL"),
        ("https://fcm.googleapis.com/" + "a" * 2000, "2000"),
        (None, "URL"),
    ],
)
def test_everything_else_is_refused_with_a_reason(url: object, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        POLICY.check_url(url)


def test_insecure_hosts_only_when_named() -> None:
    assert LOCAL.check_url("http://127.0.0.1:4567/subscribe").insecure
    assert LOCAL.check_url("http://localhost:8123/x").insecure
    with pytest.raises(UnsafeURL):
        LOCAL.check_url("http://localhost:8124/x")  # named with a port: only that port
    with pytest.raises(UnsafeURL):
        POLICY.check_url("http://127.0.0.1:4567/subscribe")  # off by default
    assert POLICY.insecure_hosts == ()


def test_an_allow_list_entry_may_name_its_port() -> None:
    policy = UrlPolicy(("push.shop.example:8443",))
    assert policy.check_url("https://push.shop.example:8443/x").port == 8443
    with pytest.raises(UnsafeURL, match="standard https port"):
        POLICY.check_url("https://fcm.googleapis.com:8443/x")
    with pytest.raises(UnsafeURL, match="not a known push service"):
        policy.check_url("https://push.shop.example/x")


def test_host_lists_are_validated() -> None:
    assert parse_host_list(" a.example, *.b.example  c.example ") == ("a.example", "*.b.example", "c.example")
    assert parse_host_list("127.0.0.1:80,[::1]:9000", insecure=True) == ("127.0.0.1:80", "[::1]:9000")
    for bad in ("a/b", "*", "http://a.example"):
        with pytest.raises(ValueError, match="not a host pattern"):
            parse_host_list(bad)
    with pytest.raises(ValueError, match="not a host pattern"):
        PushSettings(allowed_hosts="fcm.googleapis.com,https://x")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # Alibaba metadata (shared address space)
        "192.0.0.192",  # Oracle metadata
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1%eth0",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
        "not an address",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["142.250.74.10", "8.8.8.8", "2a00:1450:4010:c0e::5f", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


async def test_a_name_that_resolves_to_loopback_is_blocked() -> None:
    with pytest.raises(BlockedAddress, match="not public"):
        await resolve_public("localhost", 443, POLICY)
    with pytest.raises(BlockedAddress):
        await resolve_public("127.0.0.1", 443, POLICY)  # numeric hosts go through the same check
    with pytest.raises(BlockedAddress):
        await resolve_public("::ffff:127.0.0.1", 443, POLICY)
    assert isinstance(BlockedAddress("x"), OSError)  # HTTP clients pass resolver errors on as OSErrors


async def test_insecure_hosts_resolve_to_anything() -> None:
    found = await resolve_public("localhost", 8123, LOCAL)
    assert found
    assert all(not is_public_address(address) for _, address in found)


def test_remote_answers_are_capped_and_sanitised() -> None:
    line = loggable("bad\r\n2026-01-01 INFO forged line\x1b[31m\u202e" + "x" * 500)
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert line.startswith("bad??2026-01-01 INFO forged line?[31m?")
    assert line.endswith("…")
    assert len(line) == 201
    assert loggable("Not Found") == "Not Found"
