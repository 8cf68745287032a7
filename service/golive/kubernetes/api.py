"""The Kubernetes API: the only module that imports kubernetes_asyncio.

kubernetes_asyncio gives configuration (kubeconfig with its auth plugins and contexts,
in-cluster service account with token refresh), TLS and request building. Objects stay
the API's JSON (`_preload_content=False`): the mapping reads camelCase fields as the API
reference names them, and nothing is converted to models and back. The list-then-watch
protocol is the watcher's own, because the library's `Watch` only retries a `410 Gone`
once with the same resourceVersion instead of re-listing. Library and HTTP errors become
golive's errors here.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client, config

from golive.config import ConfigError
from golive.kubernetes.mapping import Kind

# How each kind is listed: (API group path, plural).
RESOURCES: dict[Kind, tuple[str, str]] = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Pod": ("/api/v1", "pods"),
}


class KubernetesUnavailableError(Exception):
    """The API server cannot be reached or failed a request: retry later."""


class ResourceVersionExpiredError(Exception):
    """`410 Gone`: the resourceVersion a watch resumed from is too old. List again."""


class AccessDeniedError(Exception):
    """401/403: the watcher's identity may not do what it needs; the message says what."""


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


async def load_configuration(kubeconfig: Path | None, context: str | None) -> Any:
    """The client configuration: the kubeconfig named, else the pod's service account
    when running in a cluster, else $KUBECONFIG or ~/.kube/config."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return configuration
        path = kubeconfig or Path(os.environ.get("KUBECONFIG") or "~/.kube/config").expanduser()
        if not path.is_file():
            raise ConfigError(
                f"no Kubernetes configuration: {path} does not exist and this is not a pod "
                "(KUBERNETES_SERVICE_HOST is unset). Give --kubeconfig "
                "(or GOLIVE_KUBERNETES_KUBECONFIG), or run the watcher in the cluster with "
                "its ServiceAccount (deploy/kubernetes/watch-kubernetes.yaml)"
            )
        await config.load_kube_config(
            config_file=str(path),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except ConfigError:
        raise
    except Exception as err:  # the loaders raise YAML, OS, key and type errors
        raise ConfigError(
            f"Kubernetes configuration {kubeconfig or 'in-cluster'}: {type(err).__name__}: {err}"
        ) from None
    return configuration


class KubernetesApi:
    """Lists and watches Deployments, ReplicaSets and Pods of one namespace at a time."""

    def __init__(self, configuration: Any, request_timeout: float = 30.0) -> None:
        self._client = client.ApiClient(configuration)
        self._request_timeout = request_timeout

    async def close(self) -> None:
        await self._client.close()

    async def list(self, kind: Kind, namespace: str) -> Listing:
        response = await self._get(kind, namespace, {}, timeout=self._request_timeout)
        try:
            await self._check(response, kind, namespace, "list")
            body = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise KubernetesUnavailableError(f"listing {_what(kind, namespace)}: {err}") from None
        finally:
            response.release()
        items = body.get("items") or []
        version = str((body.get("metadata") or {}).get("resourceVersion") or "")
        return Listing([dict(item) for item in items], version)

    async def watch(
        self, kind: Kind, namespace: str, resource_version: str, timeout_seconds: int
    ) -> AsyncIterator[WatchEvent]:
        """The changes after `resource_version` until the server ends the watch (after
        about `timeout_seconds`). Bookmarks are asked for: they move the resourceVersion
        on in quiet namespaces, so a reconnection rarely needs a re-list."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        # The read timeout outlasts the server's own end of the watch.
        response = await self._get(
            kind, namespace, query, timeout=None, read_timeout=timeout_seconds + 30.0
        )
        try:
            await self._check(response, kind, namespace, "watch")
            while True:
                line = await response.content.readline()
                if not line:
                    return
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    raise _status_error(event.get("object") or {}, kind, namespace, "watch")
                yield WatchEvent(str(event.get("type")), dict(event.get("object") or {}))
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise KubernetesUnavailableError(
                f"watching {_what(kind, namespace)}: {err or type(err).__name__}"
            ) from None
        finally:
            response.release()

    async def _get(
        self,
        kind: Kind,
        namespace: str,
        query: Mapping[str, str],
        *,
        timeout: float | None,
        read_timeout: float | None = None,
    ) -> aiohttp.ClientResponse:
        group, plural = RESOURCES[kind]
        request_timeout: Any = timeout
        if read_timeout is not None:
            request_timeout = aiohttp.ClientTimeout(sock_connect=10, sock_read=read_timeout)
        try:
            response: aiohttp.ClientResponse = await self._client.call_api(
                f"{group}/namespaces/{{namespace}}/{plural}",
                "GET",
                path_params={"namespace": namespace},
                query_params=list(query.items()),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=request_timeout,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise KubernetesUnavailableError(
                f"{_what(kind, namespace)}: cannot reach the API server: "
                f"{err or type(err).__name__}"
            ) from None
        return response

    @staticmethod
    async def _check(
        response: aiohttp.ClientResponse, kind: Kind, namespace: str, verb: str
    ) -> None:
        if response.status < 300:
            return
        try:
            status = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError):
            status = {}
        if not isinstance(status, dict):
            status = {}
        status.setdefault("code", response.status)
        raise _status_error(status, kind, namespace, verb)


def _status_error(status: Mapping[str, Any], kind: Kind, namespace: str, verb: str) -> Exception:
    """A golive error for a Kubernetes `Status` (an HTTP error body, or a watch ERROR)."""
    code = status.get("code")
    message = status.get("message") or status.get("reason") or "no message"
    if code == 410 or status.get("reason") in ("Expired", "Gone"):
        return ResourceVersionExpiredError(f"{_what(kind, namespace)}: {message}")
    if code in (401, 403):
        # The API server's message names the identity, the verb and the resource.
        return AccessDeniedError(
            f"the API server refused to {verb} {_what(kind, namespace)} ({code}: {message}). "
            "The watcher needs get, list and watch on deployments and replicasets (API "
            'group "apps") and pods (core group "") in every namespace it watches: see '
            "deploy/kubernetes/watch-kubernetes.yaml"
        )
    return KubernetesUnavailableError(f"{_what(kind, namespace)}: {code}: {message}")


def _what(kind: Kind, namespace: str) -> str:
    return f"{RESOURCES[kind][1]} in namespace {namespace}"
