"""The documentation's client classes, unchanged, against the live server."""
import collections
import time

import pytest

from conftest import (
    CALCULATOR_APP,
    CALCULATOR_DESTINATION,
    FAULTY_APP,
    FAULTY_DESTINATION,
    FAULTY_MESSAGE,
    unique,
    unique_identity,
)
from seed_examples import (
    BatchProcessor,
    LoadBalancer,
    ProxyClient,
    RPCError,
    RPCExecutionError,
    ServiceRegistry,
    safe_rpc_call,
)

CALCULATOR_SCHEMA = {
    "app_name": "calculator",
    "functions": {
        "add": {
            "params": {"a": "number", "b": "number"},
            "returns": "number",
            "description": "Add two numbers",
        },
        "multiply": {
            "params": {"a": "number", "b": "number"},
            "returns": "number",
            "description": "Multiply two numbers",
        },
    },
}


@pytest.fixture
def proxy(server_url):
    client = ProxyClient(server_url)
    yield client
    client.client.close()


def test_proxy_client_blocking_call_returns_result(proxy, calculator):
    assert proxy.call(app=CALCULATOR_APP, func="add", destination=CALCULATOR_DESTINATION, params={"a": 5, "b": 3}) == 8
    assert proxy.call(CALCULATOR_APP, "multiply", CALCULATOR_DESTINATION, {"a": 6, "b": 7}, timeout=10.0) == 42


def test_proxy_client_blocking_call_raises_on_app_error(proxy, faulty):
    with pytest.raises(Exception) as caught:
        proxy.call(app=FAULTY_APP, func="divide", destination=FAULTY_DESTINATION, params={"a": 1, "b": 0}, timeout=10.0)
    assert str(caught.value) == f"RPC failed: {FAULTY_MESSAGE}"


def test_proxy_client_call_async_then_poll(proxy, calculator):
    request_id = proxy.call_async(app=CALCULATOR_APP, func="add", destination=CALCULATOR_DESTINATION, params={"a": 2, "b": 2})
    assert isinstance(request_id, str) and request_id
    # The documentation's polling loop, bounded.
    deadline = time.monotonic() + 10
    while True:
        status = proxy.get_status(request_id)
        if status["status"] in ["completed", "failed"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status["status"] == "completed"
    assert status["id"] == request_id
    assert status["result"] == 4
    assert status["error"] is None
    assert status["completed_at"] is not None


def test_service_registry_discovers_published_schema(client, server_url):
    response = client.put("/rpc/schema/calculator", json=CALCULATOR_SCHEMA)
    assert response.status_code == 200, response.text

    registry = ServiceRegistry(server_url)
    missing = unique("no_such_app")
    services = registry.discover_services(["calculator", missing])
    assert list(services) == ["calculator"]
    assert services["calculator"] == CALCULATOR_SCHEMA
    assert registry.list_functions("calculator") == ["add", "multiply"]
    assert registry.list_functions(missing) == []
    # The documentation's usage loop reads each function's description.
    for app, schema in services.items():
        for func, details in schema["functions"].items():
            assert details["description"]
    registry.client.close()


def test_batch_processor_returns_every_result(proxy, calculator):
    batch = BatchProcessor(proxy)
    results = batch.batch_call([
        {"app": "calculator", "func": "add", "destination": "alice@example.com", "params": {"a": 1, "b": 2}},
        {"app": "calculator", "func": "multiply", "destination": "alice@example.com", "params": {"a": 3, "b": 4}},
    ])
    # Ids are collected with as_completed, so the order of results is not the order of requests.
    assert collections.Counter(results) == collections.Counter([3, 12])


def test_batch_processor_reports_failures_as_error_entries(proxy, calculator, faulty):
    batch = BatchProcessor(proxy)
    results = batch.batch_call([
        {"app": "calculator", "func": "add", "destination": "alice@example.com", "params": {"a": 10, "b": 5}},
        {"app": FAULTY_APP, "func": "divide", "destination": FAULTY_DESTINATION, "params": {"a": 1, "b": 0}},
    ])
    assert sorted(results, key=repr) == sorted([15, {"error": FAULTY_MESSAGE}], key=repr)


def test_safe_rpc_call_returns_result(proxy, calculator):
    result = safe_rpc_call(proxy, app=CALCULATOR_APP, func="multiply", destination=CALCULATOR_DESTINATION, params={"a": 9, "b": 9})
    assert result == 81


def test_safe_rpc_call_app_error_surfaces_as_rpc_error(proxy, faulty):
    # The documented function raises RPCExecutionError inside its outer try, whose broad
    # `except Exception` wraps it: the caller sees a plain RPCError naming the app's error.
    with pytest.raises(RPCError) as caught:
        safe_rpc_call(proxy, app=FAULTY_APP, func="divide", destination=FAULTY_DESTINATION, params={"a": 1, "b": 0})
    assert type(caught.value) is RPCError
    assert not isinstance(caught.value, RPCExecutionError)
    assert str(caught.value) == f"Unexpected error: {FAULTY_MESSAGE}"


def test_safe_rpc_call_times_out_without_responder(start_server):
    # No app answers. The proxy's own timeout (PROXY_TIMEOUT, here 1 s) fails the request,
    # and the documented polling loop reports the failure through its RPCError wrapper.
    short = start_server({"PROXY_TIMEOUT": "1"})
    proxy = ProxyClient(short.url)
    started = time.monotonic()
    with pytest.raises(RPCError) as caught:
        safe_rpc_call(proxy, app="nobody_home", func="process", destination=unique_identity("idle"), params={"data": "test"})
    assert time.monotonic() - started < 10
    assert type(caught.value) is RPCError
    assert str(caught.value).startswith("Unexpected error: ")
    assert "timed out" in str(caught.value)
    proxy.client.close()


def test_safe_rpc_call_with_timeout_keyword_is_rejected_by_call_async(proxy):
    # As documented, safe_rpc_call forwards **kwargs, timeout included, to call_async, whose
    # signature has no timeout: the TypeError comes back wrapped as RPCError before any request.
    with pytest.raises(RPCError) as caught:
        safe_rpc_call(proxy, app="data_service", func="process", destination=unique_identity("processor"),
                      params={"data": [1, 2]}, timeout=0.5)
    assert type(caught.value) is RPCError
    assert "unexpected keyword argument 'timeout'" in str(caught.value)


def test_load_balancer_round_robin(server_url, calculator):
    balancer = LoadBalancer([server_url, server_url, server_url])
    served_before = len(calculator.received)
    order = []
    results = []
    for n in range(6):
        order.append(balancer.current)
        results.append(balancer.call(app=CALCULATOR_APP, func="add", destination=CALCULATOR_DESTINATION, params={"a": n, "b": 100}))
    assert order == [0, 1, 2, 0, 1, 2]
    assert balancer.current == 0
    assert results == [100, 101, 102, 103, 104, 105]
    assert len(calculator.received) - served_before == 6
