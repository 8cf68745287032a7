"""Reading Kubernetes objects (Deployment, ReplicaSet, Pod as the API's JSON): the few
facts a rollout needs, each with the defaulting and rounding rules of the Deployment
controller. Pure: plain dicts in, plain values out.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
SERVICE_LABEL = "app.kubernetes.io/name"
VERSION_LABEL = "app.kubernetes.io/version"
ENVIRONMENT_LABEL = "golive.dev/environment"
TEAM_LABEL = "golive.dev/team"
# Added by the controller to a ReplicaSet's copy of the Deployment's pod template.
TEMPLATE_HASH_LABEL = "pod-template-hash"

Obj = Mapping[str, Any]


def field(obj: Obj, *path: str) -> Any:
    """`obj[path[0]][path[1]]...`, or None where a step is missing."""
    value: Any = obj
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def metadata(obj: Obj) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def labels(obj: Obj) -> Mapping[str, str]:
    value = metadata(obj).get("labels")
    return value if isinstance(value, Mapping) else {}


def uid(obj: Obj) -> str:
    return str(metadata(obj).get("uid") or "")


def name(obj: Obj) -> str:
    return str(metadata(obj).get("name") or "")


def namespace(obj: Obj) -> str:
    return str(metadata(obj).get("namespace") or "")


def resource_version(obj: Obj) -> str:
    return str(metadata(obj).get("resourceVersion") or "")


def revision(obj: Obj) -> int | None:
    """The controller's revision number of a Deployment or ReplicaSet (None until set)."""
    value = field(obj, "metadata", "annotations", REVISION_ANNOTATION)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def owner_uid(obj: Obj, kind: str) -> str | None:
    """The uid of the controller of `obj` when it is a `kind` (a Pod's ReplicaSet...)."""
    for ref in metadata(obj).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("kind") == kind and ref.get("controller"):
            return str(ref.get("uid") or "") or None
    return None


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def pod_is_ready(pod: Obj) -> bool:
    """Ready condition True and not terminating: a pod being deleted has already left its
    Service's endpoints, so it serves no traffic even while its condition still says
    Ready."""
    if metadata(pod).get("deletionTimestamp"):
        return False
    for condition in field(pod, "status", "conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def template_fingerprint(template: Any) -> str:
    """Identity of a pod template, equal for a Deployment's template and its ReplicaSet's
    copy (which only adds `pod-template-hash`): how a rollback to a previous template is
    recognised."""
    copy = json.loads(json.dumps(template if isinstance(template, Mapping) else {}))
    template_labels = field(copy, "metadata", "labels")
    if isinstance(template_labels, dict):
        template_labels.pop(TEMPLATE_HASH_LABEL, None)
    canonical = json.dumps(copy, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def image_version(image: str) -> str | None:
    """`registry:5000/shop/checkout:1.4.2` -> `1.4.2`; a digest-only image -> its
    `sha256:` prefix; `latest` or no tag -> None (it names no version)."""
    reference, _, digest = image.partition("@")
    last = reference.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if tag and tag != "latest":
        return tag
    if digest:
        return digest[: len("sha256:") + 12]
    return None


def template_version(template: Any, service: str) -> str | None:
    """The version a pod template runs: its `app.kubernetes.io/version` label, else the
    image tag of the container named like the service (else of the first container)."""
    version = field(template, "metadata", "labels", VERSION_LABEL)
    if isinstance(version, str) and version:
        return version
    containers = [c for c in field(template, "spec", "containers") or () if isinstance(c, Mapping)]
    if not containers:
        return None
    main = next((c for c in containers if c.get("name") == service), containers[0])
    return image_version(str(main.get("image") or ""))


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An IntOrString of a Deployment strategy against `total` replicas: an int as is,
    a percentage rounded as the controller does (maxSurge up, maxUnavailable down)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def max_unavailable(deployment: Obj) -> int:
    """How many of its desired pods a Deployment's strategy lets be unavailable."""
    desired = desired_replicas(deployment)
    strategy = field(deployment, "spec", "strategy") or {}
    if strategy.get("type") == "Recreate":
        return desired
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = scaled(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # the controller's fencepost: a rollout must be able to move
    return min(unavailable, desired)


def min_healthy_percent(deployment: Obj) -> float:
    """The Deployment's minimum available share as golive's `minHealthyPercent`, chosen so
    that golive's `ceil(desired * percent / 100)` is exactly `desired - maxUnavailable`
    (a float like 66.666...7 would round up to one pod too many)."""
    desired = desired_replicas(deployment)
    if desired == 0:
        return 100.0
    floor = desired - max_unavailable(deployment)
    percent = math.floor(floor * 100 / desired * 10_000) / 10_000
    while percent > 0 and math.ceil(desired * percent / 100) > floor:
        percent = math.nextafter(percent, 0)
    return percent


def desired_replicas(deployment: Obj) -> int:
    value = field(deployment, "spec", "replicas")
    return value if isinstance(value, int) else 1  # the API's default


def progressing_condition(deployment: Obj) -> Mapping[str, Any] | None:
    for condition in field(deployment, "status", "conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Progressing":
            return condition
    return None


def status_is_current(deployment: Obj) -> bool:
    """The controller has acted on the Deployment's latest spec: its status (conditions
    and counts) is about the current template, not a stale one."""
    generation = metadata(deployment).get("generation") or 0
    observed = field(deployment, "status", "observedGeneration") or 0
    return isinstance(observed, int) and isinstance(generation, int) and observed >= generation


def rollout_complete(deployment: Obj) -> bool:
    """What `kubectl rollout status` waits for: every replica updated and available, no
    old one left, and the controller's `Progressing` reason `NewReplicaSetAvailable`."""
    if not status_is_current(deployment):
        return False
    condition = progressing_condition(deployment)
    if condition is None or condition.get("reason") != "NewReplicaSetAvailable":
        return False
    desired = desired_replicas(deployment)
    counts = ("updatedReplicas", "replicas", "availableReplicas")
    # The API leaves zero counts out of the status.
    return all((field(deployment, "status", count) or 0) == desired for count in counts)


def deadline_exceeded(deployment: Obj) -> str | None:
    """When the controller gave up on the current rollout (`ProgressDeadlineExceeded`):
    the condition's `lastUpdateTime`, which tells one such verdict from a later one."""
    if not status_is_current(deployment):
        return None
    condition = progressing_condition(deployment)
    if condition is None or condition.get("reason") != "ProgressDeadlineExceeded":
        return None
    return str(condition.get("lastUpdateTime") or condition.get("lastTransitionTime") or "?")
