"""The pytest plugin, ``flask_preconditions.testing``, proves and disproves APIs.

Each of its three checks is shown passing on the notes example and failing,
with a readable report, on an app that can lose an update: the naive
check-then-write variant of the notes example with its write lock off
(``examples/notes/naive.py``), and a counter API with one write route
forgotten (``examples/testing/unprotected.py``). The fixtures run in inner
pytest sessions (``pytester``), as a user's suite runs them; the helpers and
the reports are also tested directly, against hand-written servers that break
one rule each.
"""

from __future__ import annotations

import collections
import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
import threading
import time
import typing as t

import pytest
from flask import Flask
from flask import request
from werkzeug.datastructures import ETags
from werkzeug.serving import make_server

from examples.notes import naive
from examples.notes.app import create_app as create_notes_app
from examples.notes.models import db
from examples.testing import unprotected
from flask_preconditions import live_server
from flask_preconditions.battery import check_conditional_requests
from flask_preconditions.battery import STALE_ETAG
from flask_preconditions.concurrency_check import check_lost_updates
from flask_preconditions.concurrency_check import LostUpdateReport
from flask_preconditions.live_server import serve_app
from flask_preconditions.live_server import ServerFailed
from flask_preconditions.testing import assert_routes_protected
from flask_preconditions.testing import ConditionalBattery

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTES_EXAMPLE = ROOT / "examples/testing/test_notes_api.py"
PLUGIN = ("-p", "flask_preconditions.testing")

needs_gunicorn = pytest.mark.skipif(
    not live_server.gunicorn_available(), reason="gunicorn is not installed"
)


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """An inner session that imports the examples, where warnings are errors.

    This module imported the plugin before the inner session loads it, so
    pytest cannot rewrite its asserts there (it has none) and says so.
    """
    pytester.makeini(
        f"""
        [pytest]
        pythonpath = {ROOT}
        filterwarnings =
            error
            ignore:Module already imported so cannot be rewritten
        """
    )
    return pytester


# -- loading the plugin ----------------------------------------------------------


def test_loading_the_plugin_imports_no_flask_and_starts_nothing() -> None:
    code = (
        "import sys, threading, flask_preconditions.testing\n"
        "names = ('flask', 'gunicorn', 'requests', 'flask_preconditions.audit')\n"
        "print([name for name in names if name in sys.modules],"
        " threading.active_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.split() == ["[]", "1"]


def test_the_plugin_provides_its_fixtures(inner: pytest.Pytester) -> None:
    result = inner.runpytest(*PLUGIN, "--fixtures")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "conditional_battery -- *flask_preconditions*testing.py*",
            "*conditional-request battery*",
            "lost_update_check -- *flask_preconditions*testing.py*",
        ]
    )


def pytest11_entry_points() -> list[importlib.metadata.EntryPoint]:
    return [
        entry_point
        for entry_point in importlib.metadata.entry_points(group="pytest11")
        if entry_point.value == "flask_preconditions.testing"
    ]


@pytest.mark.skipif(
    not pytest11_entry_points(),
    reason="the pytest11 entry point is not installed (pip install -e . again)",
)
def test_the_entry_point_loads_the_plugin_once_also_with_dash_p(
    inner: pytest.Pytester,
) -> None:
    # Named as the module, so that `-p flask_preconditions.testing` finds the
    # entry point instead of registering the module a second time.
    assert [ep.name for ep in pytest11_entry_points()] == [
        "flask_preconditions.testing"
    ]
    inner.makepyfile("def test_fixture(conditional_battery):\n    pass\n")
    inner.runpytest_subprocess().assert_outcomes(passed=1)
    inner.runpytest_subprocess(*PLUGIN).assert_outcomes(passed=1)


# -- the audit as a test -----------------------------------------------------------


@pytest.fixture
def notes_app(tmp_path: pathlib.Path) -> t.Iterator[Flask]:
    app = create_notes_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'n.db'}"}
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def naive_app(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> t.Iterator[Flask]:
    """The check-then-write notes app, with the write lock off."""
    monkeypatch.setenv("PRECONDITIONS_LOCK", "off")
    app = naive.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'n.db'}"}
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_audit_passes_on_the_notes_example(notes_app: Flask) -> None:
    rows = assert_routes_protected(notes_app)
    assert ("note", "PUT") in {(row.endpoint, row.method) for row in rows}


