"""The Python WebSocket example app (examples/python-websocket-app/app.py) against the real
server binary: round trips from an HTTP client, the app's errors, API keys, and a socket
that drops handing its requests to the next one."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import httpx
import pytest

from conftest import HTTP_TIMEOUT, REPO_ROOT, poll_status, unique_identity

APP = REPO_ROOT / "examples" / "python-websocket-app" / "app.py"


class ExampleApp:
    def __init__(self, url: str, identity: str, api_key: Optional[str] = None, concurrency: int = 16):
        command: List[str] = [sys.executable, str(APP), "--url", url, "--identity", identity, "--concurrency", str(concurrency)]
        if api_key:
            command += ["--api-key", api_key]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_connected(self, timeout: float = 10.0) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("connected"):
                return
            if not line and self.process.poll() is not None:
                raise AssertionError(f"app exited with {self.process.returncode}: {self.process.stderr.read() if self.process.stderr else ''}")
        raise AssertionError("app did not connect within the timeout")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


@pytest.fixture
def example_app():
    started: List[ExampleApp] = []

    def start(url: str, identity: str, **options) -> ExampleApp:
        app = ExampleApp(url, identity, **options)
        started.append(app)
        app.wait_connected()
        return app

    yield start
    for app in started:
        app.stop()


def call(http: httpx.Client, identity: str, function: str, params: dict, headers: Optional[dict] = None) -> httpx.Response:
    body = {"app_name": "calculator", "func_name": function, "destination": identity, "params": params, "blocking": True, "timeout": 10}
    return http.post("/rpc/send", json=body, headers=headers or {})


def test_round_trips_through_the_example_app(server_url, client, example_app):
    identity = unique_identity("ws")
    example_app(server_url, identity)
    for a, b in [(1, 2), (2.5, 4), (-3, 3)]:
        response = call(client, identity, "add", {"a": a, "b": b})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "completed"
        assert response.json()["result"] == a + b
    product = call(client, identity, "multiply", {"a": 6, "b": 7}).json()
    assert product["result"] == 42
    unknown = call(client, identity, "divide", {"a": 1, "b": 0}).json()
    assert unknown["status"] == "failed"
    assert "no function 'divide'" in unknown["error"]
    metrics = client.get("/metrics").text
    assert 'rpc_deliveries_total{mode="websocket"}' in metrics


def test_requests_queued_before_the_app_connects_are_served(server_url, client, example_app):
    identity = unique_identity("ws")
    ids = []
    for n in range(5):
        body = {"app_name": "calculator", "func_name": "add", "destination": identity, "params": {"a": n, "b": 1}}
        ids.append(client.post("/rpc/send", json=body).json()["id"])
    example_app(server_url, identity, concurrency=2)
    for n, request_id in enumerate(ids):
        status = poll_status(client, request_id, lambda s: s["status"] in ("completed", "failed"))
        assert status["status"] == "completed"
        assert status["result"] == n + 1


def test_api_keys_refuse_other_identities_and_serve_the_owner(start_server, example_app):
    server = start_server({"PROXY_API_KEYS": "bob-key-0001=bob@example.com,carol-key-001=carol@example.com"})
    refused = ExampleApp(server.url, "bob@example.com", api_key="carol-key-001")
    try:
        assert refused.process.wait(timeout=10) == 1
        assert refused.process.stderr is not None and "HTTP 403" in refused.process.stderr.read()
    finally:
        refused.stop()
    example_app(server.url, "bob@example.com", api_key="bob-key-0001")
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as http:
        response = call(http, "bob@example.com", "add", {"a": 20, "b": 1}, headers={"X-API-Key": "carol-key-001"})
        assert response.json()["result"] == 21


def test_a_dropped_socket_hands_its_requests_to_the_next(server_url, client, example_app):
    import asyncio
    import json

    import websockets

    identity = unique_identity("ws")
    body = {"app_name": "calculator", "func_name": "add", "destination": identity, "params": {"a": 1, "b": 1}}
    request_id = client.post("/rpc/send", json=body).json()["id"]
    ws_url = server_url.replace("http://", "ws://") + f"/rpc/connect/calculator?destination={identity}"

    async def take_and_drop() -> dict:
        async with websockets.connect(ws_url) as socket:
            return json.loads(await asyncio.wait_for(socket.recv(), 10))

    item = asyncio.run(take_and_drop())
    assert item["id"] == request_id and item["attempts"] == 1
    example_app(server_url, identity)
    status = poll_status(client, request_id, lambda s: s["status"] == "completed")
    assert status["result"] == 2
    assert status["attempts"] == 2
