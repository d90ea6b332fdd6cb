"""Field types shared by the API's bodies. The bounds are the core's own constants, so the schema
shows the limits the core enforces (the core stays the one that checks them and words the messages)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta

from shared.inputs import MAX_BIGINT
from shared.receipts import MAX_ID, MAX_MONEY


def _format(name: str, **more: Any) -> dict[str, Any]:
    return {"extra": {"format": name, **more}}


Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID)]
Money = Annotated[int, Meta(ge=0, le=MAX_MONEY, description="minor units (kopecks)")]
Points = Annotated[int, Meta(ge=-MAX_BIGINT, le=MAX_BIGINT)]
Moment = Annotated[str, Meta(extra_json_schema=_format("date-time"), description="RFC 3339 with offset")]
Day = Annotated[str, Meta(extra_json_schema=_format("date"))]
Uuid = Annotated[str, Meta(extra_json_schema=_format("uuid"))]
Url = Annotated[str, Meta(extra_json_schema=_format("uri"))]
# Answers' formats are documented, not enforced on the way out (an erased member's phone is a placeholder).
E164 = Annotated[str, Meta(extra_json_schema={"extra": {"pattern": r"^\+[1-9][0-9]{6,14}$"}}, description="E.164")]
Ean13 = Annotated[str, Meta(extra_json_schema={"extra": {"pattern": "^[0-9]{13}$"}}, description="EAN-13")]
