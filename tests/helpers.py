"""What several test modules share that is not a fixture.

The fixtures live in ``conftest.py``, which pytest loads on its own; test
modules import these with ``from helpers import ...`` (``tests`` is on
``pythonpath`` in ``pyproject.toml``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import os
import pathlib
import sys
import typing as t

import pytest
from werkzeug.http import quote_etag

from flask_preconditions.validators import etag_for_version

#: The month names of HTTP-dates (RFC 9110 §5.6.7), for reference formatters.
MONTH_NAMES = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

#: The root of the checkout: the examples and docs are read from here.
ROOT = pathlib.Path(__file__).resolve().parent.parent

#: The PostgreSQL database the database tests also run on, when given.
POSTGRES_URL = os.environ.get("PRECONDITIONS_TEST_DATABASE_URL")
#: The ``"postgresql"`` parameter of the tests that also run on it: marked
#: ``postgres``, and skipped without :data:`POSTGRES_URL`.
POSTGRESQL = pytest.param(
    "postgresql",
    marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(
            POSTGRES_URL is None, reason="PRECONDITIONS_TEST_DATABASE_URL is not set"
        ),
    ],
)


@dataclasses.dataclass
class Note:
    text: str
    version: int = 1
    updated: dt.datetime = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


class Store:
    """An in-memory resource store that counts what the views do."""

    def __init__(self) -> None:
        self.notes: dict[int, Note] = {1: Note("first")}
        #: How many times a view body ran.
        self.view_calls = 0
        #: Every write that reached a view: (method, note_id, body).
        self.writes: list[tuple[str, int, t.Any]] = []

    def version(self, note_id: int) -> int | None:
        note = self.notes.get(note_id)
        return None if note is None else note.version

    def updated(self, note_id: int) -> dt.datetime | None:
        note = self.notes.get(note_id)
        return None if note is None else note.updated

    def write(self, method: str, note_id: int, text: str | None) -> None:
        self.writes.append((method, note_id, text))
        if method == "DELETE":
            del self.notes[note_id]
            return
        note = self.notes.get(note_id)
        if note is None:
            self.notes[note_id] = Note(text or "")
        else:
            note.text = text or ""
            note.version += 1
            note.updated += dt.timedelta(hours=1)


def etag(version: t.Any, weak: bool = False) -> str:
    """The ETag header value a version function returning ``version`` gives."""
    return quote_etag(etag_for_version(version), weak)


def load_example(relative: str | pathlib.Path) -> t.Any:
    """Import an example file afresh, as a module of its own."""
    path = ROOT / relative
    name = "example_" + "_".join(path.relative_to(ROOT).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def service_url(variable: str) -> str:
    """The server URL in ``variable``; skip without it, or fail under CI."""
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{variable} is not set, but CI=true promises the server (.ci/run"
            " starts it): its setup must have failed",
            pytrace=False,
        )
    pytest.skip(f"{variable} is not set (.ci/run shows how to start the server)")
