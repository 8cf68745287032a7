"""The HTTP application: health, metrics and the read API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from golive.api import views
from golive.api.ingestion import Intake, Problem, ingestion_router
from golive.api.limits import EventRateLimit
from golive.api.reader import read_access
from golive.clock import Clock
from golive.domain.catalog import Catalog
from golive.domain.periods import PeriodKind, report_period, require_timezone
from golive.domain.state import State, known_releases
from golive.health import Health
from golive.reports import html, markdown
from golive.reports.document import to_document
from golive.store import published
from golive.store.alerts import load_alerts
from golive.store.db import Connection, translated
from golive.store.errors import StoreRejectedError, StoreUnavailableError
from golive.store.queries import load_state
from golive.store.reports import UnknownRelease, load_report

PoolGetter = Callable[[], asyncpg.Pool | None]
T = TypeVar("T")


def create_app(
    *,
    health: Health,
    registry: CollectorRegistry,
    state_metrics: Callable[[], bytes],
    pool: PoolGetter,
    catalog: Catalog,
    clock: Clock,
    report_timezone: str = "UTC",
    intake: Intake | None = None,
    read_tokens: tuple[str, ...] = (),
) -> FastAPI:
    """`read_tokens`: the Bearer tokens the read API takes (GOLIVE_API_READ_TOKEN and
    GOLIVE_API_TOKEN); empty: reads are open. Probes, /metrics and the docs stay open."""
    app = FastAPI(
        title="golive",
        version="0.1.0",
        description="Follows production rollouts in real time: releases, tasks, teams, "
        "rollouts, deployments and DORA KPIs from CDEvents.",
    )

    app.include_router(ingestion_router(intake or DISABLED_INTAKE))

    # Every route of `reads` answers from Postgres, hence its documented 503.
    reads = APIRouter(
        responses=DATABASE_RESPONSES | (UNAUTHORISED if read_tokens else {}),
        dependencies=[Depends(read_access(read_tokens))] if read_tokens else [],
    )

    async def read(query: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a read on a pooled connection; 503 while Postgres is not there."""
        current = pool()
        if current is None:
            raise HTTPException(503, "the database is not connected yet")
        try:
            async with translated(), current.acquire() as conn:
                return await query(conn)
        except StoreUnavailableError as err:
            raise HTTPException(503, f"the database is unavailable: {err}") from None
        except StoreRejectedError as err:
            # A value Postgres cannot hold (a NUL character in text): the request's fault.
            raise HTTPException(422, f"a value of the request was refused: {err}") from None

    async def state_of(fields: tuple[str, ...]) -> State:
        return await read(lambda conn: load_state(conn, fields))

    @app.get("/healthz", tags=["health"], summary="Liveness: the process is serving")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: connected to Postgres and Kafka, consuming",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready: see `problems`"}},
    )
    async def readyz() -> JSONResponse:
        body = {
            "ready": health.ready,
            "database": health.database,
            "broker": health.broker,
            "consuming": health.consuming,
            "problems": health.problems,
        }
        return JSONResponse(body, status_code=200 if health.ready else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        # This instance's own metrics, then the leader's pre-rendered state metrics.
        return Response(generate_latest(registry) + state_metrics(), media_type=CONTENT_TYPE_LATEST)

    releases_fields = (
        "releases",
        "tasks",
        "rollouts",
        "incidents",
        "timelines",
        "changes",
        "artifacts",
    )

    @reads.get(
        "/api/v1/releases",
        tags=["read"],
        summary="Releases with progress and schedule",
    )
    async def list_releases() -> list[views.ReleaseSummary]:
        return views.releases(await state_of(releases_fields), clock.now())

    @reads.get(
        "/api/v1/releases/{release_id}",
        tags=["read"],
        summary="One release with tasks and objectives",
        responses={404: {"model": Problem, "description": "no such release"}},
    )
    async def get_release(release_id: str) -> views.ReleaseDetail:
        state = await state_of(releases_fields)
        release = known_releases(state).get(release_id)
        if release is None:
            raise HTTPException(404, f"no release {release_id!r}")
        return views.release_detail(state, release, clock.now())

    @reads.get(
        "/api/v1/alerts",
        tags=["read"],
        summary="golive's alerts: firing, and resolved in the last 24 h",
    )
    async def list_alerts() -> list[views.AlertView]:
        since = clock.now() - timedelta(hours=24)
        states = await read(lambda conn: load_alerts(conn, resolved_since=since))
        return [views.alert(s) for s in states.values()]

    @reads.get(
        "/api/v1/teams",
        tags=["read"],
        summary="Teams: activity, open work, idle flag",
    )
    async def list_teams() -> list[views.TeamView]:
        state = await state_of(("teams", "tasks", "releases"))
        return views.teams(state, catalog, clock.now())

    @reads.get(
        "/api/v1/rollouts",
        tags=["read"],
        summary="Rollouts with duration, downtime and degraded time",
    )
    async def list_rollouts() -> list[views.RolloutView]:
        return views.rollouts(await state_of(("rollouts",)), clock.now())

    @reads.get(
        "/api/v1/deployments",
        tags=["read"],
        summary="Deployments with outcome and rework flag",
    )
    async def list_deployments() -> list[views.DeploymentView]:
        return views.deployments(await state_of(("timelines", "incidents", "rollouts")))

    @reads.get(
        "/api/v1/reports",
        tags=["reports"],
        summary="Published reports: one per closed period, newest first",
        description=(
            "The leader stores each period's report when it closes (GOLIVE_REPORT_PERIODS); "
            "`webhook` tells whether GOLIVE_REPORT_WEBHOOK_URL has taken it."
        ),
    )
    async def list_reports(
        period: PeriodKind | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[views.PublishedReportView]:
        rows = await read(lambda conn: published.list_published(conn, period, limit))
        return [views.published_report(r) for r in rows]

    @reads.get(
        "/api/v1/reports/{period}",
        tags=["reports"],
        summary="The report of a day, ISO week or month, computed now (as `golive report`)",
        description=(
            "By default the last complete period in the report time zone; with `at`, the "
            "period containing that date. Format: `format=json|md|html`, else the `Accept` "
            "header (`application/json`, the default, `text/markdown` or `text/html`)."
        ),
        response_class=Response,
        responses=REPORT_RESPONSES | {404: {"model": Problem, "description": "unknown release"}},
    )
    async def get_report(
        period: PeriodKind,
        at: Annotated[
            str | None,
            Query(
                pattern=ISO_DATE,
                description="a day of the period, YYYY-MM-DD",
                json_schema_extra={"format": "date"},
            ),
        ] = None,
        release: str | None = None,
        timezone: str | None = None,
        format: ReportFormat | None = None,
        accept: Annotated[str, Header()] = "application/json",
    ) -> Response:
        now = clock.now()
        try:
            day = None if at is None else date.fromisoformat(at)
            chosen = report_period(period, day, now, timezone or report_timezone)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        try:
            report = await read(lambda conn: load_report(conn, catalog, chosen, now, release))
        except UnknownRelease as err:
            raise HTTPException(404, str(err)) from None
        fmt = format or format_of(accept)
        renderers = {"json": to_document, "md": markdown.render, "html": html.render}
        return report_response(fmt, renderers[fmt](report))

    @reads.get(
        "/api/v1/reports/{period}/{label}",
        tags=["reports"],
        summary="A published report, as it was stored when its period closed",
        description=(
            "`label`: `2026-11-23` (daily), `2026-W48` (weekly), `2026-11` (monthly); "
            "`timezone`: the zone it was cut in (default: GOLIVE_REPORT_TIMEZONE). Format as "
            "for `/api/v1/reports/{period}`."
        ),
        response_class=Response,
        responses=REPORT_RESPONSES
        | {404: {"model": Problem, "description": "no such published report"}},
    )
    async def get_published_report(
        period: PeriodKind,
        label: Annotated[str, Path(pattern=PERIOD_LABEL)],
        timezone: str | None = None,
        format: ReportFormat | None = None,
        accept: Annotated[str, Header()] = "application/json",
    ) -> Response:
        fmt = format or format_of(accept)
        zone = timezone or report_timezone
        try:
            require_timezone(zone)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        body = await read(lambda conn: published.fetch_published(conn, period, label, zone, fmt))
        if body is None:
            raise HTTPException(404, f"no {period} report {label!r} ({zone}) was published")
        return report_response(fmt, body)

    app.include_router(reads)
    return app


async def _nowhere(_records: object) -> list[Any]:
    raise AssertionError("the disabled intake produces nothing")


# Without a token the endpoint answers 403 before it would send anything.
DISABLED_INTAKE = Intake(
    send=_nowhere, token=None, max_event_bytes=1, max_body_bytes=1, rate=EventRateLimit(0)
)


class Readiness(BaseModel):
    ready: bool
    database: bool
    broker: bool
    consuming: bool
    problems: dict[str, str]


DATABASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "Postgres is not reachable: retry later"}
}

UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no or wrong Bearer token (GOLIVE_API_READ_TOKEN)"}
}

# 2026-11-23 (daily), 2026-W48 (weekly), 2026-11 (monthly).
PERIOD_LABEL = r"^\d{4}-(W\d{2}|\d{2}(-\d{2})?)$"
# Only YYYY-MM-DD: pydantic would also take "0" (1970-01-01) for a `date` parameter.
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"

ReportFormat = Literal["json", "md", "html"]
MEDIA_TYPES = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
FORMAT_OF_MEDIA: dict[str, ReportFormat] = {
    "application/json": "json",
    "text/markdown": "md",
    "text/html": "html",
}
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        }
    },
    422: {"description": "invalid period, date, time zone or format"},
}


def report_response(fmt: ReportFormat, body: Any) -> Response:
    """A report in `fmt`: the JSON document, or Markdown or HTML text."""
    if fmt == "json":
        return JSONResponse(body)
    return Response(body, media_type=MEDIA_TYPES[fmt])


def format_of(accept: str) -> ReportFormat:
    """The format the `Accept` header prefers among ours (JSON when it names none)."""
    best: tuple[float, ReportFormat] = (0.0, "json")
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        fmt = FORMAT_OF_MEDIA.get(media)
        if fmt is None:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > best[0]:
            best = (quality, fmt)
    return best[1]
