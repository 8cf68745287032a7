"""`golive emit`'s flags turned into an event's subject and content (pure).

One flag means one thing whatever the type (`--environment prod`, `--team payments`); this
module puts it where each type carries it: `environment` is a reference `{"id": ...}` in
CDEvents types and a plain string in golive's, `--version` becomes a service's
`artifactId` or a rollout's `toVersion`, `--team` a ticket's `group`. `--set KEY=VALUE`
adds any other content field. golive's decoder then judges the result, so a missing field
is reported as golive would report it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The flag naming each subject's id (`--subject` works for every type).
SUBJECT_FLAGS: dict[str, str] = {
    "service": "service",
    "incident": "incident",
    "golive-rollout": "rollout",
    "golive-task": "task",
    "ticket": "task",
    "golive-release": "release",
    "change": "change",
    "artifact": "artifact",
    "pipelinerun": "pipeline_run",
}


# The flags each subject's content takes as they are: (content field, flag).
_DESCRIBED = (("description", "description"),)
COPIED: dict[str, tuple[tuple[str, str], ...]] = {
    "incident": (("artifactId", "artifact"), *_DESCRIBED),
    "golive-rollout": (
        ("service", "service"),
        ("environment", "environment"),
        ("fromVersion", "from_version"),
        ("desiredInstances", "desired"),
        ("minHealthyPercent", "min_healthy_percent"),
        ("readyOld", "ready_old"),
        ("readyNew", "ready_new"),
        ("outcome", "outcome"),
    ),
    "golive-task": (
        ("release", "release"),
        ("team", "team"),
        ("title", "title"),
        ("dueDate", "due"),
        ("kind", "kind"),
        ("owner", "owner"),
        ("status", "status"),
    ),
    "golive-release": (
        ("name", "name"),
        ("targetDate", "target_date"),
        ("environment", "environment"),
        ("services", "services"),
        ("teams", "teams"),
        ("outcome", "outcome"),
    ),
    "ticket": (("summary", "title"), ("group", "team"), ("milestone", "release")),
    "change": _DESCRIBED,
    "artifact": _DESCRIBED,
    "pipelinerun": _DESCRIBED,
}


class FlagError(ValueError):
    """Flags that cannot make the event asked for; the message names the flag."""


@dataclass(frozen=True, slots=True)
class EventParts:
    subject_id: str
    content: dict[str, Any]
    custom_data: dict[str, Any] | None


def subject_and_predicate(type_: str) -> tuple[str, str]:
    """`service.deployed` or `dev.cdevents.service.deployed.0.3.0` -> (service, deployed)."""
    parts = type_.split(".")
    if type_.startswith(("dev.cdevents.", "dev.cdeventsx.")) and len(parts) >= 4:
        return parts[2], parts[3]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise FlagError(f"--type {type_!r}: expected subject.predicate, e.g. service.deployed")


def event_parts(type_: str, flags: Mapping[str, Any]) -> EventParts:
    """The subject id, content and customData of a `type_` event from flag values
    (`None` for a flag not given; `set` holds the `--set` pairs)."""
    subject, predicate = subject_and_predicate(type_)
    given = {k: v for k, v in flags.items() if v is not None}
    subject_flag = SUBJECT_FLAGS.get(subject)
    subject_id = given.get("subject") or (given.get(subject_flag) if subject_flag else None)
    if not subject_id:
        hint = f"--{subject_flag.replace('_', '-')} or --subject" if subject_flag else "--subject"
        raise FlagError(f"a {subject}.{predicate} event needs its subject's id: {hint}")
    content = {key: given[flag] for key, flag in COPIED.get(subject, ()) if flag in given}
    custom: dict[str, Any] = {}
    # The flags a type carries otherwise than as they are.
    if subject in ("service", "incident") and "environment" in given:
        content["environment"] = {"id": given["environment"]}
    if subject == "service":
        artifact = given.get("artifact")
        if artifact is None and "version" in given:
            artifact = f"pkg:generic/{subject_id}@{given['version']}"
        if artifact is not None:
            content["artifactId"] = artifact
    elif subject == "incident" and "service" in given:
        content["service"] = {"id": given["service"]}
    elif subject == "golive-rollout" and ("to_version" in given or "version" in given):
        content["toVersion"] = given.get("to_version", given.get("version"))
    elif subject == "ticket":
        if "owner" in given:
            content["assignees"] = [given["owner"]]
        custom = {
            key: given[flag]
            for key, flag in (("dueDate", "due"), ("kind", "kind"))
            if flag in given
        }
    for key, value in given.get("set", {}).items():
        content[key] = value
    return EventParts(str(subject_id), content, custom or None)


# Content field -> the flag that sets it, to point at the flag in golive's rejections.
FIELD_FLAGS: dict[str, str] = {
    "environment": "--environment",
    "artifactId": "--version or --artifact",
    "service": "--service",
    "fromVersion": "--from-version",
    "toVersion": "--to-version or --version",
    "desiredInstances": "--desired",
    "minHealthyPercent": "--min-healthy-percent",
    "readyOld": "--ready-old",
    "readyNew": "--ready-new",
    "outcome": "--outcome",
    "release": "--release",
    "team": "--team",
    "dueDate": "--due",
    "kind": "--kind",
    "status": "--status",
    "targetDate": "--target-date",
}


def flag_hints(reason: str) -> list[str]:
    """The flags behind the content fields a rejection names (`subject.content.readyNew`)."""
    return [
        f"subject.content.{field}: {flag}"
        for field, flag in FIELD_FLAGS.items()
        if f"subject.content.{field}" in reason or f"customData.{field}" in reason
    ]
