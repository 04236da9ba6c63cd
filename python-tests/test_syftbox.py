"""The SyftBox transport against real syft-event apps.

Each app is the PyPI syft-event package (python-tests/syftbox/pingpong_app.py) serving
`ping` and `add` over a temporary datasites folder, exactly as a SyftBox app would on a
datasite. The proxy shares that folder (PROXY_SYFTBOX_DATA_DIR) and writes as
proxy@example.com; callers talk to the proxy over HTTP only.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import httpx
import pytest

from conftest import HTTP_TIMEOUT, ServerProcess, poll_status

APP = "pingpong"
PROXY_EMAIL = "proxy@example.com"
APP_SCRIPT = Path(__file__).resolve().parent / "syftbox" / "pingpong_app.py"
STARTUP_SECONDS = 30.0


class SyftEventApp:
    """One syft-event process serving APP for `email` over `data_dir`."""

    def __init__(self, data_dir: Path, email: str):
        self.data_dir = data_dir
        self.email = email
        self.log = tempfile.NamedTemporaryFile(prefix=f"syft-event-{email}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, str(APP_SCRIPT), str(data_dir), email, APP],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        schema = self.rpc_dir / "rpc.schema.json"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not schema.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"syft-event app for {email} did not start: {self.log_text()}")
            time.sleep(0.05)

    @property
    def rpc_dir(self) -> Path:
        return self.data_dir / "datasites" / self.email / "app_data" / APP / "rpc"

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        os.unlink(self.log.name)


def request_files(data_dir: Path, pattern: str = "*.request") -> List[Path]:
    return sorted((data_dir / "datasites").rglob(pattern))


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def send(http: httpx.Client, func: str, params: Dict, destination: str = "bob@example.com", blocking: bool = True,
         timeout: float = 15) -> httpx.Response:
    return http.post("/rpc/send", json={
        "app_name": APP, "func_name": func, "destination": destination,
        "params": params, "blocking": blocking, "timeout": timeout,
    })


@pytest.fixture(scope="module")
def data_dir():
    path = Path(tempfile.mkdtemp(prefix="syftbox-data-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def apps(data_dir):
    started = [SyftEventApp(data_dir, "bob@example.com"), SyftEventApp(data_dir, "carol@example.com")]
    yield {app.email: app for app in started}
    for app in started:
        app.stop()


@pytest.fixture(scope="module")
def proxy(data_dir, apps):
    server = ServerProcess({"PROXY_SYFTBOX_DATA_DIR": str(data_dir), "PROXY_SYFTBOX_EMAIL": PROXY_EMAIL})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(proxy):
    with httpx.Client(base_url=proxy.url, timeout=HTTP_TIMEOUT) as client:
        yield client


def test_blocking_send_returns_the_apps_json_answer(http, data_dir):
    response = send(http, "add", {"a": 2, "b": 40})
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "completed", status
    assert status["result"] == {"sum": 42}
    # Both files are gone once the answer is recorded.
    wait_until(lambda: not request_files(data_dir, f"{status['id']}.*"), 5, "request and response files to be removed")


def test_text_answer_comes_back_as_a_string(http):
    status = send(http, "ping", {}).json()
    assert (status["status"], status["result"]) == ("completed", "pong")


def test_pair_is_routed_through_syftbox_because_its_app_folder_exists(http):
    send(http, "ping", {})
    endpoint = http.get(f"/rpc/apps/{APP}/endpoint", params={"destination": "bob@example.com"}).json()
    assert endpoint == {"app_name": APP, "destination": "bob@example.com",
                        "url": f"syft://bob@example.com/app_data/{APP}/rpc", "transport": "syftbox"}


def test_non_blocking_send_completes_when_polled(http):
    response = send(http, "add", {"a": 1.5, "b": 2}, blocking=False)
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("pending", "processing", "completed")
    status = poll_status(http, response.json()["id"], lambda s: s["status"] in ("completed", "failed"))
    assert (status["status"], status["result"]) == ("completed", {"sum": 3.5})


def test_broadcast_reaches_every_datasite(http):
    destinations = [f"syft://{who}/app_data/{APP}/rpc/add" for who in ("bob@example.com", "carol@example.com")]
    response = http.post("/rpc/broadcast", json={"destinations": destinations, "func_name": "add",
                                                 "params": {"a": 20, "b": 1}, "timeout": 15})
    assert response.status_code == 200, response.text
    ids = response.json()["request_ids"]
    assert len(ids) == 2
    for request_id, who in zip(ids, ("bob@example.com", "carol@example.com")):
        status = poll_status(http, request_id, lambda s: s["status"] in ("completed", "failed"))
        assert (status["status"], status["result"], status["destination"]) == ("completed", {"sum": 21}, who)


def test_many_concurrent_calls_all_complete(http):
    ids = [send(http, "add", {"a": n, "b": n}, blocking=False).json()["id"] for n in range(30)]
    for n, request_id in enumerate(ids):
        status = poll_status(http, request_id, lambda s: s["status"] in ("completed", "failed"), timeout=20)
        assert (status["status"], status["result"]) == ("completed", {"sum": 2 * n})


def test_handler_error_fails_the_request_and_the_proxy_keeps_serving(http):
    status = send(http, "add", {"a": "two", "b": 2}).json()
    assert status["status"] == "failed"
    assert "status 500" in status["error"], status["error"]
    assert send(http, "add", {"a": 1, "b": 1}).json()["result"] == {"sum": 2}


def test_schema_falls_back_to_the_apps_published_file(http):
    response = http.get(f"/rpc/schema/{APP}")
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["app_name"] == APP and schema["source"] == "syftbox"
    assert set(schema["functions"]) == {"ping", "add"}
    assert schema["functions"]["add"]["params"] == {"body": "dict"}


def test_unanswered_request_times_out_and_its_file_is_removed(http, data_dir):
    # Registered explicitly for a datasite where no app runs: nothing will answer.
    who = "dave@example.com"
    registered = http.put(f"/rpc/apps/{APP}/endpoint", json={"destination": who, "transport": "syftbox"})
    assert registered.status_code == 200, registered.text
    response = send(http, "ping", {}, destination=who, timeout=1)
    assert response.status_code == 504
    status = response.json()
    assert status["status"] == "failed" and "timed out" in status["error"]
    wait_until(lambda: not request_files(data_dir, f"{status['id']}.request"), 5, "the expired request file to be removed")


def test_garbage_answer_file_fails_the_request_with_a_clear_error(http, data_dir):
    who = "erin@example.com"
    assert http.put(f"/rpc/apps/{APP}/endpoint", json={"destination": who, "transport": "syftbox"}).status_code == 200
    request_id = send(http, "ping", {}, destination=who, blocking=False, timeout=30).json()["id"]
    wait_until(lambda: request_files(data_dir, f"{request_id}.request"), 5, "the request file")
    request_file = request_files(data_dir, f"{request_id}.request")[0]
    pending = [line for line in http.get("/metrics").text.splitlines() if line.startswith("rpc_syftbox_pending_requests ")]
    assert pending and float(pending[0].split()[1]) >= 1, pending
    written = json.loads(request_file.read_text())
    assert written["id"] == request_id and written["sender"] == PROXY_EMAIL and written["method"] == "POST"
    assert written["url"] == f"syft://{who}/app_data/{APP}/rpc/ping"
    assert written["expires"].endswith("Z") and written["created"].endswith("Z")
    # Written in place, the way a careless responder would, and never fixed.
    request_file.with_name(f"{request_id}.response").write_text('{"status_code": 200, "body": "not-base64!"')
    status = poll_status(http, request_id, lambda s: s["status"] == "failed", timeout=10)
    assert status["status"] == "failed"
    assert "not a valid syft-rpc response" in status["error"], status["error"]
    assert send(http, "ping", {}).json()["result"] == "pong"


def test_partial_answer_is_retried_until_complete(http, data_dir):
    who = "frank@example.com"
    assert http.put(f"/rpc/apps/{APP}/endpoint", json={"destination": who, "transport": "syftbox"}).status_code == 200
    request_id = send(http, "add", {"a": 1, "b": 2}, destination=who, blocking=False, timeout=30).json()["id"]
    wait_until(lambda: request_files(data_dir, f"{request_id}.request"), 5, "the request file")
    response_file = request_files(data_dir, f"{request_id}.request")[0].with_name(f"{request_id}.response")
    whole = json.dumps({"id": request_id, "sender": who, "status_code": 200, "body": "eyJzdW0iOjN9"})
    response_file.write_text(whole[:20])
    time.sleep(0.6)
    assert http.get(f"/rpc/status/{request_id}").json()["status"] != "failed"
    response_file.write_text(whole)
    status = poll_status(http, request_id, lambda s: s["status"] in ("completed", "failed"))
    assert (status["status"], status["result"]) == ("completed", {"sum": 3})


def test_registration_is_validated(http):
    put = lambda body: http.put(f"/rpc/apps/{APP}/endpoint", json=body)
    no_dot = put({"destination": "bob@localhost", "transport": "syftbox"})
    assert no_dot.status_code == 422 and no_dot.json()["detail"][0]["loc"] == ["body", "destination"]
    with_url = put({"destination": "bob@example.com", "transport": "syftbox", "url": "http://127.0.0.1:1/"})
    assert with_url.status_code == 422 and with_url.json()["detail"][0]["loc"] == ["body", "url"]
    unknown = put({"destination": "bob@example.com", "transport": "carrier-pigeon"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "transport"]


def test_a_syft_rpc_client_on_the_proxys_own_identity_keeps_its_files(http, apps, data_dir):
    """The same user's notebook: a syft-rpc client writing as the proxy's identity, into the very
    folder the proxy writes to, sends to the app and reads its answer only after the proxy's
    folder sweep ran (every 10 s; it looks at answers unclaimed for 5 s and at expired requests).
    Those files are not the proxy's: it never wrote them and the store never heard of their ids,
    so it neither answers from them nor removes them, expired or not."""
    from syft_core import Client, SyftClientConfig
    from syft_rpc import rpc

    client = Client(SyftClientConfig(email=PROXY_EMAIL, data_dir=data_dir, path=data_dir / ".notebook.config.json",
                                     server_url="http://127.0.0.1:9"))
    url = f"syft://bob@example.com/app_data/{APP}/rpc/add"
    live = rpc.send(url=url, method="POST", body={"a": 1, "b": 2}, client=client, cache=False)
    # Expires 2 s after it was written: past that the sweep would clean up a request of its own.
    short = rpc.send(url=url, method="POST", body={"a": 3, "b": 4}, client=client, cache=False, expiry="2s")
    for future in (live, short):
        wait_until(future.response_path.exists, 10, "the app's answer to the notebook's request")
        assert future.request_path.parent == data_dir / "datasites" / "bob@example.com" / "app_data" / APP / "rpc" / "add" / PROXY_EMAIL
    # Past the 5 s an answer may sit unclaimed, plus a full 10 s sweep period.
    time.sleep(16.5)
    for future in (live, short):
        assert future.request_path.exists() and future.response_path.exists(), f"the proxy removed {future.id}'s files"
    answer = live.resolve()
    assert answer is not None and int(answer.status_code) == 200, answer
    assert json.loads(answer.body) == {"sum": 3}
    late = short.resolve()
    # syft-rpc itself reports an answer read after its `expires` as 419, keeping the body.
    assert late is not None and int(late.status_code) == 419 and json.loads(late.body) == {"sum": 7}, late
    # syft-rpc removes both files once it has read them; the proxy still serves its own calls.
    assert not live.response_path.exists() and not short.response_path.exists()
    assert send(http, "add", {"a": 5, "b": 5}).json()["result"] == {"sum": 10}


def test_reserved_headers_of_the_caller_never_reach_the_request_file(http, data_dir):
    who = "grace@example.com"
    assert http.put(f"/rpc/apps/{APP}/endpoint", json={"destination": who, "transport": "syftbox"}).status_code == 200
    response = http.post("/rpc/send", json={
        "app_name": APP, "func_name": "ping", "destination": who, "params": {}, "blocking": False, "timeout": 30,
        "headers": {"X-SYFT-PROXY-SENDER": "mallory@example.com", "TraceParent": "00-" + "f" * 32 + "-" + "f" * 16 + "-01",
                    "x-kept": "yes"},
    })
    assert response.status_code == 200, response.text
    request_id = response.json()["id"]
    wait_until(lambda: request_files(data_dir, f"{request_id}.request"), 5, "the request file")
    headers = json.loads(request_files(data_dir, f"{request_id}.request")[0].read_text())["headers"]
    assert {name.lower() for name in headers} == set(headers), headers
    assert "mallory@example.com" not in headers.values() and headers.get("x-kept") == "yes", headers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait(timeout=5)


def run_replica_handover(redis_url: str, lease_seconds: str, stop_writer, attempts: int) -> None:
    """Two replicas share Redis and the folder; the one that wrote the request file goes away
    (how is `stop_writer`'s business) before the app answers, and the other must finish it."""
    data_dir = Path(tempfile.mkdtemp(prefix="syftbox-cluster-"))
    env = {"PROXY_SYFTBOX_DATA_DIR": str(data_dir), "PROXY_SYFTBOX_EMAIL": PROXY_EMAIL,
           "PROXY_REDIS_URL": redis_url, "PROXY_LEASE_SECONDS": lease_seconds}
    replicas = [ServerProcess(env), ServerProcess(env)]
    app: Optional[SyftEventApp] = None
    try:
        with httpx.Client(base_url=replicas[0].url, timeout=HTTP_TIMEOUT) as via_first:
            registered = via_first.put(f"/rpc/apps/{APP}/endpoint", json={"destination": "bob@example.com", "transport": "syftbox"})
            assert registered.status_code == 200, registered.text
            request_id = send(via_first, "add", {"a": 4, "b": 5}, blocking=False, timeout=60).json()["id"]
        wait_until(lambda: request_files(data_dir, f"{request_id}.request"), 10, "the request file")
        # Either replica's forwarder may have taken the delivery; the writer is the one waiting.
        waiting = [syftbox_pending(replica) for replica in replicas]
        assert sorted(waiting) == [0, 1], waiting
        writer = replicas[waiting.index(1)]
        survivor = replicas[waiting.index(0)]
        stop_writer(writer)
        # The app starts only now, answers the waiting file, and only the other replica is left.
        app = SyftEventApp(data_dir, "bob@example.com")
        # 8 s is inside the lease of the hand-back test and shorter than the folder sweep's
        # fallback (an answer unclaimed for 5 s, looked for every 10 s), so only the intended
        # path can pass.
        with httpx.Client(base_url=survivor.url, timeout=HTTP_TIMEOUT) as via_second:
            status = poll_status(via_second, request_id, lambda s: s["status"] in ("completed", "failed"), timeout=8)
        assert (status["status"], status["result"]) == ("completed", {"sum": 9}), status
        assert status["attempts"] == attempts, status
        wait_until(lambda: not request_files(data_dir, f"{request_id}.*"), 5, "the files to be removed")
    finally:
        if app:
            app.stop()
        for replica in replicas:
            replica.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def syftbox_pending(replica: ServerProcess) -> int:
    metrics = httpx.get(f"{replica.url}/metrics", timeout=HTTP_TIMEOUT).text
    lines = [line for line in metrics.splitlines() if line.startswith("rpc_syftbox_pending_requests ")]
    return int(float(lines[0].split()[1])) if lines else 0


def test_request_survives_the_death_of_the_replica_that_wrote_it(redis_url):
    def kill(replica: ServerProcess) -> None:
        replica.process.kill()
        replica.process.wait(timeout=5)
    # SIGKILL leaves the lease to expire (2 s here); another replica then takes over the wait.
    # The expired lease counts as a failed delivery: attempts 2.
    run_replica_handover(redis_url, "2", kill, attempts=2)


def test_replica_shutting_down_hands_its_waiting_requests_over_at_once(redis_url):
    # With a 60 s lease, only the hand-back on SIGTERM lets the other replica finish in time.
    # A lease handed back is not a failed delivery (the file was never written twice): attempts 1.
    run_replica_handover(redis_url, "60", lambda replica: replica.stop(), attempts=1)
