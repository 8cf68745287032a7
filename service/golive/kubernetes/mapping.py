"""From Kubernetes watch events to golive rollout events: a state machine, pure.

Fed with the Deployments, ReplicaSets and Pods of some namespaces (watch events, or whole
lists after a (re)list) and the time each was observed, it returns the
`golive-rollout.started|progressed|finished` CloudEvents to emit. No I/O, no clock.

- A rollout starts when a Deployment's revision (`deployment.kubernetes.io/revision`,
  bumped by the controller when it creates or reuses a ReplicaSet for a new pod
  template) goes up. Its id is `k8s/<namespace>/<deployment>/<revision>-<uid[:8]>`.
- Progress: the ready pods of the ReplicaSet of the current revision (`readyNew`) and of
  the Deployment's other ReplicaSets (`readyOld`), from the pods (Ready and not
  terminating) or, when pods are not watched, the ReplicaSets' `readyReplicas`.
- It finishes `succeeded` when the controller reports `NewReplicaSetAvailable` with every
  replica updated and available, `failed` on `ProgressDeadlineExceeded` (or when a newer
  template supersedes it, or the Deployment is deleted), `rolledback` when the template
  returns to the one it replaced. The restoring change is a rollout of its own, so the
  time the old pods take to come back is measured too.

Event ids are uuid5 of what they say, so a restarted watcher re-emitting the same facts
produces duplicates golive drops on (source, id).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from golive.emit.events import cloudevent
from golive.kubernetes import objects as k8s
from golive.kubernetes.objects import Obj

Kind = Literal["Deployment", "ReplicaSet", "Pod"]
KINDS: tuple[Kind, ...] = ("Deployment", "ReplicaSet", "Pod")
EventType = Literal["ADDED", "MODIFIED", "DELETED"]

_TICK = timedelta(milliseconds=1)
_IDS = uuid.UUID("6c1c3c1e-5b7e-4c52-9a43-6b0d2f6f1a10")  # uuid5 namespace of event ids


@dataclass(frozen=True, slots=True)
class MappingConfig:
    source: str  # CloudEvents source of every event (one per cluster)
    default_environment: str | None = None  # else the namespace's name
    namespace_environments: Mapping[str, str] = field(default_factory=dict)
    count_pods: bool = True  # False: ReplicaSets' readyReplicas (pods are not watched)

    def environment(self, deployment: Obj) -> str:
        label = k8s.labels(deployment).get(k8s.ENVIRONMENT_LABEL)
        ns = k8s.namespace(deployment)
        return label or self.namespace_environments.get(ns) or self.default_environment or ns


@dataclass(frozen=True, slots=True)
class _ReplicaSet:
    uid: str
    deployment_uid: str | None
    revision: int | None
    ready_replicas: int
    resource_version: str
    fingerprint: str
    template: Any
    created: datetime | None


@dataclass(frozen=True, slots=True)
class _Pod:
    uid: str
    replica_set_uid: str | None
    ready: bool
    resource_version: str


@dataclass(slots=True)
class _Rollout:
    id: str
    from_fingerprint: str
    desired: int
    team: str | None  # the CloudEvents `team` of its events (label golive.dev/team)
    stale_deadline: str | None  # a ProgressDeadlineExceeded already there at the start
    last_sample: tuple[int, int, int] | None = None
    last_time: datetime | None = None


@dataclass(slots=True)
class _Tracked:
    """What the mapping remembers of a Deployment between observations."""

    uid: str
    revision: int
    fingerprint: str  # of the template of `revision`
    version: str
    rollout: _Rollout | None = None


@dataclass(slots=True)
class _Namespace:
    deployments: dict[str, Obj] = field(default_factory=dict)  # by name
    replica_sets: dict[str, _ReplicaSet] = field(default_factory=dict)  # by uid
    pods: dict[str, _Pod] = field(default_factory=dict)  # by uid
    tracked: dict[str, _Tracked] = field(default_factory=dict)  # by Deployment name


class RolloutMapping:
    """The state machine. `observe` one watch event, or `resync` a namespace from lists;
    each returns the CloudEvents (structured-mode documents) to produce, in order."""

    def __init__(self, config: MappingConfig) -> None:
        self._config = config
        self._namespaces: dict[str, _Namespace] = {}

    def observe(
        self, kind: Kind, event_type: EventType, obj: Obj, at: datetime
    ) -> list[dict[str, Any]]:
        space = self._namespaces.setdefault(k8s.namespace(obj), _Namespace())
        deleted = event_type == "DELETED"
        affected = self._store(space, kind, obj, deleted)
        emitted: list[dict[str, Any]] = []
        for deployment in affected:
            emitted += self._evaluate(
                space, deployment, at, deleted=deleted and kind == "Deployment"
            )
        return emitted

    def resync(
        self, namespace: str, lists: Mapping[Kind, Sequence[Obj]], at: datetime
    ) -> list[dict[str, Any]]:
        """Replace what is known of each listed kind in `namespace` (objects missing from a
        list were deleted while nobody watched), then evaluate every Deployment once:
        after a first list, counts are only trusted once every kind is in."""
        space = self._namespaces.setdefault(namespace, _Namespace())
        gone: list[str] = []
        for kind, items in lists.items():
            if kind == "Deployment":
                listed = {k8s.name(d) for d in items}
                gone = [n for n in space.deployments if n not in listed]
                space.deployments = {}
            elif kind == "ReplicaSet":
                space.replica_sets = {}
            else:
                space.pods = {}
            for item in items:
                self._store(space, kind, item, deleted=False)
        emitted: list[dict[str, Any]] = []
        for deployment in gone:
            emitted += self._evaluate(space, deployment, at, deleted=True)
        for deployment in sorted(space.deployments):
            emitted += self._evaluate(space, deployment, at, deleted=False)
        return emitted

    # --- keeping the objects --------------------------------------------------------------

    def _store(self, space: _Namespace, kind: Kind, obj: Obj, deleted: bool) -> list[str]:
        """Record `obj`; return the names of the Deployments it may change."""
        uid = k8s.uid(obj)
        if kind == "Deployment":
            if not deleted:
                space.deployments[k8s.name(obj)] = obj
            return [k8s.name(obj)]
        if kind == "ReplicaSet":
            before = space.replica_sets.pop(uid, None)
            if not deleted:
                template = k8s.field(obj, "spec", "template")
                space.replica_sets[uid] = _ReplicaSet(
                    uid=uid,
                    deployment_uid=k8s.owner_uid(obj, "Deployment"),
                    revision=k8s.revision(obj),
                    ready_replicas=int(k8s.field(obj, "status", "readyReplicas") or 0),
                    resource_version=k8s.resource_version(obj),
                    fingerprint=k8s.template_fingerprint(template),
                    template=template,
                    created=k8s.timestamp(k8s.metadata(obj).get("creationTimestamp")),
                )
            owners = {rs.deployment_uid for rs in (before, space.replica_sets.get(uid)) if rs}
            return self._deployments_of(space, owners)
        before_pod = space.pods.pop(uid, None)
        if not deleted:
            space.pods[uid] = _Pod(
                uid=uid,
                replica_set_uid=k8s.owner_uid(obj, "ReplicaSet"),
                ready=k8s.pod_is_ready(obj),
                resource_version=k8s.resource_version(obj),
            )
        replica_sets = {p.replica_set_uid for p in (before_pod, space.pods.get(uid)) if p}
        owners = {
            space.replica_sets[rs].deployment_uid for rs in replica_sets if rs in space.replica_sets
        }
        return self._deployments_of(space, owners)

    @staticmethod
    def _deployments_of(space: _Namespace, uids: Iterable[str | None]) -> list[str]:
        wanted = {u for u in uids if u}
        return sorted(n for n, d in space.deployments.items() if k8s.uid(d) in wanted)

    # --- deciding -------------------------------------------------------------------------

    def _evaluate(
        self, space: _Namespace, name: str, at: datetime, *, deleted: bool
    ) -> list[dict[str, Any]]:
        tracked = space.tracked.get(name)
        if deleted:
            space.deployments.pop(name, None)
            space.tracked.pop(name, None)
            if tracked is None or tracked.rollout is None:
                return []
            return [self._finished(tracked.rollout, "failed", "DeploymentDeleted", at)]
        deployment = space.deployments.get(name)
        if deployment is None:
            return []
        owned = self._owned(space, deployment)
        service = k8s.labels(deployment).get(k8s.SERVICE_LABEL) or name
        template = k8s.field(deployment, "spec", "template")
        fingerprint = k8s.template_fingerprint(template)
        emitted: list[dict[str, Any]] = []
        if tracked is None or tracked.uid != k8s.uid(deployment):
            tracked, emitted = self._first_sight(deployment, owned, service, at)
            space.tracked[name] = tracked
        if fingerprint != tracked.fingerprint and not k8s.field(deployment, "spec", "paused"):
            # A new pod template: a rollout starts. The one in progress, if any, ends:
            # rolled back when the template is the one it replaced, else superseded.
            if tracked.rollout is not None:
                if fingerprint == tracked.rollout.from_fingerprint:
                    emitted.append(self._finished(tracked.rollout, "rolledback", "Rollback", at))
                else:
                    emitted.append(self._finished(tracked.rollout, "failed", "Superseded", at))
            from_fingerprint, from_version = tracked.fingerprint, tracked.version
            tracked.revision = self._next_revision(deployment, owned, fingerprint)
            tracked.fingerprint = fingerprint
            tracked.version = k8s.template_version(template, service) or (
                f"revision-{tracked.revision}"
            )
            emitted += self._start(deployment, tracked, service, from_version, from_fingerprint, at)
        rollout = tracked.rollout
        if rollout is None:
            return emitted
        emitted += self._progress(space, deployment, owned, tracked, rollout, at)
        deadline = k8s.deadline_exceeded(deployment)
        if deadline is not None and deadline != rollout.stale_deadline:
            emitted.append(self._finished(rollout, "failed", "ProgressDeadlineExceeded", at))
            tracked.rollout = None
        elif k8s.rollout_complete(deployment):
            emitted.append(self._finished(rollout, "succeeded", "NewReplicaSetAvailable", at))
            tracked.rollout = None
        return emitted

    @staticmethod
    def _next_revision(deployment: Obj, owned: Sequence[_ReplicaSet], fingerprint: str) -> int:
        """The revision the controller gives (or gave) a new template: the Deployment's own
        once it numbers this template, else the highest so far plus one, as the controller
        will (it numbers a Recreate rollout only once the old pods are gone)."""
        annotated = k8s.revision(deployment) or 0
        if any(rs.revision == annotated and rs.fingerprint == fingerprint for rs in owned):
            return annotated
        return max([annotated, *(rs.revision or 0 for rs in owned)]) + 1

    def _first_sight(
        self, deployment: Obj, owned: Sequence[_ReplicaSet], service: str, at: datetime
    ) -> tuple[_Tracked, list[dict[str, Any]]]:
        """A Deployment seen for the first time (watcher start, or a new Deployment): what
        it runs, and a rollout if one is under way or only just ended."""
        template = k8s.field(deployment, "spec", "template")
        fingerprint = k8s.template_fingerprint(template)
        annotated = k8s.revision(deployment) or 0
        numbered = [rs for rs in owned if rs.revision is not None]
        current = next((rs for rs in numbered if rs.fingerprint == fingerprint), None)
        if current is None and self._ended(deployment):
            # The controller says this template is rolled out: trust its revision even if
            # the ReplicaSet's copy of the template reads differently (defaults added by a
            # newer API server, a mutating webhook).
            current = next((rs for rs in numbered if rs.revision == annotated), None)
        older = [rs for rs in numbered if rs is not current]
        if not older:
            # A new Deployment's first pods replace nothing: not a rollout.
            version = k8s.template_version(template, service) or f"revision-{annotated}"
            return _Tracked(k8s.uid(deployment), annotated, fingerprint, version), []
        previous = max(older, key=lambda rs: rs.revision or 0)
        tracked = _Tracked(
            k8s.uid(deployment),
            previous.revision or 0,
            previous.fingerprint,
            k8s.template_version(previous.template, service) or f"revision-{previous.revision}",
        )
        if current is None or not self._ended(deployment):
            return tracked, []  # in progress: `_evaluate` sees a new template and starts it
        # Ended already. If only just, a watcher that stopped may have started it and not
        # finished it: say it started (when its ReplicaSet was created) and ended (a
        # duplicate of what that watcher sent, if it did). Older ends are history.
        condition = k8s.progressing_condition(deployment) or {}
        ended_at = k8s.timestamp(condition.get("lastUpdateTime")) or at
        window = timedelta(
            seconds=int(k8s.field(deployment, "spec", "progressDeadlineSeconds") or 600)
        )
        tracked.revision, tracked.fingerprint = current.revision or annotated, fingerprint
        tracked.version = k8s.template_version(template, service) or f"revision-{tracked.revision}"
        if at - ended_at > window:
            return tracked, []
        from_version = k8s.template_version(previous.template, service) or (
            f"revision-{previous.revision}"
        )
        started = self._start(
            deployment,
            tracked,
            service,
            from_version,
            previous.fingerprint,
            current.created or ended_at,
        )
        rollout = tracked.rollout
        assert rollout is not None
        tracked.rollout = None
        if k8s.deadline_exceeded(deployment) is not None:
            return tracked, [
                *started,
                self._finished(rollout, "failed", "ProgressDeadlineExceeded", ended_at),
            ]
        return tracked, [
            *started,
            self._finished(rollout, "succeeded", "NewReplicaSetAvailable", ended_at),
        ]

    @staticmethod
    def _ended(deployment: Obj) -> bool:
        return k8s.rollout_complete(deployment) or k8s.deadline_exceeded(deployment) is not None

    def _start(
        self,
        deployment: Obj,
        tracked: _Tracked,
        service: str,
        from_version: str,
        from_fingerprint: str,
        at: datetime,
    ) -> list[dict[str, Any]]:
        desired = k8s.desired_replicas(deployment)
        rollout_id = (
            f"k8s/{k8s.namespace(deployment)}/{k8s.name(deployment)}/"
            f"{tracked.revision}-{tracked.uid[:8]}"
        )
        team = k8s.labels(deployment).get(k8s.TEAM_LABEL)
        # A deadline the previous rollout exceeded stays on the Deployment until the
        # controller makes progress: it is not this rollout's.
        stale = k8s.deadline_exceeded(deployment)
        tracked.rollout = _Rollout(rollout_id, from_fingerprint, desired, team, stale)
        content = {
            "service": service,
            "environment": self._config.environment(deployment),
            "fromVersion": from_version,
            "toVersion": tracked.version,
            "desiredInstances": desired,
            "minHealthyPercent": k8s.min_healthy_percent(deployment),
            "namespace": k8s.namespace(deployment),
            "deployment": k8s.name(deployment),
            "revision": tracked.revision,
        }
        return [self._event("started", tracked.rollout, content, "started", at)]

    def _progress(
        self,
        space: _Namespace,
        deployment: Obj,
        owned: Sequence[_ReplicaSet],
        tracked: _Tracked,
        rollout: _Rollout,
        at: datetime,
    ) -> list[dict[str, Any]]:
        ready: dict[str, int] = {}
        witnesses: list[str] = []  # what the counts were read from: part of the event id
        if self._config.count_pods:
            for pod in space.pods.values():
                if pod.ready and pod.replica_set_uid in {rs.uid for rs in owned}:
                    ready[pod.replica_set_uid] = ready.get(pod.replica_set_uid, 0) + 1
                    witnesses.append(f"{pod.uid}@{pod.resource_version}")
        else:
            for rs in owned:
                ready[rs.uid] = rs.ready_replicas
                witnesses.append(f"{rs.uid}@{rs.resource_version}")
        new = sum(n for rs_uid, n in ready.items() if self._is_new(owned, rs_uid, tracked))
        old = sum(ready.values()) - new
        desired = k8s.desired_replicas(deployment)
        sample = (old, new, desired)
        if sample == rollout.last_sample:
            return []
        rollout.last_sample = sample
        content: dict[str, Any] = {"readyOld": old, "readyNew": new}
        if desired != rollout.desired:
            content["desiredInstances"] = desired
        digest = hashlib.sha256("|".join(sorted(witnesses)).encode()).hexdigest()[:16]
        what = f"progressed/{old}/{new}/{desired}/{digest}"
        return [self._event("progressed", rollout, content, what, at)]

    @staticmethod
    def _is_new(owned: Sequence[_ReplicaSet], rs_uid: str, tracked: _Tracked) -> bool:
        """The ReplicaSet of the template being rolled out: same template (a rollback reuses
        an old ReplicaSet before the controller renumbers it), or its revision."""
        return any(
            rs.uid == rs_uid
            and (rs.fingerprint == tracked.fingerprint or rs.revision == tracked.revision)
            for rs in owned
        )

    @staticmethod
    def _owned(space: _Namespace, deployment: Obj) -> list[_ReplicaSet]:
        uid = k8s.uid(deployment)
        return [rs for rs in space.replica_sets.values() if rs.deployment_uid == uid]

    def _finished(
        self, rollout: _Rollout, outcome: str, reason: str, at: datetime
    ) -> dict[str, Any]:
        content = {"outcome": outcome, "reason": reason}
        return self._event("finished", rollout, content, "finished", at)

    def _event(
        self,
        predicate: str,
        rollout: _Rollout,
        content: Mapping[str, Any],
        what: str,
        at: datetime,
    ) -> dict[str, Any]:
        event_id = uuid.uuid5(_IDS, f"{self._config.source}|{rollout.id}|{what}")
        # Several changes seen in one instant (a burst of watch events, a relist) must
        # still apply in order: golive orders a rollout's samples by time. Event times
        # carry milliseconds, so each event of a rollout is at least 1 ms after the last.
        if rollout.last_time is not None and at < rollout.last_time + _TICK:
            at = rollout.last_time + _TICK
        rollout.last_time = at
        return cloudevent(
            f"golive-rollout.{predicate}",
            rollout.id,
            content,
            id=str(event_id),
            source=self._config.source,
            time=at,
            team=rollout.team,
        )
