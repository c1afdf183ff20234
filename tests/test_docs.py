"""Every code example in the README and the docs runs, and shows what it does."""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import subprocess
import sys
import threading
import typing as t

import httpx
import pytest
from werkzeug.http import http_date
from werkzeug.serving import make_server

from flask_preconditions import etag_for_version
from helpers import load_example

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")

# Every file the docs include is run by a test below.
EXERCISED = {
    "examples/quickstart/decorated.py",
    "examples/quickstart/blueprint.py",
    "examples/quickstart/app_wide.py",
    "examples/quickstart/try_it.py",
    "examples/audit_demo.py",
    "examples/openapi_spec.py",  # by tests/test_openapi.py
    "examples/recipes/sqlalchemy_model.py",
    "examples/recipes/method_view.py",
    "examples/recipes/auth_order.py",
    "examples/recipes/async_view.py",
    "examples/recipes/last_modified.py",
    "examples/recipes/retrying_client.py",
    "examples/recipes/smorest.py",
    "examples/recipes/caching.py",
}


def run(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rst_blocks(document: str, directive: str) -> list[str]:
    """The dedented bodies of a directive's blocks in a reST file."""
    text = (DOCS / document).read_text(encoding="utf-8")
    pattern = rf"^\.\. {re.escape(directive)}\n\n((?:    .*\n|\n)+)"
    return [
        "\n".join(line[4:] for line in body.rstrip().splitlines())
        for body in re.findall(pattern, text, flags=re.MULTILINE)
    ]


# -- README --------------------------------------------------------------------


README_FILES = re.findall(
    r"`(examples/[\w/]+\.py)`:\n\n```python\n(.*?)```", README, re.S
)


def test_readme_shows_the_quickstart_files() -> None:
    assert {path for path, _ in README_FILES} == {
        "examples/quickstart/decorated.py",
        "examples/quickstart/blueprint.py",
        "examples/quickstart/app_wide.py",
        "examples/quickstart/try_it.py",
    }


@pytest.mark.parametrize("path,code", README_FILES, ids=[p for p, _ in README_FILES])
def test_readme_code_block_is_exactly_the_file(path: str, code: str) -> None:
    assert code == (ROOT / path).read_text(encoding="utf-8")


def test_readme_has_no_other_python_blocks() -> None:
    assert README.count("```python") == len(README_FILES)


QUICKSTART_APPS = ["decorated", "blueprint", "app_wide"]


@pytest.fixture(scope="module")
def quickstart_output() -> dict[str, str]:
    outputs = {}
    for name in QUICKSTART_APPS:
        result = run(f"{name}.py", cwd=EXAMPLES / "quickstart")
        assert result.returncode == 0, result.stderr
        outputs[name] = result.stdout
    return outputs


@pytest.mark.parametrize("name", QUICKSTART_APPS)
def test_quickstart_app_answers_304_428_and_412(
    quickstart_output: dict[str, str], name: str
) -> None:
    statuses = re.findall(r"-> (\d{3})", quickstart_output[name])
    assert statuses == ["200", "304", "428", "200", "412"]
    assert "412 Precondition Failed" in quickstart_output[name]


def test_readme_and_docs_show_what_decorated_py_prints(
    quickstart_output: dict[str, str],
) -> None:
    shown = re.search(r"```text\n(.*?)```", README, re.S)
    assert shown is not None
    assert shown.group(1) == quickstart_output["decorated"]
    assert quickstart_output["decorated"].rstrip() in rst_blocks(
        "quickstart.rst", "code-block:: text"
    )


def test_quickstart_etag_is_the_version_hash(quickstart_output: dict[str, str]) -> None:
    assert f'ETag "{etag_for_version(1)}"' in quickstart_output["decorated"]


def test_readme_route_audit_command_passes_on_the_quickstart() -> None:
    assert "flask --app decorated preconditions routes --strict" in README
    result = run(
        "-m",
        "flask",
        "--app",
        "decorated",
        "preconditions",
        "routes",
        "--strict",
        cwd=EXAMPLES / "quickstart",
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"note\s+PUT\s+/notes/<int:note_id>\s+version", result.stdout)


# -- docs ----------------------------------------------------------------------


def exercised_elsewhere(relative: str) -> bool:
    """Whether a test module other than this one imports or names the file."""
    module = relative.removesuffix(".py").replace("/", ".")
    package, _, name = module.rpartition(".")
    pattern = (
        rf"{re.escape(module)}\b|{re.escape(relative)}"
        rf"|from {re.escape(package)} import [^\n]*\b{name}\b"
    )
    return any(
        re.search(pattern, path.read_text(encoding="utf-8"))
        for path in (ROOT / "tests").glob("test_*.py")
        if path.name != "test_docs.py"
    )


def test_docs_include_only_exercised_examples() -> None:
    included = set()
    for page in DOCS.glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        # Python in the docs is either an included example file or a doctest.
        assert not re.search(r"(code-block|code|sourcecode)::\s*(python|py)\b", text)
        included |= set(re.findall(r"literalinclude:: \.\./(\S+)", text))
    assert included >= EXERCISED
    for relative in included - EXERCISED:
        assert exercised_elsewhere(relative), f"no test runs {relative}"


def test_docs_doctests_pass(tmp_path: pathlib.Path) -> None:
    from sphinx.cmd.build import build_main

    status = build_main(["-b", "doctest", "-q", "-E", str(DOCS), str(tmp_path)])
    report = (tmp_path / "output.txt").read_text(encoding="utf-8")
    assert status == 0, report
    assert " 0 failures in tests" in report
    tests = int(re.search(r"(\d+) tests", report).group(1))  # type: ignore[union-attr]
    assert tests >= 10


def test_every_configuration_key_is_documented() -> None:
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "flask_preconditions").glob("*.py")
    )
    keys = set(re.findall(r"PRECONDITIONS_[A-Z_]+[A-Z]", source))
    documented = set(
        re.findall(
            r"``(PRECONDITIONS_[A-Z_]+)``", (DOCS / "configuration.rst").read_text()
        )
    )
    assert keys
    assert keys <= documented


