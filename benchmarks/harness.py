"""Timing WSGI applications in process, without a server or a test client.

Environs are built before the clock starts, batches run with the garbage
collector off, scenarios interleave over rounds, and every batch's last answer
is checked; docs/performance.rst ("How it is measured") says why.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import random
import statistics
import time
import typing as t

from items import Store
from items import UPDATE
from items import UPDATE_BODY
from werkzeug.http import quote_etag
from werkzeug.test import EnvironBuilder

from flask_preconditions import etag_for_body
from flask_preconditions import etag_for_version

WSGIApp = t.Callable[..., t.Iterable[bytes]]


class App(t.NamedTuple):
    """An application of the benchmark, and what its answers must look like."""

    factory: t.Callable[..., WSGIApp]
    #: "flask-preconditions", "hand-written", or a peer's name.
    framework: str
    what: str
    #: The app whose plain view this one's ratios are taken to (None: itself).
    plain: str | None
    #: The ETag it sends: "version" (etag_for_version), "body" (etag_for_body),
    #: "any" (some tag) or None (not checked).
    etag: str | None = None
    #: Whether its 4xx answers are RFC 9457 problem documents.
    problems: bool = False
    prefix: str = ""


class Result(t.NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def environ(path: str, method: str, headers: dict[str, str]) -> dict[str, t.Any]:
    body = UPDATE_BODY if method == "PUT" else None
    builder = EnvironBuilder(
        path,
        method=method,
        headers=list(headers.items()),
        data=body,
        content_type="application/json" if body else None,
    )
    return builder.get_environ()


def call(app: WSGIApp, environ: dict[str, t.Any]) -> Result:
    """Run one request and capture its response (never inside a timed loop)."""
    captured: list[t.Any] = []
    chunks: list[bytes] = []

    def start_response(*args: t.Any) -> t.Callable[[bytes], None]:
        captured[:] = args[:2]
        return chunks.append

    iterable = app(environ, start_response)
    chunks.extend(iterable)
    getattr(iterable, "close", lambda: None)()
    status, headers = captured
    headers = {name.lower(): value for name, value in headers}
    return Result(int(status.split(" ", 1)[0]), headers, b"".join(chunks))


def _ignore(*args: t.Any) -> t.Callable[[bytes], object]:
    return len  # the write() callable, which no app here calls


def run_batch(app: WSGIApp, environs: list[dict[str, t.Any]]) -> int:
    """Run every environ through ``app``; the nanoseconds it took."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for request in environs:
            iterable = app(request, _ignore)
            for _ in iterable:
                pass
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


