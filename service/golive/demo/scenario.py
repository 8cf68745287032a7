"""The demo's story: an online shop takes its quarterly release to production.

**History** (produced at once when the demo starts; event times over the last three
weeks, on each team's business days):

1. The release manager plans release `<year>-Q<quarter>` for prod: six services, four
   teams (payments, storefront in New York, platform, data), a go-live date two
   business days from now and three objectives (change failure ratio <= 0.15, no
   rollout downtime above 5 s, every task done).
2. The teams schedule 30 tasks (on the release board, and as Jira tickets).
3. Every service ships: change created and merged, CI, artifact packaged, deployed to
   staging, then to prod. (search's Jenkins and Spinnaker still speak CDEvents 0.4.1.)
4. payments-api 2.3.0 fails in prod: incident detected, rolled back to 2.2.1, incident
   resolved; payments opens a corrective ticket and ships the 2.3.1 hotfix.
5. The teams work through their tasks at a steady pace: the forecast has a throughput
   history. platform's TLS rotation is overdue.
6. The go-live slips by two business days.
7. The data team goes quiet: its last event is five business days old; it still has
   open tasks, one of them overdue. golive calls it idle.

**Live** (produced as it happens, over `live_seconds`; see `golive.demo.live`): three
production rollouts, one with downtime above the budget, one clean, one failed, while
tasks get done and platform opens a corrective task.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from golive.demo.history import History, Ship, Task
from golive.demo.live import Live
from golive.demo.records import Recorder, ScenarioRecord
from golive.domain.catalog import Catalog, parse_catalog

__all__ = ["ScenarioRecord", "demo_catalog", "demo_catalog_path", "release_id", "scenario"]

# Days are business days, counted back from (or on from) the day the demo starts.
PLANNED = 15  # the release was planned three weeks ago
FIRST_TARGET = 2  # ... to go live two business days from now
RESCHEDULED, TARGET = 5, 4  # a week ago it slipped to four business days from now
INCIDENT = 6  # payments-api 2.3.0 failed in prod
DATA_LAST_ACTIVE = 5  # the data team has not been heard of since

SERVICES = (
    "checkout",
    "payments-api",
    "storefront-web",
    "search",
    "api-gateway",
    "analytics-ingest",
)
TEAMS = ("payments", "storefront", "platform", "data")
OBJECTIVES = (
    {"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.15},
    {"id": "downtime", "kpi": "rollout_downtime_max", "op": "<=", "target": 5},
    {"id": "done", "kpi": "tasks_done_ratio", "op": ">=", "target": 1},
)

# id, team, title, owner, due (business days from today; < 0: past), then how it went.
TASKS = (
    # payments: checkout and the payments API
    Task("PAY-101", "payments", "Checkout: 3-D Secure 2 challenge flow", "alice", -5, done=9),
    Task("PAY-102", "payments", "payments-api: idempotency keys on /charges", "bob", -8, done=12),
    Task("PAY-103", "payments", "payments-api: card-token schema v2", "bob", -4, done=8),
    Task("PAY-104", "payments", "Checkout: Apple Pay behind a feature flag", "carol", -1, done=4),
    Task("PAY-105", "payments", "Checkout 1.4.2 in production", "alice", 2, started=1),  # live
    Task("PAY-106", "payments", "Runbook: payment provider failover", "carol", 3),
    Task(
        "PAY-107",
        "payments",
        "Post-incident: contract test for the card-token schema",
        "bob",
        2,
        started=2,
        via="jira",
        kind="corrective",
        scheduled=INCIDENT,
    ),
    Task("PAY-108", "payments", "payments-api 2.3.1 hotfix", "bob", -2, done=3, scheduled=INCIDENT),
    # storefront, from New York
    Task("SHOP-201", "storefront", "Storefront: new cart drawer", "dana", -9, done=11),
    Task("SHOP-202", "storefront", "Search: typo tolerance", "eli", -7, done=9),
    Task("SHOP-203", "storefront", "Storefront: prices in CAD", "dana", -5, done=7),
    Task("SHOP-204", "storefront", "Search 0.12 in production", "eli", -4, done=5, via="jira"),
    Task("SHOP-205", "storefront", "Product page performance budget", "fay", -2, done=3),
    Task(
        "SHOP-206",
        "storefront",
        "Storefront: accessibility audit fixes",
        "fay",
        1,
        started=2,
        via="jira",
    ),
    Task("SHOP-207", "storefront", "Storefront: holiday banner content", "dana", 3),
    Task("SHOP-208", "storefront", "Checkout entry-point copy", "dana", -1, done=1, via="jira"),
    # platform
    Task("PLAT-301", "platform", "api-gateway: rate limits per merchant", "gus", -10, done=13),
    Task("PLAT-302", "platform", "Prod capacity for the seasonal peak", "hana", -9, done=12),
    Task("PLAT-303", "platform", "ECS: deployment circuit breaker everywhere", "gus", -7, done=10),
    Task("PLAT-304", "platform", "api-gateway 5.3: HTTP/2 to upstreams", "gus", -3, done=6),
    Task(
        "PLAT-305", "platform", "Rotate the TLS certificates of api-gateway", "hana", -1, started=3
    ),
    Task("PLAT-306", "platform", "SLO dashboards for checkout", "ivo", -1, done=2),
    Task("PLAT-307", "platform", "Status page: go-live maintenance window", "ivo", 3),
    Task("PLAT-308", "platform", "Kafka: golive topics and ACLs", "hana", -3, done=4),
    # data: nothing after DATA-406
    Task("DATA-401", "data", "analytics-ingest: order events v2 schema", "jon", -9, done=11),
    Task("DATA-402", "data", "Revenue dashboard for the go-live", "kim", -6, done=9),
    Task("DATA-403", "data", "Backfill order events into the warehouse", "jon", -2, started=7),
    Task("DATA-404", "data", "Fraud features export for payments", "kim", 2),
    Task("DATA-405", "data", "GDPR: purge job for guest checkouts", "lea", 3, via="jira"),
    Task("DATA-406", "data", "analytics-ingest 0.9 in prod", "jon", -4, done=DATA_LAST_ACTIVE),
)

# service, version, pull request, title; created, in staging, in prod (business days ago).
SHIPS = (
    Ship("payments-api", "2.2.1", 118, "Retry authorisations on provider timeouts", 13, 12, 11),
    Ship("api-gateway", "5.2.0", 77, "Rate limits per merchant", 13, 11, 10),
    Ship("storefront-web", "3.8.0", 240, "New cart drawer", 12, 10, 9),
    Ship("checkout", "1.4.1", 412, "3-D Secure 2 challenge flow", 10, 8, 7),
    Ship("analytics-ingest", "0.9.0", 31, "Order events v2 schema", 10, 8, 6),
    Ship("search", "0.12.0", 95, "Typo tolerance", 9, 8, 5),
    Ship("payments-api", "2.3.0", 131, "Card-token schema v2", 9, 7, INCIDENT),  # fails
    Ship("payments-api", "2.3.1", 135, "Fix card-token parsing of legacy cards", INCIDENT, 4, 3),
    Ship("api-gateway", "5.3.0", 84, "HTTP/2 to upstreams", 7, 2, None),  # fails live
    Ship("storefront-web", "3.9.0", 257, "Product page performance budget", 5, 2, None),
    Ship("checkout", "1.4.2", 425, "Apple Pay behind a feature flag", 4, 1, None),  # downtime
)
LEGACY_CD = frozenset({"search"})  # its CI/CD tools speak CDEvents 0.4.1


def demo_catalog_path() -> Path:
    """The demo's catalog file (teams, calendars, service owners): GOLIVE_CATALOG_FILE."""
    return Path(__file__).with_name("catalog.toml")


