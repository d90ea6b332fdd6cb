from __future__ import annotations

import pytest

from shared.core import Core
from tests.integration.partners.coalition import Coalition, make_coalition


@pytest.fixture
async def coalition(core: Core) -> Coalition:
    return await make_coalition(core)
