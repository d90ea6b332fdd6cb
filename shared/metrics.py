"""Prometheus metrics every process records into (web, worker, jobs).

Counters live in the process; with several web processes set PROMETHEUS_MULTIPROC_DIR (an empty
directory, before the processes start) and each one writes its values there for /metrics to add up.
Values read from the database (outbox depth, certificate expiry) are computed when /metrics is
scraped, see webapp/metrics.py."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "loyalty_http_requests", "HTTP requests by route template and status", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "loyalty_http_request_duration_seconds",
    "HTTP request duration by route template",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONFIRMS = Counter("loyalty_purchases_confirmed", "Receipts confirmed (first time, not idempotent replays)")
REFUNDS = Counter("loyalty_refunds", "Refunds recorded (first time, not idempotent replays)")
POINTS_ACCRUED = Counter("loyalty_points_accrued", "Points accrued by confirmed receipts")
POINTS_SPENT = Counter("loyalty_points_spent", "Points spent (redeemed) by confirmed receipts")
MESSAGES = Counter(
    "loyalty_messages", "Messages handed to providers, by the provider's answer", ["channel", "provider", "result"]
)
DELIVERY_REPORTS = Counter(
    "loyalty_delivery_reports", "Providers' delivery reports (callbacks, SMPP receipts)", ["channel", "result"]
)
WALLET_UPDATES = Counter(
    "loyalty_wallet_updates", "Wallet pass update pushes (APNs) and object updates (Google)", ["service", "result"]
)
JOB_RUNS = Counter("loyalty_scheduler_job_runs", "Scheduled job runs", ["job"])
JOB_FAILURES = Counter("loyalty_scheduler_job_failures", "Scheduled job runs that failed", ["job"])
SCHEDULER_LEADER = Gauge(
    "loyalty_scheduler_leader", "1 while this worker holds the scheduler lease", multiprocess_mode="livemax"
)
DB_POOL_IN_USE = Gauge(
    "loyalty_db_pool_connections_in_use", "Database connections checked out of the pool", multiprocess_mode="livesum"
)
