"""Timing WSGI applications in process, without a server or a test client.

A :class:`Scenario` is one kind of request to one application. The harness
builds each request's WSGI environ before the clock starts (a copy of a
template environ, a fresh ``wsgi.input``, and for conditional writes the
``If-Match`` of the version the resource will have then), calls
``app(environ, start_response)`` in a tight loop, consumes the response
iterable and closes it, and takes the clock once per batch with
:func:`time.perf_counter_ns`. The garbage collector is off inside a batch (and
a collection runs before it), so a collection triggered by one scenario's
garbage is not billed to another.

Scenarios run interleaved: every round runs one batch of every scenario, in a
shuffled order, and a scenario's ratio to its baseline is the median over
rounds of the ratio of the two batches of the same round. Slow phases of the
machine (another process, frequency changes) then affect both sides of a
ratio alike.
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
from werkzeug.test import EnvironBuilder

WSGIApp = t.Callable[..., t.Iterable[bytes]]

PROBLEM_JSON = "application/problem+json"


def _write(data: bytes) -> None:
    pass


def _start_response(
    status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
) -> t.Callable[[bytes], None]:
    return _write


@dataclasses.dataclass
class Result:
    """One response, captured in full (outside the timed loops)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def call(app: WSGIApp, environ: dict[str, t.Any]) -> Result:
    """Run one request and capture its response."""
    captured: list[t.Any] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], None]:
        captured[:] = [status, headers]
        return chunks.append

    iterable = app(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = captured
    return Result(
        int(status.split(" ", 1)[0]),
        {k.lower(): v for k, v in headers},
        b"".join(chunks),
    )


def run_batch(app: WSGIApp, environs: list[dict[str, t.Any]]) -> int:
    """Run every environ through ``app``; the nanoseconds it took."""
    start_response = _start_response
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for environ in environs:
            iterable = app(environ, start_response)
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
    #: Who implements it: "flask-preconditions", "hand-written", a peer's name.
    framework: str
    #: "read" or "write".
    kind: str
    #: The scenario this one's ratio is taken to (``None`` for a baseline).
    baseline: str | None
    app: WSGIApp
    store: Store
    item_id: int
    path: str
    method: str = "GET"
    #: "if-none-match" (the current ETag), "if-match" (the current ETag of
    #: every call's version), "stale-if-match" (the ETag of the version
    #: before), or None.
    condition: str | None = None
    expect_status: int = 200
    expect_etag: bool = False
    expect_problem: bool = False
    #: What the ETag must be, given the version after the request, if known.
    etag_of: t.Callable[[int, bytes], str] | None = None
    #: The app and path whose GET tells the ETag a version has (default: own).
    etag_app: WSGIApp | None = None
    etag_path: str | None = None
    description: str = ""
    #: Extra headers sent with every request.
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    # Set by prepare().
    _template: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    _version: int = 0
    _if_match: list[str] = dataclasses.field(default_factory=list)

    @property
    def writes(self) -> bool:
        """Whether every request of the scenario is a successful write."""
        return self.method == "PUT" and self.expect_status == 200

    @property
    def body(self) -> bytes:
        return UPDATE_BODY if self.method == "PUT" else b""

    def etag_at(self, version: int) -> str:
        """The ETag the resource has at ``version``, from a GET of it."""
        saved = self.store.version(self.item_id)
        self.store.set_version(self.item_id, version)
        try:
            path = self.etag_path or self.path
            result = call(self.etag_app or self.app, _environ(path, "GET", {}, b""))
        finally:
            self.store.set_version(self.item_id, t.cast(int, saved))
        etag = result.header("ETag")
        if result.status != 200 or etag is None:
            raise RuntimeError(
                f"{self.name}: GET {path} answered {result.status} without an"
                " ETag, so no conditional request can be built for it."
            )
        return etag

    def prepare(self) -> None:
        """Build the request template once; make writes repeatable."""
        if self.method == "PUT":
            # After one write the record's content no longer changes, only
            # its version, so the ETag of every later version is known.
            self.store.write(self.item_id, dict(UPDATE))
        self._version = t.cast(int, self.store.version(self.item_id))
        headers = dict(self.headers)
        if self.condition == "if-none-match":
            headers["If-None-Match"] = self.etag_at(self._version)
        elif self.condition == "stale-if-match":
            headers["If-Match"] = self.etag_at(self._version - 1)
        self._template = _environ(self.path, self.method, headers, self.body)
        self._if_match = []

    def environs(self, count: int) -> list[dict[str, t.Any]]:
        """``count`` fresh environs; rewinds the resource to its start version."""
        self.store.set_version(self.item_id, self._version)
        if self.condition == "if-match":
            while len(self._if_match) < count:
                self._if_match.append(self.etag_at(self._version + len(self._if_match)))
        template = self.template
        body = self.body
        result = []
        for k in range(count):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(body)
            if self.condition == "if-match":
                environ["HTTP_IF_MATCH"] = self._if_match[k]
            result.append(environ)
        return result

    @property
    def template(self) -> dict[str, t.Any]:
        return self._template

    def expected_version(self, count: int) -> int:
        return self._version + (count if self.writes else 0)

    def check(self, result: Result, count: int) -> list[str]:
        """What is wrong with the last of ``count`` responses, if anything."""
        problems = []
        if result.status != self.expect_status:
            problems.append(f"status {result.status}, expected {self.expect_status}")
        etag = result.header("ETag")
        if self.expect_etag and etag is None:
            problems.append("no ETag header")
        if etag is not None and self.etag_of is not None:
            version = t.cast(int, self.store.version(self.item_id))
            expected = self.etag_of(version, result.body)
            if etag != expected:
                problems.append(f"ETag {etag}, expected {expected}")
        if self.expect_status == 304 and result.body:
            problems.append(f"a 304 with a body of {len(result.body)} bytes")
        if self.expect_status == 200 and len(result.body) < 1500:
            problems.append(f"a 200 with a body of only {len(result.body)} bytes")
        if self.expect_problem:
            content_type = result.header("Content-Type") or ""
            if not content_type.startswith(PROBLEM_JSON):
                problems.append(f"Content-Type {content_type!r}, not {PROBLEM_JSON}")
            else:
                document = json.loads(result.body)
                if document.get("status") != self.expect_status:
                    problems.append(f"problem status {document.get('status')!r}")
                if not document.get("detail"):
                    problems.append("problem without a detail")
        version = self.store.version(self.item_id)
        if version != self.expected_version(count):
            problems.append(
                f"version {version} after {count} requests, expected"
                f" {self.expected_version(count)}: not every request"
                f" {'wrote' if self.writes else 'left the resource alone'}"
            )
        return problems


def _environ(
    path: str, method: str, headers: dict[str, str], body: bytes
) -> dict[str, t.Any]:
    builder = EnvironBuilder(
        path=path,
        method=method,
        headers=headers,
        data=body or None,
        content_type="application/json" if body else None,
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def verify(scenario: Scenario, count: int = 1) -> list[str]:
    """Run ``count`` requests of a scenario and check the last one."""
    environs = scenario.environs(count)
    for environ in environs[:-1]:
        call(scenario.app, environ)
    return scenario.check(call(scenario.app, environs[-1]), count)


@dataclasses.dataclass
class Timing:
    """The per-round mean cost of one scenario, in nanoseconds per request."""

    scenario: Scenario
    calls: int = 0
    rounds: list[float] = dataclasses.field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.rounds) / 1000

    @property
    def spread_us(self) -> float:
        """Half the interquartile range of the per-round means, in µs."""
        if len(self.rounds) < 4:
            return (max(self.rounds) - min(self.rounds)) / 2000
        q1, _, q3 = statistics.quantiles(self.rounds, n=4)
        return (q3 - q1) / 2000


def measure(
    scenarios: list[Scenario],
    *,
    rounds: int,
    round_seconds: float,
    warmup_calls: int,
    seed: int = 20260101,
    progress: t.Callable[[str], None] = lambda _: None,
) -> tuple[dict[str, Timing], list[str]]:
    """Time every scenario, interleaved; also returns the checks that failed.

    Every round ends each scenario's batch with one more request whose answer
    is checked, so a benchmark never silently times the wrong response.
    """
    failures: list[str] = []
    timings = {s.name: Timing(s) for s in scenarios}
    for scenario in scenarios:
        environs = scenario.environs(warmup_calls)
        elapsed = run_batch(scenario.app, environs)
        per_call = max(elapsed / warmup_calls, 1.0)
        timings[scenario.name].calls = max(
            20, min(20_000, int(round_seconds * 1e9 / per_call))
        )
    order = list(scenarios)
    shuffler = random.Random(seed)
    for number in range(rounds):
        shuffler.shuffle(order)
        for scenario in order:
            timing = timings[scenario.name]
            environs = scenario.environs(timing.calls + 1)
            elapsed = run_batch(scenario.app, environs[:-1])
            timing.rounds.append(elapsed / timing.calls)
            result = call(scenario.app, environs[-1])
            for problem in scenario.check(result, timing.calls + 1):
                failures.append(f"{scenario.name} (round {number + 1}): {problem}")
        progress(f"round {number + 1}/{rounds}")
    return timings, failures


def paired_ratio(timings: dict[str, Timing], name: str, baseline: str) -> float:
    """The median over rounds of ``name``'s cost divided by ``baseline``'s."""
    a = timings[name].rounds
    b = timings[baseline].rounds
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


@dataclasses.dataclass(frozen=True)
class ProfileLine:
    """One function's own time per request in a scenario and its baseline."""

    function: str
    scenario_us: float
    baseline_us: float

    @property
    def extra_us(self) -> float:
        return self.scenario_us - self.baseline_us


def _own_time_per_call(scenario: Scenario, calls: int) -> dict[str, float]:
    import cProfile
    import pstats

    environs = scenario.environs(calls)
    profiler = cProfile.Profile()
    app = scenario.app
    profiler.enable()
    for environ in environs:
        iterable = app(environ, _start_response)
        for _ in iterable:
            pass
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    profiler.disable()
    stats = pstats.Stats(profiler)
    own: dict[str, float] = {}
    for (filename, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        label = _function_label(filename, line, name)
        own[label] = own.get(label, 0.0) + row[2] * 1e6 / calls
    return own


def _function_label(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name
    for marker in ("site-packages/", "flask_preconditions/", "benchmarks/"):
        index = filename.rfind(marker)
        if index >= 0:
            filename = filename[index:].removeprefix("site-packages/")
            break
    else:
        filename = filename.rsplit("/", 1)[-1]
    return f"{filename}:{line}({name})"


def profile_difference(
    scenario: Scenario, baseline: Scenario, *, calls: int, top: int = 12
) -> list[ProfileLine]:
    """Where ``scenario`` spends more time than ``baseline``, per request.

    Both are profiled with :mod:`cProfile` over ``calls`` requests; the
    functions are ranked by how much more of their own time (not counting the
    functions they call) one request of the scenario spends in them. cProfile
    slows every call down, so the absolute figures are inflated; the ranking
    is what tells where the extra time goes.
    """
    ours = _own_time_per_call(scenario, calls)
    theirs = _own_time_per_call(baseline, calls)
    lines = [ProfileLine(name, us, theirs.get(name, 0.0)) for name, us in ours.items()]
    lines.sort(key=lambda line: line.extra_us, reverse=True)
    return lines[:top]
