"""A demo program: stores, a few hundred members and months of purchases, built through the
same services a till uses, so the demo's balances are real."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from shared import jobs, purchases
from shared.clock import FixedClock
from shared.core import Core
from shared.db.models import Member, OutboxEvent, Store
from shared.members import Registration, find_by_phone, register
from shared.offers import run_recommendations
from shared.offers.personal import issue_offers, member_audience
from shared.partners import AgreementFields, PartnerFields, add_agreement, assign_store, save_partner
from shared.promotions.definitions import create_promotion
from shared.stores import StoreFields, save_store

STORES = [
    ("msk-001", "Москва, Тверская 7", "Europe/Moscow", 55.7601, 37.6132),
    ("msk-002", "Москва, Арбат 24", "Europe/Moscow", 55.7496, 37.5911),
    ("spb-001", "Санкт-Петербург, Невский 45", "Europe/Moscow", 59.9322, 30.3486),
    ("nsk-001", "Новосибирск, Красный пр. 25", "Asia/Novosibirsk", 55.0302, 82.9204),
    ("vvo-001", "Владивосток, Светланская 29", "Asia/Vladivostok", 43.1155, 131.8855),
]  # the retailer's own; the partners' stores are in PARTNERS
CATALOGUE = [  # (sku, name, category, price in kopecks)
    ("4607001", "Кофе зерновой", "coffee", 45000),
    ("4607002", "Круассан", "bakery", 9000),
    ("4607003", "Вино красное", "wine", 89000),
    ("4607004", "Сыр пармезан", "cheese", 64000),
    ("4607005", "Доставка", "services", 30000),
    ("4607006", "Виски 0.7", "spirits", 259000),
    ("4607007", "Шоколад", "sweets", 15000),
    ("4607008", "Кофе молотый", "coffee", 38000),
    ("4607009", "Булочка с корицей", "bakery", 7000),
    ("4607010", "Вино белое", "wine", 79000),
    ("4607011", "Сыр бри", "cheese", 52000),
    ("4607012", "Виноград", "fruit", 29000),
    ("4607013", "Пиво светлое", "beer", 12000),
    ("4607014", "Чипсы", "snacks", 11000),
    ("4607015", "Орешки", "snacks", 16000),
    ("4607016", "Чай чёрный", "tea", 33000),
    ("4607017", "Печенье", "sweets", 14000),
    ("4607018", "Сигариллы", "tobacco", 45000),
    ("4607019", "Хамон", "deli", 99000),
    ("4607020", "Минеральная вода", "drinks", 8000),
]
SKU = {item[0]: item for item in CATALOGUE}
# What goes together in one basket: each receipt takes one or two of these themes (weights say how often),
# a few of each theme's SKUs, and now and then one impulse item from the whole catalogue.
THEMES: list[tuple[int, list[str]]] = [
    (30, ["4607001", "4607008", "4607002", "4607009", "4607007"]),  # coffee and pastry
    (25, ["4607003", "4607010", "4607004", "4607011", "4607012", "4607019"]),  # wine and cheese
    (15, ["4607013", "4607014", "4607015", "4607020"]),  # beer and snacks
    (12, ["4607016", "4607017", "4607007", "4607002"]),  # tea and sweets
    (8, ["4607006", "4607007", "4607018", "4607019"]),  # whisky, chocolate, cigarillos
    (5, ["4607005", "4607020"]),  # delivery
]
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Елена", "Олег", "Ольга", "Дмитрий", "Софья", "Артём"]
LAST = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов"]
DEMO_PHONE_BASE = 79160000000
DEMO_STAFF_EMAIL = "admin@demo.loyalty.local"
DEMO_TELEGRAM_BASE = 990_000_000  # made-up Telegram user ids for the members who "linked the bot"
VISITS = [0, 1, 1, 2, 2, 3, 4]  # receipts per random member: ~550 over the demo's 180 days
LAPSED_GOLD = 30  # Gold regulars who stopped coming 61-95 days ago: the campaign demo's audience
# Coalition partners (code, name, store, agreement's kopecks per point issued and per point spent there)
PARTNERS = [
    ("bank", "Банк Восток", ("bank-001", "Банк Восток, Москва, Мясницкая 13", 55.7627, 37.6353), 60, 90),
    ("pharmacy", "Аптеки Здоровье", ("apt-001", "Аптека Здоровье, Москва, Арбат 12", 55.7512, 37.5964), 50, 85),
]
PARTNER_SHOPPERS = 12  # demo members who also shop at the partners this month: earn at one, spend at another


# A further part of the demo's past, seeded by a package above the core (a campaign, say): it gets the
# core, the demo's random generator and its "now", and returns the purchases it made.
PastStep = Callable[[Core, random.Random, datetime], Awaitable[int]]


@dataclass
class DemoReport:
    members: int
    purchases: int
    seeded: bool


def demo_phone(i: int) -> str:
    return f"+{DEMO_PHONE_BASE + i}"


async def seed_demo(
    core: Core, members: int = 300, days: int = 180, seed: int = 7, past: Sequence[PastStep] = ()
) -> DemoReport:
    """Seed once; a second call finds the demo members and does nothing.

    Members join in the first weeks; their visits are spread up to the core's "now", so the
    console's default period (the last 30 days) has purchases, and the baskets follow THEMES. The
    `past` steps run after the purchases, before the due jobs and the outbox are settled."""
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
        visits = rng.choice(VISITS) if i else 6
        for visit, moment in enumerate(_visit_times(rng, clock.now(), now, visits)):
            body = {
                "store_id": store[0],
                "receipt_id": f"D{i:04d}-{visit:03d}",
                "purchased_at": moment.isoformat(),
                "member": {"member_id": str(member.id)},
                "lines": basket(rng),
                "redeem": "max" if rng.random() < 0.25 else 0,
            }
            await jobs.activate_due_lots(core, core.rules, moment)
            async with core.transaction() as session:
                await purchases.confirm(session, FixedClock(moment), core.rules, body)
            made += 1
    made += await _lapsed_gold(core, rng, members, now)
    made += await _partners(core, min(members, PARTNER_SHOPPERS), now)
    for step in past:
        made += await step(core, rng, now)
    await jobs.run_due(core, core.clock)
    await _personal_offer(core, now)
    async with core.transaction() as session:  # the demo's made-up past is not news to announce
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.processed_at.is_(None)).values(processed_at=core.clock.now())
        )
    return DemoReport(members + LAPSED_GOLD, made, seeded=True)


async def _personal_offer(core: Core, now: datetime) -> None:
    """Recommendations from the demo's baskets, and the demo member's personal offer under a
    personal promotion, so the cabinet and the bot show "For you" at once."""
    await run_recommendations(core, now)
    async with core.transaction() as session:
        body = {"name": "Для вас: ×2 баллов", "kind": "personal", "multiplier": 2, "offer_days": 14}
        promotion = await create_promotion(session, core.rules, body, now)
        demo = await find_by_phone(session, demo_phone(0))
        if demo is not None:
            await issue_offers(session, promotion.id, member_audience(demo.id), now)


async def _partners(core: Core, shoppers: int, now: datetime) -> int:
    """Two partners with a store and an agreement each; a few members earn at the pharmacy early this
    month and spend at the bank's store later, so this month's settlement shows both sides."""
    zone = core.rules.zone
    local = now.astimezone(zone)
    month_start = datetime(local.year, local.month, 1, tzinfo=zone)
    if now - month_start < timedelta(days=3):  # too early in the month: last month shows both sides
        month_start = datetime(local.year - (local.month == 1), (local.month - 2) % 12 + 1, 1, tzinfo=zone)
    async with core.transaction() as session:
        for code, name, (store_id, address, lat, lon), issue, redeem in PARTNERS:
            partner = await save_partner(session, core.clock, PartnerFields(code, name, True), actor="demo")
            fields = StoreFields(store_id, address, "Europe/Moscow", address, lat, lon)
            await save_store(session, core.clock, fields, actor="demo")
            await assign_store(session, core.clock, store_id, partner, actor="demo")
            agreement = AgreementFields(issue, redeem, (now - timedelta(days=365)).astimezone(zone).date(), None)
            await add_agreement(session, core.clock, partner, agreement, zone, actor="demo")
    span = now - timedelta(hours=1) - month_start
    made = 0
    for i in range(shoppers):
        member_ref = {"phone": demo_phone(i)}
        earned_at = month_start + span * (i + 1) / (3 * shoppers + 3)
        spent_at = month_start + span * (2 * shoppers + i + 2) / (3 * shoppers + 3)
        for store, receipt, moment, spend in (
            (PARTNERS[1][2][0], f"P{i:04d}-earn", earned_at, 0),
            (PARTNERS[0][2][0], f"P{i:04d}-spend", spent_at, "max"),
        ):
            await jobs.activate_due_lots(core, core.rules, moment)
            lines = [
                {"sku": sku, "name": name, "category": category, "quantity": 5, "price": price, "amount": price * 5}
                for sku, name, category, price in (SKU["4607016"], SKU["4607017"])  # tea and biscuits
            ]
            body = {
                "store_id": store,
                "receipt_id": receipt,
                "purchased_at": moment.isoformat(),
                "member": member_ref,
                "lines": lines,
                "redeem": spend,
            }
            async with core.transaction() as session:
                await purchases.confirm(session, FixedClock(moment), core.rules, body)
            made += 1
    return made


def _visit_times(rng: random.Random, joined: datetime, now: datetime, visits: int) -> list[datetime]:
    """`visits` moments between a day after joining and an hour before now, in order."""
    first, last = joined + timedelta(days=1), now - timedelta(hours=1)
    if last <= first:
        return []
    span = int((last - first).total_seconds())
    return sorted(first + timedelta(seconds=rng.randint(0, span)) for _ in range(visits))


def basket(rng: random.Random) -> list[dict[str, Any]]:
    """Receipt lines: a few SKUs of one or two themes, sometimes an impulse item; each SKU once."""
    weights = [weight for weight, _ in THEMES]
    skus: list[str] = []
    for _, theme in rng.choices(THEMES, weights=weights, k=rng.choice([1, 1, 1, 2])):
        skus += rng.sample(theme, rng.randint(min(2, len(theme)), min(4, len(theme))))
    if rng.random() < 0.2:
        skus.append(rng.choice(CATALOGUE)[0])
    lines = []
    for sku in dict.fromkeys(skus):
        _, name, category, price = SKU[sku]
        qty = rng.choice([1, 1, 1, 2, 3])
        lines.append(
            {"sku": sku, "name": name, "category": category, "quantity": qty, "price": price, "amount": price * qty}
        )
    return lines


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