@dataclasses.dataclass
class Scenario:
    """One kind of request to one application, and what its answer must be."""

    name: str
    spec: App
    app: WSGIApp
    store: Store
    item_id: int
    #: A method, then the precondition it sends, if any: "If-None-Match" (the
    #: current tag), "If-Match" (the tag of the version each write finds) or
    #: "stale If-Match" (the version before).
    request: str
    status: int
    baseline: str | None
    what: str = ""
    #: The mean ns per request of each timed batch.
    rounds: list[float] = dataclasses.field(default_factory=list)
    # Set by prepare(): the version each batch starts from, the environ every
    # request is copied from, and the If-Match of each successive write.
    version: int = dataclasses.field(init=False, default=0)
    template: dict[str, t.Any] = dataclasses.field(init=False, default_factory=dict)
    if_match: list[str] = dataclasses.field(init=False, default_factory=list)

    @property
    def method(self) -> str:
        return self.request.partition(" ")[0]

    @property
    def condition(self) -> str:
        return self.request.partition(" ")[2]

    @property
    def path(self) -> str:
        return f"{self.spec.prefix}/items/{self.item_id}"

    @property
    def writes(self) -> bool:
        """Whether every request of the scenario is a successful write."""
        return self.method == "PUT" and self.status == 200

    def etag_at(self, version: int) -> str:
        """The ETag the resource has at ``version``, from a GET of it."""
        saved = t.cast(int, self.store.version(self.item_id))
        self.store.set_version(self.item_id, version)
        result = call(self.app, environ(self.path, "GET", {}))
        self.store.set_version(self.item_id, saved)
        if result.status != 200 or "etag" not in result.headers:
            raise RuntimeError(f"{self.name}: GET {self.path} gave no ETag to send")
        return result.headers["etag"]

    def prepare(self) -> None:
        """Build the request template once; make writes repeatable."""
        if self.method == "PUT":
            # After one write a record's content stays the same, only its
            # version moves, so the ETag of every later version is known.
            self.store.write(self.item_id, dict(UPDATE))
        self.version = t.cast(int, self.store.version(self.item_id))
        headers = {}
        if self.condition == "If-None-Match":
            headers["If-None-Match"] = self.etag_at(self.version)
        elif self.condition == "stale If-Match":
            headers["If-Match"] = self.etag_at(self.version - 1)
        self.template = environ(self.path, self.method, headers)
        self.if_match = []

    def environs(self, count: int) -> list[dict[str, t.Any]]:
        """``count`` fresh environs; rewinds the resource to its start version."""
        self.store.set_version(self.item_id, self.version)
        body = UPDATE_BODY if self.method == "PUT" else b""
        requests = [
            dict(self.template, **{"wsgi.input": io.BytesIO(body)})
            for _ in range(count)
        ]
        if self.condition == "If-Match":
            while len(self.if_match) < count:
                self.if_match.append(self.etag_at(self.version + len(self.if_match)))
            for request, etag in zip(requests, self.if_match, strict=False):
                request["HTTP_IF_MATCH"] = etag
        return requests

    def expected_etag(self, result: Result, version: int) -> str | None:
        if result.status == 304:
            # RFC 9110 §15.4.5: the tag the 200 would carry, the one matched.
            return t.cast(str, self.template["HTTP_IF_NONE_MATCH"])
        if self.spec.etag == "version":
            return quote_etag(etag_for_version(version))
        if self.spec.etag == "body":
            return quote_etag(etag_for_body(result.body))
        return result.headers.get("etag")

    def check(self, result: Result, count: int) -> list[str]:
        """What is wrong with the last of ``count`` responses, if anything."""
        problems = []
        if result.status != self.status:
            problems.append(f"status {result.status}, expected {self.status}")
        etag = result.headers.get("etag")
        version = t.cast(int, self.store.version(self.item_id))
        if self.spec.etag and result.status in (200, 304):
            expected = self.expected_etag(result, version)
            if etag is None and (self.method == "GET" or self.spec.etag == "version"):
                problems.append("no ETag")
            elif etag != expected:
                problems.append(f"ETag {etag}, expected {expected}")
        if result.status == 304 and result.body:
            problems.append(f"a 304 with a body of {len(result.body)} bytes")
        if result.status == 200 and len(result.body) < 1500:
            problems.append(f"a 200 with a body of only {len(result.body)} bytes")
        if self.spec.problems and result.status >= 400:
            problems += problem_document(result)
        if version != self.version + (count if self.writes else 0):
            done = "wrote" if self.writes else "left the resource alone"
            problems.append(
                f"version {version} after {count}: not every request {done}"
            )
        return problems


def problem_document(result: Result) -> list[str]:
    """What is wrong with an RFC 9457 problem document, if anything."""
    if not result.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        return [f"Content-Type {result.headers.get('content-type')!r}, not a problem"]
    document = json.loads(result.body)
    if document.get("status") != result.status:
        return [f"problem status {document.get('status')!r}"]
    return [] if document.get("detail") else ["a problem without a detail"]


def verify(scenario: Scenario, count: int = 3) -> list[str]:
    """Run ``count`` requests of a scenario and check the last one."""
    environs = scenario.environs(count)
    for request in environs[:-1]:
        call(scenario.app, request)
    return scenario.check(call(scenario.app, environs[-1]), count)


def measure(
    scenarios: list[Scenario], *, rounds: int, round_seconds: float, warmup: int
) -> t.Iterator[list[str]]:
    """Time every scenario in ``rounds`` interleaved rounds, each batch long
    enough to last about ``round_seconds``; yields the failed checks of each
    round. The mean ns per request of each batch goes to ``scenario.rounds``."""
    calls = {}
    for scenario in scenarios:
        per_call = run_batch(scenario.app, scenario.environs(warmup)) / warmup
        calls[scenario.name] = max(20, min(20_000, int(round_seconds * 1e9 / per_call)))
    order = list(scenarios)
    shuffler = random.Random(20260101)
    for number in range(1, rounds + 1):
        shuffler.shuffle(order)
        failures = []
        for scenario in order:
            count = calls[scenario.name]
            environs = scenario.environs(count + 1)
            scenario.rounds.append(run_batch(scenario.app, environs[:-1]) / count)
            result = call(scenario.app, environs[-1])
            failures += [
                f"{scenario.name} (round {number}): {problem}"
                for problem in scenario.check(result, count + 1)
            ]
        yield failures


def median_us(scenario: Scenario) -> float:
    return statistics.median(scenario.rounds) / 1000


def spread_us(scenario: Scenario) -> float:
    """Half the interquartile range of the per-round means, in µs."""
    if len(scenario.rounds) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(scenario.rounds, n=4)
    return (q3 - q1) / 2000


def ratio(scenario: Scenario, baseline: Scenario) -> float:
    """The median over rounds of ``scenario``'s cost divided by ``baseline``'s."""
    pairs = zip(scenario.rounds, baseline.rounds, strict=True)
    return statistics.median(ours / theirs for ours, theirs in pairs)
