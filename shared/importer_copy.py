"""The PostgreSQL way to store a batch of imported members: COPY into a staging table, then SQL.

The rows arrive checked (shared/importer.py reads and parses them the same way for both databases).
One batch is one transaction: COPY into a temporary table that is dropped at commit, resolve phones
that are already members and card numbers that are taken, then one statement inserts the members
with their opening-balance lots, ledger entries and consents. What the ORM path (`_store`) decides row
by row is decided here by set, with the same outcome: a phone twice in a batch is "duplicate of line
N", a phone already in the base is "already a member", a taken card number is replaced by a new one.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import asyncpg

from shared.cards import new_card_number

if TYPE_CHECKING:
    from shared.core import Core
    from shared.importer import _Row
    from shared.program import ProgramRules

ALREADY = "already a member (existing balance kept)"
COMMENT = "balance carried over from the previous program"
COLUMNS = (
    "line",
    "id",
    "phone",
    "card",
    "fresh",
    "first_name",
    "last_name",
    "email",
    "birth_date",
    "balance",
    "consents",
    "wallet_serial",
    "wallet_auth_token",
)
STAGING = """
CREATE TEMPORARY TABLE import_rows (
    line bigint PRIMARY KEY, id uuid NOT NULL, phone text NOT NULL, card text, fresh text NOT NULL,
    first_name text, last_name text, email text, birth_date date, balance bigint NOT NULL,
    consents text[] NOT NULL, wallet_serial text NOT NULL, wallet_auth_token text NOT NULL
) ON COMMIT DROP
"""
# Phones already in the base leave the batch first, so they take no card number from a later row.
ALREADY_MEMBERS = """
DELETE FROM import_rows s USING members m WHERE m.phone = s.phone RETURNING s.line, s.phone
"""
# A given card number stays with the first row that has it unless a member holds it; others get a new one.
CARDS = """
UPDATE import_rows s SET card = s.fresh
FROM (SELECT line, row_number() OVER (PARTITION BY card ORDER BY line) AS nth FROM import_rows) o
WHERE o.line = s.line
  AND (s.card IS NULL OR o.nth > 1 OR EXISTS (SELECT 1 FROM members m WHERE m.card_number = s.card))
"""
# A drawn number that a member or another row holds (about one in 10^11 per row): draw again.
CLASHES = """
SELECT s.line FROM (SELECT line, card, fresh, count(*) OVER (PARTITION BY card) AS holders FROM import_rows) s
WHERE s.card = s.fresh
  AND (s.holders > 1 OR EXISTS (SELECT 1 FROM members m WHERE m.card_number = s.card))
"""
REDRAW = "UPDATE import_rows SET card = $2, fresh = $2 WHERE line = $1"
# $1 now, $2 expiry of the opening lots, $3 language, $4 first tier. A phone registered meanwhile
# (at a till, in the bot) is not overwritten: ON CONFLICT leaves it, and the row is reported.
MOVE = """
WITH added AS (
    INSERT INTO members (
        id, phone, card_number, first_name, last_name, email, birth_date, birth_mmdd, language, tier_code,
        registration_channel, available, pending, debt, wallet_serial, wallet_auth_token, created_at, updated_at
    )
    SELECT id, phone, card, first_name, last_name, email, birth_date,
           extract(month FROM birth_date)::int * 100 + extract(day FROM birth_date)::int, $3, $4,
           'import', balance, 0, 0, wallet_serial, wallet_auth_token, $1, $1
    FROM import_rows ORDER BY line
    ON CONFLICT (phone) DO NOTHING
    RETURNING id, available
), lots AS (
    INSERT INTO lots (member_id, source, points, remaining, status, created_at, available_at, expires_at)
    SELECT id, 'import', available, available, 'available', $1, $1, $2 FROM added WHERE available > 0
), entries AS (
    INSERT INTO entries (member_id, kind, points, created_at, available_at, expires_at, comment)
    SELECT id, 'adjustment', available, $1, $1, $2, $5 FROM added WHERE available > 0
), consents AS (
    INSERT INTO consents (member_id, channel, granted, changed_at, source, method)
    SELECT s.id, c.channel, true, $1, 'import', 'import'
    FROM import_rows s JOIN added USING (id), unnest(s.consents) AS c(channel)
)
SELECT s.line, s.phone, s.balance FROM import_rows s LEFT JOIN added USING (id) WHERE added.id IS NULL
"""


class BatchRefused(Exception):
    """PostgreSQL refused the batch as a whole (a constraint, a bound): store it row by row instead."""


@dataclass
class Copied:
    imported: int = 0
    points: int = 0
    rejects: list[list[object]] = field(default_factory=list)


def _staged(rows: list[_Row], rejects: list[list[object]]) -> list[tuple[Any, ...]]:
    """The batch as COPY records, without its second and later rows of one phone (those go to rejects)."""
    seen: dict[str, int] = {}
    records = []
    for row in rows:
        if row.phone in seen:
            rejects.append([row.line, row.phone, f"duplicate of line {seen[row.phone]}"])
            continue
        seen[row.phone] = row.line
        consents = [channel for channel, granted in row.consents.items() if granted]
        records.append(
            (
                row.line,
                uuid.uuid4(),
                row.phone,
                row.card,
                new_card_number(),
                row.first_name,
                row.last_name,
                row.email,
                row.birth,
                row.balance,
                consents,
                secrets.token_hex(16),
                secrets.token_urlsafe(24),
            )
        )
    return records


async def copy_batch(core: Core, now: datetime, rules: ProgramRules, rows: list[_Row]) -> Copied:
    """Store one batch in one transaction; raises BatchRefused when PostgreSQL refuses it."""
    done = Copied()
    records = _staged(rows, done.rejects)
    total = sum(record[9] for record in records)
    async with core.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        pg = cast("asyncpg.Connection[Any]", raw.driver_connection)
        try:
            async with pg.transaction():
                await pg.execute(STAGING)
                await pg.copy_records_to_table("import_rows", records=records, columns=COLUMNS)
                await pg.execute("ANALYZE import_rows")  # so the joins below probe the members' indexes
                gone = await pg.fetch(ALREADY_MEMBERS)
                await pg.execute(CARDS)
                while clashes := await pg.fetch(CLASHES):
                    await pg.executemany(REDRAW, [(clash["line"], new_card_number()) for clash in clashes])
                left = await pg.fetch(
                    MOVE, now, now + timedelta(days=rules.expiry_days), rules.language, rules.tiers[0].code, COMMENT
                )
        except asyncpg.PostgresError as exc:
            raise BatchRefused(type(exc).__name__) from exc
    balances = {record[0]: record[9] for record in records}
    for record in [*gone, *left]:
        done.rejects.append([record["line"], record["phone"], ALREADY])
        total -= balances[record["line"]]
    done.imported = len(records) - len(gone) - len(left)
    done.points = total
    return done
