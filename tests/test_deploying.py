"""Behind real infrastructure: nginx, Flask-Compress, flask-cors, HTTP caches
and a browser, as docs/deploying.rst describes them.

Everything runs on 127.0.0.1: gunicorn and nginx are started by these tests
and stopped by their pid, Chromium gets a fresh profile. A program or package
that is missing skips its tests, except under CI=true for what .ci/run
installs (nginx and Chromium from Debian, the Python packages of the ``tests``
dependency group), where a missing one fails.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import json
import logging
import os
import pathlib
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import types
import typing as t

import pytest
import requests
from flask import Flask
from flask import request as flask_request
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from examples.deploying import api
from examples.deploying import cors
from examples.deploying.proxy import nginx
from examples.deploying.proxy import nginx_program
from examples.notes.server import gunicorn
from examples.recipes import retrying_client
from flask_preconditions import Preconditions

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: What docs/deploying.rst shows and these tests run.
NGINX_CONF = ROOT / "examples/deploying/nginx.conf"
CORS_PAGE = ROOT / "examples/deploying/cors_page.html"
CI = os.environ.get("CI") == "true"

#: The Debian programs .ci/run installs, so that CI=true promises them.
PROMISED_PROGRAMS = frozenset({"nginx", "chromium"})

#: The two kinds of resource of examples/deploying/api.py and compressed.py.
RESOURCES = ["/notes/1", "/versioned/1"]

#: The longest any test waits for a server, a browser or a response.
TIMEOUT = 20.0


# -- what is installed -----------------------------------------------------------


def promised_distributions() -> set[str]:
    """The distributions of pyproject.toml's ``tests`` group, which the
    ``dev`` group that .ci/run installs includes."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: nothing can be said to be promised.
        return set()
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]
    names = set()
    for requirement in groups.get("tests", []):
        if isinstance(requirement, str):
            name = re.match(r"[A-Za-z0-9._-]+", requirement)
            if name:
                names.add(re.sub(r"[-_.]+", "-", name.group()).lower())
    return names


def missing(what: str, promised: bool, install: str) -> t.NoReturn:
    if CI and promised:
        pytest.fail(
            f"{what} is missing, but CI=true promises it (.ci/run installs it):"
            " its setup must have failed",
            pytrace=False,
        )
    pytest.skip(f"{what} is not installed ({install})")


def need_module(module: str, distribution: str) -> types.ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(
            f"the Python package {distribution}",
            distribution in promised_distributions(),
            f"pip install {distribution}, or make",
        )


def need_program(name: str, path: str | None) -> str:
    if path is None:
        missing(name, name in PROMISED_PROGRAMS, f"apt-get install {name}")
    return path


def chromium_program() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# -- servers -----------------------------------------------------------------


