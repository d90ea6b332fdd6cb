"""Campaign expansion on PostgreSQL: one statement per batch does in the database what the Python
path of campaigns.expansion does member by member (the arm by the same md5, the campaign's cascade
under consent, reachability and the promotional cap, quiet hours by time zone) and writes the
assignment rows and the queued, unrendered message rows together. Nothing crosses the wire per
member, which is what takes a million-member campaign from minutes to seconds.
tests/integration/marketing/test_campaign_sql.py holds the two paths to the same rows."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.recipients import COUNTED
from notifications.routing import ADDRESSED, CONSENTED, POLICIES, REACHABLE, UNDER_CAP, checks_for, send_time
from shared.config import Settings
from shared.db.models.campaigns import CONTROL, Campaign, source_of
from shared.vocabulary import LANGUAGES

KIND = "campaign"  # the routing policy the statement is generated from (quiet hours: send_time below)

# The next keyset slice of the snapshot: its size, its last member and the time zones in it.
_BOUNDS = """
WITH b AS (SELECT member_id FROM segment_members WHERE segment_id = $1 AND member_id > $2
           ORDER BY member_id LIMIT $3)
SELECT count(*), (SELECT member_id FROM b ORDER BY member_id DESC LIMIT 1),
       array_agg(DISTINCT m.time_zone) FILTER (WHERE m.time_zone IS NOT NULL)
FROM b LEFT JOIN members m ON m.id = b.member_id
"""

# where each channel's address comes from, per member (a column of `picked` below)
_ADDRESS = {"sms": "phone", "viber": "phone", "email": "email", "telegram": "telegram", "push": "push"}
# routing's channel tests (routing.checks_for) in SQL, for channel {ch} with its address in x.{address}
SQL_TESTS = {
    ADDRESSED: "x.{address} IS NOT NULL",
    REACHABLE: "NOT '{ch}' = ANY(coalesce(d.channels, '{{}}'))",
    CONSENTED: "'{ch}' = ANY(g.channels)",
    UNDER_CAP: "NOT '{ch}' = ANY(coalesce(c.channels, '{{}}'))",
}
# the per-member facts a test reads, as a CTE of the slice and its join (the dead channels always)
_FACTS = {
    CONSENTED: (
        """granted AS (
  SELECT member_id, array_agg(channel::text) AS channels FROM consents
  WHERE member_id > $3::uuid AND member_id <= $4::uuid AND granted GROUP BY member_id
), """,
        "LEFT JOIN granted g ON g.member_id = x.id ",
    ),
    UNDER_CAP: (
        """capped AS (
  SELECT member_id, array_agg(channel::text) AS channels FROM (
    SELECT member_id, channel FROM messages
    WHERE member_id > $3::uuid AND member_id <= $4::uuid AND created_at > $11::timestamptz
    GROUP BY member_id, channel
    HAVING sum(CASE WHEN promotional AND status = ANY($13::text[]) THEN 1 ELSE 0 END) >= $12::int) AS counted
  GROUP BY member_id
), """,
        "LEFT JOIN capped c ON c.member_id = x.id ",
    ),
}


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@functools.cache
def statement(channels: tuple[str, ...]) -> str:
    """The batch statement for one cascade, generated from the campaign kind's routing policy: the
    first usable channel is a CASE over the cascade, each branch routing's tests for that channel
    (names from _ADDRESS and our constants only, so nothing from outside reaches the SQL text).
    $1 campaign  $2 segment  $3/$4 the slice (lo, hi]  $5 control %  $6 arm codes  $7 arms' lower
    bounds  $8 total weight  $9 cascade  $10 now  $11 cap window start  $12 cap  $13 counted
    statuses  $14/$15 zones and their send times  $16 send time elsewhere  $17 default language
    $18 source"""
    checks = checks_for(KIND)
    unknown = [name for name in checks if name not in SQL_TESTS]
    if unknown:
        raise NotImplementedError(f"routing checks {unknown} have no SQL in notifications.campaigns.sql")
    usable = [" AND ".join(SQL_TESTS[name].format(ch=ch, address=_ADDRESS[ch]) for name in checks) for ch in channels]
    pick = " ".join(f"WHEN {test} THEN {i}" for i, test in enumerate(usable, start=1))
    address = " ".join(f"WHEN {i} THEN x.{_ADDRESS[ch]}" for i, ch in enumerate(channels, start=1))
    facts = [_FACTS[name] for name in checks if name in _FACTS]
    return (
        _EXPAND.replace("{facts}", "".join(cte for cte, _ in facts))
        .replace("{joins}", "".join(join for _, join in facts))
        .replace("{pick}", pick)
        .replace("{address}", address)
        .replace("{control}", _quoted(CONTROL))
        .replace("{kind}", _quoted(KIND))
        .replace("{promotional}", "true" if POLICIES[KIND].promotional else "false")
        .replace("{languages}", ", ".join(_quoted(lang) for lang in LANGUAGES))
    )


# Plain INSERTs, no ON CONFLICT (which writes a second WAL record per row, a quarter of the time):
# a slice is expanded under the campaign's row lock, in the transaction that moves its cursor past
# the slice, so no row of it can exist yet. The unique keys still stand guard: a bug would fail the
# batch, never duplicate a message.
_EXPAND = """
WITH b AS (
  SELECT m.id, m.phone, nullif(m.email, '') AS email, nullif(m.telegram_user_id, 0)::text AS telegram,
         m.time_zone, CASE WHEN m.language IN ({languages}) THEN m.language ELSE $17::text END AS language,
         md5($1::bigint::text || ':' || m.id::text) AS h
  FROM segment_members sm JOIN members m ON m.id = sm.member_id
  WHERE sm.segment_id = $2 AND sm.member_id > $3::uuid AND sm.member_id <= $4::uuid
    AND m.id > $3::uuid AND m.id <= $4::uuid
), v AS MATERIALIZED (
  SELECT b.*, CASE WHEN ('x' || substr(h, 1, 8))::bit(32)::bigint % 100 < $5::int THEN {control}
                   ELSE ($6::text[])[width_bucket(('x' || substr(h, 9, 8))::bit(32)::bigint % $8::bigint,
                                                 $7::bigint[])] END AS variant
  FROM b
), {facts}dead AS (
  SELECT member_id, array_agg(channel::text) AS channels FROM channel_status
  WHERE member_id > $3::uuid AND member_id <= $4::uuid GROUP BY member_id
), push AS (
  SELECT DISTINCT ON (member_id) member_id,
         '{"endpoint":' || to_json(endpoint)::text || ',"keys":{"p256dh":' || to_json(p256dh)::text
         || ',"auth":' || to_json(auth)::text || '}}' AS address
  FROM push_subscriptions WHERE member_id > $3::uuid AND member_id <= $4::uuid ORDER BY member_id, id DESC
), picked AS (
  SELECT x.id, x.language, x.variant, x.time_zone, CASE WHEN x.variant <> {control} THEN CASE {pick} END END AS i,
         x.phone, x.email, x.telegram, x.push
  FROM (SELECT v.*, p.address AS push FROM v LEFT JOIN push p ON p.member_id = v.id) AS x
  {joins}LEFT JOIN dead d ON d.member_id = x.id
), routed AS MATERIALIZED (
  SELECT x.id, x.language, x.variant, x.time_zone, x.i, CASE x.i {address} END AS address FROM picked AS x
), assigned AS (
  INSERT INTO campaign_members (campaign_id, member_id, variant, channel)
  SELECT $1::bigint, id, variant, ($9::text[])[i] FROM routed
)
INSERT INTO messages (source, recipient, member_id, channel, kind, promotional, address, language, text, meta,
                      cascade, status, attempts, next_attempt_at, cost_parts, created_at)
