"""Generate `schemas/`: a JSON Schema and one example per golive event type.

The schemas are built from the pydantic content models, so producers validate against
exactly what golive decodes. `make schemas` rewrites them; a test fails on drift.

    python -m golive.contract.schema_export schemas
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from golive.contract.content import CONTENT_MODELS
from golive.contract.types import CUSTOM_PREFIX, GOLIVE_TYPES

TYPE_VERSION = "0.1.0"
SCHEMA_BASE = "https://golive.dev/schemas/"


def type_string(name: str) -> str:
    return f"{CUSTOM_PREFIX}{name}.{TYPE_VERSION}"


def _example(
    name: str, event_id: str, timestamp: str, subject_id: str, content: dict[str, Any]
) -> dict[str, Any]:
    return {
        "context": {
            "specversion": "0.5.1",
            "id": event_id,
            "source": "/ci/release-pipeline",
            "type": type_string(name),
            "timestamp": timestamp,
        },
        "subject": {"id": subject_id, "source": "/ci/release-pipeline", "content": content},
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "golive-release.planned": _example(
        "golive-release.planned",
        "rel-2026-12-planned",
        "2026-11-02T09:00:00Z",
        "2026-12",
        {
            "name": "December release",
            "targetDate": "2026-12-10T18:00:00+01:00",
            "environment": "prod",
            "services": ["checkout", "payments-api"],
            "teams": ["payments", "storefront"],
            "objectives": [
                {"id": "cfr", "kpi": "change_failure_ratio", "op": "<=", "target": 0.15},
                {"id": "downtime", "kpi": "rollout_downtime_max", "op": "<=", "target": 5},
                {"id": "done", "kpi": "tasks_done_ratio", "op": ">=", "target": 1},
            ],
        },
    ),
    "golive-release.updated": _example(
        "golive-release.updated",
        "rel-2026-12-resched-1",
        "2026-11-20T16:30:00Z",
        "2026-12",
        {"targetDate": "2026-12-15T18:00:00+01:00"},
    ),
    "golive-release.closed": _example(
        "golive-release.closed",
        "rel-2026-12-closed",
        "2026-12-15T17:05:00Z",
        "2026-12",
        {"outcome": "completed"},
    ),
    "golive-task.scheduled": _example(
        "golive-task.scheduled",
        "task-PAY-42-scheduled",
        "2026-11-03T10:00:00Z",
        "PAY-42",
        {
            "release": "2026-12",
            "team": "payments",
            "title": "Migrate card vault to v2 API",
            "dueDate": "2026-12-01T18:00:00+01:00",
            "kind": "plan",
            "owner": "alice",
        },
    ),
    "golive-task.updated": _example(
        "golive-task.updated",
        "task-PAY-42-done",
        "2026-11-27T15:12:00Z",
        "PAY-42",
        {"status": "done"},
    ),
    "golive-rollout.started": _example(
        "golive-rollout.started",
        "ecs-deploy-7f3a-started",
        "2026-12-10T10:00:00Z",
        "ecs-deploy-7f3a",
        {
            "service": "checkout",
            "environment": "prod",
            "fromVersion": "1.4.1",
            "toVersion": "1.4.2",
            "desiredInstances": 4,
            "minHealthyPercent": 50,
        },
    ),
    "golive-rollout.progressed": _example(
        "golive-rollout.progressed",
        "ecs-deploy-7f3a-progress-3",
        "2026-12-10T10:01:30Z",
        "ecs-deploy-7f3a",
        {"readyOld": 2, "readyNew": 2},
    ),
    "golive-rollout.finished": _example(
        "golive-rollout.finished",
        "ecs-deploy-7f3a-finished",
        "2026-12-10T10:04:10Z",
        "ecs-deploy-7f3a",
        {"outcome": "succeeded"},
    ),
}


def event_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a whole golive CDEvent (context + subject) of type `name`."""
    content = CONTENT_MODELS[name].model_json_schema(by_alias=True, mode="validation")
    defs = content.pop("$defs", {})
    type_pattern = "^" + re.escape(CUSTOM_PREFIX + name) + r"\.0\.\d+\.\d+$"
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{name}.{TYPE_VERSION}.json",
        "title": type_string(name),
        "description": (content.get("description") or "").strip(),
        "type": "object",
        "required": ["context", "subject"],
        "properties": {
            "context": {
                "type": "object",
                "required": ["specversion", "id", "source", "type", "timestamp"],
                "properties": {
                    "specversion": {"type": "string", "pattern": r"^0\.(4|5)\.\d+"},
                    "id": {"type": "string", "minLength": 1},
                    "source": {"type": "string", "minLength": 1},
                    "type": {"type": "string", "pattern": type_pattern},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "chainId": {"type": "string"},
                    "links": {"type": "array"},
                    "schemaUri": {"type": "string"},
                },
            },
            "subject": {
                "type": "object",
                "required": ["id", "content"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "source": {"type": "string"},
                    "content": content,
                },
            },
            "customData": {},
            "customDataContentType": {"type": "string"},
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def render(directory: Path) -> dict[Path, str]:
    """Every file of `schemas/`, path -> text (also used by the drift test)."""
    files: dict[Path, str] = {}
    for name in sorted(GOLIVE_TYPES):
        files[directory / f"{name}.json"] = _dump(event_schema(name))
        files[directory / "examples" / f"{name}.json"] = _dump(EXAMPLES[name])
    return files


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    directory = Path(argv[0] if argv else "schemas")
    for path, text in render(directory).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
