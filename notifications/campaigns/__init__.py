"""Marketing on top of delivery: campaigns (a segment, a channel cascade, A/B variants, a control
group) expanded into queued messages, their results and attribution, and trigger chains.

The names below are what the console and the notifier worker use; the modules behind them:
models (tables, statuses), service (define, preview, estimate, test-send, schedule, cancel), texts
(marketers' texts: checks, language, rendering), audience (routing facts for a batch of members),
expansion (a campaign into message rows; expand_slice picks the path), sql (the same on PostgreSQL
as one statement per batch), deferred (campaign texts rendered when a worker claims them),
results, chains, grants (a chain's bonus step), digest (the monthly digest trigger), jobs (the
scheduler's marketing job) and demo (the demo's finished campaign)."""

from __future__ import annotations

from notifications.campaigns.chains import create_chain, list_chains, set_chain_active
from notifications.campaigns.deferred import is_deferred, render_claimed
from notifications.campaigns.demo import seed_demo_campaign
from notifications.campaigns.digest import DigestReport, digest_results, run_digest
from notifications.campaigns.expansion import expand_campaign, run_due_campaigns
from notifications.campaigns.jobs import run_marketing
from notifications.campaigns.results import attribution, progress, results
from notifications.campaigns.service import (
    CampaignView,
    cancel_campaign,
    create_campaign,
    estimate,
    get_campaign,
    list_campaigns,
    preview,
    schedule_campaign,
    send_test,
)
from shared.db.models.campaigns import CANCELLED, DONE, DRAFT, SCHEDULED, SENDING
from shared.vocabulary import CHANNELS_CHEAPEST_FIRST as CAMPAIGN_CHANNELS

__all__ = [
    "CAMPAIGN_CHANNELS",
    "CANCELLED",
    "DONE",
    "DRAFT",
    "SCHEDULED",
    "SENDING",
    "CampaignView",
    "DigestReport",
    "attribution",
    "cancel_campaign",
    "create_campaign",
    "create_chain",
    "digest_results",
    "estimate",
    "expand_campaign",
    "get_campaign",
    "is_deferred",
    "list_campaigns",
    "list_chains",
    "preview",
    "progress",
    "render_claimed",
    "results",
    "run_digest",
    "run_due_campaigns",
    "run_marketing",
    "schedule_campaign",
    "seed_demo_campaign",
    "send_test",
    "set_chain_active",
]