SELECT $18::text, r.id::text, r.id, ($9::text[])[r.i], {kind}, {promotional}, r.address, r.language, '',
       json_build_object('campaign', $1::bigint, 'variant', r.variant), to_json(($9::text[])[r.i + 1:]),
       'queued', 0, coalesce(z.at, $16::timestamptz), 0, $10::timestamptz
FROM routed r LEFT JOIN unnest($14::text[], $15::timestamptz[]) AS z(zone, at) ON z.zone = r.time_zone
WHERE r.i IS NOT NULL
"""
_ZERO = uuid.UUID(int=0)


async def sql_slice(
    session: AsyncSession,
    settings: Settings,
    campaign: Campaign,
    arms: list[tuple[str, int]],
    batch_size: int,
    now: datetime,
) -> tuple[int, uuid.UUID | None]:
    """Expand the snapshot rows after the campaign's cursor, at most batch_size of them, in the
    caller's transaction; returns how many and the last one (None: nothing left)."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    # a big statement's cost estimate would switch JIT on: ~0.2 s of compiling per batch for nothing
    await raw.execute("SET LOCAL jit = off")
    count, last, zones = await raw.fetchrow(_BOUNDS, campaign.segment_id, campaign.cursor or _ZERO, batch_size)
    if last is None:
        return 0, None
    # Ranges of uuids are estimated from histogram buckets without interpolation: a slice inside one
    # bucket (5,000 of 1,000,000 members) is estimated at one row, and nested loops over the slice's
    # tables then compare every row with every row (15 s a batch). Hash and merge joins do not care.
    await raw.execute("SET LOCAL enable_nestloop = off")
    zones = [zone for zone in zones or () if zone is not None]
    notify = settings.notify
    bounds, total = [], 0
    for _, weight in arms:
        bounds.append(total)
        total += weight
    args: list[Any] = [
        campaign.id,
        campaign.segment_id,
        campaign.cursor or _ZERO,
        last,
        campaign.control_percent,
        [code for code, _ in arms],
        bounds,
        total,
        list(campaign.channels),
        now,
        now - timedelta(days=1),
        notify.promo_cap_per_day,
        list(COUNTED),
        zones,
        [send_time(KIND, now, ZoneInfo(zone), notify) for zone in zones],
        send_time(KIND, now, settings.program.zone, notify),
        settings.program.language,
        source_of(campaign.id),
    ]
    await raw.execute(statement(tuple(campaign.channels)), *args)
    return int(count), last