def test_audit_fails_on_an_unprotected_write() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_routes_protected(unprotected.create_app())
    report = str(failure.value)
    assert report.startswith(
        "1 write route(s) of the application 'examples.testing.unprotected' can"
        " lose an update"
    )
    assert "put_counter  PUT     /counters/<int:counter_id>  unprotected" in report
    assert "- PUT /counters/<int:counter_id> (put_counter) is unprotected:" in report
    assert "get_counter" not in report


def test_audit_fails_on_a_check_then_write_app(naive_app: Flask) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_routes_protected(naive_app)
    report = str(failure.value)
    assert "2 write route(s)" in report
    for method in ("DELETE", "PUT"):
        assert f"- {method} /notes/<int:note_id> (note) is check-then-write" in report


def test_audit_fails_exactly_where_routes_strict_fails(
    notes_app: Flask, naive_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRECONDITIONS_LOCK", "file")
    locked_naive = naive.create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    apps = [notes_app, naive_app, locked_naive, unprotected.create_app()]
    passes = []
    for app in apps:
        strict = app.test_cli_runner().invoke(
            args=["preconditions", "routes", "--strict"]
        )
        try:
            assert_routes_protected(app)
        except AssertionError:
            passes.append(False)
        else:
            passes.append(True)
        assert passes[-1] is (strict.exit_code == 0), (app.name, strict.output)
    assert passes == [True, False, True, False]
    with locked_naive.app_context():
        db.engine.dispose()


# -- the conditional-request battery ---------------------------------------------


def reference_app(*bugs: str) -> Flask:
    """A server written by hand, without the extension, that breaks ``bugs``."""
    app = Flask("reference")
    items: dict[int, dict[str, t.Any]] = {1: {"value": "first", "version": 1}}

    def headers_of(item: dict[str, t.Any]) -> dict[str, str]:
        headers = {
            "ETag": f'"v{item["version"]}"',
            "Cache-Control": "no-cache",
            "Vary": "Origin",
        }
        if "Origin" in request.headers:
            headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
        return headers

    def problem(status: int) -> t.Any:
        if "428_is_plain_text" in bugs and status == 428:
            return "Precondition required", status, {"Content-Type": "text/plain"}
        body = {"type": "about:blank", "status": status}
        return body, status, {"Content-Type": "application/problem+json"}

    @app.route("/items/<int:item_id>", methods=["GET", "PUT"])
    def item(item_id: int) -> t.Any:
        current = items.get(item_id)
        if request.method in ("GET", "HEAD"):
            if current is None:
                return problem(404)
            headers = headers_of(current)
            if request.method == "HEAD" and "head_differs" in bugs:
                headers["ETag"] = '"other"'
            if request.if_none_match.contains(f"v{current['version']}"):
                if "304_drops_cache_control" in bugs:
                    del headers["Cache-Control"]
                if "304_drops_cors" in bugs:
                    headers.pop("Access-Control-Allow-Origin", None)
                return "", 304, headers
            return {"value": current["value"]}, 200, headers
        if_match, if_none_match = request.if_match, request.if_none_match
        if not if_match and not if_none_match and "no_428" not in bugs:
            return problem(428)
        if (
            if_none_match.star_tag
            and current is not None
            and "creates_twice" not in bugs
        ):
            return problem(412)
        if current is not None and if_match and "ignores_if_match" not in bugs:
            compare = ETags.contains_weak if "weak_compare" in bugs else ETags.contains
            if not compare(if_match, f"v{current['version']}"):
                return problem(412)
        value = t.cast(dict[str, t.Any], request.json)["value"]
        status = 200 if current is not None else 201
        current = current or {"value": value, "version": 0}
        current["value"] = value
        if "etag_never_changes" not in bugs:
            current["version"] += 1
        items[item_id] = current
        headers = {} if "no_new_etag" in bugs else {"ETag": f'"v{current["version"]}"'}
        return {"value": value}, status, headers

    return app


def battery(app: Flask, **options: t.Any) -> t.Any:
    return check_conditional_requests(
        app.test_client(), "/items/1", body={"value": "changed"}, **options
    )


def test_battery_passes_on_a_correct_server_written_by_hand() -> None:
    report = battery(reference_app(), create_url="/items/2")
    assert [result.outcome for result in report.results] == ["passed"] * 8, report
    assert report.ok
    report.raise_for_failures()
    assert str(report).startswith("Conditional requests to /items/1: 8 passed\n")


BROKEN = [
    # (bug, the check that fails, what the report says)
    (
        "304_drops_cache_control",
        "a conditional GET is 304 with the 200's caching and CORS headers"
        " (RFC 9110 §13.1.2, §15.4.5)",
        "The 200 has Cache-Control: no-cache but the 304 has none",
    ),
    (
        "304_drops_cors",
        "a conditional GET is 304 with the 200's caching and CORS headers"
        " (RFC 9110 §13.1.2, §15.4.5)",
        "The 200 has Access-Control-Allow-Origin: https://client.example but the"
        " 304 has none: a browser's CORS check",
    ),
    (
        "head_differs",
        "HEAD is answered as GET is (RFC 9110 §9.3.2)",
        'GET gives ETag: "v1" but HEAD gives "other"',
    ),
    (
        "no_428",
        "a write without a precondition is 428 with a problem body"
        " (RFC 6585 §3, RFC 9457 §3)",
        "PUT answered 200 OK, expected 428 Precondition Required",
    ),
    (
        "428_is_plain_text",
        "a write without a precondition is 428 with a problem body"
        " (RFC 6585 §3, RFC 9457 §3)",
        "The 428 is text/plain, not application/problem+json",
    ),
    (
        "weak_compare",
        "a weak entity-tag in If-Match is 412 and changes nothing"
        " (RFC 9110 §13.1.1, §8.8.3.2)",
        "its ETag went from",
    ),
    (
        "no_new_etag",
        "a write with the current entity-tag succeeds and gives the new one"
        " (RFC 9110 §13.1.1, §9.3.4)",
        "The response has no ETag",
    ),
    (
        "etag_never_changes",
        "a write with the current entity-tag succeeds and gives the new one"
        " (RFC 9110 §13.1.1, §9.3.4)",
        "The representation changed but its ETag did not",
    ),
    (
        "creates_twice",
        "If-None-Match: * creates with 201 once, then is 412 (RFC 9110 §13.1.2,"
        " §15.3.2)",
        "PUT answered 200 OK, expected 412 Precondition Failed",
    ),
]


@pytest.mark.parametrize(
    ("bug", "check", "says"), BROKEN, ids=[row[0] for row in BROKEN]
)
def test_battery_fails_the_check_a_server_breaks(
    bug: str, check: str, says: str
) -> None:
    report = battery(reference_app(bug), create_url="/items/2")
    failed = [f"{result.name} ({result.sections})" for result in report.failures]
    assert failed == [check], report
    assert not report.ok
    assert f"  FAILED  {check}\n" in str(report)
    assert says in str(report)
    with pytest.raises(AssertionError, match="1 failed"):
        report.raise_for_failures()


def test_battery_reports_a_write_applied_despite_a_stale_etag() -> None:
    report = battery(reference_app("ignores_if_match"))
    failed = {result.name for result in report.failures}
    assert failed == {
        "a stale entity-tag in If-Match is 412 and changes nothing",
        "a weak entity-tag in If-Match is 412 and changes nothing",
    }
    text = str(report)
    assert "FAILED  a stale entity-tag in If-Match is 412 and changes nothing" in text
    assert "(RFC 9110 §13.1.1)" in text
    # The request, what came back, and that the write was made.
    assert f"> If-Match: {STALE_ETAG}\n" in text
    assert "PUT answered 200 OK, expected 412 Precondition Failed" in text
    assert 'its ETag went from "v1" to "v2"' in text


def test_battery_skips_what_needs_an_etag_when_get_gives_none() -> None:
    app = Flask("no_etag")
    app.add_url_rule("/thing", "thing", lambda: {"value": 1}, methods=["GET", "PUT"])
    report = check_conditional_requests(app.test_client(), "/thing", body={})
    outcomes = [result.outcome for result in report.results]
    assert outcomes == ["failed"] + ["skipped"] * 7
    assert "The 200 has no ETag" in str(report)


def test_battery_explains_why_a_weak_etag_cannot_write() -> None:
    app = reference_app()

    @app.after_request
    def weaken(response: t.Any) -> t.Any:
        etag, weak = response.get_etag()
        if etag and not weak:
            response.set_etag(etag, weak=True)
        return response

    report = battery(app)
    assert "The GET's entity-tag is weak" in str(report)


def test_battery_passes_on_the_naive_app_which_only_races_lose(
    naive_app: Flask,
) -> None:
    # Request by request, a check-then-write server is correct: the battery
    # passes, and only the concurrency check can tell it apart.
    client = naive_app.test_client()
    body = {"title": "counter", "text": "0"}
    assert (
        client.put("/notes/1", json=body, headers={"If-None-Match": "*"}).status_code
        == 201
    )
    report = check_conditional_requests(
        client, "/notes/1", body={"title": "t", "text": "1"}, create_url="/notes/2"
    )
    report.raise_for_failures()


def test_conditional_battery_fixture_fails_with_the_report_on_an_unprotected_write(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        from examples.testing.unprotected import create_app

        def test_counter(conditional_battery):
            conditional_battery(
                create_app().test_client(),
                "/counters/1",
                body={"value": 41},
                create_url="/counters/2",
            )
        """
    )
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Conditional requests to /counters/1: 3 passed, 5 failed",
            "  FAILED  a write without a precondition is 428 with a problem body"
            " (RFC 6585 §3, RFC 9457 §3)",
            "            - PUT answered 200 OK, expected 428 Precondition Required*",
            "  FAILED  a stale entity-tag in If-Match is 412 and changes nothing"
            " (RFC 9110 §13.1.1)",
            "            - PUT answered 200 OK, expected 412 Precondition Failed*",
            f"              > If-Match: {STALE_ETAG}",
            "              < 200 OK",
        ]
    )
    # pytest.fail(pytrace=False): the report, not the plugin's traceback.
    assert "testing.py:" not in result.stdout.str()


def test_conditional_battery_fixture_returns_the_report_when_all_pass() -> None:
    report = ConditionalBattery()(
        reference_app().test_client(), "/items/1", body={"value": "x"}
    )
    assert report.ok and len(report.results) == 8


def test_the_notes_example_passes_the_conditional_battery(
    inner: pytest.Pytester,
) -> None:
    inner.copy_example(str(NOTES_EXAMPLE))
    result = inner.runpytest(*PLUGIN, "-k", "conditional")
    result.assert_outcomes(passed=1, deselected=2)


# -- the concurrency check, its reports and its server ---------------------------


def test_report_of_a_lost_update_fails_and_says_what_was_lost() -> None:
    report = LostUpdateReport("http://127.0.0.1:1/n", "PUT", 4, 15, initial=0, final=51)
    report.acknowledged = 60
    report.statuses = {
        "PUT": collections.Counter({200: 60, 412: 70}),
        "GET": collections.Counter({200: 130}),
    }
    assert (report.kept, report.lost, report.refused, report.server_errors) == (
        51,
        9,
        70,
        0,
    )
    assert not report.ok
    text = str(report)
    for line in (
        "  acknowledged     60  writes answered 2xx",
        "  kept             51  read(final) - read(initial) = 51 - 0",
        "  lost              9  acknowledged, then overwritten",
        "  412              70  stale If-Match: read again and retried",
        "  5xx               0  server errors (retried)",
        "  responses: GET 200 x130; PUT 200 x60, 412 x70",
    ):
        assert line in text.splitlines()
    assert "FAILED: 9 acknowledged write(s) are not in the resource" in text
    with pytest.raises(AssertionError, match="lost"):
        report.raise_for_failures()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"acknowledged": 60, "final": 60}, None),
        ({"acknowledged": 0, "final": 0}, "No write was acknowledged"),
        ({"acknowledged": 59, "final": 60, "unanswered": 1}, "got no answer"),
        ({"acknowledged": 59, "final": 60}, "something else wrote to it"),
        ({"acknowledged": 60, "final": None}, None),
    ],
)
def test_report_fails_unless_the_count_proves_no_loss(
    changes: dict[str, t.Any], says: str | None
) -> None:
    report = LostUpdateReport("http://127.0.0.1:1/n", "PUT", 4, 15, initial=0)
    for name, value in changes.items():
        setattr(report, name, value)
    if changes["final"] is None:
        report.errors.append("Reading the resource at the end failed: boom")
        says = "boom"
    assert report.ok is (says is None), report.problems
    if says is not None:
        assert says in str(report)


class Counter:
    """An in-memory counter resource; ``racy`` makes its write check-then-write."""

    def __init__(self, *, racy: bool, etag: bool = True) -> None:
        self.value = 0
        self.racy = racy
        self.etag = etag
        self.lock = threading.Lock()

    def app(self) -> Flask:
        app = Flask("counter")

        @app.route("/counter", methods=["GET", "PUT"])
        def counter() -> t.Any:
            headers = {"ETag": f'"{self.value}"'} if self.etag else {}
            if request.method == "GET":
                return {"n": self.value}, 200, headers
            if self.racy:
                return self.check_then_write()
            with self.lock:
                return self.check_then_write()

        return app

    def check_then_write(self) -> t.Any:
        if request.headers.get("If-Match") != f'"{self.value}"':
            return "", 412
        new = t.cast(dict[str, int], request.json)["n"]
        time.sleep(0.002)  # the window between the check and the write
        self.value = new
        return {"n": new}, 200, {"ETag": f'"{new}"'}


@pytest.fixture
def serve_counter() -> t.Iterator[t.Callable[[Counter], str]]:
    """Serve a :class:`Counter` in this process, on a thread per request."""
    servers = []

    def serve(counter: Counter) -> str:
        server = make_server("127.0.0.1", 0, counter.app(), threaded=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/counter"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def increment(doc: dict[str, int]) -> dict[str, int]:
    return {"n": doc["n"] + 1}


def count(doc: dict[str, int]) -> int:
    return doc["n"]


def test_check_passes_when_check_and_write_are_atomic(
    serve_counter: t.Callable[[Counter], str],
) -> None:
    url = serve_counter(Counter(racy=False))
    report = check_lost_updates(
        url, change=increment, read=count, clients=4, increments=10
    )
    assert (report.acknowledged, report.kept, report.lost) == (40, 40, 0), report
    assert report.refused > 0, "the clients never raced"
    report.raise_for_failures()


def test_check_finds_the_writes_a_check_then_write_server_loses(
    serve_counter: t.Callable[[Counter], str],
) -> None:
    url = serve_counter(Counter(racy=True))
    report = check_lost_updates(
        url, change=increment, read=count, clients=4, increments=10
    )
    assert report.acknowledged == 40
    assert report.lost, report
    assert report.lost == 40 - t.cast(int, report.kept)
    assert not report.ok


def test_check_stops_a_client_whose_change_function_raises(
    serve_counter: t.Callable[[Counter], str],
) -> None:
    url = serve_counter(Counter(racy=False))
    report = check_lost_updates(
        url, change=lambda doc: doc["missing"], read=count, clients=2, increments=3
    )
    assert (
        report.errors == ["A client stopped: change() raised KeyError: 'missing'"] * 2
    )
    assert not report.ok


def test_check_needs_an_etag_to_send(serve_counter: t.Callable[[Counter], str]) -> None:
    url = serve_counter(Counter(racy=False, etag=False))
    report = check_lost_updates(
        url, change=increment, read=count, clients=1, increments=1
    )
    assert report.errors == [
        f"A client stopped: GET {url} gave no ETag, so there is nothing to send in"
        " If-Match."
    ]


def test_check_needs_the_resource_to_exist(
    serve_counter: t.Callable[[Counter], str],
) -> None:
    url = serve_counter(Counter(racy=False)) + "/missing"
    report = check_lost_updates(url, change=increment, read=count)
    assert not report.ok
    assert "Reading the resource first failed: GET" in report.errors[0]
    assert "answered 404" in report.errors[0]


def test_check_is_bounded_in_time(serve_counter: t.Callable[[Counter], str]) -> None:
    url = serve_counter(Counter(racy=False))
    started = time.monotonic()
    report = check_lost_updates(
        url, change=increment, read=count, clients=2, increments=10_000, time_limit=0.5
    )
    assert time.monotonic() - started < 5
    assert report.unfinished > 0
    assert report.acknowledged + report.unfinished == 20_000


@pytest.mark.slow
def test_serve_app_falls_back_to_the_threaded_server_and_stops_it_by_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live_server, "gunicorn_available", lambda: False)
    with serve_app(
        "examples.testing.unprotected:create_app()",
        chdir=ROOT,
        ready_path="/counters/1",
    ) as live:
        assert (live.kind, live.workers) == ("threaded", 1)
        os.kill(live.pid, 0)  # running
    with pytest.raises(ProcessLookupError):
        os.kill(live.pid, 0)


@pytest.mark.slow
def test_serve_app_reports_a_server_that_does_not_start() -> None:
    with (
        pytest.raises(ServerFailed) as failure,
        serve_app(
            "examples.testing.no_such_module:create_app()",
            server="threaded",
            chdir=ROOT,
        ),
    ):
        pass
    assert "The threaded server for the application exited with status 1" in str(
        failure.value
    )
    assert "no_such_module" in str(failure.value)


# -- the lost_update_check fixture on real servers ---------------------------------

NAIVE_TEST = """
import pytest
from examples.notes.naive import create_app

@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'naive.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    created = client.put(
        "/notes/1", json={"title": "c", "text": "0"}, headers={"If-None-Match": "*"}
    )
    assert created.status_code == 201
    return url


def test_naive(lost_update_check, database_url):
    lost_update_check(
        "examples.notes.naive:create_app()",
        "/notes/1",
        change=lambda doc: {"title": doc["title"], "text": str(int(doc["text"]) + 1)},
        read=lambda doc: int(doc["text"]),
        env={"NOTES_DATABASE_URL": database_url, "PRECONDITIONS_LOCK": "%s"},
        server="gunicorn",
        workers=2,
        clients=4,
        increments=15,
    )
"""


@pytest.mark.slow
@needs_gunicorn
def test_the_notes_example_passes_the_audit_and_keeps_every_update(
    inner: pytest.Pytester,
) -> None:
    inner.copy_example(str(NOTES_EXAMPLE))
    result = inner.runpytest(*PLUGIN, "-k", "not conditional", "-rP")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "  acknowledged     60  writes answered 2xx",
            "  kept             60  read(final) - read(initial) = 60 - 0",
            "  lost              0  acknowledged, then overwritten",
            "Served by gunicorn with 2 worker processes (pid *, stopped).",
        ]
    )


@pytest.mark.slow
@needs_gunicorn
def test_lost_update_check_fails_on_the_naive_app_without_its_lock(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(NAIVE_TEST % "off")
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Lost-update check: PUT http://127.0.0.1:*/notes/1",
            "  acknowledged     60  writes answered 2xx",
            "  lost            * acknowledged, then overwritten",
            "FAILED: * acknowledged write(s) are not in the resource*",
            "Served by gunicorn with 2 worker processes (pid *, stopped).",
        ]
    )
    assert "  lost              0" not in result.stdout.str()


@pytest.mark.slow
@needs_gunicorn
def test_lost_update_check_passes_on_the_naive_app_with_its_lock(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(NAIVE_TEST % "file")
    inner.runpytest(*PLUGIN).assert_outcomes(passed=1)


@pytest.mark.slow
def test_lost_update_check_fails_on_an_unprotected_write_on_the_threaded_server(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        def test_counter(lost_update_check):
            lost_update_check(
                "examples.testing.unprotected:create_app()",
                "/counters/1",
                change=lambda doc: {"value": doc["value"] + 1},
                read=lambda doc: doc["value"],
                server="threaded",
                clients=4,
                increments=15,
            )
        """
    )
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  412               0  stale If-Match: read again and retried",
            "FAILED: * acknowledged write(s) are not in the resource*",
            "Served by Werkzeug's threaded server in one process (pid *, stopped).",
        ]
    )


