"""The live part of the demo: three production rollouts, played as they happen.

Times are *beats*: seconds when the live part lasts `BEATS` seconds; a longer or shorter
live part stretches them. Every rollout replaces 4 instances (`desiredInstances` 4,
`minHealthyPercent` 50, so 2 must stay ready):

- checkout 1.4.1 -> 1.4.2: the old tasks are drained before the new ones pass their
  health check: no instance is ready for 9 beats, above the 5 s downtime budget.
- storefront-web 3.8.0 -> 3.9.0: a clean rolling update, never below 3 ready.
- api-gateway 5.2.0 -> 5.3.0: the new tasks crash-loop; the circuit breaker puts the old
  ones back and the rollout finishes `failed`. Platform opens a corrective task.

Meanwhile payments and storefront close tasks of the release.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from golive.contract.content import RolloutOutcome
from golive.demo.records import Format, Recorder, rfc3339

BEATS = 90.0  # the live part's length the beats are written for
MIN_LIVE_SECONDS = 60.0  # keeps the checkout downtime (9 beats) above the 5 s budget
DESIRED = 4
MIN_HEALTHY_PERCENT = 50
MIN_HEALTHY = 2  # ceil(DESIRED * MIN_HEALTHY_PERCENT / 100)


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    service: str
    from_version: str
    to_version: str
    start: float  # beat
    samples: tuple[tuple[float, int, int], ...]  # (beat, readyOld, readyNew)
    finish: float
    outcome: RolloutOutcome
    note: str  # what the console says when it finishes


CHECKOUT = RolloutPlan(
    "checkout",
    "1.4.1",
    "1.4.2",
    start=2,
    samples=((6, 3, 0), (10, 1, 0), (14, 0, 0), (23, 0, 1), (27, 0, 2), (31, 0, 3), (35, 0, 4)),
    finish=37,
    outcome="succeeded",
    note="succeeded, but with downtime above the 5 s budget",
)
STOREFRONT = RolloutPlan(
    "storefront-web",
    "3.8.0",
    "3.9.0",
    start=5,
    samples=((9, 3, 1), (15, 2, 2), (21, 1, 3), (27, 0, 4)),
    finish=30,
    outcome="succeeded",
    note="succeeded cleanly: never below the minimum healthy count",
)
GATEWAY = RolloutPlan(
    "api-gateway",
    "5.2.0",
    "5.3.0",
    start=40,
    samples=((46, 3, 0), (52, 3, 1), (58, 3, 0), (64, 3, 1), (70, 4, 0)),
    finish=74,
    outcome="failed",
    note="FAILED: 5.3.0 tasks crash-loop, the circuit breaker restored 5.2.0",
)
ROLLOUTS = (CHECKOUT, STOREFRONT, GATEWAY)


def rollout_id(plan: RolloutPlan, now: datetime) -> str:
    """Like an ECS deployment id: unique per demo run, the same for the same `now`."""
    digest = hashlib.sha256(f"{plan.service}@{plan.to_version}@{rfc3339(now)}".encode())
    return f"ecs-svc/{plan.service}/{digest.hexdigest()[:12]}"


class Live:
    """Emits the live events; `at(beat)` is the wall-clock time of a beat."""

    def __init__(self, recorder: Recorder, now: datetime, live_seconds: float) -> None:
        if live_seconds < MIN_LIVE_SECONDS:
            raise ValueError(
                f"live_seconds must be >= {MIN_LIVE_SECONDS:g} so that the checkout "
                f"downtime stays above the 5 s budget, got {live_seconds:g}"
            )
        self.rec = recorder
        self.now = now
        self.scale = live_seconds / BEATS

    def at(self, beat: float) -> datetime:
        return self.now + timedelta(seconds=beat * self.scale)

    def play(self, release: str, corrective_due: datetime) -> None:
        # Beats 1-39: payments ships checkout 1.4.2 (with downtime), storefront ships
        # storefront-web 3.9.0 (cleanly) and closes a ticket.
        self.pipeline("checkout", 9120, "payments", started=1, finished=39, ok=True)
        self.rollout(CHECKOUT)
        self.rollout(STOREFRONT)
        self.deployed(STOREFRONT, beat=31)
        self.rec.emit(
            "ticket.closed",
            "SHOP-206",
            {
                "summary": "Storefront: accessibility audit fixes",
                "group": "storefront",
                "milestone": release,
                "uri": "https://acme.atlassian.net/browse/SHOP-206",
                "resolution": "completed",
            },
            time=self.at(34),
            source="/jira",
            label="storefront closes SHOP-206 (accessibility audit fixes)",
            live=True,
        )
        self.deployed(CHECKOUT, beat=38)
        # Beats 39-86: platform's api-gateway 5.3.0 fails; payments closes its task; platform
        # opens a corrective task and starts on it.
        self.pipeline("api-gateway", 3307, "platform", started=39, finished=75, ok=False)
        self.rollout(GATEWAY)
        self.rec.emit(
            "golive-task.updated",
            "PAY-105",
            {"status": "done"},
            time=self.at(44),
            source="/release-board",
            label="payments marks PAY-105 done: checkout 1.4.2 is in production",
            live=True,
            fmt=Format.STRUCTURED,
            team="payments",
        )
        self.rec.emit(
            "golive-task.scheduled",
            "PLAT-309",
            {
                "release": release,
                "team": "platform",
                "title": "api-gateway 5.3.0: fix the readiness probe before retrying",
                "dueDate": rfc3339(corrective_due),
                "kind": "corrective",
                "owner": "gus",
            },
            time=self.at(80),
            source="/release-board",
            label="platform opens corrective task PLAT-309 after the failed rollout",
            live=True,
        )
        self.rec.emit(
            "golive-task.updated",
            "PLAT-309",
            {"status": "in_progress"},
            time=self.at(86),
            source="/release-board",
            label="platform starts PLAT-309",
            live=True,
            fmt=Format.STRUCTURED,
            team="platform",
        )

    def rollout(self, plan: RolloutPlan) -> None:
        rid = rollout_id(plan, self.now)
        name = f"{plan.service} {plan.to_version} rollout"
        self.rec.emit(
            "golive-rollout.started",
            rid,
            {
                "service": plan.service,
                "environment": "prod",
                "fromVersion": plan.from_version,
                "toVersion": plan.to_version,
                "desiredInstances": DESIRED,
                "minHealthyPercent": MIN_HEALTHY_PERCENT,
            },
            time=self.at(plan.start),
            source="/ecs/prod",
            label=f"{name} started: {plan.from_version} -> {plan.to_version}, {DESIRED} instances",
            live=True,
        )
        for beat, old, new in plan.samples:
            self.rec.emit(
                "golive-rollout.progressed",
                rid,
                {"readyOld": old, "readyNew": new},
                time=self.at(beat),
                source="/ecs/prod",
                label=f"{name}: {_readiness(old, new)}",
                live=True,
            )
        self.rec.emit(
            "golive-rollout.finished",
            rid,
            {"outcome": plan.outcome},
            time=self.at(plan.finish),
            source="/ecs/prod",
            label=f"{name} {plan.note}",
            live=True,
        )

    def deployed(self, plan: RolloutPlan, beat: float) -> None:
        self.rec.emit(
            "service.deployed",
            plan.service,
            {
                "environment": {"id": "prod", "source": "/ecs/prod"},
                "artifactId": f"pkg:oci/{plan.service}@{plan.to_version}",
            },
            time=self.at(beat),
            source="/ecs/prod",
            label=f"{plan.service} {plan.to_version} deployed to prod",
            live=True,
            fmt=Format.BINARY,
        )

    def pipeline(
        self, repo: str, run: int, team: str, *, started: float, finished: float, ok: bool
    ) -> None:
        """The team's deploy pipeline, in binary mode with the `ce_team` header."""
        run_id = f"acme/{repo}/actions/runs/{run}"
        uri = f"https://github.com/{run_id}"
        base = {"pipelineName": f"deploy {repo} to prod", "uri": uri}
        self.rec.emit(
            "pipelinerun.started",
            run_id,
            base,
            time=self.at(started),
            source=f"/github/acme/{repo}",
            label=f"{team}: deploy pipeline of {repo} started",
            live=True,
            fmt=Format.BINARY,
            team=team,
        )
        outcome = (
            {"outcome": "success"} if ok else {"outcome": "failure", "errors": "rollout failed"}
        )
        self.rec.emit(
            "pipelinerun.finished",
            run_id,
            base | outcome,
            time=self.at(finished),
            source=f"/github/acme/{repo}",
            label=f"{team}: deploy pipeline of {repo} {'succeeded' if ok else 'failed'}",
            live=True,
            fmt=Format.BINARY,
            team=team,
        )


def _readiness(old: int, new: int) -> str:
    ready = old + new
    text = f"{ready}/{DESIRED} ready ({old} old, {new} new)"
    if ready == 0:
        return f"{text} (downtime!)"
    if ready < MIN_HEALTHY:
        return f"{text} (degraded)"
    return text
