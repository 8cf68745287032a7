"""Wiring: the only module that knows every component. `run` is `golive run`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from golive.alerting.notifier import Notifier
from golive.api.app import create_app
from golive.api.ingestion import Intake
from golive.api.limits import EventRateLimit
from golive.clock import Clock, SystemClock
from golive.config import Settings, load_catalog
from golive.health import Health
from golive.ingest.consumer import Backoff, Ingestor, Stopping
from golive.ingest.producer import EventProducer
from golive.leader.evaluator import Evaluator
from golive.leader.process import Config as LeaderConfig
from golive.leader.process import LeaderProcess
from golive.metrics.ingest import IngestMetrics
from golive.metrics.kpis import KpiCollector, LeaderMetrics
from golive.publishing.publisher import Publisher, Webhook
from golive.store.db import create_pool, translated
from golive.store.errors import StoreUnavailableError
from golive.store.leader import LeaderLock
from golive.store.migrations import migrate

log = logging.getLogger("golive")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: golive's stop event owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


def install_signal_handlers(stop: asyncio.Event) -> None:
    """First SIGTERM/SIGINT: stop gracefully. A second SIGINT: exit at once."""
    loop = asyncio.get_running_loop()

    def graceful(signum: int) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            log.warning("second interrupt: exiting now")
            os._exit(130)
        log.info("received %s: draining and stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, graceful, signum)


@contextlib.asynccontextmanager
async def http_server(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        lifespan="off",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name="http")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # raises the bind error, e.g. address in use
        raise RuntimeError(f"HTTP server on {settings.http_listen} stopped at start")
    log.info("serving http://%s", settings.http_listen)
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 5)


SHUTDOWN_GRACE = 10.0
# After a cancel: time for a task's own cleanup, e.g. ingest closing its two Kafka clients
# (each bounded to 3 s); cut short, their sockets would leak.
CANCEL_GRACE = 7.0


async def supervise(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Run the service's tasks until `stop` or until one ends (a failure stops the rest:
    the same shutdown path). Draining is bounded: what has not finished
    `SHUTDOWN_GRACE` seconds after the stop is cancelled, so SIGTERM always exits."""
    stopping = asyncio.create_task(stop.wait(), name="stop")
    await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    for task in pending:
        log.warning("%s did not stop within %.0f s: cancelled", task.get_name(), SHUTDOWN_GRACE)
        task.cancel()
    await asyncio.wait([*pending, stopping], timeout=CANCEL_GRACE)
    stopping.cancel()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def close_pool(pool: asyncpg.Pool, timeout: float = 5.0) -> None:
    """Close gracefully, but never wait on a connection someone still holds."""
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except TimeoutError:
        log.warning("Postgres pool did not close in %.0f s: terminating it", timeout)
        pool.terminate()


async def connect_database(dsn: str, health: Health, stop: asyncio.Event) -> asyncpg.Pool:
    """Connect and migrate, retrying with backoff while Postgres is unavailable."""
    backoff = Backoff(stop, cap=10.0)
    while True:
        pool: asyncpg.Pool | None = None
        try:
            pool = await create_pool(dsn)
            async with translated(), pool.acquire() as conn:
                await migrate(conn)
            health.report("database", True)
            return pool
        except (StoreUnavailableError, OSError) as err:
            if pool is not None:  # a connection died mid-migration: start afresh
                pool.terminate()
            health.report("database", False, str(err))
            log.warning("Postgres unavailable, retrying: %s", err)
            await backoff.wait()


def webhook_of(settings: Settings, client: httpx.AsyncClient) -> Webhook | None:
    if settings.report_webhook_url is None:
        return None
    token = settings.report_webhook_token
    return Webhook(
        settings.report_webhook_url.get_secret_value(),
        None if token is None else token.get_secret_value(),
        client,
    )


def intake_of(
    settings: Settings, producer: EventProducer, metrics: IngestMetrics, clock: Clock
) -> Intake:
    token = settings.api_token
    return Intake(
        latest_time=lambda: clock.now() + settings.max_clock_skew,
        observe=metrics.observe_api,
        send=producer.send,
        token=None if token is None else token.get_secret_value(),
        max_event_bytes=settings.max_event_bytes,
        max_body_bytes=settings.api_max_body_bytes,
        rate=EventRateLimit(settings.api_event_rate),
    )


def read_tokens_of(settings: Settings) -> tuple[str, ...]:
    """The tokens the read API takes: none (open) unless GOLIVE_API_READ_TOKEN is set;
    then it, and the write token (whoever may write may read)."""
    if settings.api_read_token is None:
        return ()
    tokens = [settings.api_read_token, settings.api_token]
    return tuple(t.get_secret_value() for t in tokens if t is not None)