class Servers:
    """gunicorn and nginx on 127.0.0.1, started on first use, stopped by pid
    when the module's tests are done."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._apps: dict[tuple[tuple[str, str], ...], str] = {}
        self._proxies: dict[str, str] = {}

    def app(self, **config: str) -> str:
        """The base URL of examples/deploying/api.py under gunicorn, with
        ``config`` given as Flask reads it from the environment (JSON)."""
        key = tuple(sorted(config.items()))
        if key not in self._apps:
            env = {f"FLASK_{name}": value for name, value in config.items()}
            self._apps[key] = self._stack.enter_context(
                gunicorn(
                    "examples.deploying.api:create_app()",
                    env=env,
                    # One process: the example keeps its notes in memory.
                    workers=1,
                    ready_path="/notes/1",
                )
            )
        return self._apps[key]

    def proxy(self, upstream: str) -> str:
        """nginx, with examples/deploying/nginx.conf, in front of ``upstream``."""
        need_program("nginx", nginx_program())
        if upstream not in self._proxies:
            self._proxies[upstream] = self._stack.enter_context(
                nginx(upstream, conf=NGINX_CONF)
            )
        return self._proxies[upstream]

    def strict(self) -> str:
        return self.app()

    def accepting(self) -> str:
        return self.app(PRECONDITIONS_ACCEPT_ALTERED_ETAGS="true")


@pytest.fixture(scope="module")
def servers() -> t.Iterator[Servers]:
    with contextlib.ExitStack() as stack:
        yield Servers(stack)


@pytest.fixture
def http() -> t.Iterator[requests.Session]:
    """A client that asks for compression, as requests does by default."""
    with requests.Session() as session:
        # The servers are local: never ask a proxy from the environment.
        session.trust_env = False
        yield session


def fresh(url: str) -> requests.Response:
    """The resource as the server has it, asked without compression."""
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Accept-Encoding"] = "identity"
        response = session.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    return response


# -- nginx with gzip in front of gunicorn ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("path", RESOURCES)
def test_nginx_gzip_weakens_the_strong_etag(
    servers: Servers, http: requests.Session, path: str
) -> None:
    origin = servers.strict()
    through_nginx = http.get(servers.proxy(origin) + path, timeout=TIMEOUT)
    assert through_nginx.headers["Content-Encoding"] == "gzip"
    own_tag = fresh(origin + path).headers["ETag"]
    assert not own_tag.startswith("W/")
    assert through_nginx.headers["ETag"] == f"W/{own_tag}"


@pytest.mark.slow
@pytest.mark.parametrize("path", RESOURCES)
def test_a_write_through_nginx_with_the_weakened_tag_is_a_412_that_says_why(
    servers: Servers, http: requests.Session, path: str
) -> None:
    url = servers.proxy(servers.strict()) + path
    read = http.get(url, timeout=TIMEOUT)
    written = http.put(
        url,
        json={"text": "overwritten"},
        headers={"If-Match": read.headers["ETag"]},
        timeout=TIMEOUT,
    )
    assert written.status_code == 412
    assert written.headers["Content-Type"] == "application/problem+json"
    detail = written.json()["detail"]
    assert 'weak form (W/"...")' in detail
    assert "nginx gzip" in detail
    assert "PRECONDITIONS_ACCEPT_ALTERED_ETAGS" in detail
    assert "changed by another request" not in detail
    assert fresh(url).json() == read.json()


@pytest.mark.slow
def test_the_retrying_recipe_gives_up_through_nginx_without_the_setting(
    servers: Servers, http: requests.Session
) -> None:
    url = servers.proxy(servers.strict()) + "/notes/1"
    before = fresh(url).json()
    with pytest.raises(retrying_client.EditFailed, match="3 attempts"):
        retrying_client.edit(http, url, retrying_client.shout)
    assert fresh(url).json() == before


@pytest.mark.slow
@pytest.mark.parametrize("path", RESOURCES)
def test_the_retrying_recipe_writes_through_nginx_with_the_setting(
    servers: Servers, http: requests.Session, path: str
) -> None:
    url = servers.proxy(servers.accepting()) + path
    http.put(  # a known state, lower case, written with the tag the client got
        url,
        json={"text": "buy milk"},
        headers={"If-Match": http.get(url, timeout=TIMEOUT).headers["ETag"]},
        timeout=TIMEOUT,
    ).raise_for_status()
    saved = retrying_client.edit(http, url, retrying_client.shout)
    assert saved == {"text": "BUY MILK"}
    assert fresh(url).json() == saved


@pytest.mark.slow
@pytest.mark.parametrize("path", RESOURCES)
def test_a_stale_tag_is_still_refused_through_nginx_with_the_setting(
    servers: Servers, http: requests.Session, path: str
) -> None:
    url = servers.proxy(servers.accepting()) + path
    stale = http.get(url, timeout=TIMEOUT).headers["ETag"]
    http.put(
        url, json={"text": "theirs"}, headers={"If-Match": stale}, timeout=TIMEOUT
    ).raise_for_status()
    mine = http.put(
        url, json={"text": "mine"}, headers={"If-Match": stale}, timeout=TIMEOUT
    )
    assert mine.status_code == 412
    assert "changed by another request" in mine.json()["detail"]
    assert fresh(url).json() == {"text": "theirs"}


@pytest.mark.slow
@pytest.mark.parametrize("path", RESOURCES)
def test_revalidating_through_nginx_is_a_304_with_the_strong_tag(
    servers: Servers, http: requests.Session, path: str
) -> None:
    # nginx does not compress a 304, so the tag is the app's own again, and
    # a write with it succeeds even without the setting.
    origin = servers.strict()
    url = servers.proxy(origin) + path
    weak = http.get(url, timeout=TIMEOUT).headers["ETag"]
    revalidated = http.get(url, headers={"If-None-Match": weak}, timeout=TIMEOUT)
    assert revalidated.status_code == 304
    assert revalidated.headers["Cache-Control"] == "no-cache"
    strong = revalidated.headers["ETag"]
    assert strong == weak.removeprefix("W/") == fresh(origin + path).headers["ETag"]
    written = http.put(
        url, json={"text": "buy milk"}, headers={"If-Match": strong}, timeout=TIMEOUT
    )
    assert written.status_code == 200


@pytest.mark.slow
def test_a_client_that_asks_for_identity_gets_the_strong_tag_through_nginx(
    servers: Servers, http: requests.Session
) -> None:
    http.headers["Accept-Encoding"] = "identity"
    url = servers.proxy(servers.strict()) + "/notes/1"
    http.put(
        url,
        json={"text": "buy milk"},
        headers={"If-Match": http.get(url, timeout=TIMEOUT).headers["ETag"]},
        timeout=TIMEOUT,
    ).raise_for_status()
    assert retrying_client.edit(http, url, retrying_client.shout) == {
        "text": "BUY MILK"
    }


def send_if_match(base_url: str, length: int) -> str:
    """What a PUT with an ``If-Match`` of ``length`` characters gets: its status
    and content type, or that the server closed the connection."""
    value = '"' + "a" * (length - 2) + '"'
    try:
        with requests.Session() as session:
            session.trust_env = False
            response = session.put(
                base_url + "/notes/1",
                json={"text": "never written"},
                headers={"If-Match": value},
                timeout=TIMEOUT,
            )
    except requests.ConnectionError:
        return "connection closed"
    return f"{response.status_code} {response.headers.get('Content-Type')}"


@pytest.mark.slow
def test_the_servers_header_limits_answer_before_the_extension(
    servers: Servers,
) -> None:
    # PRECONDITIONS_MAX_HEADER_LENGTH is 8192, but gunicorn refuses a header
    # line (name, ": ", value) over 8,190 bytes with its own 431, and nginx one
    # that does not fit its 8 KiB buffer with a 400 of its own.
    origin = servers.strict()
    proxied = servers.proxy(origin)
    problem = "412 application/problem+json"
    assert send_if_match(origin, 8170) == problem
    assert send_if_match(origin, 8180) == "431 text/html"
    assert send_if_match(origin, 9000) == "431 text/html"
    assert send_if_match(proxied, 8000) == problem
    assert send_if_match(proxied, 9000) == "400 text/html"
    # Under these limits, the extension's 431 (problem+json) needs a lower
    # PRECONDITIONS_MAX_HEADER_LENGTH.
    lower = servers.app(PRECONDITIONS_MAX_HEADER_LENGTH="4096")
    assert send_if_match(lower, 5000) == "431 application/problem+json"
    assert send_if_match(servers.proxy(lower), 5000) == "431 application/problem+json"


# -- Flask-Compress ----------------------------------------------------------------

#: Accept-Encoding values, and the suffix Flask-Compress gives the tag.
ENCODINGS = {"identity": "", "gzip": ":gzip", "zstd": ":zstd", "br": ":br"}


@pytest.fixture
def compressed() -> Flask:
    need_module("flask_compress", "flask-compress")
    from examples.deploying import compressed

    app = compressed.create_app()
    # Compress the example's short notes too (the default minimum is 500 bytes).
    app.config["COMPRESS_MIN_SIZE"] = 0
    return app


def flask_compress_app(*, compress_first: bool, accept_altered: bool) -> Flask:
    """examples/deploying/compressed.py's notes, in another setup."""
    need_module("flask_compress", "flask-compress")
    from flask_compress import Compress

    app = Flask("compressed_elsewise")
    app.config["PRECONDITIONS_ACCEPT_ALTERED_ETAGS"] = accept_altered
    app.config["COMPRESS_MIN_SIZE"] = 0
    if compress_first:
        Compress(app)
    pre = Preconditions(app)
    if not compress_first:
        Compress(app)
    state = {"text": "buy milk", "version": 1}

    @app.route("/notes/1", methods=["GET", "PUT"])
    def note() -> dict[str, t.Any]:
        return write_or_read(state)

    @app.route("/versioned/1", methods=["GET", "PUT"])
    @pre.etag(lambda: state["version"])
    def versioned() -> dict[str, t.Any]:
        return write_or_read(state)

    return app