def test_cli_page_shows_what_the_audit_prints() -> None:
    result = run(
        "-m",
        "flask",
        "--app",
        "audit_demo",
        "preconditions",
        "routes",
        "--strict",
        cwd=EXAMPLES,
    )
    assert result.returncode == 1
    assert (result.stdout + result.stderr).rstrip() in rst_blocks(
        "cli.rst", "code-block:: text"
    )


# -- recipes -------------------------------------------------------------------


def test_sqlalchemy_recipe_checks_and_writes_conditionally() -> None:
    recipe = load_example("examples/recipes/sqlalchemy_model.py")
    app = recipe.create_app()
    with app.app_context():
        recipe.db.session.add(recipe.Note(id=1, text="Buy milk"))
        recipe.db.session.commit()
    client = app.test_client()
    read = client.get("/notes/1")
    assert read.headers["ETag"] == f'"{etag_for_version(1)}"'
    assert client.put("/notes/1", json={"text": "x"}).status_code == 428
    saved = client.put(
        "/notes/1",
        json={"text": "Buy oat milk"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert saved.status_code == 200
    assert saved.headers["ETag"] == f'"{etag_for_version(2)}"'
    stale = client.put(
        "/notes/1", json={"text": "lost"}, headers={"If-Match": read.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert client.get("/notes/1").get_json() == {"text": "Buy oat milk"}


def test_sqlalchemy_recipe_refuses_the_loser_of_a_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recipe = load_example("examples/recipes/sqlalchemy_model.py")
    app = recipe.create_app()
    with app.app_context():
        recipe.db.session.add(recipe.Note(id=1, text="new", version=2))
        recipe.db.session.commit()
    # The check sees version 1, as a request that read just before another
    # request's commit would: the conditional UPDATE must refuse it.
    monkeypatch.setattr(recipe.note.__preconditions__, "version", lambda note_id: 1)
    tag = f'"{etag_for_version(1)}"'
    response = app.test_client().put(
        "/notes/1", json={"text": "lost"}, headers={"If-Match": tag}
    )
    assert response.status_code == 412
    with app.app_context():
        assert recipe.db.session.get(recipe.Note, 1).text == "new"


def test_sqlalchemy_recipe_deletes_with_if_match() -> None:
    recipe = load_example("examples/recipes/sqlalchemy_model.py")
    app = recipe.create_app()
    with app.app_context():
        recipe.db.session.add(recipe.Note(id=1, text="x"))
        recipe.db.session.commit()
    client = app.test_client()
    tag = client.get("/notes/1").headers["ETag"]
    assert client.delete("/notes/1").status_code == 428
    assert client.delete("/notes/1", headers={"If-Match": tag}).status_code == 204
    assert client.get("/notes/1").status_code == 404


def test_method_view_recipe_protects_each_method() -> None:
    client = load_example("examples/recipes/method_view.py").app.test_client()
    tag = client.get("/tasks/1").headers["ETag"]
    assert client.put("/tasks/1", json={"title": "x"}).status_code == 428
    saved = client.put("/tasks/1", json={"title": "Ship"}, headers={"If-Match": tag})
    assert saved.status_code == 200
    assert client.delete("/tasks/1", headers={"If-Match": tag}).status_code == 412
    fresh = saved.headers["ETag"]
    assert client.delete("/tasks/1", headers={"If-Match": fresh}).status_code == 204
    assert client.get("/tasks/1").status_code == 404


def test_auth_recipe_answers_401_before_any_precondition() -> None:
    client = load_example("examples/recipes/auth_order.py").app.test_client()
    stranger = client.get("/documents/plan")
    assert stranger.status_code == 401 and "ETag" not in stranger.headers
    assert client.put("/documents/plan").status_code == 401
    auth = {"Authorization": "Bearer secret"}
    assert client.put("/documents/plan", headers=auth).status_code == 428
    assert client.get("/documents/plan", headers=auth).headers["ETag"]


def test_async_recipe_checks_preconditions() -> None:
    client = load_example("examples/recipes/async_view.py").app.test_client()
    read = client.get("/counters/visits")
    assert read.headers["ETag"] == f'"{etag_for_version(0)}"'
    assert client.put("/counters/visits", json={"value": 3}).status_code == 428
    saved = client.put(
        "/counters/visits",
        json={"value": 3},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert saved.status_code == 200
    assert saved.headers["ETag"] == f'"{etag_for_version(3)}"'


def test_last_modified_recipe_answers_date_conditions() -> None:
    client = load_example("examples/recipes/last_modified.py").app.test_client()
    read = client.get("/page")
    date = read.headers["Last-Modified"]
    assert date == http_date(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert client.get("/page", headers={"If-Modified-Since": date}).status_code == 304
    saved = client.put(
        "/page", data="<h1>Hi</h1>", headers={"If-Unmodified-Since": date}
    )
    assert saved.status_code == 200
    stale = client.put("/page", data="lost", headers={"If-Unmodified-Since": date})
    assert stale.status_code == 412


def test_last_modified_recipe_feed_is_weak() -> None:
    client = load_example("examples/recipes/last_modified.py").app.test_client()
    tag = client.get("/feed").headers["ETag"]
    assert tag.startswith('W/"')
    assert client.get("/feed", headers={"If-None-Match": tag}).status_code == 304


def test_caching_recipe_never_serves_an_old_body_with_a_new_etag() -> None:
    recipe = load_example("examples/recipes/caching.py")
    client = recipe.app.test_client()
    read = client.get("/articles/1")
    assert recipe.cache.get("article/1/v1") is not None
    saved = client.put(
        "/articles/1",
        json={"body": "Second draft"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert saved.status_code == 200
    again = client.get("/articles/1")
    assert again.get_json() == {"body": "Second draft"}
    assert again.headers["ETag"] == saved.headers["ETag"]
    assert (
        client.get(
            "/articles/1", headers={"If-None-Match": again.headers["ETag"]}
        ).status_code
        == 304
    )


def test_smorest_recipe_keeps_problem_details_and_schemas() -> None:
    recipe = load_example("examples/recipes/smorest.py")
    client = recipe.app.test_client()
    read = client.get("/pets/1")
    assert read.get_json() == {"name": "Rex"}
    required = client.put("/pets/1", json={"name": "Max"})
    assert required.status_code == 428
    assert required.mimetype == "application/problem+json"
    assert (
        client.get(
            "/pets/1", headers={"If-None-Match": read.headers["ETag"]}
        ).status_code
        == 304
    )
    invalid = client.put(
        "/pets/1", json={"name": 5}, headers={"If-Match": read.headers["ETag"]}
    )
    assert invalid.status_code == 422  # flask-smorest's schema, after the check
    saved = client.put(
        "/pets/1", json={"name": "Max"}, headers={"If-Match": read.headers["ETag"]}
    )
    assert saved.status_code == 200 and saved.get_json() == {"name": "Max"}
    assert (
        client.put(
            "/pets/1", json={"name": "Y"}, headers={"If-Match": read.headers["ETag"]}
        ).status_code
        == 412
    )
    responses = recipe.api.spec.to_dict()["paths"]["/pets/{pet_id}"]["put"]["responses"]
    assert {"412", "428"} <= set(responses)


@pytest.fixture
def notes_server() -> t.Iterator[tuple[str, t.Any]]:
    """The quickstart notes app on 127.0.0.1, stopped after the test."""
    app = load_example("examples/quickstart/decorated.py").app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)


def interfering(app: t.Any, edit: t.Callable[[t.Any], t.Any], times: int) -> t.Any:
    """An edit during which another client saves, the first ``times`` times."""
    calls = 0

    def edit_while_another_client_writes(document: t.Any) -> t.Any:
        nonlocal calls
        calls += 1
        if calls <= times:
            other = app.test_client()
            tag = other.get("/notes/1").headers["ETag"]
            text = other.get("/notes/1").get_json()["text"]
            saved = other.put(
                "/notes/1", json={"text": text + " and eggs"}, headers={"If-Match": tag}
            )
            assert saved.status_code == 200
        return edit(document)

    return edit_while_another_client_writes


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_retrying_client_keeps_the_other_clients_change(
    notes_server: tuple[str, t.Any], library: str
) -> None:
    recipe = load_example("examples/recipes/retrying_client.py")
    base_url, app = notes_server
    recipe.shout = interfering(app, recipe.shout, times=1)
    function = getattr(recipe, f"shout_with_{library}")
    assert function(base_url) == {"text": "BUY MILK AND EGGS"}


def test_retrying_client_gives_up_after_its_attempts(
    notes_server: tuple[str, t.Any],
) -> None:
    recipe = load_example("examples/recipes/retrying_client.py")
    base_url, app = notes_server
    edit = interfering(app, recipe.shout, times=3)
    with httpx.Client(base_url=base_url) as client, pytest.raises(recipe.EditFailed):
        recipe.edit(client, "/notes/1", edit, attempts=3)
    assert httpx.get(f"{base_url}/notes/1").json()["text"].count("and eggs") == 3
