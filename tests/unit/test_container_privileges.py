"""golive runs unprivileged wherever deploy/ puts it: the image's user is a numeric,
non-root uid, and every pod and container of the Kubernetes manifests and the compose
file refuses root, privilege escalation, a writable root filesystem and capabilities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def final_stage_user(dockerfile: str) -> str | None:
    """The last USER of the last stage (the one the image runs), None if it has none."""
    stages = re.split(r"^FROM\s", dockerfile, flags=re.M)
    users = re.findall(r"^USER\s+(\S+)", stages[-1], re.M)
    return users[-1] if users else None


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    user = final_stage_user((REPO / "Dockerfile").read_text())
    assert user is not None, "the final stage has no USER: it would run as root"
    # Numeric: Kubernetes' runAsNonRoot can only verify a numeric uid.
    uid, _, gid = user.partition(":")
    for part in (uid, gid or uid):
        assert part.isdigit(), user
        assert int(part) != 0, user


@pytest.mark.parametrize(
    ("dockerfile", "user"),
    [
        ("FROM a AS b\nUSER 10001\nFROM c\n", None),
        ("FROM c\nUSER 10001\nRUN x\nUSER root\n", "root"),
        ("FROM c\nUSER 0:0\n", "0:0"),
    ],
)
def test_the_user_check_reads_the_final_stage_and_its_last_user(
    dockerfile: str, user: str | None
) -> None:
    assert final_stage_user(dockerfile) == user


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in WORKLOADS:
                template = doc["spec"]["template"]
                if doc["kind"] == "CronJob":
                    template = doc["spec"]["jobTemplate"]["spec"]["template"]
                specs.append((f"{path.name} {doc['metadata']['name']}", template["spec"]))
    return specs


def test_there_are_workloads_to_check() -> None:
    names = [name for name, _ in pod_specs()]
    assert any(n.startswith("deployment.yaml") for n in names)
    assert any(n.startswith("watch-kubernetes.yaml") for n in names)


@pytest.mark.parametrize(("name", "spec"), pod_specs())
def test_every_pod_and_container_runs_unprivileged(name: str, spec: dict[str, Any]) -> None:
    pod = spec.get("securityContext", {})
    assert pod.get("runAsNonRoot") is True, name
    assert pod.get("runAsUser", 1) != 0, name
    assert spec.get("hostNetwork", False) is False, name
    for container in spec.get("initContainers", []) + spec["containers"]:
        context = container.get("securityContext", {})
        where = f"{name} container {container['name']}"
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("privileged", False) is False, where
        assert context.get("runAsUser", 1) != 0, where
        assert "ALL" in context.get("capabilities", {}).get("drop", []), where
        assert not context.get("capabilities", {}).get("add"), where


def test_the_compose_golive_instances_run_unprivileged() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    golive = {n: s for n, s in compose["services"].items() if s.get("image") == "golive:local"}
    assert golive
    for name, service in golive.items():
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert service.get("user", "10001") not in ("0", "root"), name
