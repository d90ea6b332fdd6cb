"""Which channels a message of each kind goes to, and when: cascade, consent, reachability,
quiet hours and the promotional frequency cap, decided once, above every channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.config import NotifierSettings


@dataclass(frozen=True)
class KindPolicy:
    quiet_hours: bool  # deferred to daytime in the member's zone (never dropped)
    promotional: bool  # counts against the frequency cap; needs advertising consent
    needs_consent: bool  # login codes go to the number that asked, consent or not
    email_alongside: bool  # also e-mail, where consented
    cascade: tuple[str, ...] | None = None  # None: the configured default cascade


POLICIES: dict[str, KindPolicy] = {
    "login_code": KindPolicy(
        quiet_hours=False, promotional=False, needs_consent=False, email_alongside=False, cascade=("telegram", "sms")
    ),
    "email_confirmation": KindPolicy(
        quiet_hours=False, promotional=False, needs_consent=False, email_alongside=False, cascade=("email",)
    ),
    "points_accrued": KindPolicy(quiet_hours=False, promotional=False, needs_consent=True, email_alongside=True),
    "purchase_refunded": KindPolicy(quiet_hours=False, promotional=False, needs_consent=True, email_alongside=True),
    "member_registered": KindPolicy(
        quiet_hours=False,
        promotional=False,
        needs_consent=True,
        email_alongside=True,
        cascade=("telegram", "push", "sms"),
    ),
    "points_available": KindPolicy(quiet_hours=True, promotional=False, needs_consent=True, email_alongside=False),
    "tier_changed": KindPolicy(quiet_hours=True, promotional=False, needs_consent=True, email_alongside=True),
    "points_expiring": KindPolicy(quiet_hours=True, promotional=False, needs_consent=True, email_alongside=True),
    "birthday": KindPolicy(quiet_hours=True, promotional=True, needs_consent=True, email_alongside=True),
    "bonus_granted": KindPolicy(quiet_hours=True, promotional=True, needs_consent=True, email_alongside=True),
    # marketers' messages: the campaign's or chain's own cascade, never at night, under the cap
    "campaign": KindPolicy(quiet_hours=True, promotional=True, needs_consent=True, email_alongside=False),
    "chain": KindPolicy(quiet_hours=True, promotional=True, needs_consent=True, email_alongside=False),
    # the monthly digest (notifications.campaigns.digest): Telegram and e-mail, both where consented
    "digest": KindPolicy(
        quiet_hours=True, promotional=True, needs_consent=True, email_alongside=True, cascade=("telegram",)
    ),
}


@dataclass(frozen=True)
class Recipient:
    """What routing needs to know about one recipient."""

    addresses: dict[str, str]  # channel -> address (phone, e-mail, chat id, subscription)
    consents: dict[str, bool]  # channel -> granted
    unreachable: frozenset[str]  # channels known dead for this member
    capped: frozenset[str]  # channels at the promotional cap today
    zone: ZoneInfo


@dataclass(frozen=True)
class Plan:
    channel: str
    address: str
    rest: tuple[str, ...]  # the cascade after this channel
    not_before: datetime


def cascade_for(kind: str, settings: NotifierSettings) -> tuple[str, ...]:
    policy = POLICIES[kind]
    return policy.cascade or tuple(settings.cascade.split(","))


# What a channel must pass to carry a message of a kind, one named test each. The campaigns' batch
# statement (notifications.campaigns.sql) is generated from checks_for(), with the same test in SQL.
ADDRESSED, REACHABLE, CONSENTED, UNDER_CAP = "addressed", "reachable", "consented", "under_cap"
_TESTS: dict[str, Callable[[str, Recipient], bool]] = {
    ADDRESSED: lambda channel, who: channel in who.addresses,
    REACHABLE: lambda channel, who: channel not in who.unreachable,
    CONSENTED: lambda channel, who: who.consents.get(channel, False),
    UNDER_CAP: lambda channel, who: channel not in who.capped,
}


def checks_for(kind: str) -> tuple[str, ...]:
    """The tests a channel must pass for this kind: an address and no known failure always, consent
    where the kind needs it, room under the daily cap where it is promotional."""
    policy = POLICIES[kind]
    return (
        (ADDRESSED, REACHABLE)
        + ((CONSENTED,) if policy.needs_consent else ())
        + ((UNDER_CAP,) if policy.promotional else ())
    )


_KIND_TESTS = {kind: tuple(_TESTS[name] for name in checks_for(kind)) for kind in POLICIES}


def usable(channel: str, kind: str, who: Recipient) -> bool:
    return all(test(channel, who) for test in _KIND_TESTS[kind])


def next_channel(kind: str, channels: tuple[str, ...], who: Recipient) -> tuple[str, tuple[str, ...]] | None:
    """The first usable channel of `channels` and what remains after it."""
    for index, channel in enumerate(channels):
        if usable(channel, kind, who):
            return channel, channels[index + 1 :]
    return None


def send_time(kind: str, now: datetime, zone: ZoneInfo, settings: NotifierSettings) -> datetime:
    """Now, or the next morning in the member's zone when the kind must respect quiet hours."""
    if not POLICIES[kind].quiet_hours:
        return now
    local = now.astimezone(zone)
    start, end = time(settings.quiet_start_hour), settings.quiet_end_hour
    if settings.quiet_start_hour <= local.hour < end:
        return now
    day = local.date() if local.hour < settings.quiet_start_hour else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=zone).astimezone(now.tzinfo)


def plan_messages(kind: str, who: Recipient, now: datetime, settings: NotifierSettings) -> list[Plan]:
    """The message rows to create for one event: the best channel of the cascade, plus e-mail."""
    when = send_time(kind, now, who.zone, settings)
    plans = []
    chosen = next_channel(kind, cascade_for(kind, settings), who)
    if chosen is not None:
        channel, rest = chosen
        plans.append(Plan(channel, who.addresses[channel], rest, when))
    if POLICIES[kind].email_alongside and usable("email", kind, who) and not any(p.channel == "email" for p in plans):
        plans.append(Plan("email", who.addresses["email"], (), when))
    return plans
