"""`golive watch-kubernetes` against a local server speaking the Kubernetes watch protocol
(tests/integration/fake_kubernetes.py), producing to the real broker, with a real
`golive run` consuming into Postgres. No cluster runs here; the server replays a recorded
stream (tests/fixtures/kubernetes/) one change at a time, on a clock the test moves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.clock import FrozenClock, SystemClock
from golive.config import ConfigError
from golive.kubernetes import watcher
from golive.kubernetes.api import RESOURCES
from golive.kubernetes.watcher import KubernetesWatcher
from tests.integration.fake_kubernetes import FakeKubernetes
from tests.integration.service import running, service_env, settings_for, wait_for

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes"


def recorded(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (STREAMS / f"{name}.jsonl").read_text().splitlines()]


def watcher_settings(env: dict[str, str], fake: FakeKubernetes, tmp_path: Path) -> Any:
    return settings_for(
        env
        | {
            "GOLIVE_KUBERNETES_NAMESPACES": "shop",
            "GOLIVE_KUBERNETES_NAMESPACE_ENVIRONMENTS": "shop=prod",
            "GOLIVE_KUBERNETES_KUBECONFIG": str(fake.kubeconfig(tmp_path / "kubeconfig")),
            "GOLIVE_KUBERNETES_CLUSTER": "test",
        }
    )


def reached(task: asyncio.Task[int], condition: Callable[[], bool]) -> Callable[[], bool]:
    """`condition`, failing at once with the watcher's own error if it died."""

    def check() -> bool:
        if task.done():
            task.result()
            raise AssertionError("the watcher stopped by itself")
        return condition()

    return check


@pytest.mark.asyncio
async def test_watcher_follows_a_recreate_rollout_into_golive_with_its_downtime(
    kafka_bootstrap: str, topic: str, database_url: str, tmp_path: Path
) -> None:
    lines = recorded("recreate-with-downtime")
    opening = [line for line in lines if line["at"] == lines[0]["at"]]
    origin = datetime.fromisoformat(lines[0]["at"])
    # An hour ago, whole seconds: the rollout is history by the time golive reads it.
    start = SystemClock().now().replace(microsecond=0) - timedelta(hours=1)
    clock = FrozenClock(start)
    env = service_env(kafka_bootstrap, topic, database_url)
    watchers: list[KubernetesWatcher] = []
    stop = asyncio.Event()

    async with FakeKubernetes().serving() as fake, running(env) as golive:
        for line in opening:
            await fake.apply(line["type"], line["object"])
        fake.expire_next_watch("Deployment")  # its first watch answers 410 Gone
        task = asyncio.create_task(
            watcher.run(
                watcher_settings(env, fake, tmp_path),
                clock,
                stop,
                handle_signals=False,
                on_watcher=watchers.append,
            )
        )
        try:
            # The first list, then the re-list after the 410.
            await wait_for(
                reached(task, lambda: bool(watchers) and watchers[0].observed >= 2),
                timeout=30,
                what="the namespace listed, and the deployments listed again after 410 Gone",
            )
            assert fake.lists["Deployment"] == 2
            (running_watcher,) = watchers
            observed = 2
            for line in lines[len(opening) :]:
                now = start + (datetime.fromisoformat(line["at"]) - origin)
                clock.advance((now - clock.now()).total_seconds())
                await fake.apply(line["type"], line["object"])
                observed += 1
                # Observed (and its events produced) before the clock moves on.
                await wait_for(
                    reached(task, lambda n=observed: running_watcher.observed >= n),  # type: ignore[misc]
                    timeout=15,
                    what=f"the watcher to observe {line['type']} {line['object']['kind']}",
                )
            assert fake.watches["Deployment"] >= 2
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 30) == 0

        async def finished() -> list[dict[str, Any]]:
            rollouts: list[dict[str, Any]] = (await golive.get("/api/v1/rollouts")).json()
            return [r for r in rollouts if r["outcome"] is not None]

        await wait_for(finished, timeout=60, what="the rollout finished in golive")
        (rollout,) = await finished()

    assert rollout["id"] == "k8s/shop/checkout/2-9f8c2d4e"
    assert (rollout["service"], rollout["environment"]) == ("checkout", "prod")
    assert (rollout["fromVersion"], rollout["toVersion"]) == ("1.4.1", "1.4.2")
    assert rollout["outcome"] == "succeeded"
    assert rollout["durationSeconds"] == pytest.approx(13.1, abs=0.01)
    # No pod ready from the old pods' termination (10.05 s) to the first new one (21 s).
    assert rollout["downtimeSeconds"] == pytest.approx(10.95, abs=0.01)
    assert running_watcher.produced == 7  # started, 5 samples, finished


@pytest.mark.asyncio
async def test_a_missing_permission_stops_the_watcher_and_names_it(tmp_path: Path) -> None:
    env = {"GOLIVE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}  # never reached
    async with FakeKubernetes().serving() as fake:
        fake.denied.add("Pod")
        settings = watcher_settings(env, fake, tmp_path)

        with pytest.raises(ConfigError) as refused:
            await asyncio.wait_for(watcher.run(settings, handle_signals=False), 30)

    message = str(refused.value)
    assert "refused to list pods in namespace shop (403" in message
    assert 'cannot list resource "pods"' in message
    assert "deploy/kubernetes/watch-kubernetes.yaml" in message


def test_the_example_manifest_grants_exactly_what_the_watcher_reads() -> None:
    manifest = (
        Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "watch-kubernetes.yaml"
    )
    documents = {d["kind"]: d for d in yaml.safe_load_all(manifest.read_text())}

    granted = {
        ("/apis/apps/v1" if group == "apps" else "/api/v1", resource)
        for rule in documents["ClusterRole"]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        if set(rule["verbs"]) == {"get", "list", "watch"}
    }
    assert granted == set(RESOURCES.values())
    account = documents["ServiceAccount"]["metadata"]["name"]
    (subject,) = documents["RoleBinding"]["subjects"]
    assert (subject["kind"], subject["name"]) == ("ServiceAccount", account)
    assert (
        documents["RoleBinding"]["roleRef"]["name"] == documents["ClusterRole"]["metadata"]["name"]
    )
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account
    (container,) = pod["containers"]
    assert container["args"] == ["watch-kubernetes"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert documents["RoleBinding"]["metadata"]["namespace"] in env[
        "GOLIVE_KUBERNETES_NAMESPACES"
    ].split(",")
