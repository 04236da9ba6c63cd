"""Targets for the schema-driven fuzz pass in test_fuzz.py.

A FuzzTarget is one `syft-proxy serve` process on 127.0.0.1 plus what the fuzzer needs around
it: the schema loaded from the server's own GET /openapi.json, a push sink on 127.0.0.1 that
every push registration is pointed at, and a few requests and schemas in known states so that
generated calls also reach real records (a status read that answers 200, a reply that is
accepted, a 403 for another identity's request).

Time is bounded by the server settings (by default PROXY_MAX_TIMEOUT=20, PROXY_TIMEOUT=5; a
blocking send that names no timeout waits PROXY_TIMEOUT) and by `bound_case`, which shortens
the waits of generated cases that the server would accept. The limits differ from the
server's defaults on purpose: the served document must state the ones the server runs with.
Cases the server must reject (a timeout over the maximum, a negative wait) are left as
generated, so those 422 paths are fuzzed too.

Environment:
  SYFT_FUZZ_MAX_EXAMPLES  generated examples per operation (default 100), on top of the
                          schema's examples and the boundary cases of the coverage phase
  SYFT_FUZZ_SEED          explore with this seed instead of the fixed derandomized sequence
  SYFT_FUZZ_MAX_TIMEOUT   the servers' PROXY_MAX_TIMEOUT (default 20)
  SYFT_FUZZ_TIMEOUT       the servers' PROXY_TIMEOUT (default 5)
"""
from __future__ import annotations

import itertools
import os
import re
import threading
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote

import httpx
import hypothesis.strategies as st
import schemathesis
from schemathesis.generation.case import Case

from conftest import HTTP_TIMEOUT, PushResponder, ServerProcess

MAX_EXAMPLES = int(os.environ.get("SYFT_FUZZ_MAX_EXAMPLES") or "100")
SEED: Optional[int] = int(os.environ["SYFT_FUZZ_SEED"]) if os.environ.get("SYFT_FUZZ_SEED") else None

# Server side bounds, other than the server's defaults: the served document must state them.
MAX_TIMEOUT = float(os.environ.get("SYFT_FUZZ_MAX_TIMEOUT") or "20")
DEFAULT_TIMEOUT = float(os.environ.get("SYFT_FUZZ_TIMEOUT") or "5")
SERVER_ENV = {"PROXY_MAX_TIMEOUT": f"{MAX_TIMEOUT:g}", "PROXY_TIMEOUT": f"{DEFAULT_TIMEOUT:g}", "PROXY_RATE_LIMIT": "0"}
# Client side bounds for the cases the server accepts.
BLOCKING_TIMEOUT = 0.3
INBOX_WAIT = 0.2
REQUEST_TIMEOUT = 15.0

FUZZ_KEY = "fuzz-key-000001"
FUZZ_IDENTITY = "fuzz@example.com"
# A second identity whose records the fuzzed key must not touch (403 paths).
OTHER_KEY = "fuzz-key-000002"
OTHER_IDENTITY = "other@example.com"
KEYED_ENV = {**SERVER_ENV, "PROXY_API_KEYS": f"{FUZZ_KEY}={FUZZ_IDENTITY},{OTHER_KEY}={OTHER_IDENTITY}"}

# 5xx answers the contract documents: 503 (store unreachable, load shedding, shutting down) and
# 504 (a blocking send timed out). status_code_conformance checks which operation may give them.
ALLOWED_STATUSES = ["2xx", "3xx", "4xx", "503", "504"]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    # A call the document says is invalid must be refused (4xx), and one it says is valid
    # must not be refused for its data: the document and the server agree on what is valid.
    "negative_data_rejection",
    "positive_data_acceptance",
]

POOL_APP = "fuzz_pool"
POOL_FUNC = "work"
APP_SCHEMA = {
    "functions": {
        "add": {"params": {"a": "number", "b": "number"}, "returns": "number", "description": "Add two numbers"},
    },
}
# The document's pattern for a push URL (whitespace spelled out as the server's rule, Unicode
# White_Space, rather than a dialect's \s), with the authority captured apart.
_WHITESPACE = "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PUSH_URL = re.compile(f"^([Hh][Tt][Tt][Pp][Ss]?)://[^/?#{_WHITESPACE}]+([^{_WHITESPACE}]*)$")


