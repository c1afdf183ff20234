"""Every example answers HEAD like GET, without a body, and never writes on it.

Flask routes HEAD to the GET view with ``request.method == "HEAD"``: a view
that treats every method but GET as a write would write on HEAD, past the 428
rule. Each GET route of each example is sent HEAD with and without a body,
and must answer as GET does and leave the resource as it was.
"""

from __future__ import annotations

import importlib
import pathlib
import re
import typing as t

import pytest
from flask import Flask
from werkzeug.routing import Rule

from helpers import load_example

SAMPLE_VALUES = {"int": "1", "default": "a", "string": "a", "path": "a"}


def notes_app(tmp_path: pathlib.Path) -> Flask:
    # A package with relative imports: imported as the tests of it do.
    module = importlib.import_module("examples.notes.app")
    app: Flask = module.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'notes.sqlite3'}"}
    )
    created = app.test_client().post("/notes", json={"title": "t", "text": "1"})
    assert created.status_code == 201, created.get_data(as_text=True)
    return app


def sqlalchemy_recipe(tmp_path: pathlib.Path) -> Flask:
    recipe = load_example("examples/recipes/sqlalchemy_model.py")
    app: Flask = recipe.create_app()
    with app.app_context():
        recipe.db.session.add(recipe.Note(id=1, text="Buy milk"))
        recipe.db.session.commit()
    return app


def module_app(path: str) -> t.Callable[[pathlib.Path], Flask]:
    def make(tmp_path: pathlib.Path) -> Flask:
        module = load_example(path)
        app = getattr(module, "app", None)
        return t.cast(Flask, app if app is not None else module.create_app())

    return make


EXAMPLES: dict[str, t.Callable[[pathlib.Path], Flask]] = {
    "notes": notes_app,
    "recipes/sqlalchemy_model": sqlalchemy_recipe,
    **{
        name: module_app(f"examples/{name}.py")
        for name in (
            "audit_demo",
            "quickstart/app_wide",
            "quickstart/blueprint",
            "quickstart/decorated",
            "recipes/async_view",
            "recipes/auth_order",
            "recipes/caching",
            "recipes/last_modified",
            "recipes/method_view",
            "recipes/smorest",
            "testing/unprotected",
        )
    },
}


# <name>, <converter:name> and <converter(args):name> in a rule.
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def sample_url(rule: Rule) -> str:
    return VARIABLE.sub(lambda m: SAMPLE_VALUES.get(m[1] or "default", "a"), rule.rule)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_get_route_answers_head_like_get_and_writes_nothing(
    name: str, tmp_path: pathlib.Path
) -> None:
    app = EXAMPLES[name](tmp_path)
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        url = sample_url(rule)
        before = client.get(url)
        for body in (None, {"title": "head", "text": "999", "value": "head"}):
            head = client.head(url, json=body) if body else client.head(url)
            assert head.status_code == before.status_code, (url, body)
            assert head.get_data() == b"", (url, body)
            assert head.headers.get("ETag") == before.headers.get("ETag"), url
        after = client.get(url)
        assert after.get_data() == before.get_data(), url
        assert after.headers.get("ETag") == before.headers.get("ETag"), url
        checked += 1
    assert checked, f"{name} has no GET route"
