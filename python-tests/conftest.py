"""Fixtures for the Python compatibility suite.

The suite runs the real `syft-proxy` binary (SYFT_PROXY_BIN, default
<repo>/.build/debug/syft-proxy) on 127.0.0.1 with an OS-chosen port, and talks to it
over HTTP only. App B is played by responders in this process: a pull-mode thread
that leases from GET /rpc/inbox/{app} and answers with POST /rpc/reply/{id}, or a
push-mode http.server registered with PUT /rpc/apps/{app}/endpoint.
"""
from __future__ import annotations

import http.server
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BINARY = REPO_ROOT / ".build" / "debug" / "syft-proxy"
STARTUP_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def proxy_binary() -> Path:
    return Path(os.environ.get("SYFT_PROXY_BIN") or DEFAULT_BINARY)


class ServerProcess:
    """One `syft-proxy serve` process on 127.0.0.1, port chosen by the OS."""

    def __init__(self, extra_env: Optional[Dict[str, str]] = None):
        binary = proxy_binary()
        if not binary.exists():
            raise RuntimeError(f"{binary} does not exist; run `swift build` or set SYFT_PROXY_BIN")
        # Inherited PROXY_* settings (a Redis URL, API keys) would change what is under test.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROXY_")}
        env["PROXY_LOG_LEVEL"] = "warning"
        env.update(extra_env or {})
        self.extra_env = dict(extra_env or {})
        self.log = tempfile.NamedTemporaryFile(prefix="syft-proxy-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [str(binary), "serve", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, env=env, text=True,
        )
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.reader = threading.Thread(target=self._read_stdout, name="syft-proxy-stdout", daemon=True)
        self.reader.start()
        self.url, self.replica_id = self._wait_until_listening()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _wait_until_listening(self) -> Tuple[str, str]:
        deadline = time.monotonic() + STARTUP_SECONDS
        seen: List[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(f"syft-proxy did not report listening within {STARTUP_SECONDS} s; stdout: {seen}; log: {self.log_text()}")
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait(timeout=STOP_GRACE_SECONDS)
                raise RuntimeError(f"syft-proxy exited with {code} before listening; stdout: {seen}; log: {self.log_text()}")
            seen.append(line.rstrip("\n"))
            if "listening on " in line:
                fields = line.split()
                url = fields[fields.index("on") + 1]
                replica = next((f.split("=", 1)[1] for f in fields if f.startswith("replica=")), "")
                return url, replica

    def log_text(self) -> str:
        try:
            return Path(self.log.name).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.reader.join(timeout=STOP_GRACE_SECONDS)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


@pytest.fixture(scope="session")
def start_server():
    """Factory: start_server({"PROXY_...": "..."}) -> ServerProcess, stopped when the test run ends."""
    started: List[ServerProcess] = []

    def start(extra_env: Optional[Dict[str, str]] = None) -> ServerProcess:
        server = ServerProcess(extra_env)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="session")
def server(start_server) -> ServerProcess:
    """The main server: embedded store, default settings."""
    return start_server()


@pytest.fixture(scope="session")
def server_url(server) -> str:
    return server.url


@pytest.fixture(scope="session")
def client(server_url):
    with httpx.Client(base_url=server_url, timeout=HTTP_TIMEOUT) as http:
        yield http


# ---------------------------------------------------------------------------
# App B, pull mode


Handler = Callable[[Dict[str, Any]], Any]


class AppError(Exception):
    """Raised by a handler; the responder answers {"error": str(exc)}."""


class PullResponder:
    """Leases requests for (app, destination) and answers each from `handlers[func_name]`.

    A handler gets the params and returns the result; an exception becomes {"error": ...}.
    Every delivery it received is kept in `received`.
    """

    def __init__(self, base_url: str, app: str, destination: str, handlers: Dict[str, Handler], wait: float = 0.5):
        self.base_url = base_url
        self.app = app
        self.destination = destination
        self.handlers = handlers
        self.wait = wait
        self.received: List[Dict[str, Any]] = []
        self.replies: List[httpx.Response] = []
        self.errors: List[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pull-{app}-{destination}", daemon=True)

    def start(self) -> "PullResponder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait + 10)
        assert not self._thread.is_alive(), f"pull responder for {self.app} did not stop"

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(self.wait + 10, connect=5.0)) as http:
            while not self._stop.is_set():
                try:
                    response = http.get(
                        f"/rpc/inbox/{self.app}",
                        params={"destination": self.destination, "max": 10, "wait": self.wait},
                    )
                    response.raise_for_status()
                    for item in response.json()["requests"]:
                        self.received.append(item)
                        self.replies.append(http.post(f"/rpc/reply/{item['id']}", json=self._answer(item)))
                except httpx.HTTPError as exc:
                    self.errors.append(exc)
                    self._stop.wait(0.2)

    def _answer(self, item: Dict[str, Any]) -> Dict[str, Any]:
        handler = self.handlers.get(item["func_name"])
        if handler is None:
            return {"error": f"unknown function {item['func_name']!r}"}
        try:
            return {"result": handler(item["params"])}
        except Exception as exc:  # the app's failure is the caller's answer
            return {"error": str(exc)}