async def run(
    settings: Settings,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
) -> int:
    """The service: HTTP first (so probes answer), then Postgres, then the consumer.

    Returns when `stop` is set (by SIGTERM/SIGINT unless `handle_signals` is False).
    """
    clock = clock or SystemClock()
    settings.require_kafka()
    dsn = settings.require_database()
    catalog = load_catalog(settings)
    stop = stop or asyncio.Event()
    if handle_signals:
        install_signal_handlers(stop)
    log.info("settings: %s", settings.describe())

    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    leader_metrics = LeaderMetrics(registry)
    collector = KpiCollector()
    health = Health()
    pool: asyncpg.Pool | None = None
    producer = EventProducer(settings)
    app = create_app(
        health=health,
        registry=registry,
        state_metrics=lambda: collector.rendered,
        pool=lambda: pool,
        catalog=catalog,
        clock=clock,
        report_timezone=settings.report_timezone,
        intake=intake_of(settings, producer, metrics, clock),
        read_tokens=read_tokens_of(settings),
    )

    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(producer.close)
        await stack.enter_async_context(http_server(app, settings))
        try:
            pool = await connect_database(dsn, health, stop)
        except Stopping:
            return 0
        stack.push_async_callback(close_pool, pool)
        ingestor = Ingestor(settings, pool, catalog, metrics, health, clock)
        client = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
        notifier = Notifier(
            pool, client, settings.alertmanager_url, settings.base_url, leader_metrics
        )
        # The leader's heavy work runs in a child process, off ingest's event loop.
        leader = LeaderProcess(
            LeaderConfig(dsn, catalog, settings.log_level, tuple(settings.secret_values()))
        )
        evaluator = Evaluator(
            LeaderLock(dsn),
            leader,
            collector,
            leader_metrics,
            clock,
            settings.evaluation_interval.total_seconds(),
            notifier,
            derive_interval=settings.derive_interval.total_seconds(),
        )
        publisher = Publisher(
            pool,
            catalog,
            clock,
            leader_metrics,
            leading=lambda: evaluator.leading,
            kinds=settings.report_periods,
            timezone=settings.report_timezone,
            delay=settings.report_publish_delay,
            webhook=webhook_of(settings, client),
            interval=settings.evaluation_interval.total_seconds(),
            store=leader.publish,
        )
        metrics.ready.set(1)
        await supervise(
            [
                asyncio.create_task(ingestor.run(stop), name="ingest"),
                asyncio.create_task(evaluator.run(stop), name="evaluation"),
                asyncio.create_task(publisher.run(stop), name="publication"),
            ],
            stop,
        )
        metrics.ready.set(0)
    log.info("stopped")
    return 0


async def run_demo(settings: Settings, *, live_seconds: float = 90.0) -> int:
    """`golive demo`: embedded broker and Postgres unless configured, the service, and a
    simulated production rollout played through Kafka. Ctrl-C stops all of it."""
    from golive.demo.scenario import demo_catalog_path, release_id, scenario
    from golive.embedded.broker import EmbeddedBroker
    from golive.embedded.postgres import EmbeddedPostgres
    from golive.ingest.producer import ensure_topics, play

    clock = SystemClock()
    stop = asyncio.Event()
    install_signal_handlers(stop)
    with contextlib.ExitStack() as embedded:
        overrides: dict[str, object] = {}
        if not settings.kafka_bootstrap_servers:
            broker = embedded.enter_context(EmbeddedBroker())
            overrides["kafka_bootstrap_servers"] = [broker.bootstrap_servers]
            print(f"embedded Kafka-compatible broker (Tansu) on {broker.bootstrap_servers}")
        if settings.database_url is None:
            postgres = embedded.enter_context(EmbeddedPostgres())
            overrides["database_url"] = postgres.dsn
            print(f"embedded PostgreSQL on {postgres.dsn}")
        if settings.catalog_file is None:
            overrides["catalog_file"] = demo_catalog_path()
        demo = settings.model_copy(update=overrides)
        demo = Settings(**{**demo.model_dump(), **overrides})
        await ensure_topics(demo, [*demo.kafka_topics, demo.kafka_dlq_topic])
        service = asyncio.create_task(run(demo, clock, stop, handle_signals=False))
        records = scenario(clock.now(), live_seconds=live_seconds)
        base = f"http://{demo.http_listen}"
        print(
            f"""
golive demo is running. Open:
  {base}/api/v1/releases/{release_id(clock.now())}   the release: progress, objectives, tasks
  {base}/api/v1/rollouts      rollouts with downtime and degraded time
  {base}/api/v1/deployments   deployments, failures, rework
  {base}/api/v1/teams         team activity and idle flags
  {base}/api/v1/alerts        golive's alerts (firing and recently resolved)
  {base}/metrics              Prometheus metrics
  {base}/docs                 the API (OpenAPI at {base}/openapi.json)
Playing {len(records)} events ({live_seconds:.0f} s of live rollouts). Ctrl-C stops everything.
""",
            flush=True,
        )

        started = clock.now()
        history = sum(1 for r in records if r.at <= started)
        print(
            f"  {started:%H:%M:%S}  {history} events of the last three weeks (history)", flush=True
        )

        def show(record: object) -> None:
            label = getattr(record, "label", "")
            if label and getattr(record, "at", started) > started:
                print(f"  {clock.now():%H:%M:%S}  {label}", flush=True)

        player = asyncio.create_task(play(demo, records, clock, stop, show))
        done, _ = await asyncio.wait({service, player}, return_when=asyncio.FIRST_COMPLETED)
        if player in done and player.exception() is None and not stop.is_set():
            print("\nscenario played; golive keeps running. Ctrl-C to stop.", flush=True)
            await asyncio.wait({service}, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        code = await service
        await player
    print("demo stopped; embedded broker and Postgres shut down.")
    return code
