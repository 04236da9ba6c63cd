"""Schema-driven fuzz pass: every operation of the server's own GET /openapi.json, with
schemathesis generating valid and invalid calls from it (the schema's examples, the
boundary cases of its coverage phase, then MAX_EXAMPLES generated calls per operation).

Each answer must be one the document allows: no 5xx but the documented 503 and 504, a status
code the operation documents, the documented content type, headers and body schema, and an
answer about /rpc/.../{name} must name the {name} that was sent (path parameters are
percent-decoded). The document and the server must also agree on what is valid: a call the
document says is invalid is refused (negative_data_rejection), and one it says is valid is
not refused for its data (positive_data_acceptance). The server must still be running afterwards (SPEC.md, Errors: "Never a
crash"), and must not have accepted a push URL outside the documented form.

Two servers are fuzzed: the embedded store without API keys, and one with API keys where
every call carries X-API-Key, so the authenticated paths (and their 403s) are reached too.
A failure names the operation and gives a curl command that reproduces it.
"""
from __future__ import annotations

from typing import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from fuzz_support import (
    CHECKS,
    FUZZ_IDENTITY,
    FUZZ_KEY,
    KEYED_ENV,
    MAX_EXAMPLES,
    SEED,
    SERVER_ENV,
    FuzzTarget,
    path_parameter_round_trip,
)

# Every operation the document lists; a fuzz run that reached fewer has not tested them all.
OPERATIONS = {
    "GET /", "GET /health", "GET /ready", "GET /metrics",
    "POST /rpc/send", "POST /rpc/broadcast", "GET /rpc/status/{id}",
    "GET /rpc/schema/{app_name}", "PUT /rpc/schema/{app_name}",
    "PUT /rpc/apps/{app_name}/endpoint", "DELETE /rpc/apps/{app_name}/endpoint",
    "GET /rpc/inbox/{app_name}", "POST /rpc/reply/{id}",
}
# Operations that must have answered 2xx at least once (each is reachable with generated data
# plus the known records the target seeds); a fuzz pass that only ever met 4xx tested little.
# Asked of full runs only: a run of a few examples per operation may miss some by chance.
MUST_SUCCEED = OPERATIONS - {"DELETE /rpc/apps/{app_name}/endpoint"}
MUST_SUCCEED_FROM_EXAMPLES = 50

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=SEED is None,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)
CHECK_FUNCTIONS = [getattr(schemathesis.checks, name) for name in CHECKS] + [path_parameter_round_trip]
WEBSOCKET_PATH = "/rpc/connect/{app_name}"


@pytest.fixture(scope="module")
def open_target() -> Iterator[FuzzTarget]:
    target = FuzzTarget("open", SERVER_ENV)
    yield target
    print("\n" + target.summary())
    target.close()


@pytest.fixture(scope="module")
def keyed_target() -> Iterator[FuzzTarget]:
    target = FuzzTarget("keyed", KEYED_ENV, api_key=FUZZ_KEY, identity=FUZZ_IDENTITY)
    yield target
    print("\n" + target.summary())
    target.close()


@pytest.fixture(scope="module")
def open_schema(open_target):
    return open_target.schema()


@pytest.fixture(scope="module")
def keyed_schema(keyed_target):
    return keyed_target.schema()


def fuzz_one(target: FuzzTarget, case) -> None:
    __tracebackhide__ = True
    target.bound_case(case)
    try:
        response = case.call()
    except requests.ConnectionError:
        ended = target.crashed()
        if ended:
            pytest.fail(f"the server stopped answering after:\n{case.as_curl_command()}\n{ended}")
        raise
    problem = target.record(case, response)
    checks = CHECK_FUNCTIONS
    if case.operation.path == WEBSOCKET_PATH:
        # Without the upgrade (which schemathesis cannot make) valid data gets 426, by design;
        # every other check still applies.
        checks = [check for check in CHECK_FUNCTIONS if check is not schemathesis.checks.positive_data_acceptance]
    case.validate_response(response, checks=checks)
    assert problem is None, f"{problem}\n{case.as_curl_command()}"


def assert_reached(target: FuzzTarget) -> None:
    if not target.stats:
        pytest.skip("the fuzz pass for this target did not run")
    ended = target.crashed()
    assert ended is None, ended
    assert target.http is not None
    health = target.http.get("/health")
    assert health.status_code == 200, health.text
    reached = {
        label for label, counts in target.stats.items()
        if any(method == label.split(" ", 1)[0] for (method, _status) in counts)
    }
    missing = OPERATIONS - reached
    assert not missing, f"never called: {sorted(missing)}\n{target.summary()}"
    if MAX_EXAMPLES < MUST_SUCCEED_FROM_EXAMPLES:
        return
    never_succeeded = {
        label for label in MUST_SUCCEED
        if not any(m == label.split(" ", 1)[0] and 200 <= s < 300 for (m, s) in target.stats[label])
    }
    assert not never_succeeded, f"never answered 2xx: {sorted(never_succeeded)}\n{target.summary()}"


open_api = schemathesis.pytest.from_fixture("open_schema")
keyed_api = schemathesis.pytest.from_fixture("keyed_schema")


@open_api.parametrize()
@FUZZ_SETTINGS
def test_fuzz_open_api(case, open_target):
    fuzz_one(open_target, case)


def test_fuzz_open_api_reached_every_operation(open_target):
    assert_reached(open_target)


@keyed_api.parametrize()
@FUZZ_SETTINGS
def test_fuzz_authenticated_api(case, keyed_target):
    fuzz_one(keyed_target, case)


def test_fuzz_authenticated_api_reached_every_operation(keyed_target):
    assert_reached(keyed_target)
