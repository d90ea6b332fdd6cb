"""Storage: models, engine, migrations."""

from shared.db.engine import create_engine, create_sessionmaker
from shared.db.models import (
    ApiKey,
    Base,
    Consent,
    Entry,
    Lot,
    Member,
    OutboxEvent,
    Purchase,
    Refund,
    Store,
)

__all__ = [
    "ApiKey",
    "Base",
    "Consent",
    "Entry",
    "Lot",
    "Member",
    "OutboxEvent",
    "Purchase",
    "Refund",
    "Store",
    "create_engine",
    "create_sessionmaker",
]
