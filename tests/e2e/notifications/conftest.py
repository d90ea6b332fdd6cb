"""A private Postfix (tests/peers/postfix.py) for the mail tests, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.postfix import Postfix, running_postfix


@pytest.fixture(scope="session")
def postfix() -> Iterator[Postfix]:
    with running_postfix(users=("anna", "boris", "анна")) as server:
        yield server
