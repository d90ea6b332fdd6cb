"""How every web area reaches the runtime: Litestar dependency injection of the app's `core` and
`settings` (provided once, in create_app). A handler names them as parameters:

    async def read(self, core: CoreDep, member_id: str) -> ...

Guards, middleware and exception handlers, which Litestar does not inject, read `app.state` instead.
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency, Provide

from shared.config import Settings
from shared.core import Core

CoreDep: TypeAlias = NamedDependency[Core]
SettingsDep: TypeAlias = NamedDependency[Settings]


def runtime_dependencies(core: Core, settings: Settings) -> dict[str, Provide]:
    return {
        "core": Provide(lambda: core, sync_to_thread=False, use_cache=True),
        "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
    }
