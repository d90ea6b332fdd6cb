"""Addresses we call on someone else's behalf (a browser's push endpoint, say): the one check.

A URL is acceptable when it is https, names a host on the allow-list (exact or ``*.suffix``; port
443 unless an entry says ``host:port``; or any host name when the policy says ``any_host``, for
webhooks), is not an IP literal and carries no user-info; after DNS,
every address the host resolves to must be public (no loopback, private, link-local, shared,
multicast, reserved or cloud-metadata address, IPv4 or IPv6, including IPv4 embedded in IPv6).
Hosts named in ``insecure_hosts`` (``host`` or ``host:port``; for a local test server) skip
all of this; the list is empty unless set. Plain Python, no HTTP client: adapters call `check_url`
before each request and `resolve_public` from their resolver, so the address checked is the
address connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "BlockedAddress",
    "OutboundRefused",
    "Target",
    "UnsafeURL",
    "UrlPolicy",
    "is_public_address",
    "loggable",
    "parse_host_list",
    "resolve_public",
]

MAX_URL = 2000
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PATTERN = re.compile(r"(\*\.)?[a-z0-9.-]+(:\d{1,5})?")
_INSECURE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?")
# Not globally reachable although Python 3.11 may call them global, plus well-known metadata services.
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/3",
        "169.254.169.254/32",
        "169.254.170.2/32",
        "100.100.100.200/32",
        "192.0.0.192/32",
        "::/96",
        "64:ff9b:1::/48",
        "2001::/23",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "fd00:ec2::254/128",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """We will not call this address on someone's behalf; the message is safe to log and store."""


class UnsafeURL(OutboundRefused, ValueError):
    """The URL itself is refused (scheme, host, port, IP literal)."""


class BlockedAddress(OutboundRefused, OSError):
    """The host resolved to an address that is not public (an OSError, so HTTP clients pass it on)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    insecure: bool  # named in insecure_hosts: no address checks


def parse_host_list(value: str, *, insecure: bool = False) -> tuple[str, ...]:
    """Comma- or space-separated host patterns, lower-cased; raises ValueError on a malformed entry."""
    entries = tuple(e.strip().lower().rstrip(".") for e in re.split(r"[,\s]+", value) if e.strip())
    for entry in entries:
        if not (_INSECURE if insecure else _PATTERN).fullmatch(entry):
            raise ValueError(f"not a host{' or host:port' if insecure else ' pattern'}: {entry!r}")
    return entries


def _host_matches(host: str, port: int, patterns: tuple[str, ...]) -> bool:
    """``name`` or ``*.suffix`` (any subdomain), on port 443 unless the pattern names one."""
    for pattern in patterns:
        name, _, wanted = pattern.partition(":")
        if port != int(wanted or 443):
            continue
        if host == name or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def _valid_hostname(host: str) -> bool:
    """LDH labels, and a last label starting with a letter, so no numeric form (127.1, 0x7f.1,
    2130706433) that the system resolver would read as an address."""
    labels = host.split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels) and labels[-1][0].isalpha()


@dataclass(frozen=True)
class UrlPolicy:
    allowed_hosts: tuple[str, ...]
    insecure_hosts: tuple[str, ...] = ()
    any_host: bool = False  # any public host name (webhooks), not only the allow-list (push services)
    label: str = "push"  # what the refusals call the URL: "only https push endpoints are accepted"

    def is_insecure(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        bracketed = f"[{host}]" if ":" in host else host
        return any(entry in (host, bracketed, f"{bracketed}:{port}") for entry in self.insecure_hosts)

    def check_url(self, url: object) -> Target:
        """Raise UnsafeURL unless the URL may be called; the reason names no more than the host."""
        if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
            raise UnsafeURL("not a URL of at most 2000 characters")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise UnsafeURL("spaces or control characters in the URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UnsafeURL("not a valid URL") from exc
        scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
        if scheme not in ("https", "http") or not host:
            raise UnsafeURL("not an https URL")
        if "@" in parts.netloc:
            raise UnsafeURL("user names in the URL are not allowed")
        effective = port or (443 if scheme == "https" else 80)
        if self.is_insecure(host, effective):
            return Target(scheme, host, effective, insecure=True)
        if scheme != "https":
            raise UnsafeURL(f"only https {self.label} endpoints are accepted")
        if _is_ip_literal(host):
            raise UnsafeURL(f"an IP address is not a {self.label} service")
        if not host.isascii() or not _valid_hostname(host):
            raise UnsafeURL("not a valid host name")
        if self.any_host:
            return Target(scheme, host, effective, insecure=False)
        if not _host_matches(host, effective, self.allowed_hosts):
            if _host_matches(host, 443, self.allowed_hosts):
                raise UnsafeURL("only the standard https port is accepted")
            raise UnsafeURL(f"{host} is not a known push service")
        return Target(scheme, host, effective, insecure=False)


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for a globally reachable unicast address; IPv4 inside IPv6 is judged as IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0] if isinstance(address, str) else address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:  # a tunnel to who knows where
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if ip.is_site_local:
            return False
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    return not any(ip in net for net in _BLOCKED if net.version == ip.version)


async def resolve_public(
    host: str, port: int, policy: UrlPolicy, family: int = socket.AF_UNSPEC
) -> list[tuple[int, str]]:
    """Resolve like the system does and return (family, address) pairs; raise BlockedAddress when
    any of them is not public (a name that mixes public and private addresses is refused whole)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[tuple[int, str]] = []
    for fam, _, _, _, sockaddr in infos:
        pair = (int(fam), str(sockaddr[0]))
        if pair not in found:
            found.append(pair)
    if not found:
        raise BlockedAddress(f"{host} has no address")
    if policy.is_insecure(host, port):
        return found
    if any(not is_public_address(address) for _, address in found):
        raise BlockedAddress(f"{host} resolves to an address that is not public")
    return found


def loggable(text: str, limit: int = 200) -> str:
    """What a remote server said, fit for one log line: capped, control and format characters
    (newlines, ANSI escapes, bidi overrides) replaced, marked when cut."""
    cut = text[:limit]
    clean = "".join(c if c.isprintable() else "?" for c in cut)
    return clean + ("…" if len(text) > limit else "")