# Answers that name the resource of the path: (method, path) -> (path parameter, answer member).
# Their value must be the path parameter as the client meant it, i.e. after percent-decoding.
PATH_ECHOES = {
    ("GET", "/rpc/schema/{app_name}"): ("app_name", "app_name"),
    ("PUT", "/rpc/schema/{app_name}"): ("app_name", "app_name"),
    ("PUT", "/rpc/apps/{app_name}/endpoint"): ("app_name", "app_name"),
    ("DELETE", "/rpc/apps/{app_name}/endpoint"): ("app_name", "app_name"),
    ("GET", "/rpc/status/{id}"): ("id", "id"),
    ("POST", "/rpc/reply/{id}"): ("id", "id"),
}


def path_parameter_round_trip(ctx: Any, response: Any, case: Case) -> None:
    """A 2xx answer about /rpc/.../{name} names the same {name} the client sent.

    OpenAPI path parameters are percent-encoded on the wire (RFC 3986); the server must decode
    them, or an app named "my app" publishes its schema as "my%20app" and never sees the
    requests queued for "my app" in its inbox.
    """
    if not 200 <= response.status_code < 300 or case.method.upper() != case.operation.method.upper():
        return None
    path = case.operation.path
    expected_items: List[Tuple[str, Any]] = []
    echo = PATH_ECHOES.get((case.method.upper(), path))
    try:
        body = response.json()
    except ValueError:
        return None
    if echo is not None and isinstance(body, dict) and echo[1] in body:
        expected_items.append((echo[1], body[echo[1]]))
    if path == "/rpc/inbox/{app_name}" and isinstance(body, dict) and isinstance(body.get("requests"), list):
        expected_items += [("requests[].app_name", item.get("app_name")) for item in body["requests"] if isinstance(item, dict)]
        echo = ("app_name", "app_name")
    if echo is None:
        return None
    sent = case.path_parameters.get(echo[0]) if isinstance(case.path_parameters, dict) else None
    if not isinstance(sent, str):
        return None
    # Generated path parameters are held percent-encoded, as they go on the wire.
    try:
        meant = unquote(sent, errors="strict")
    except UnicodeDecodeError:
        return None
    for member, answered in expected_items:
        if answered != meant:
            raise AssertionError(
                f"Path parameter not decoded: {echo[0]}={meant!r} was sent as {response.request.url}, "
                f"but the answer's {member} is {answered!r}"
            )
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: Any) -> Optional[float]:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def _with(mapping: Any, key: str, value: Any) -> Any:
    copy = dict(mapping)
    copy[key] = value
    return copy


