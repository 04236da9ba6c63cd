"""HTTP-level checks of the contract (SPEC.md) against a server on the embedded store."""
from __future__ import annotations

import re
import socket
import threading
import time
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from conftest import (
    CALCULATOR_APP,
    CALCULATOR_DESTINATION,
    HTTP_TIMEOUT,
    PushResponder,
    poll_status,
    unique,
    unique_identity,
)

STATUS_FIELDS = {
    "id", "app_name", "func_name", "destination", "sender", "status", "result", "error",
    "created_at", "updated_at", "completed_at", "attempts",
}
INBOX_FIELDS = {"id", "app_name", "func_name", "params", "headers", "sender", "deadline", "attempts"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
NO_ROUTE = "Not Found: no route for "


def send(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/rpc/send", json=body)


def lease(http: httpx.Client, app: str, destination: str, wait: float = 5, **query: Any) -> List[Dict[str, Any]]:
    response = http.get(f"/rpc/inbox/{app}", params={"destination": destination, "wait": wait, **query})
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def metric_samples(http: httpx.Client, name: str) -> Dict[str, float]:
    """Samples of one metric from /metrics, keyed by their label text."""
    response = http.get("/metrics")
    assert response.status_code == 200
    samples: Dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(rf"^{re.escape(name)}(\{{.*\}})?\s+(\S+)$", line)
        if match:
            samples[match.group(1) or ""] = float(match.group(2))
    return samples


def requests_total(http: httpx.Client) -> float:
    return sum(metric_samples(http, "rpc_requests_total").values())


def assert_status_document(status: Dict[str, Any]) -> None:
    assert set(status) == STATUS_FIELDS
    assert status["status"] in {"pending", "processing", "completed", "failed"}
    assert ISO_UTC.match(status["created_at"]), status["created_at"]
    assert ISO_UTC.match(status["updated_at"]), status["updated_at"]
    assert status["completed_at"] is None or ISO_UTC.match(status["completed_at"])
    assert isinstance(status["attempts"], int)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_route_miss(response: httpx.Response) -> bool:
    if response.status_code == 405:
        return True
    if response.status_code != 404:
        return False
    detail = response.json().get("detail")
    return isinstance(detail, str) and detail.startswith(NO_ROUTE)


# ---------------------------------------------------------------------------
# Send, status, reply


def test_non_blocking_send_is_pending(client, server):
    response = send(client, app_name=unique("queued"), func_name="f", destination=unique_identity(), params={"x": 1})
    assert response.status_code == 200
    status = response.json()
    assert_status_document(status)
    assert status["status"] == "pending"
    assert status["result"] is None and status["error"] is None and status["completed_at"] is None
    assert status["sender"] is None
    assert status["attempts"] == 0
    assert response.headers["x-request-id"] == status["id"]
    assert response.headers["x-proxy-replica"] == server.replica_id


def test_blocking_send_completes(client, calculator):
    response = send(client, app_name=CALCULATOR_APP, func_name="add", destination=CALCULATOR_DESTINATION,
                    params={"a": 20, "b": 22}, blocking=True, timeout=10)
    assert response.status_code == 200, response.text
    status = response.json()
    assert {"id", "status", "result"} <= set(status)
    assert status["status"] == "completed"
    assert status["result"] == 42
    assert status["error"] is None
    assert status["attempts"] == 1
    assert_status_document(status)
    assert response.headers["x-request-id"] == status["id"]
    assert client.get(f"/rpc/status/{status['id']}").json()["status"] == "completed"


def test_blocking_send_timeout_is_504_failed(client):
    started = time.monotonic()
    response = send(client, app_name=unique("silent"), func_name="f", destination=unique_identity(), blocking=True, timeout=1)
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    status = response.json()
    assert_status_document(status)
    assert status["status"] == "failed"
    assert "timed out" in status["error"]
    assert 0.9 <= elapsed < 5
    assert response.headers["x-request-id"] == status["id"]
    later = client.get(f"/rpc/status/{status['id']}").json()
    assert later["status"] == "failed" and "timed out" in later["error"]


def test_pending_request_waits_for_a_consumer(client):
    app, destination = unique("late"), unique_identity()
    request_id = send(client, app_name=app, func_name="f", destination=destination, timeout=30).json()["id"]
    time.sleep(0.5)
    assert client.get(f"/rpc/status/{request_id}").json()["status"] == "pending"
    [item] = lease(client, app, destination)
    assert item["id"] == request_id
    assert client.post(f"/rpc/reply/{request_id}", json={"result": "late but fine"}).status_code == 200
    assert client.get(f"/rpc/status/{request_id}").json()["result"] == "late but fine"


def test_reply_error_fails_blocking_caller_with_200_and_second_reply_is_409(client, server_url):
    app, destination = unique("manual"), unique_identity("bob")
    outcome: Dict[str, httpx.Response] = {}

    def blocking_caller() -> None:
        with httpx.Client(base_url=server_url, timeout=HTTP_TIMEOUT) as http:
            outcome["response"] = send(http, app_name=app, func_name="div", destination=destination,
                                       params={"a": 1, "b": 0}, blocking=True, timeout=15)

    caller = threading.Thread(target=blocking_caller)
    caller.start()
    [item] = lease(client, app, destination)
    assert client.get(f"/rpc/status/{item['id']}").json()["status"] == "processing"
    reply = client.post(f"/rpc/reply/{item['id']}", json={"error": "cannot divide by zero"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "failed"
    caller.join(timeout=20)
    assert not caller.is_alive()

    response = outcome["response"]
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "failed"
    assert status["error"] == "cannot divide by zero"
    assert status["result"] is None

    again = client.post(f"/rpc/reply/{item['id']}", json={"result": 1})
    assert again.status_code == 409, again.text
    assert isinstance(again.json()["detail"], str)
    unchanged = client.get(f"/rpc/status/{item['id']}").json()
    assert unchanged["status"] == "failed" and unchanged["error"] == "cannot divide by zero" and unchanged["result"] is None


def test_second_result_reply_is_409_and_changes_nothing(client):
    app, destination = unique("twice"), unique_identity()
    request_id = send(client, app_name=app, func_name="f", destination=destination).json()["id"]
    lease(client, app, destination)
    first = client.post(f"/rpc/reply/{request_id}", json={"result": {"n": 1}})
    assert first.status_code == 200
    assert first.json()["status"] == "completed" and first.json()["result"] == {"n": 1}
    second = client.post(f"/rpc/reply/{request_id}", json={"result": {"n": 2}})
    assert second.status_code == 409
    assert client.get(f"/rpc/status/{request_id}").json()["result"] == {"n": 1}


def test_reply_after_timeout_is_409(client):
    app, destination = unique("slow"), unique_identity()
    request_id = send(client, app_name=app, func_name="f", destination=destination, timeout=0.5).json()["id"]
    lease(client, app, destination)
    status = poll_status(client, request_id, lambda s: s["status"] == "failed", timeout=5)
    assert status["status"] == "failed" and "timed out" in status["error"]
    late = client.post(f"/rpc/reply/{request_id}", json={"result": "too late"})
    assert late.status_code == 409
    after = client.get(f"/rpc/status/{request_id}").json()
    assert after["status"] == "failed" and after["result"] is None


def test_unknown_ids_are_404(client):
    missing = unique("missing")
    status = client.get(f"/rpc/status/{missing}")
    assert status.status_code == 404
    assert isinstance(status.json()["detail"], str) and not status.json()["detail"].startswith(NO_ROUTE)
    reply = client.post(f"/rpc/reply/{missing}", json={"result": 1})
    assert reply.status_code == 404
    assert isinstance(reply.json()["detail"], str)


def test_idempotency_key_returns_first_request(client):
    app, destination = unique("idem"), unique_identity()
    before = requests_total(client)
    headers = {"Idempotency-Key": unique("key")}
    first = client.post("/rpc/send", json={"app_name": app, "func_name": "f", "destination": destination}, headers=headers)
    second = client.post("/rpc/send", json={"app_name": app, "func_name": "f", "destination": destination}, headers=headers)
    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("idempotent-replay") == "true"
    assert requests_total(client) - before == 1
    assert [item["id"] for item in lease(client, app, destination, wait=0)] == [first.json()["id"]]


# ---------------------------------------------------------------------------
# Pull delivery


def test_inbox_items_first_in_first_out(client):
    app, destination = unique("fifo"), unique_identity()
    ids = [send(client, app_name=app, func_name=f"f{n}", destination=destination, params={"n": n},
                headers={"X-Trace": str(n)}).json()["id"] for n in range(3)]
    items = lease(client, app, destination, wait=0)
    assert [item["id"] for item in items] == ids
    for n, item in enumerate(items):
        assert INBOX_FIELDS <= set(item)
        assert item["app_name"] == app and item["func_name"] == f"f{n}"
        assert item["params"] == {"n": n} and item["headers"] == {"X-Trace": str(n)}
        assert item["sender"] is None and item["attempts"] == 1
        assert ISO_UTC.match(item["deadline"])
    assert lease(client, app, destination, wait=0) == []


def test_inbox_long_poll_returns_when_a_request_arrives(client, server_url):
    app, destination = unique("longpoll"), unique_identity()

    def late_sender() -> None:
        time.sleep(0.5)
        with httpx.Client(base_url=server_url, timeout=HTTP_TIMEOUT) as http:
            send(http, app_name=app, func_name="f", destination=destination)

    sender = threading.Thread(target=late_sender)
    started = time.monotonic()
    sender.start()
    items = lease(client, app, destination, wait=10)
    elapsed = time.monotonic() - started
    sender.join(timeout=10)
    assert len(items) == 1
    assert 0.4 <= elapsed < 5


def test_inbox_empty_wait_returns_after_wait(client):
    started = time.monotonic()
    assert lease(client, unique("empty"), unique_identity(), wait=0.5) == []
    assert 0.4 <= time.monotonic() - started < 5


@pytest.fixture(scope="module")
def lease_server(start_server):
    return start_server({"PROXY_LEASE_SECONDS": "1", "PROXY_MAX_ATTEMPTS": "2"})


def test_unanswered_lease_is_redelivered_then_fails_on_its_own(lease_server):
    app, destination = unique("crashy"), unique_identity()
    with httpx.Client(base_url=lease_server.url, timeout=HTTP_TIMEOUT) as http:
        request_id = send(http, app_name=app, func_name="f", destination=destination, timeout=60).json()["id"]

        [first] = lease(http, app, destination, wait=5)
        first_leased = time.monotonic()
        assert first["id"] == request_id and first["attempts"] == 1
        assert http.get(f"/rpc/status/{request_id}").json()["status"] == "processing"

        [second] = lease(http, app, destination, wait=5)
        second_leased = time.monotonic()
        assert second["id"] == request_id and second["attempts"] == 2
        assert 0.5 <= second_leased - first_leased < 4
        assert http.get(f"/rpc/status/{request_id}").json()["status"] in {"pending", "processing"}

        # No further poll: the second lease expires and the request fails by itself.
        time.sleep(3)
        status = http.get(f"/rpc/status/{request_id}").json()
        assert status["status"] == "failed", status
        assert status["attempts"] == 2
        assert isinstance(status["error"], str) and status["error"]
        assert "timed out" not in status["error"]
        assert lease(http, app, destination, wait=0) == []
        assert http.post(f"/rpc/reply/{request_id}", json={"result": "too late"}).status_code == 409


# ---------------------------------------------------------------------------
# Push delivery


def test_push_delivery_carries_request_and_completes_it(client, push_responder):
    app, destination = unique("pushed"), unique_identity("carol")
    responder = push_responder(app, destination, lambda body: (200, {"result": {"sum": body["params"]["a"] + body["params"]["b"]}}))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    caller_traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    response = client.post(
        "/rpc/send",
        json={"app_name": app, "func_name": "add", "destination": destination, "params": {"a": 2, "b": 3},
              "headers": {"X-Client": "tests"}, "blocking": True, "timeout": 10},
        headers={"traceparent": caller_traceparent},
    )
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "completed"
    assert status["result"] == {"sum": 5}

    [delivery] = responder.wait_for(1)
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert headers["x-request-id"] == status["id"]
    match = TRACEPARENT.match(headers["traceparent"])
    assert match, headers["traceparent"]
    assert match.group(1) == trace_id
    assert match.group(2) != "00f067aa0ba902b7"
    body = delivery["body"]
    assert {"id", "app_name", "func_name", "params", "headers", "sender", "deadline"} <= set(body)
    assert body["id"] == status["id"]
    assert body["app_name"] == app and body["func_name"] == "add"
    assert body["params"] == {"a": 2, "b": 3}
    assert body["headers"] == {"X-Client": "tests"}
    assert body["sender"] is None
    assert ISO_UTC.match(body["deadline"])


def test_push_delivery_without_caller_trace_starts_one(client, push_responder):
    app, destination = unique("pushtrace"), unique_identity()
    responder = push_responder(app, destination, lambda body: (200, {"result": "ok"}))
    response = send(client, app_name=app, func_name="f", destination=destination, blocking=True, timeout=10)
    assert response.status_code == 200 and response.json()["result"] == "ok"
    [delivery] = responder.wait_for(1)
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert TRACEPARENT.match(headers["traceparent"])


def test_push_answer_without_result_member_is_the_result(client, push_responder):
    app, destination = unique("pushwhole"), unique_identity()
    push_responder(app, destination, lambda body: (200, [1, 2, 3]))
    response = send(client, app_name=app, func_name="f", destination=destination, blocking=True, timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "completed" and response.json()["result"] == [1, 2, 3]


def test_push_non_2xx_fails_the_request(client, push_responder):
    app, destination = unique("pushfail"), unique_identity()
    push_responder(app, destination, lambda body: (500, {"error": "app exploded"}))
    response = send(client, app_name=app, func_name="f", destination=destination, blocking=True, timeout=10)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "failed" and status["error"] == "app exploded"


def test_push_non_2xx_without_error_member_names_the_status(client, push_responder):
    app, destination = unique("pushfail"), unique_identity()
    push_responder(app, destination, lambda body: (503, b"busy"))
    response = send(client, app_name=app, func_name="f", destination=destination, blocking=True, timeout=10)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "failed" and "503" in status["error"]


def test_requests_queued_before_registration_are_pushed(client, push_responder):
    app, destination = unique("pushlater"), unique_identity()
    ids = [send(client, app_name=app, func_name="f", destination=destination, params={"n": n}, timeout=30).json()["id"]
           for n in range(2)]
    responder = push_responder(app, destination, lambda body: (200, {"result": body["params"]["n"] * 10}))
    deliveries = responder.wait_for(2)
    # Push deliveries run concurrently, so they may arrive in either order.
    assert sorted(d["body"]["id"] for d in deliveries) == sorted(ids)
    for n, request_id in enumerate(ids):
        status = poll_status(client, request_id, lambda s: s["status"] == "completed", timeout=10)
        assert status["result"] == n * 10


def test_push_to_refused_connection_is_retried_until_the_app_listens(client):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
    app, destination = unique("pushdown"), unique_identity()
    url = f"http://127.0.0.1:{port}/rpc"
    assert client.put(f"/rpc/apps/{app}/endpoint", json={"destination": destination, "url": url}).status_code == 200
    responder = None
    try:
        request_id = send(client, app_name=app, func_name="f", destination=destination, timeout=30).json()["id"]
        time.sleep(1)
        assert client.get(f"/rpc/status/{request_id}").json()["status"] in {"pending", "processing"}
        responder = PushResponder(lambda body: (200, {"result": "finally"}), port=port)
        status = poll_status(client, request_id, lambda s: s["status"] == "completed", timeout=10)
        assert status["status"] == "completed" and status["result"] == "finally"
        assert len(responder.received) == 1
    finally:
        client.delete(f"/rpc/apps/{app}/endpoint", params={"destination": destination})
        if responder is not None:
            responder.stop()


def test_push_registration_validation(client):
    app = unique("pushreg")
    bad_url = client.put(f"/rpc/apps/{app}/endpoint", json={"destination": unique_identity(), "url": "ftp://x"})
    assert bad_url.status_code == 422
    assert [d["loc"] for d in bad_url.json()["detail"]] == [["body", "url"]]
    no_destination = client.put(f"/rpc/apps/{app}/endpoint", json={"url": "http://127.0.0.1:9/rpc"})
    assert no_destination.status_code == 422
    assert [d["loc"] for d in no_destination.json()["detail"]] == [["body", "destination"]]
    removed = client.delete(f"/rpc/apps/{app}/endpoint", params={"destination": unique_identity()})
    assert removed.status_code == 404


def test_push_registration_accepts_query_destination(client):
    app, destination = unique("pushquery"), unique_identity()
    registered = client.put(f"/rpc/apps/{app}/endpoint", params={"destination": destination}, json={"url": "http://127.0.0.1:9/rpc"})
    assert registered.status_code == 200, registered.text
    assert registered.json() == {"app_name": app, "destination": destination, "url": "http://127.0.0.1:9/rpc", "transport": "push"}
    removed = client.delete(f"/rpc/apps/{app}/endpoint", params={"destination": destination})
    assert removed.status_code == 200
    assert removed.json() == {"app_name": app, "destination": destination, "transport": "pull"}


# ---------------------------------------------------------------------------
# Broadcast


def test_broadcast_returns_ids_in_destination_order(client):
    app = unique("notifier")
    destinations = [unique_identity(name) for name in ("alice", "bob", "carol")]
    urls = [f"syft://{d}/app_data/{app}/rpc/notify" for d in destinations]
    before = requests_total(client)
    response = client.post("/rpc/broadcast", json={"func_name": "update_config", "params": {"setting": "debug"}, "destinations": urls})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["broadcast_id"], str) and body["broadcast_id"]
    ids = body["request_ids"]
    assert len(ids) == 3 and len(set(ids)) == 3
    for request_id, destination in zip(ids, destinations):
        status = client.get(f"/rpc/status/{request_id}").json()
        assert status["destination"] == destination
        assert status["app_name"] == app
        assert status["func_name"] == "update_config"
    assert requests_total(client) - before == 3
    [item] = lease(client, app, destinations[1], wait=0)
    assert item["id"] == ids[1]
    assert item["params"] == {"setting": "debug"}
    assert item.get("endpoint") == urls[1]


def test_broadcast_with_malformed_url_is_422_and_creates_nothing(client):
    app = unique("notifier")
    good = [unique_identity("alice"), unique_identity("carol")]
    urls = [f"syft://{good[0]}/app_data/{app}/rpc/notify", "https://bob@example.com/not-syft", f"syft://{good[1]}/app_data/{app}/rpc/notify"]
    before = requests_total(client)
    response = client.post("/rpc/broadcast", json={"func_name": "notify", "destinations": urls})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [item["loc"] for item in detail] == [["body", "destinations", 1]]
    assert all(isinstance(item["msg"], str) and isinstance(item["type"], str) for item in detail)
    assert requests_total(client) == before
    for destination in good:
        assert lease(client, app, destination, wait=0) == []


def test_broadcast_needs_destinations(client):
    response = client.post("/rpc/broadcast", json={"func_name": "notify", "destinations": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "destinations"]


# ---------------------------------------------------------------------------
# Bodies: size limits and validation


@pytest.fixture(scope="module")
def small_limits_server(start_server):
    return start_server({"PROXY_MAX_PARAMS_BYTES": "1000", "PROXY_MAX_BODY_BYTES": "4000"})


def padded_send_body(size: int) -> bytes:
    """A valid /rpc/send body of exactly `size` bytes (padding inside a header value)."""
    head = b'{"app_name":"big","func_name":"f","destination":"big@example.com","headers":{"pad":"'
    tail = b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_body_over_limit_with_content_length_is_413(small_limits_server):
    with httpx.Client(base_url=small_limits_server.url, timeout=HTTP_TIMEOUT) as http:
        at_limit = http.post("/rpc/send", content=padded_send_body(4000), headers={"Content-Type": "application/json"})
        assert at_limit.status_code == 200, at_limit.text
        over = http.post("/rpc/send", content=padded_send_body(4001), headers={"Content-Type": "application/json"})
        assert over.status_code == 413, over.text
        assert isinstance(over.json()["detail"], str)
        for path in ("/rpc/broadcast", "/rpc/reply/some-id", "/rpc/schema/big", "/rpc/apps/big/endpoint"):
            method = "PUT" if path.startswith(("/rpc/schema", "/rpc/apps")) else "POST"
            response = http.request(method, path, content=b"{" + b" " * 5000 + b"}", headers={"Content-Type": "application/json"})
            assert response.status_code == 413, (path, response.status_code, response.text)


def test_body_over_limit_sent_chunked_is_413(small_limits_server):
    body = padded_send_body(10_000)

    def chunks():
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    with httpx.Client(base_url=small_limits_server.url, timeout=HTTP_TIMEOUT) as http:
        request = http.build_request("POST", "/rpc/send", content=chunks(), headers={"Content-Type": "application/json"})
        assert request.headers.get("transfer-encoding") == "chunked" and "content-length" not in request.headers
        response = http.send(request)
        assert response.status_code == 413, response.text
        for method, path in (("POST", "/rpc/broadcast"), ("POST", "/rpc/reply/some-id"),
                             ("PUT", "/rpc/schema/big"), ("PUT", "/rpc/apps/big/endpoint")):
            response = http.request(method, path, content=chunks(), headers={"Content-Type": "application/json"})
            assert response.status_code == 413, (path, response.status_code, response.text)

        small = padded_send_body(2000)
        accepted = http.post("/rpc/send", content=iter([small[:1000], small[1000:]]), headers={"Content-Type": "application/json"})
        assert accepted.status_code == 200, accepted.text


def test_params_over_limit_is_422(small_limits_server):
    with httpx.Client(base_url=small_limits_server.url, timeout=HTTP_TIMEOUT) as http:
        # {"p":"..."} is 8 bytes plus the string as compact JSON.
        fits = send(http, app_name="a", func_name="f", destination="d@example.com", params={"p": "x" * 992})
        assert fits.status_code == 200, fits.text
        over = send(http, app_name="a", func_name="f", destination="d@example.com", params={"p": "x" * 993})
        assert over.status_code == 422
        assert [d["loc"] for d in over.json()["detail"]] == [["body", "params"]]


def test_params_over_default_limit_is_422(client):
    limit = 1_000_000
    destination = unique_identity()
    fits = send(client, app_name=unique("big"), func_name="f", destination=destination, params={"p": "x" * (limit - 8)})
    assert fits.status_code == 200, fits.text[:300]
    over = send(client, app_name=unique("big"), func_name="f", destination=destination, params={"p": "x" * (limit - 7)})
    assert over.status_code == 422
    assert [d["loc"] for d in over.json()["detail"]] == [["body", "params"]]


def test_malformed_json_is_422(client):
    response = client.post("/rpc/send", content=b'{"app_name": "x", ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"][0] == "body"
    assert item["type"] == "json_invalid"


@pytest.mark.parametrize("payload", [b"[1, 2, 3]", b'"text"', b"42", b"null", b"true"])
def test_non_object_json_is_422(client, payload):
    response = client.post("/rpc/send", content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    [item] = response.json()["detail"]
    assert item["loc"] == ["body"]
    assert isinstance(item["msg"], str) and isinstance(item["type"], str)


def test_empty_body_is_422(client):
    response = client.post("/rpc/send", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("field,value,loc", [
    ("app_name", "", ["body", "app_name"]),
    ("app_name", "a" * 129, ["body", "app_name"]),
    ("func_name", "", ["body", "func_name"]),
    ("func_name", 7, ["body", "func_name"]),
    ("destination", "nobody", ["body", "destination"]),
    ("destination", "a@b@example.com", ["body", "destination"]),
    ("timeout", 0, ["body", "timeout"]),
    ("timeout", -1, ["body", "timeout"]),
    ("timeout", 300.5, ["body", "timeout"]),
    ("timeout", "soon", ["body", "timeout"]),
    ("params", [1, 2], ["body", "params"]),
    ("headers", {"X-Count": 3}, ["body", "headers", "X-Count"]),
    ("blocking", "yes", ["body", "blocking"]),
])
def test_send_validation_is_422_with_location(client, field, value, loc):
    body = {"app_name": "valid_app", "func_name": "f", "destination": "v@example.com", field: value}
    response = client.post("/rpc/send", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [item["loc"] for item in detail] == [loc]


def test_missing_fields_are_reported_together(client):
    response = client.post("/rpc/send", json={})
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["detail"]]
    assert ["body", "app_name"] in locs and ["body", "func_name"] in locs and ["body", "destination"] in locs


@pytest.mark.parametrize("query,loc", [
    ({"max": 0}, ["query", "max"]),
    ({"max": 101}, ["query", "max"]),
    ({"max": "many"}, ["query", "max"]),
    ({"wait": -0.5}, ["query", "wait"]),
    ({"wait": 300.5}, ["query", "wait"]),
    ({"destination": "nobody"}, ["query", "destination"]),
    ({"destination": ""}, ["query", "destination"]),
])
def test_inbox_validation_is_422(client, query, loc):
    params = {"destination": "v@example.com", "wait": 0, **query}
    response = client.get("/rpc/inbox/some_app", params=params)
    assert response.status_code == 422, response.text
    assert [item["loc"] for item in response.json()["detail"]] == [loc]


def test_reply_validation_is_422(client):
    assert client.post("/rpc/reply/x", json={}).status_code == 422
    assert client.post("/rpc/reply/x", json={"error": 5}).status_code == 422
    assert client.post("/rpc/reply/x", json={"result": 1, "error": "both"}).status_code == 422


def test_schema_publish_and_read(client):
    app = unique("schema_app")
    assert client.get(f"/rpc/schema/{app}").status_code == 404
    schema = {"functions": {"ping": {"params": {}, "returns": "string", "description": "Ping"}}}
    put = client.put(f"/rpc/schema/{app}", json=schema)
    assert put.status_code == 200, put.text
    assert put.json() == {"app_name": app, "status": "published"}
    assert client.get(f"/rpc/schema/{app}").json() == {"app_name": app, **schema}
    mismatch = client.put(f"/rpc/schema/{app}", json={"app_name": "other", "functions": {}})
    assert mismatch.status_code == 422
    assert client.put(f"/rpc/schema/{app}", json={"app_name": app}).status_code == 422


# ---------------------------------------------------------------------------
# Operations


def test_server_info(client, server):
    response = client.get("/")
    assert response.status_code == 200
    info = response.json()
    assert {"name", "version", "replica_id", "store", "uptime_seconds"} <= set(info)
    assert info["name"] == "syft-proxy"
    assert isinstance(info["version"], str) and info["version"]
    assert info["replica_id"] == server.replica_id == response.headers["x-proxy-replica"]
    assert info["store"] == "memory"
    assert isinstance(info["uptime_seconds"], (int, float)) and info["uptime_seconds"] >= 0


def test_health_and_ready(client):
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_over_max_requests_in_flight_is_503_with_retry_after(start_server):
    limited = start_server({"PROXY_MAX_REQUESTS": "1"})
    outcome: Dict[str, httpx.Response] = {}

    def blocking_caller() -> None:
        with httpx.Client(base_url=limited.url, timeout=HTTP_TIMEOUT) as http:
            outcome["response"] = send(http, app_name="held", func_name="f", destination=unique_identity(), blocking=True, timeout=3)

    with httpx.Client(base_url=limited.url, timeout=HTTP_TIMEOUT) as http:
        caller = threading.Thread(target=blocking_caller)
        caller.start()
        deadline = time.monotonic() + 5
        while metric_samples(http, "rpc_in_flight_requests").get("", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = send(http, app_name="extra", func_name="f", destination=unique_identity())
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        assert isinstance(refused.json()["detail"], str)
        assert http.get("/health").status_code == 200
        assert http.get("/ready").status_code == 200
        caller.join(timeout=10)
        assert not caller.is_alive()
        assert outcome["response"].status_code == 504
        assert send(http, app_name="extra", func_name="f", destination=unique_identity()).status_code == 200


def test_metrics_count_each_accepted_request(client):
    app = unique("metered")
    labels = f'{{app_name="{app}",func_name="f",status="accepted"}}'
    before_total = requests_total(client)
    assert labels not in metric_samples(client, "rpc_requests_total")

    assert send(client, app_name=app, func_name="f", destination=unique_identity()).status_code == 200
    assert metric_samples(client, "rpc_requests_total")[labels] == 1
    assert requests_total(client) - before_total == 1

    assert send(client, app_name=app, func_name="f", destination="no-at-sign").status_code == 422
    assert requests_total(client) - before_total == 1

    assert send(client, app_name=app, func_name="f", destination=unique_identity()).status_code == 200
    assert metric_samples(client, "rpc_requests_total")[labels] == 2
    assert requests_total(client) - before_total == 2

    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE rpc_requests_total counter" in response.text


# ---------------------------------------------------------------------------
# OpenAPI document


# Every (method, path) the router registers, with a probe that has no side effects: each
# POST/PUT body or query is invalid on purpose, so nothing is created.
ROUTES: Dict[Tuple[str, str], Tuple[str, Optional[Dict[str, Any]]]] = {
    ("get", "/"): ("/", None),
    ("get", "/health"): ("/health", None),
    ("get", "/ready"): ("/ready", None),
    ("get", "/metrics"): ("/metrics", None),
    ("get", "/openapi.json"): ("/openapi.json", None),
    ("post", "/rpc/send"): ("/rpc/send", {}),
    ("post", "/rpc/broadcast"): ("/rpc/broadcast", {}),
    ("get", "/rpc/status/{id}"): ("/rpc/status/probe-id", None),
    ("get", "/rpc/schema/{app_name}"): ("/rpc/schema/probe_app_without_schema", None),
    ("put", "/rpc/schema/{app_name}"): ("/rpc/schema/probe_app_without_schema", {}),
    ("put", "/rpc/apps/{app_name}/endpoint"): ("/rpc/apps/probe_app/endpoint", {}),
    ("get", "/rpc/apps/{app_name}/endpoint"): ("/rpc/apps/probe_app/endpoint", None),
    ("delete", "/rpc/apps/{app_name}/endpoint"): ("/rpc/apps/probe_app/endpoint", None),
    ("get", "/rpc/inbox/{app_name}"): ("/rpc/inbox/probe_app", None),
    ("get", "/rpc/connect/{app_name}"): ("/rpc/connect/probe_app", None),
    ("post", "/rpc/reply/{id}"): ("/rpc/reply/probe-id", {}),
    ("post", "/rpc/release/{id}"): ("/rpc/release/probe-id", {}),
    # The suite's main server runs without PROXY_ADMIN_KEYS: these answer 404 with the hint.
    ("get", "/admin/requests"): ("/admin/requests", None),
    ("get", "/admin/requests/{id}"): ("/admin/requests/probe-id", None),
    ("post", "/admin/requests/{id}/cancel"): ("/admin/requests/probe-id/cancel", {}),
    ("get", "/admin/failed"): ("/admin/failed", None),
    ("post", "/admin/failed/retry"): ("/admin/failed/retry", {}),
    ("post", "/admin/failed/{id}/retry"): ("/admin/failed/probe-id/retry", {}),
    ("delete", "/admin/failed/{id}"): ("/admin/failed/probe-id", None),
    ("get", "/admin/queues"): ("/admin/queues", None),
    ("post", "/admin/queues/purge"): ("/admin/queues/purge", {}),
    ("get", "/admin/replicas"): ("/admin/replicas", None),
    ("get", "/admin/endpoints"): ("/admin/endpoints", None),
    ("get", "/dashboard"): ("/dashboard", None),
    ("get", "/dashboard/dashboard.js"): ("/dashboard/dashboard.js", None),
    ("get", "/dashboard/dashboard.css"): ("/dashboard/dashboard.css", None),
}
HTTP_METHODS = ("get", "post", "put", "delete", "patch")


@pytest.fixture(scope="module")
def openapi(client) -> Dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def documented_operations(document: Dict[str, Any]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS + ("head", "options", "trace")
    }


def resolve(document: Dict[str, Any], node: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def probe(http: httpx.Client, method: str, path: str, body: Optional[Dict[str, Any]]) -> httpx.Response:
    if body is None:
        return http.request(method.upper(), path)
    return http.request(method.upper(), path, json=body)


def test_openapi_document_is_valid(openapi):
    assert openapi["openapi"].startswith("3.1.")
    validate_openapi(openapi)
    for name in ("RPCSendRequest", "RPCBroadcastRequest", "RPCStatus", "InboxItem", "AppSchema", "ReplyBody",
                 "EndpointRegistration", "BroadcastResponse", "ServerInfo", "HTTPValidationError", "ErrorDetail"):
        assert name in openapi["components"]["schemas"], name


def test_openapi_version_matches_server(openapi, client):
    assert openapi["info"]["version"] == client.get("/").json()["version"]


def test_openapi_documents_exactly_the_served_routes(openapi, client):
    documented = documented_operations(openapi)
    assert set(documented) == set(ROUTES)
    assert is_route_miss(client.get("/no/such/route"))
    served = set()
    for path in openapi["paths"]:
        concrete, body = next(v for (m, p), v in ROUTES.items() if p == path)
        for method in HTTP_METHODS:
            response = probe(client, method, concrete, body if method in ("post", "put") else None)
            if not is_route_miss(response):
                served.add((method, path))
    assert served == set(documented)


def test_openapi_documents_probe_status_codes(openapi, client):
    documented = documented_operations(openapi)
    for (method, path), (concrete, body) in ROUTES.items():
        response = probe(client, method, concrete, body)
        codes = set(documented[(method, path)]["responses"])
        assert str(response.status_code) in codes, (method, path, response.status_code, sorted(codes))
        assert "x-proxy-replica" in response.headers


def test_openapi_documents_headers_and_errors(openapi):
    operations = documented_operations(openapi)
    send_op = operations[("post", "/rpc/send")]
    header_params = {p["name"] for p in send_op["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "traceparent"} <= header_params
    assert set(send_op["responses"]) >= {"200", "413", "422", "503", "504"}
    for code in ("200", "504"):
        assert "X-Request-ID" in resolve(openapi, send_op["responses"][code])["headers"]
    assert set(operations[("post", "/rpc/reply/{id}")]["responses"]) >= {"200", "404", "409", "413", "422"}
    assert set(operations[("get", "/rpc/status/{id}")]["responses"]) >= {"200", "404"}
    assert "403" in operations[("put", "/rpc/schema/{app_name}")]["responses"]
    for (method, path), operation in operations.items():
        responses = {code: resolve(openapi, r) for code, r in operation["responses"].items()}
        for code, response in responses.items():
            assert "X-Proxy-Replica" in response.get("headers", {}), (method, path, code)
        if "503" in responses and path.startswith("/rpc/"):
            assert "Retry-After" in responses["503"]["headers"], (method, path)
        # With keys configured every /rpc/* route can answer 401; sends and broadcasts can be
        # rate limited; ownership checks give 403 where SPEC.md's Security section puts them.
        # /admin/* needs an admin key: 401 without one, 403 for an identity's API key.
        if path.startswith("/rpc/") or path.startswith("/admin/"):
            assert "401" in responses, (method, path)
            if path.startswith("/admin/"):
                assert {"403", "404"} <= set(responses), (method, path)
        else:
            assert not {"401", "403", "429"} & set(responses), (method, path)
        assert ("429" in responses) == (path in ("/rpc/send", "/rpc/broadcast")), (method, path)
        owned = {("get", "/rpc/status/{id}"), ("get", "/rpc/inbox/{app_name}"), ("get", "/rpc/connect/{app_name}"),
                 ("put", "/rpc/apps/{app_name}/endpoint"),
                 ("get", "/rpc/apps/{app_name}/endpoint"),
                 ("delete", "/rpc/apps/{app_name}/endpoint"), ("post", "/rpc/reply/{id}"), ("post", "/rpc/release/{id}"),
                 ("put", "/rpc/schema/{app_name}")}
        assert ("403" in responses) == ((method, path) in owned or path.startswith("/admin/")), (method, path)
    validation = resolve(openapi, operations[("post", "/rpc/send")]["responses"]["422"])
    schema = resolve(openapi, validation["content"]["application/json"]["schema"])
    item = resolve(openapi, schema["properties"]["detail"]["items"])
    assert set(item["required"]) == {"loc", "msg", "type"}


def test_openapi_constraints_are_the_enforced_ones(openapi, client):
    send_schema = openapi["components"]["schemas"]["RPCSendRequest"]["properties"]
    name_max = send_schema["app_name"]["maxLength"]
    assert send_schema["app_name"]["minLength"] == send_schema["func_name"]["minLength"] == 1
    assert name_max == send_schema["func_name"]["maxLength"] == 128
    timeout = send_schema["timeout"]
    assert timeout["exclusiveMinimum"] == 0 and timeout["maximum"] == 300 and timeout["default"] == 60
    destination = unique_identity()

    def status_of(**fields: Any) -> int:
        body = {"app_name": unique("bounds"), "func_name": "f", "destination": destination, **fields}
        return client.post("/rpc/send", json=body).status_code

    assert status_of(app_name="a" * name_max) == 200
    assert status_of(app_name="a" * (name_max + 1)) == 422
    assert status_of(func_name="f" * name_max) == 200
    assert status_of(func_name="f" * (name_max + 1)) == 422
    assert status_of(timeout=timeout["exclusiveMinimum"]) == 422
    assert status_of(timeout=0.001) == 200
    assert status_of(timeout=timeout["maximum"]) == 200
    assert status_of(timeout=timeout["maximum"] + 0.001) == 422
    app, dest2 = unique("deadline"), unique_identity()
    created = parse_time(send(client, app_name=app, func_name="f", destination=dest2).json()["created_at"])
    [item] = lease(client, app, dest2, wait=0)
    assert abs((parse_time(item["deadline"]) - created).total_seconds() - timeout["default"]) < 1

    inbox = {p["name"]: p["schema"] for p in openapi["paths"]["/rpc/inbox/{app_name}"]["get"]["parameters"]}
    assert (inbox["max"]["minimum"], inbox["max"]["maximum"], inbox["max"]["default"]) == (1, 100, 10)
    assert inbox["wait"]["minimum"] == 0
    app, dest3 = unique("batch"), unique_identity()
    for _ in range(inbox["max"]["maximum"] + 1):
        send(client, app_name=app, func_name="f", destination=dest3)
    assert len(lease(client, app, dest3, wait=0)) == inbox["max"]["default"]
    assert len(lease(client, app, dest3, wait=0, max=inbox["max"]["maximum"])) == inbox["max"]["maximum"] - inbox["max"]["default"] + 1
    assert client.get(f"/rpc/inbox/{app}", params={"destination": dest3, "max": inbox["max"]["minimum"] - 1}).status_code == 422
    assert client.get(f"/rpc/inbox/{app}", params={"destination": dest3, "max": inbox["max"]["maximum"] + 1}).status_code == 422
    assert client.get(f"/rpc/inbox/{app}", params={"destination": dest3, "wait": inbox["wait"]["minimum"] - 0.1}).status_code == 422


def component_validator(document: Dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


SEND_BODIES: List[Dict[str, Any]] = [
    {},
    {"params": None, "headers": None, "timeout": None, "blocking": None},
    {"params": {"nested": {"list": [1, 2]}}, "headers": {"X-A": "b"}, "timeout": 12.5, "blocking": False},
    {"app_name": ""},
    {"app_name": "a" * 128},
    {"app_name": "a" * 129},
    {"app_name": "has/slash"},
    {"app_name": "tab\there"},
    {"app_name": "ünïcode-名前"},
    {"func_name": 3},
    {"destination": "a@b"},
    {"destination": "@example.com"},
    {"destination": "bob@"},
    {"destination": "bob"},
    {"destination": "bob@@example.com"},
    {"destination": "b ob@example.com"},
    {"destination": "bob/x@example.com"},
    {"destination": "b" * 240 + "@example.com"},
    {"destination": "b" * 250 + "@example.com"},
    {"params": []},
    {"params": "x"},
    {"headers": {"X-A": 1}},
    {"headers": []},
    {"timeout": 0},
    {"timeout": 1e-6},
    {"timeout": 300},
    {"timeout": 300.0001},
    {"timeout": True},
    {"timeout": "1"},
    {"blocking": 1},
]


def test_send_body_schema_accepts_exactly_what_the_server_accepts(openapi, client):
    validator = component_validator(openapi, "RPCSendRequest")
    for overrides in SEND_BODIES:
        body = {"app_name": unique("schema_agree"), "func_name": "f", "destination": unique_identity(), **overrides}
        response = client.post("/rpc/send", json=body)
        assert response.status_code in (200, 422), response.text
        assert validator.is_valid(body) == (response.status_code == 200), (overrides, response.status_code, response.text)
    for missing in ("app_name", "func_name", "destination"):
        body = {"app_name": "x", "func_name": "f", "destination": "x@example.com"}
        del body[missing]
        assert not validator.is_valid(body)
        assert client.post("/rpc/send", json=body).status_code == 422


def test_broadcast_body_schema_accepts_exactly_what_the_server_accepts(openapi, client):
    validator = component_validator(openapi, "RPCBroadcastRequest")
    app = unique("schema_bcast")
    who = unique_identity()
    for destinations in [
        [f"syft://{who}/app_data/{app}/rpc/notify"],
        [f"syft://{who}/app_data/{app}/rpc/nested/endpoint"],
        [f"syft://{who}/app_data/{'a' * 128}/rpc/x"],
        [f"syft://{who}/app_data/{'a' * 129}/rpc/x"],
        [f"syft://{who}/app_data/{app}/rpc/"],
        [f"syft://{who}/app_data/{app}/rpc/a//b"],
        [f"syft://{who}/app_data//rpc/x"],
        [f"syft://{who}/apps/{app}/rpc/x"],
        [f"syft://{who}/app_data/{app}/call/x"],
        [f"syft://nobody/app_data/{app}/rpc/x"],
        [f"http://{who}/app_data/{app}/rpc/x"],
        [f"syft://{who}"],
        [7],
        [],
    ]:
        body = {"func_name": "notify", "destinations": destinations}
        response = client.post("/rpc/broadcast", json=body)
        assert response.status_code in (200, 422), response.text
        assert validator.is_valid(body) == (response.status_code == 200), (destinations, response.status_code, response.text)


def test_reply_body_schema_accepts_exactly_what_the_server_accepts(openapi, client):
    validator = component_validator(openapi, "ReplyBody")
    for body in [{"result": 1}, {"result": None}, {"result": {"a": [1]}}, {"error": "boom"},
                 {"result": None, "error": "boom"}, {"result": 1, "error": None},
                 {}, {"error": None}, {"error": 5}, {"result": 1, "error": "boom"}]:
        response = client.post(f"/rpc/reply/{unique('unknown')}", json=body)
        # A body the server accepts reaches the lookup of the (unknown) id: 404.
        assert response.status_code in (404, 422), response.text
        assert validator.is_valid(body) == (response.status_code == 404), (body, response.status_code, response.text)
