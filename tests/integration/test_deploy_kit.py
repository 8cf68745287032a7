"""The deployment kit: deploy/compose.yaml as `docker-compose config` resolves it, the
Dockerfile, and deploy/kubernetes/ against the Kubernetes API schemas. No container runs
here, so these check what can be checked without one."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.31"
SECRETS = {"GOLIVE_API_TOKEN": "test-token", "GOLIVE_DB_PASSWORD": "test-password"}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose not found: run `make tools` (Debian package docker-compose)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "GRAFANA_"))}
    return subprocess.run(
        [binary, "--project-name", "golive", "--file", str(COMPOSE), "config"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_file_is_valid_and_has_every_part(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "kafka",
        "kafka-topics",
        "postgres",
        "golive-0",
        "golive-1",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    images = {name: s.get("image", "") for name, s in compose["services"].items()}
    assert images["kafka"].startswith("apache/kafka:")  # the official image, KRaft mode
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name, image in images.items():
        assert ":" in image, f"{name}: image not pinned"
        assert not image.endswith(":latest"), name


def test_the_two_golive_instances_share_one_group_and_wait_for_their_dependencies(
    compose: dict[str, Any],
) -> None:
    first, second = (compose["services"][f"golive-{i}"] for i in (0, 1))
    assert first["environment"] == second["environment"]
    env = first["environment"]
    assert env["GOLIVE_KAFKA_GROUP_ID"] == "golive"
    assert env["GOLIVE_API_TOKEN"] == "test-token"
    assert env["GOLIVE_DATABASE_URL"] == "postgresql://golive:test-password@postgres:5432/golive"
    assert first["depends_on"] == {
        "kafka-topics": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
    }
    assert first["build"]["context"] == str(REPO)
    # Prometheus scrapes them by these names (deploy/prometheus/prometheus.yml).
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["golive-0:8080", "golive-1:8080"]


def test_published_ports_listen_on_the_host_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_compose_refuses_to_start_without_the_secrets() -> None:
    result = compose_config({})
    assert result.returncode != 0
    assert "set GOLIVE_" in result.stderr
    assert "in deploy/.env" in result.stderr


def test_the_image_is_slim_runs_as_non_root_and_has_a_healthcheck() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert len(bases) == 2  # build stage, runtime
    assert all(b.endswith("-slim") for b in bases), bases
    (user,) = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user.split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in dockerfile
    assert "/healthz" in dockerfile
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[1:5] == ["*", "!pyproject.toml", "!README.md", "!service/"]


def kubernetes_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] != "Kustomization":
                documents.append((path.name, doc))
    return documents


@pytest.mark.parametrize(("name", "document"), kubernetes_documents())
def test_kubernetes_manifests_match_the_api_schema(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_can_fail() -> None:
    deployment = dict(kubernetes_documents())["deployment.yaml"]
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_deployment_probes_secrets_scrape_and_runs_as_non_root() -> None:
    documents = dict(kubernetes_documents())
    pod = documents["deployment.yaml"]["spec"]["template"]
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    (container,) = spec["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "memory" in container["resources"]["limits"]
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
    }
    assert secrets == {
        "GOLIVE_DATABASE_URL": {"name": "golive", "key": "database-url"},
        "GOLIVE_API_TOKEN": {"name": "golive", "key": "api-token"},
        "GOLIVE_API_READ_TOKEN": {"name": "golive", "key": "api-read-token", "optional": True},
    }
    assert set(documents["secret.example.yaml"]["stringData"]) == {
        "database-url",
        "api-token",
        "api-read-token",
    }
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]
    listed = {p.name for p in KUBERNETES.glob("*.yaml")} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }
    assert set(kustomization["resources"]) == listed
