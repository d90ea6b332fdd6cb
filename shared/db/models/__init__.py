"""Every table, one module per area (`shared/db/models/<area>.py`), all on one `Base`.

Importing this package registers every table on `Base.metadata`, which is what the migrations
compare against. The core's tables are re-exported here; the others are imported from their area
module (`shared.db.models.messages`, `shared.db.models.campaigns`, ...)."""

from shared.db.models import (  # noqa: F401 - registers the tables of every area
    campaigns,
    console,
    digests,
    login_codes,
    messages,
    offers,
    partners,
    promotions,
    rate_limits,
    wallet,
    webhooks,
    workers,
)
from shared.db.models.base import NAMING, Base
from shared.db.models.core import (
    ApiKey,
    Consent,
    Entry,
    Lot,
    Member,
    OutboxEvent,
    Purchase,
    Refund,
    Segment,
    SegmentMember,
    Store,
)

__all__ = [
    "NAMING",
    "ApiKey",
    "Base",
    "Consent",
    "Entry",
    "Lot",
    "Member",
    "OutboxEvent",
    "Purchase",
    "Refund",
    "Segment",
    "SegmentMember",
    "Store",
]