# -- the docs page shows what the checks print -------------------------------------


def text_blocks() -> list[str]:
    """The ``code-block:: text`` blocks of the Testing your API page."""
    text = (ROOT / "docs/testing.rst").read_text(encoding="utf-8")
    pattern = r"^\.\. code-block:: text\n\n((?:    .*\n|\n)+)"
    return [
        "\n".join(line[4:] for line in body.rstrip().splitlines())
        for body in re.findall(pattern, text, flags=re.MULTILINE)
    ]


def test_docs_show_what_the_audit_prints() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_routes_protected(unprotected.create_app())
    assert text_blocks()[0] == str(failure.value)


def test_docs_show_an_excerpt_of_the_battery_report() -> None:
    report = check_conditional_requests(
        unprotected.create_app().test_client(),
        "/counters/1",
        body={"value": 41},
        create_url="/counters/2",
    )
    excerpt = text_blocks()[1]
    assert str(report).startswith(excerpt)


def test_docs_show_the_lost_update_report() -> None:
    shown = text_blocks()[2]
    report = LostUpdateReport(
        "http://127.0.0.1:34057/notes/1", "PUT", 4, 15, initial=0, final=35
    )
    report.acknowledged = 60
    report.statuses = {
        "GET": collections.Counter({200: 121}),
        "PUT": collections.Counter({200: 60, 412: 61}),
    }
    report.seconds = 0.8
    printed, served = shown.rsplit("\n\n", 1)
    assert printed == str(report)
    assert re.fullmatch(
        r"Served by gunicorn with 2 worker processes \(pid \d+, stopped\)\.", served
    )
