"""The engine never puts SQL parameters (phone numbers, names, codes) into its errors or logs."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.core import Core


async def test_a_failing_statement_does_not_show_its_parameters(core: Core) -> None:
    phone = "+79123450000"
    with pytest.raises(DBAPIError) as caught:
        async with core.transaction() as session:
            await session.execute(text("INSERT INTO members (phone) VALUES (:phone)"), {"phone": phone})
    assert phone not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