def write_or_read(state: dict[str, t.Any]) -> dict[str, t.Any]:
    if flask_request.method == "PUT":
        state["text"] = flask_request.get_json()["text"]
        state["version"] += 1
    return {"text": state["text"]}


def read_compressed(client: t.Any, path: str, encoding: str) -> t.Any:
    response = client.get(path, headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    if encoding == "identity":
        assert "Content-Encoding" not in response.headers
    else:
        assert response.headers["Content-Encoding"] == encoding
    return response


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", RESOURCES)
def test_through_flask_compress_a_write_with_the_received_tag_succeeds(
    compressed: Flask, path: str, encoding: str
) -> None:
    client = compressed.test_client()
    tag = read_compressed(client, path, encoding).headers["ETag"]
    assert tag.endswith(f'{ENCODINGS[encoding]}"')
    written = client.put(
        path,
        json={"text": "buy oat milk"},
        headers={"If-Match": tag, "Accept-Encoding": encoding},
    )
    assert written.status_code == 200
    assert client.get(path, headers={"Accept-Encoding": "identity"}).json == {
        "text": "buy oat milk"
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", RESOURCES)
def test_through_flask_compress_revalidating_the_compressed_variant_is_304(
    compressed: Flask, path: str, encoding: str
) -> None:
    client = compressed.test_client()
    tag = read_compressed(client, path, encoding).headers["ETag"]
    revalidated = client.get(
        path, headers={"If-None-Match": tag, "Accept-Encoding": encoding}
    )
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert "Accept-Encoding" in revalidated.headers["Vary"]
    assert revalidated.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", RESOURCES)
def test_through_flask_compress_the_tag_of_a_write_chains_to_the_next(
    compressed: Flask, path: str, encoding: str
) -> None:
    client = compressed.test_client()
    headers = {"Accept-Encoding": encoding}
    tag = read_compressed(client, path, encoding).headers["ETag"]
    first = client.put(path, json={"text": "one"}, headers={**headers, "If-Match": tag})
    assert first.status_code == 200
    second = client.put(
        path,
        json={"text": "two"},
        headers={**headers, "If-Match": first.headers["ETag"]},
    )
    assert second.status_code == 200


# Found with this test: when the write's internal GET kept the write's
# Accept-Encoding, Flask-Compress suffixed the tag the write was checked
# against, while the extension's own 304 carried the tag unsuffixed.
@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
@pytest.mark.parametrize("path", ["/notes/1", "/versioned/1"])
def test_through_flask_compress_the_tag_a_304_carries_writes_too(
    compressed: Flask, path: str, encoding: str
) -> None:
    # A cache stores the 304's ETag (RFC 9111 §4.3.4) and writes with it.
    client = compressed.test_client()
    headers = {"Accept-Encoding": encoding}
    tag = read_compressed(client, path, encoding).headers["ETag"]
    revalidated = client.get(path, headers={**headers, "If-None-Match": tag})
    assert revalidated.status_code == 304
    written = client.put(
        path,
        json={"text": "buy oat milk"},
        headers={**headers, "If-Match": revalidated.headers["ETag"]},
    )
    assert written.status_code == 200


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_without_the_setting_a_flask_compress_tag_is_a_412_that_says_why(
    encoding: str,
) -> None:
    app = flask_compress_app(compress_first=True, accept_altered=False)
    client = app.test_client()
    tag = read_compressed(client, "/versioned/1", encoding).headers["ETag"]
    written = client.put(
        "/versioned/1",
        json={"text": "never written"},
        headers={"If-Match": tag, "Accept-Encoding": encoding},
    )
    assert written.status_code == 412
    detail = written.get_json()["detail"]
    assert "content-coding suffix" in detail
    assert "Flask-Compress" in detail
    assert "PRECONDITIONS_ACCEPT_ALTERED_ETAGS" in detail


def next_second() -> None:
    """Wait until the clock's second changes: gzip stamps the second."""
    start = int(time.time())
    deadline = time.monotonic() + 2
    while int(time.time()) == start and time.monotonic() < deadline:
        time.sleep(0.01)


def test_flask_compress_registered_after_the_extension_works_as_well(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The extension hashes a body-hash resource around its view, before any
    # after_request hook compresses it: the order of registration no longer
    # matters. (Gzip writes the time into its output, so a tag of compressed
    # bytes would change a second later.)
    client = flask_compress_app(compress_first=False, accept_altered=True).test_client()
    headers = {"Accept-Encoding": "gzip"}
    with caplog.at_level("WARNING", logger="flask_preconditions"):
        tag = read_compressed(client, "/notes/1", "gzip").headers["ETag"]
    assert "content-encoded" not in caplog.text
    next_second()
    revalidated = client.get("/notes/1", headers={**headers, "If-None-Match": tag})
    assert revalidated.status_code == 304
    written = client.put(
        "/notes/1", json={"text": "kept"}, headers={**headers, "If-Match": tag}
    )
    assert written.status_code == 200
    assert client.get("/notes/1").get_json()["text"] == "kept"


def test_a_view_that_compresses_its_own_body_is_named_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask("self_compressing")
    Preconditions(app)

    @app.route("/notes/1", methods=["GET", "PUT"])
    def note() -> Response:
        response = Response(gzip.compress(b'{"text": "buy milk"}'))
        response.headers["Content-Encoding"] = "gzip"
        return response

    with caplog.at_level("WARNING", logger="flask_preconditions"):
        app.test_client().get("/notes/1")
    assert "already content-encoded" in caplog.text
    assert "self_compressing" in caplog.text


# -- flask-cors ----------------------------------------------------------------

ORIGIN = "http://127.0.0.1:5000"


@pytest.fixture(params=[True, False], ids=["cors-first", "cors-after"])
def cors_client(request: pytest.FixtureRequest) -> t.Any:
    need_module("flask_cors", "flask-cors")
    return cors.create_app(ORIGIN, cors_first=request.param).test_client()


def test_a_body_hash_304_keeps_the_cors_headers(cors_client: t.Any) -> None:
    headers = {"Origin": ORIGIN}
    read = cors_client.get("/notes/1", headers=headers)
    assert read.headers["Access-Control-Allow-Origin"] == ORIGIN
    revalidated = cors_client.get(
        "/notes/1", headers={**headers, "If-None-Match": read.headers["ETag"]}
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETag" in revalidated.headers["Access-Control-Expose-Headers"]


def test_the_preflight_of_a_conditional_write_allows_its_headers(
    cors_client: t.Any,
) -> None:
    preflight = cors_client.options(
        "/notes/1",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, if-match",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "if-match" in allowed
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]


def test_problem_responses_carry_the_cors_headers(cors_client: t.Any) -> None:
    # Otherwise browser code sees a network error, not the 412's detail.
    headers = {"Origin": ORIGIN}
    stale = cors_client.put(
        "/notes/1", json={"text": "x"}, headers={**headers, "If-Match": '"stale"'}
    )
    missing = cors_client.put("/notes/1", json={"text": "x"}, headers=headers)
    assert (stale.status_code, missing.status_code) == (412, 428)
    for response in (stale, missing):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_flask_cors_defaults_hide_the_etag_from_browser_code() -> None:
    flask_cors = need_module("flask_cors", "flask-cors")
    app = Flask("cors_defaults")
    flask_cors.CORS(app)
    Preconditions(app)
    app.add_url_rule("/notes/1", "note", lambda: {"text": "buy milk"})
    read = app.test_client().get("/notes/1", headers={"Origin": ORIGIN})
    assert read.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETag" in read.headers
    assert "Access-Control-Expose-Headers" not in read.headers


# -- a real browser ----------------------------------------------------------------


@contextlib.contextmanager
def serve(app: t.Any) -> t.Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 from a thread, and stop it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        server.server_close()


class Wire:
    """Records what reached the API: method, path and status."""

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")

        def record(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
            self.seen.append((environ["REQUEST_METHOD"], path, int(status[:3])))
            return start_response(status, headers, exc_info)

        return self.app(environ, record)


def without_cors_on_304(app: t.Any) -> t.Any:
    """The negative control: an API whose 304s lack Access-Control-* headers."""

    def wrapped(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        def strip(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
            if status.startswith("304"):
                headers = [
                    (name, value)
                    for name, value in headers
                    if not name.lower().startswith("access-control-")
                ]
            return start_response(status, headers, exc_info)

        return app(environ, strip)

    return wrapped


def cors_defaults_app() -> Flask:
    flask_cors = importlib.import_module("flask_cors")
    app = Flask("cors_defaults_in_browser")
    flask_cors.CORS(app)
    Preconditions(app)
    notes = {1: {"text": "buy milk"}}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    def note(note_id: int) -> dict[str, str]:
        if flask_request.method == "PUT":
            notes[note_id] = {"text": flask_request.get_json()["text"]}
        return notes[note_id]

    return app


def run_page(program: str, url: str, reports: list[t.Any]) -> None:
    """Open ``url`` in headless Chromium until the page reports, then stop it."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        process = subprocess.Popen(
            [
                program,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so that its helpers are stopped with it.
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while not reports and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.05)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_in_chromium_cross_origin_code_revalidates_and_writes() -> None:
    program = need_program("chromium", chromium_program())
    need_module("flask_cors", "flask-cors")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    reports: list[t.Any] = []
    page = CORS_PAGE.read_bytes()

    @Request.application
    def page_server(request: Request) -> Response:
        if request.path == "/report":
            reports.append(json.loads(request.get_data()))
            return Response("thanks")
        return Response(page, content_type="text/html")

    with serve(page_server) as page_origin:
        wire = Wire(
            DispatcherMiddleware(
                Response("not found", status=404),
                {
                    "/before": cors.create_app(page_origin, cors_first=True),
                    "/after": cors.create_app(page_origin, cors_first=False),
                    "/defaults": cors_defaults_app(),
                    "/stripped": without_cors_on_304(
                        cors.create_app(page_origin, cors_first=True)
                    ),
                },
            )
        )
        with serve(wire) as api_origin:
            # Another port: another origin.
            apis = [f"{api_origin}/{name}" for name in ("before", "after")]
            apis += [f"{api_origin}/defaults", f"{api_origin}/stripped"]
            query = "&".join(f"api={api}" for api in apis)
            run_page(program, f"{page_origin}/?{query}", reports)
    assert reports, "the page did not report within the time limit"
    seen = reports[0]
    for base in apis[:2]:
        steps = seen[base]
        tag = steps["read"]["etag"]
        assert tag and not tag.startswith("W/"), steps
        # The browser revalidated the plain reread: a 304 on the wire, the
        # stored 200 for the page.
        assert steps["reread"] == steps["read"], steps
        assert steps["conditional"]["status"] == 304, steps
        assert steps["write"]["status"] == 200, steps
        assert steps["after_write"]["text"] == "buy oat milk", steps
        prefix = base.removeprefix(api_origin)
        gets = [status for method, path, status in wire.seen if path.startswith(prefix)]
        assert gets.count(304) >= 2, wire.seen
    defaults = seen[apis[2]]
    assert defaults["read"]["etag"] is None, defaults
    assert defaults["write"]["status"] == 428, defaults
    # The negative control: a 304 without Access-Control-Allow-Origin is a
    # network error for the page that sent If-None-Match, though the browser's
    # own revalidation goes on with the stored headers.
    stripped = seen[apis[3]]
    assert "error" in stripped["conditional"], stripped
    assert stripped["reread"]["status"] == 200, stripped


# -- HTTP caches -----------------------------------------------------------------


def hishel_client(*, rfc: bool) -> t.Any:
    need_module("hishel", "hishel")
    hishel_httpx = need_module("hishel.httpx", "hishel")
    hishel = importlib.import_module("hishel")
    storage = hishel.SqliteStorage(
        connection=sqlite3.connect(":memory:", check_same_thread=False)
    )
    return hishel_httpx.CacheClient(storage=storage, rfc=rfc, trust_env=False)


def caching(response: t.Any) -> tuple[bool, bool, bool]:
    status = response.extensions["caching"]
    return status["from_cache"], status["revalidated"], status["stored"]


def write_elsewhere(url: str, text: str) -> None:
    with requests.Session() as other:
        other.trust_env = False
        tag = other.get(url, timeout=TIMEOUT).headers["ETag"]
        other.put(
            url, json={"text": text}, headers={"If-Match": tag}, timeout=TIMEOUT
        ).raise_for_status()


@pytest.mark.slow
def test_hishel_in_rfc_mode_revalidates_and_sees_another_clients_write(
    servers: Servers,
) -> None:
    url = servers.strict() + "/versioned/1"
    with hishel_client(rfc=True) as client:
        client.get(url, timeout=TIMEOUT)
        again = client.get(url, timeout=TIMEOUT)
        # (from cache, revalidated, stored): the server answered 304.
        assert caching(again) == (True, True, False)
        write_elsewhere(url, "theirs")
        after = client.get(url, timeout=TIMEOUT)
        assert caching(after) == (False, True, True)
        assert after.json() == {"text": "theirs"}


@pytest.mark.slow
def test_hishel_in_rfc_mode_drops_its_entry_when_it_writes(servers: Servers) -> None:
    url = servers.strict() + "/notes/1"
    with hishel_client(rfc=True) as client:
        tag = client.get(url, timeout=TIMEOUT).headers["ETag"]
        client.put(
            url, json={"text": "mine"}, headers={"If-Match": tag}, timeout=TIMEOUT
        ).raise_for_status()
        after = client.get(url, timeout=TIMEOUT)
        # Neither served nor revalidated: the PUT removed the stored entry.
        assert caching(after) == (False, False, True)
        assert after.json() == {"text": "mine"}


@pytest.mark.slow
def test_hishel_without_rfc_mode_serves_a_stale_copy(servers: Servers) -> None:
    url = servers.strict() + "/notes/1"
    with hishel_client(rfc=False) as client:
        before = client.get(url, timeout=TIMEOUT).json()
        write_elsewhere(url, f"not {before['text']}")
        stale = client.get(url, timeout=TIMEOUT)
        assert caching(stale)[0] is True
        assert stale.json() == before


@pytest.mark.slow
def test_hishel_stores_the_strong_tag_of_a_304_through_nginx(
    servers: Servers,
) -> None:
    # The 304 is not compressed, so the stored tag turns strong again, and
    # the client's next write succeeds without the setting.
    url = servers.proxy(servers.strict()) + "/versioned/1"
    with hishel_client(rfc=True) as client:
        weak = client.get(url, timeout=TIMEOUT).headers["ETag"]
        assert weak.startswith("W/")
        revalidated = client.get(url, timeout=TIMEOUT)
        assert caching(revalidated) == (True, True, False)
        strong = revalidated.headers["ETag"]
        assert strong == weak.removeprefix("W/")
        written = client.put(
            url, json={"text": "buy milk"}, headers={"If-Match": strong}
        )
        assert written.status_code == 200


def requests_cache_session(**options: t.Any) -> t.Any:
    requests_cache = need_module("requests_cache", "requests-cache")
    session = requests_cache.CachedSession(backend="memory", **options)
    session.trust_env = False
    return session


@pytest.mark.slow
def test_requests_cache_with_cache_control_revalidates_and_sees_writes(
    servers: Servers,
) -> None:
    url = servers.strict() + "/notes/1"
    with requests_cache_session(cache_control=True) as session:
        session.get(url, timeout=TIMEOUT)
        again = session.get(url, timeout=TIMEOUT)
        assert (again.from_cache, again.revalidated) == (True, True)
        write_elsewhere(url, "theirs")
        after = session.get(url, timeout=TIMEOUT)
        assert after.from_cache is False
        assert after.json() == {"text": "theirs"}


@pytest.mark.slow
def test_requests_cache_keeps_its_entry_when_it_writes(servers: Servers) -> None:
    url = servers.strict() + "/notes/1"
    with requests_cache_session(cache_control=True) as session:
        tag = session.get(url, timeout=TIMEOUT).headers["ETag"]
        session.put(
            url, json={"text": "mine"}, headers={"If-Match": tag}, timeout=TIMEOUT
        ).raise_for_status()
        assert session.cache.contains(url=url)
        # Only no-cache makes the next read current.
        assert session.get(url, timeout=TIMEOUT).json() == {"text": "mine"}


@pytest.mark.slow
def test_requests_cache_serves_a_stale_copy_without_no_cache(
    servers: Servers,
) -> None:
    url = servers.app(PRECONDITIONS_CACHE_CONTROL="null") + "/notes/1"
    with requests_cache_session(cache_control=True) as session:
        read = session.get(url, timeout=TIMEOUT)
        assert "Cache-Control" not in read.headers
        write_elsewhere(url, f"not {read.json()['text']}")
        stale = session.get(url, timeout=TIMEOUT)
        assert stale.from_cache is True
        assert stale.json() == read.json()


def test_the_example_api_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASK_PRECONDITIONS_ACCEPT_ALTERED_ETAGS", "true")
    client = api.create_app().test_client()
    tag = client.get("/versioned/1").headers["ETag"]
    weakened = client.put(
        "/versioned/1", json={"text": "x"}, headers={"If-Match": f"W/{tag}"}
    )
    assert weakened.status_code == 200