def _raise(message: str) -> Handler:
    def handler(params: Dict[str, Any]) -> Any:
        raise AppError(message)
    return handler


CALCULATOR_APP = "calculator"
CALCULATOR_DESTINATION = "alice@example.com"
CALCULATOR_HANDLERS: Dict[str, Handler] = {
    "add": lambda p: p["a"] + p["b"],
    "multiply": lambda p: p["a"] * p["b"],
}
FAULTY_APP = "faulty"
FAULTY_DESTINATION = "alice@example.com"
FAULTY_MESSAGE = "division by zero"
FAULTY_HANDLERS: Dict[str, Handler] = {"divide": _raise(FAULTY_MESSAGE)}


@pytest.fixture(scope="session")
def pull_responder(server_url):
    """Factory: pull_responder(app, destination, handlers) -> running PullResponder, stopped when the test run ends."""
    running: List[PullResponder] = []

    def start(app: str, destination: str, handlers: Dict[str, Handler], base_url: Optional[str] = None) -> PullResponder:
        responder = PullResponder(base_url or server_url, app, destination, handlers).start()
        running.append(responder)
        return responder

    yield start
    for responder in running:
        responder.stop()


@pytest.fixture(scope="session")
def calculator(pull_responder) -> PullResponder:
    """App "calculator" of alice@example.com, serving add and multiply."""
    return pull_responder(CALCULATOR_APP, CALCULATOR_DESTINATION, CALCULATOR_HANDLERS)


@pytest.fixture(scope="session")
def faulty(pull_responder) -> PullResponder:
    """App "faulty" of alice@example.com, whose every function fails."""
    return pull_responder(FAULTY_APP, FAULTY_DESTINATION, FAULTY_HANDLERS)


# ---------------------------------------------------------------------------
# App B, push mode


PushBehavior = Callable[[Dict[str, Any]], Tuple[int, Any]]


class PushResponder:
    """An HTTP server on 127.0.0.1 that the proxy POSTs requests to.

    `behavior(body)` returns (status, answer); a dict or list answer is sent as JSON, bytes
    as they are. Each POST is kept in `received` as {"path", "headers", "body"}.
    """

    def __init__(self, behavior: PushBehavior, port: int = 0):
        self.behavior = behavior
        self.received: List[Dict[str, Any]] = []
        self.arrived = threading.Condition()
        responder = self

        class RequestHandler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                status, answer = responder.behavior(body)
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                with responder.arrived:
                    responder.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                    responder.arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), RequestHandler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/rpc"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def push_responder(client):
    """Factory: push_responder(app, destination, behavior) -> PushResponder registered with
    PUT /rpc/apps/{app}/endpoint; unregistered and stopped after the test."""
    started: List[Tuple[PushResponder, str, str]] = []

    def start(app: str, destination: str, behavior: PushBehavior) -> PushResponder:
        responder = PushResponder(behavior)
        started.append((responder, app, destination))
        response = client.put(f"/rpc/apps/{app}/endpoint", json={"destination": destination, "url": responder.url})
        assert response.status_code == 200, response.text
        return responder

    yield start
    for responder, app, destination in started:
        client.delete(f"/rpc/apps/{app}/endpoint", params={"destination": destination})
        responder.stop()


# ---------------------------------------------------------------------------
# Shared test utilities


_counter = iter(range(1, 1_000_000))
_counter_lock = threading.Lock()


def unique(prefix: str) -> str:
    """A name no other test uses, so queues and metrics of different tests never mix."""
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}_{os.getpid()}_{n}"


def unique_identity(prefix: str = "user") -> str:
    return f"{unique(prefix)}@example.com"


def poll_status(http: httpx.Client, request_id: str, until: Callable[[Dict[str, Any]], bool], timeout: float = 10.0) -> Dict[str, Any]:
    """Reads /rpc/status/{id} until `until(status)` holds or `timeout` passes; returns the last status."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/rpc/status/{request_id}")
        assert response.status_code == 200, response.text
        status = response.json()
        if until(status) or time.monotonic() >= deadline:
            return status
        time.sleep(0.05)