class FuzzTarget:
    """One server under fuzz, with the state and hooks that go with it."""

    def __init__(self, name: str, env: Dict[str, str], api_key: Optional[str] = None, identity: Optional[str] = None):
        self.name = name
        self.api_key = api_key
        self.identity = identity or FUZZ_IDENTITY
        self.keyed = api_key is not None
        # (method, status) per operation label, for the summary and the reach check.
        self.stats: Dict[str, Counter] = defaultdict(Counter)
        self._lock = threading.Lock()
        self._case_numbers = itertools.count()
        self.sink = PushResponder(lambda body: (200, {"result": "pushed"}))
        self.sink_authority = self.sink.url.split("://", 1)[1].split("/", 1)[0]
        self.server: Optional[ServerProcess] = None
        self.http: Optional[httpx.Client] = None
        self.other: Optional[httpx.Client] = None
        try:
            self.server = ServerProcess(env)
            self.url = self.server.url
            self.http = self._client(api_key)
            self.other = self._client(OTHER_KEY if self.keyed else None)
            self._seed_records()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ set-up

    def _client(self, key: Optional[str]) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, headers=headers)

    def _send(self, http: httpx.Client, destination: str, timeout: float = MAX_TIMEOUT) -> str:
        response = http.post("/rpc/send", json={
            "app_name": POOL_APP, "func_name": POOL_FUNC, "destination": destination,
            "params": {"n": 1}, "timeout": timeout,
        })
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def _answered(self, http: httpx.Client, destination: str, answer: Dict[str, Any]) -> str:
        request_id = self._send(http, destination)
        leased = http.get(f"/rpc/inbox/{POOL_APP}", params={"destination": destination, "max": 100, "wait": 1})
        assert leased.status_code == 200, leased.text
        assert request_id in [item["id"] for item in leased.json()["requests"]], leased.text
        reply = http.post(f"/rpc/reply/{request_id}", json=answer)
        assert reply.status_code == 200, reply.text
        return request_id

    def _seed_records(self) -> None:
        assert self.http is not None and self.other is not None
        self.completed_id = self._answered(self.http, self.identity, {"result": {"sum": 3, "items": [1, "two", None]}})
        self.failed_id = self._answered(self.http, self.identity, {"error": "division by zero"})
        self.own_app = f"{POOL_APP}_own"
        published = self.http.put(f"/rpc/schema/{self.own_app}", json=APP_SCHEMA)
        assert published.status_code == 200, published.text
        self.known_ids = [self.completed_id, self.failed_id]
        self.known_apps = [self.own_app]
        if self.keyed:
            # Records of another identity: reading or answering them is a 403 for the fuzzed key.
            self.foreign_id = self._send(self.other, OTHER_IDENTITY)
            self.foreign_app = f"{POOL_APP}_foreign"
            published = self.other.put(f"/rpc/schema/{self.foreign_app}", json=APP_SCHEMA)
            assert published.status_code == 200, published.text
            self.known_ids.append(self.foreign_id)
            self.known_apps.append(self.foreign_app)

    def fresh_request(self) -> str:
        """A pending request the fuzzed identity may read and answer (it expires within 2 s)."""
        assert self.http is not None
        return self._send(self.http, self.identity)

    def schema(self) -> schemathesis.BaseSchema:
        config: Dict[str, Any] = {
            "base-url": self.url,
            "request-timeout": REQUEST_TIMEOUT,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            # The keys are throwaway test keys: keep them in the curl commands of failure reports.
            "output": {"sanitization": {"enabled": False}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True, "expected-statuses": ALLOWED_STATUSES},
                **{name: {"enabled": True} for name in CHECKS if name != "not_a_server_error"},
            },
        }
        if SEED is not None:
            config["seed"] = SEED
        if self.keyed:
            # The key goes on every call; generating other values for it would only test 401.
            config["headers"] = {"X-API-Key": self.api_key}
            config["generation"]["with-security-parameters"] = False
        loaded = schemathesis.openapi.from_url(f"{self.url}/openapi.json", config=schemathesis.Config.from_dict(config))
        target = self

        def flatmap_case(context: Any, case: Case) -> st.SearchStrategy:
            return target._mix_known_values(context, case)

        loaded.hook(flatmap_case)
        return loaded

    # ------------------------------------------------------------------ hooks

    def _mix_known_values(self, context: Any, case: Case) -> st.SearchStrategy:
        """Besides each generated case, offer variants aimed at records that exist.

        Random ids and app names only ever find nothing (404); the variants reach the 200,
        409 and 403 answers. With keys, a destination is also offered as the key's identity,
        the only one allowed to lease, register or answer for it.
        """
        path = context.operation.path
        variants: List[st.SearchStrategy] = [st.just(case)]

        def replaced(part: str, key: str, value: Any) -> st.SearchStrategy:
            # Built only when drawn: a variant shares the case's metadata until then.
            return st.just(None).map(lambda _: self._replace(case, part, key, value))

        params = case.path_parameters if isinstance(case.path_parameters, dict) else None
        if path in ("/rpc/status/{id}", "/rpc/reply/{id}") and params is not None and "id" in params:
            variants += [replaced("path_parameters", "id", known) for known in self.known_ids]
            variants.append(st.just(None).map(lambda _: self._replace(case, "path_parameters", "id", self.fresh_request())))
        if path == "/rpc/schema/{app_name}" and params is not None and "app_name" in params:
            variants += [replaced("path_parameters", "app_name", app) for app in self.known_apps]
        if path == "/rpc/inbox/{app_name}" and params is not None and "app_name" in params:
            variants.append(replaced("path_parameters", "app_name", POOL_APP))
        if self.keyed:
            body = case.body
            if path in ("/rpc/send", "/rpc/apps/{app_name}/endpoint") and isinstance(body, dict) and isinstance(body.get("destination"), str):
                variants.append(replaced("body", "destination", self.identity))
            query = case.query
            if path in ("/rpc/inbox/{app_name}", "/rpc/apps/{app_name}/endpoint") and isinstance(query, dict) and isinstance(query.get("destination"), str):
                variants.append(replaced("query", "destination", self.identity))
        return st.one_of(variants) if len(variants) > 1 else variants[0]

    @staticmethod
    def _replace(case: Case, part: str, key: str, value: Any) -> Case:
        variant = case.derive(keep_auth=True)
        setattr(variant, part, _with(getattr(case, part), key, value))
        return variant

    # ------------------------------------------------------------------ per call

    def bound_case(self, case: Case) -> None:
        """Keeps a generated case fast and on 127.0.0.1 without changing what it tests.

        - a push URL of the documented form gets the local sink's host and port (scheme, path
          and query stay); one outside the form is left as generated, for the server to refuse;
        - a blocking send with a timeout the server accepts waits at most BLOCKING_TIMEOUT;
        - an inbox wait the server accepts lasts at most INBOX_WAIT;
        - an Idempotency-Key gets a suffix of its own per case: the generator repeats short keys
          with other bodies, which the server rightly refuses (422, covered by its own tests).
        """
        path, method = case.operation.path, case.method.upper()
        body, query = case.body, case.query
        if method == "PUT" and path == "/rpc/apps/{app_name}/endpoint" and isinstance(body, dict):
            url = body.get("url")
            if isinstance(url, str):
                match = PUSH_URL.fullmatch(url)
                if match:
                    body["url"] = f"{match.group(1)}://{self.sink_authority}{match.group(2)}"
        if method == "POST" and path == "/rpc/send" and isinstance(body, dict) and body.get("blocking") is True:
            timeout = body.get("timeout")
            if _is_number(timeout) and 0 < timeout <= MAX_TIMEOUT:
                body["timeout"] = min(timeout, BLOCKING_TIMEOUT)
        headers = case.headers
        if method == "POST" and path == "/rpc/send" and headers is not None:
            for name in list(headers.keys()):
                if name.lower() == "idempotency-key" and isinstance(headers[name], str):
                    headers[name] = f"{headers[name]}-{next(self._case_numbers)}"
        if method == "GET" and path == "/rpc/inbox/{app_name}" and isinstance(query, dict):
            # Query values come as numbers or as their text (the coverage phase sends "19").
            wait = _as_number(query.get("wait"))
            if wait is not None and 0 < wait <= MAX_TIMEOUT:
                query["wait"] = min(wait, INBOX_WAIT)

    def record(self, case: Case, response: Any) -> Optional[str]:
        """Counts the answer; returns a problem when a push URL off 127.0.0.1 was accepted.

        bound_case points every URL of the document's form at the sink. A registration that
        names another host means the server took a URL outside that form; it is removed at
        once, before any request can be pushed there.
        """
        with self._lock:
            self.stats[case.operation.label][(case.method.upper(), response.status_code)] += 1
        if case.method.upper() != "PUT" or case.operation.path != "/rpc/apps/{app_name}/endpoint":
            return None
        if not 200 <= response.status_code < 300:
            return None
        try:
            registered = response.json()
        except ValueError:
            return None
        url = registered.get("url") if isinstance(registered, dict) else None
        if not isinstance(url, str):
            return None
        # The authority ends at the first '/', '?' or '#' after the scheme.
        authority = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[0] if "://" in url else ""
        if authority == self.sink_authority:
            return None
        assert self.http is not None
        # The same path the registration went to, byte for byte.
        self.http.request("DELETE", case.formatted_path, params={"destination": registered.get("destination")})
        return f"push URL outside the documented pattern was accepted and registered: {url!r}"

    def crashed(self) -> Optional[str]:
        """None while the server runs; else how it ended, with the end of its log."""
        if self.server is None:
            return "not started"
        code = self.server.process.poll()
        if code is None:
            return None
        return f"syft-proxy exited with {code}; log:\n{self.server.log_text()}"

    def summary(self) -> str:
        lines = [f"fuzz target {self.name}: {sum(sum(c.values()) for c in self.stats.values())} calls"]
        for label in sorted(self.stats):
            counts = self.stats[label]
            detail = ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(counts.items()))
            lines.append(f"  {label}: {sum(counts.values())} ({detail})")
        return "\n".join(lines)

    def close(self) -> None:
        for http in (self.http, self.other):
            if http is not None:
                http.close()
        if self.server is not None:
            self.server.stop()
        self.sink.stop()
