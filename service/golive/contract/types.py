"""Event type names: parsing `dev.cdevents.<subject>.<predicate>.<version>` and friends."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum

from golive.contract.errors import RejectedError, RejectionKind

CDEVENTS_PREFIX = "dev.cdevents."
CUSTOM_PREFIX = "dev.cdeventsx."
GOLIVE_SUBJECT_PREFIX = "golive-"

# CDEvents spec versions whose vocabulary golive speaks (major.minor).
SUPPORTED_SPEC_VERSIONS = ("0.4", "0.5")
# Major version of the golive custom types this build understands.
GOLIVE_TYPE_MAJOR = 0

_TYPE_RE = re.compile(
    r"^(?P<prefix>dev\.cdevents|dev\.cdeventsx)\."
    r"(?P<subject>[a-z][a-z0-9-]*)\.(?P<predicate>[a-z][a-z0-9-]*)\."
    r"(?P<version>(?P<major>0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?)$"
)
_SPEC_VERSION_RE = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?$")


class Namespace(StrEnum):
    CDEVENTS = "cdevents"  # the CDEvents core vocabulary
    GOLIVE = "golive"  # golive's own custom types (dev.cdeventsx.golive-*)
    CUSTOM = "custom"  # someone else's custom types: kept as activity
    EVENTBRIDGE = "eventbridge"  # Amazon EventBridge events (`contract.eventbridge`)


@dataclass(frozen=True, slots=True)
class EventType:
    namespace: Namespace
    subject: str
    predicate: str
    version: str
    # `subject.predicate`, e.g. `service.deployed` or `golive-rollout.started`: read
    # several times per event, so made once.
    name: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.subject}.{self.predicate}")


# The golive custom types and whether each is known; see DESIGN section 8.
GOLIVE_TYPES = frozenset(
    {
        "golive-release.planned",
        "golive-release.updated",
        "golive-release.closed",
        "golive-task.scheduled",
        "golive-task.updated",
        "golive-rollout.started",
        "golive-rollout.progressed",
        "golive-rollout.finished",
    }
)


# The CDEvents 0.4/0.5 vocabulary (`subject.predicate`): bounded metric label values.
CDEVENTS_TYPES = frozenset(
    {
        "artifact.deleted",
        "artifact.downloaded",
        "artifact.packaged",
        "artifact.published",
        "artifact.signed",
        "branch.created",
        "branch.deleted",
        "build.finished",
        "build.queued",
        "build.started",
        "change.abandoned",
        "change.created",
        "change.merged",
        "change.reviewed",
        "change.updated",
        "environment.created",
        "environment.deleted",
        "environment.modified",
        "incident.detected",
        "incident.reported",
        "incident.resolved",
        "pipelinerun.finished",
        "pipelinerun.queued",
        "pipelinerun.started",
        "repository.created",
        "repository.deleted",
        "repository.modified",
        "service.deployed",
        "service.published",
        "service.removed",
        "service.rolledback",
        "service.upgraded",
        "taskrun.finished",
        "taskrun.started",
        "testcaserun.finished",
        "testcaserun.queued",
        "testcaserun.skipped",
        "testcaserun.started",
        "testoutput.published",
        "testsuiterun.finished",
        "testsuiterun.queued",
        "testsuiterun.started",
        "ticket.closed",
        "ticket.created",
        "ticket.updated",
    }
)


# The Amazon ECS events golive reads (`contract.ecs`).
ECS_TYPES = frozenset(
    {
        "ecs-deployment.state-change",
        "ecs-task.state-change",
        "ecs-service.action",
        "ecs-container-instance.state-change",
    }
)


def metric_type_label(name: str) -> str:
    """`name` if it is a type golive knows, else `other` (labels stay bounded)."""
    known = name in CDEVENTS_TYPES or name in GOLIVE_TYPES or name in ECS_TYPES
    return name if known else "other"


@functools.lru_cache(maxsize=4096)  # a stream holds few types; errors are not cached
def parse_type(type_: str) -> EventType:
    """Parse an event type string, or raise `RejectedError` saying what is wrong with it."""
    if not type_.startswith((CDEVENTS_PREFIX, CUSTOM_PREFIX)):
        raise RejectedError(
            RejectionKind.UNKNOWN_TYPE,
            f"type {type_!r} has an unknown prefix: expected 'dev.cdevents.' (CDEvents) "
            f"or 'dev.cdeventsx.' (CDEvents custom events, e.g. golive's)",
        )
    match = _TYPE_RE.match(type_)
    if match is None:
        raise RejectedError(
            RejectionKind.UNKNOWN_TYPE,
            f"type {type_!r} is malformed: expected '<prefix>.<subject>.<predicate>.<x.y.z>'",
        )
    subject, predicate, version = match["subject"], match["predicate"], match["version"]
    if match["prefix"] == "dev.cdevents":
        namespace = Namespace.CDEVENTS
    elif subject.startswith(GOLIVE_SUBJECT_PREFIX):
        namespace = Namespace.GOLIVE
        if f"{subject}.{predicate}" not in GOLIVE_TYPES:
            known = ", ".join(sorted(GOLIVE_TYPES))
            raise RejectedError(
                RejectionKind.UNKNOWN_TYPE,
                f"type {type_!r} is not a golive type; known: {known}",
            )
        if int(match["major"]) != GOLIVE_TYPE_MAJOR:
            raise RejectedError(
                RejectionKind.UNSUPPORTED_VERSION,
                f"type {type_!r} has major version {match['major']}; "
                f"this golive understands {GOLIVE_TYPE_MAJOR}.x of its own types",
            )
    else:
        namespace = Namespace.CUSTOM
    return EventType(namespace, subject, predicate, version)


@functools.lru_cache(maxsize=256)  # a stream holds few versions; errors are not cached
def check_spec_version(version: str) -> str:
    """Accept CDEvents spec 0.4.x and 0.5.x; return the version as given."""
    match = _SPEC_VERSION_RE.match(version)
    if match is None:
        raise RejectedError(
            RejectionKind.UNSUPPORTED_VERSION,
            f"CDEvents spec version {version!r} is not a version number",
        )
    if f"{match['major']}.{match['minor']}" not in SUPPORTED_SPEC_VERSIONS:
        raise RejectedError(
            RejectionKind.UNSUPPORTED_VERSION,
            f"CDEvents spec version {version} is not supported (supported: 0.4.x, 0.5.x)",
        )
    return version