def demo_catalog() -> Catalog:
    with demo_catalog_path().open("rb") as file:
        return parse_catalog(tomllib.load(file))


def release_id(now: datetime) -> str:
    """`2026-Q4`: the quarter the demo runs in."""
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def scenario(now: datetime, *, live_seconds: float = 90.0) -> list[ScenarioRecord]:
    """The demo's records, sorted by `at`: the history (all due at `now`), then the live
    part (over `live_seconds` from `now`, at least 60 s). Deterministic: the same `now`
    gives the same records."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    now = now.astimezone(UTC)
    recorder = Recorder(now)
    live = Live(recorder, now, live_seconds)  # checks live_seconds before any work
    release = release_id(now)
    history = History(recorder, now, demo_catalog(), release, planned=PLANNED)
    calendar = history.days()  # the release's dates follow the default calendar

    quarter = release.split("-")[1]
    plan = {
        "name": f"{quarter} {now.year}: one-click checkout",
        "services": list(SERVICES),
        "teams": list(TEAMS),
        "objectives": list(OBJECTIVES),
    }
    history.plan_release(plan, target=calendar.ahead(FIRST_TARGET, "18:00"))
    history.schedule_tasks(TASKS)
    for ship in SHIPS:
        history.ship(ship, legacy=ship.service in LEGACY_CD)
    history.incident(
        "INC-2291",
        "payments-api",
        days_ago=INCIDENT,
        times=("14:12", "14:31", "15:05"),
        bad="2.3.0",
        restored="2.2.1",
        description="payments-api: 5xx above 2 % on /charges since 2.3.0",
    )
    history.work_on_tasks(TASKS)
    history.reschedule(RESCHEDULED, calendar.ahead(TARGET, "18:00"))

    live.play(release, corrective_due=calendar.ahead(1, "18:00"))
    return recorder.records()
