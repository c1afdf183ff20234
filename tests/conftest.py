from __future__ import annotations

import pathlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_preconditions import Preconditions
from helpers import POSTGRES_URL
from helpers import POSTGRESQL
from helpers import Store


@pytest.fixture
def pre() -> Preconditions:
    return Preconditions()


@pytest.fixture
def app(pre: Preconditions) -> Flask:
    app = Flask("test_app")
    app.testing = True
    pre.init_app(app)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture(params=["sqlite", POSTGRESQL])
def database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A fresh SQLite database, and PostgreSQL when a URL is given."""
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"
