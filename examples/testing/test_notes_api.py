"""The notes API proved with the pytest plugin of flask-preconditions.

Run with ``pytest examples/testing/test_notes_api.py`` from the root of the
checkout. The plugin is loaded by its entry point when the package is
installed with the ``testing`` extra.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from examples.notes.app import create_app
from examples.notes.models import db
from flask_preconditions.testing import assert_routes_protected
from flask_preconditions.testing import ConditionalBattery
from flask_preconditions.testing import LostUpdateCheck


@pytest.fixture
def database_url(tmp_path: t.Any) -> str:
    return f"sqlite:///{tmp_path / 'notes.sqlite3'}"


@pytest.fixture
def app(database_url: str) -> t.Iterator[Flask]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def note(client: FlaskClient) -> str:
    """The URL of a note whose text is a counter at 0."""
    created = client.put(
        "/notes/1",
        json={"title": "counter", "text": "0"},
        headers={"If-None-Match": "*"},
    )
    assert created.status_code == 201
    return "/notes/1"


def test_every_write_is_protected(app: Flask) -> None:
    assert_routes_protected(app)


def test_a_note_answers_conditional_requests(
    conditional_battery: ConditionalBattery, client: FlaskClient, note: str
) -> None:
    conditional_battery(
        client, note, body={"title": "counter", "text": "1"}, create_url="/notes/2"
    )


def increment(note: dict[str, t.Any]) -> dict[str, t.Any]:
    """The change each client makes: the body of a PUT from the GET's."""
    return {"title": note["title"], "text": str(int(note["text"]) + 1)}


def count(note: dict[str, t.Any]) -> int:
    """How many changes a note shows."""
    return int(note["text"])


def test_no_acknowledged_update_is_lost(
    lost_update_check: LostUpdateCheck, database_url: str, note: str
) -> None:
    lost_update_check(
        "examples.notes.app:create_app()",
        note,
        change=increment,
        read=count,
        env={"NOTES_DATABASE_URL": database_url},
        workers=2,
        clients=4,
        increments=15,
    )
