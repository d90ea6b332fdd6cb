"""The scheduler's marketing job: stale segment snapshots, due campaigns, trigger chains."""

from __future__ import annotations

from datetime import timedelta

from notifications.campaigns.chains import run_due_chains
from notifications.campaigns.expansion import run_due_campaigns
from shared.core import Core
from shared.segments import refresh_segment, stale_segment_ids


async def refresh_stale_segments(core: Core) -> int:
    """Each stale snapshot in its own transaction (promotions at the till keep reading the old one until then)."""
    now = core.clock.now()
    async with core.reading() as session:
        ids = await stale_segment_ids(session, now, timedelta(hours=core.settings.notify.segments_refresh_hours))
    for segment_id in ids:
        async with core.transaction() as session:
            await refresh_segment(session, core.rules, segment_id, now)
    return len(ids)


async def run_marketing(core: Core) -> dict[str, int]:
    segments = await refresh_stale_segments(core)
    campaigns = await run_due_campaigns(core)
    chain_rows = await run_due_chains(core)
    return {"segments_refreshed": segments, "campaigns": len(campaigns), "chain_steps": chain_rows}
