"""A demo program: stores, a few hundred members and months of purchases, built through the
same services a till uses, so the demo's balances are real."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from shared import jobs, purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Member, OutboxEvent, Store
from shared.members import Registration, register

STORES = [
    ("msk-001", "Москва, Тверская 7", "Europe/Moscow", 55.7601, 37.6132),
    ("msk-002", "Москва, Арбат 24", "Europe/Moscow", 55.7496, 37.5911),
    ("spb-001", "Санкт-Петербург, Невский 45", "Europe/Moscow", 59.9322, 30.3486),
    ("nsk-001", "Новосибирск, Красный пр. 25", "Asia/Novosibirsk", 55.0302, 82.9204),
    ("vvo-001", "Владивосток, Светланская 29", "Asia/Vladivostok", 43.1155, 131.8855),
]
CATALOGUE = [
    ("4607001", "Кофе зерновой", "food", 45000),
    ("4607002", "Круассан", "bakery", 9000),
    ("4607003", "Вино красное", "wine", 89000),
    ("4607004", "Сыр пармезан", "food", 64000),
    ("4607005", "Доставка", "services", 30000),
    ("4607006", "Виски 0.7", "spirits", 259000),
    ("4607007", "Шоколад", "food", 15000),
]
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Елена", "Олег", "Ольга", "Дмитрий", "Софья", "Артём"]
LAST = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов"]
DEMO_PHONE_BASE = 79160000000
DEMO_STAFF_EMAIL = "admin@demo.loyalty.local"
DEMO_TELEGRAM_BASE = 990_000_000  # made-up Telegram user ids for the members who "linked the bot"
LAPSED_GOLD = 30  # Gold regulars who stopped coming 61-95 days ago: the campaign demo's audience


@dataclass
class DemoReport:
    members: int
    purchases: int
    seeded: bool


def demo_phone(i: int) -> str:
    return f"+{DEMO_PHONE_BASE + i}"


async def seed_demo(core: Core, members: int = 300, days: int = 150, seed: int = 7) -> DemoReport:
    """Seed once; a second call finds the demo members and does nothing."""
    async with core.reading() as session:
        count = (await session.execute(select(func.count()).select_from(Member))).scalar_one()
    if count:
        return DemoReport(count, 0, seeded=False)
    rng = random.Random(seed)
    now = core.clock.now()
    async with core.transaction() as session:
        for store_id, name, zone, lat, lon in STORES:
            session.add(Store(id=store_id, name=name, time_zone=zone, address=name, latitude=lat, longitude=lon))
    start = now - timedelta(days=days)
    made = 0
    for i in range(members):
        clock = FixedClock(start + timedelta(minutes=rng.randint(0, 60 * 24 * 20)))
        store = rng.choice(STORES)
        reg = Registration(
            phone=demo_phone(i),
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            birth_date=date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)),
            source=rng.choice(["pos", "pos", "web", "bot"]),
            store_id=store[0],
            time_zone=store[2],
            email=f"demo{i}@example.com" if i % 3 else None,
            consents={
                "sms": True,
                "email": i % 3 != 0,
                "push": i % 2 == 0,
                "telegram": i % 4 == 0,
                "viber": i % 5 == 0,
            },
        )
        async with core.transaction() as session:
            member, _ = await register(session, clock, core.rules, reg)
            if i % 4 == 0:
                member.telegram_user_id = DEMO_TELEGRAM_BASE + i
        visits = rng.choice([0, 1, 2, 3, 5, 8, 12]) if i else 6
        moment = clock.now()
        for visit in range(visits):
            moment += timedelta(hours=rng.randint(20, 24 * 12))
            if moment >= now:
                break
            lines = []
            for sku, name, category, price in rng.sample(CATALOGUE, rng.randint(1, 4)):
                qty = rng.randint(1, 3)
                lines.append(
                    {
                        "sku": sku,
                        "name": name,
                        "category": category,
                        "quantity": qty,
                        "price": price,
                        "amount": price * qty,
                    }
                )
            body = {
                "store_id": store[0],
                "receipt_id": f"D{i:04d}-{visit:03d}",
                "purchased_at": moment.isoformat(),
                "member": {"member_id": str(member.id)},
                "lines": lines,
                "redeem": "max" if rng.random() < 0.25 else 0,
            }
            await jobs.activate_due_lots(core, core.rules, moment)
            async with core.transaction() as session:
                await purchases.confirm(session, FixedClock(moment), core.rules, body)
            made += 1
    made += await _lapsed_gold(core, rng, members, now)
    await jobs.run_due(core, core.clock)
    async with core.transaction() as session:  # the demo's made-up past is not news to announce
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).values(processed_at=core.clock.now())
        )
    return DemoReport(members + LAPSED_GOLD, made, seeded=True)


async def _lapsed_gold(core: Core, rng: random.Random, first: int, now: datetime) -> int:
    """Members who spent Gold money (3 bottles of whisky a visit, four visits) and then went quiet;
    half of them linked Telegram. Returns the purchases made."""
    made = 0
    for k in range(LAPSED_GOLD):
        i = first + k
        last = now - timedelta(days=61 + k, hours=rng.randint(0, 12))
        clock = FixedClock(last - timedelta(days=60))
        store = rng.choice(STORES[:3])
        reg = Registration(
            phone=demo_phone(i),
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            source="pos",
            store_id=store[0],
            time_zone=store[2],
            email=f"demo{i}@example.com",
            consents={"sms": True, "email": True, "push": False, "telegram": k % 2 == 0, "viber": False},
        )
        async with core.transaction() as session:
            member, _ = await register(session, clock, core.rules, reg)
            if k % 2 == 0:
                member.telegram_user_id = DEMO_TELEGRAM_BASE + i
        sku, name, category, price = CATALOGUE[5]
        for visit in range(4):
            moment = last - timedelta(days=20 * (3 - visit))
            body = {
                "store_id": store[0],
                "receipt_id": f"G{i:04d}-{visit:03d}",
                "purchased_at": moment.isoformat(),
                "member": {"member_id": str(member.id)},
                "redeem": 0,
                "lines": [
                    {"sku": sku, "name": name, "category": category, "quantity": 3, "price": price, "amount": price * 3}
                ],
            }
            async with core.transaction() as session:
                await purchases.confirm(session, FixedClock(moment), core.rules, body)
            made += 1
    return made
