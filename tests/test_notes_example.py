"""The notes example as the pattern to copy: a 201 with the created note's
validators, and a database restart that its clients do not notice."""

from __future__ import annotations

import contextlib
import importlib
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from helpers import POSTGRES_URL

MODELS = importlib.import_module("examples.notes.models")


@contextlib.contextmanager
def notes_app(database_url: str) -> t.Iterator[Flask]:
    module = importlib.import_module("examples.notes.app")
    app: Flask = module.create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        MODELS.db.drop_all()
        MODELS.db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            MODELS.db.engine.dispose()


@pytest.fixture
def notes(database_url: str) -> t.Iterator[Flask]:
    with notes_app(database_url) as app:
        yield app


def test_a_created_note_comes_with_the_etag_a_get_gives(notes: Flask) -> None:
    client = notes.test_client()
    created = client.post("/notes", json={"title": "t", "text": "x"})
    assert created.status_code == 201
    read = client.get(created.headers["Location"])
    assert created.headers["ETag"] == read.headers["ETag"]
    assert created.headers["Last-Modified"] == read.headers["Last-Modified"]
    # Writable with the tag of the 201 alone.
    edited = client.put(
        created.headers["Location"],
        json={"title": "t", "text": "y"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert edited.status_code == 200


@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None, reason="PRECONDITIONS_TEST_DATABASE_URL")
def test_the_notes_example_survives_its_connections_being_dropped() -> None:
    assert POSTGRES_URL is not None
    with notes_app(POSTGRES_URL) as app:
        client = app.test_client()
        created = client.post("/notes", json={"title": "t", "text": "x"})
        url = created.headers["Location"]
        assert client.get(url).status_code == 200
        with app.app_context():
            # The pooled connection the requests use, and only that one.
            pid = MODELS.db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            MODELS.db.session.commit()
        # What a database restart does to the pool: its connection is dropped.
        admin = sa.create_engine(POSTGRES_URL)
        with admin.connect() as connection:
            connection.execute(sa.text(f"SELECT pg_terminate_backend({int(pid)})"))
        admin.dispose()
        assert client.get(url).status_code == 200
