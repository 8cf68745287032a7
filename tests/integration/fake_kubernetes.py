"""A local HTTP server that speaks the Kubernetes list and watch protocol for Deployments,
ReplicaSets and Pods: enough of an API server for `golive watch-kubernetes`.

Lists answer with the collection's resourceVersion; `?watch=true&resourceVersion=N`
streams (chunked, one JSON object per line) every change after N, then new ones as the
test makes them, until `timeoutSeconds`. A test can make the next watch of a kind answer
with the API server's `410 Gone` ERROR event (the resourceVersion fell out of its window),
and requires the bearer token a kubeconfig names.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "fake-kubernetes-token"
PLURALS = {"deployments": "Deployment", "replicasets": "ReplicaSet", "pods": "Pod"}


class FakeKubernetes:
    def __init__(self) -> None:
        self._version = 50_000
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # kind, ns, name
        self._history: list[tuple[int, str, str, dict[str, Any]]] = []  # rv, kind, type, obj
        self._changed = asyncio.Condition()
        self._expire_next: set[str] = set()
        self.lists: Counter[str] = Counter()
        self.watches: Counter[str] = Counter()
        self.denied: set[str] = set()  # kinds whose requests answer 403
        self.url = ""
        self._runner: web.AppRunner | None = None

    # --- what the test does ------------------------------------------------------------

    async def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        """A change in the cluster: stored with a new resourceVersion, sent to watchers."""
        obj = copy.deepcopy(obj)
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        meta = obj["metadata"]
        key = (obj["kind"], meta["namespace"], meta["name"])
        if event_type == "DELETED":
            self._objects.pop(key, None)
        else:
            self._objects[key] = obj
        async with self._changed:
            self._history.append((self._version, obj["kind"], event_type, obj))
            self._changed.notify_all()

    def expire_next_watch(self, kind: str) -> None:
        self._expire_next.add(kind)

    def kubeconfig(self, path: Path) -> Path:
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "watcher", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "watcher"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(document))  # JSON is YAML
        return path

    # --- the server ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[FakeKubernetes]:
        app = web.Application()
        app.router.add_get("/apis/apps/v1/namespaces/{namespace}/{plural}", self._handle)
        app.router.add_get("/api/v1/namespaces/{namespace}/{plural}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            async with self._changed:
                self._changed.notify_all()
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        kind = PLURALS.get(request.match_info["plural"])
        if kind is None:
            raise web.HTTPNotFound()
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "Unauthorized")
        namespace = request.match_info["namespace"]
        if kind in self.denied:
            return _status(
                403,
                "Forbidden",
                f'{request.match_info["plural"]} is forbidden: User "system:serviceaccount:'
                f'golive:golive-watch-kubernetes" cannot list resource '
                f'"{request.match_info["plural"]}" in API group "" in the namespace '
                f'"{namespace}"',
            )
        if request.query.get("watch") == "true":
            return await self._watch(request, kind, namespace)
        self.lists[kind] += 1
        items = [
            o for (k, ns, _), o in sorted(self._objects.items()) if k == kind and ns == namespace
        ]
        return web.json_response(
            {
                "kind": f"{kind}List",
                "apiVersion": "apps/v1" if kind != "Pod" else "v1",
                "metadata": {"resourceVersion": str(self._version)},
                "items": items,
            }
        )

    async def _watch(self, request: web.Request, kind: str, namespace: str) -> web.StreamResponse:
        self.watches[kind] += 1
        since = int(request.query.get("resourceVersion") or 0)
        timeout = float(request.query.get("timeoutSeconds") or 300)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if kind in self._expire_next:
            self._expire_next.discard(kind)
            expired = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {since} ({self._version})",
                "reason": "Expired",
                "code": 410,
            }
            await response.write(_line({"type": "ERROR", "object": expired}))
            return response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        sent = since
        while request.transport is not None and not request.transport.is_closing():
            async with self._changed:
                pending = [
                    (rv, t, o)
                    for rv, k, t, o in self._history
                    if rv > sent and k == kind and o["metadata"]["namespace"] == namespace
                ]
                if not pending:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
                    continue
            for rv, event_type, obj in pending:
                await response.write(_line({"type": event_type, "object": obj}))
                sent = rv
        return response


def _line(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode() + b"\n"


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)
