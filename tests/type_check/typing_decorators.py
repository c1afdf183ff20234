"""The decorators keep the types of the views they wrap.

Checked by mypy (``nox -s typing``), never run. A ``# type: ignore[...]`` here
is a check too: mypy --strict reports an ignore that is no longer needed, so a
decorator that lost its view's signature fails on the line that calls the view
with a wrong argument.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Blueprint
from flask import Flask
from flask.views import MethodView
from typing_extensions import assert_type

from flask_preconditions import ETagDecorator
from flask_preconditions import Preconditions

app = Flask(__name__)
pre = Preconditions(app)


def note_version(note_id: int) -> int:
    return note_id


def note_updated(note_id: int) -> dt.datetime | None:
    return None


@app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
@pre.etag(note_version)
def note(note_id: int) -> dict[str, int]:
    return {"id": note_id}


assert_type(note(1), dict[str, int])
note("1")  # type: ignore[arg-type]


# pre.etag(func) is a decorator; the decorated view keeps its own signature,
# not the version function's.
decorator: ETagDecorator[[int], int] = pre.etag(note_version)


def title(note_id: int, *, lang: str) -> str:
    return ""


titled = decorator(title)
assert_type(titled(1, lang="en"), str)
titled(1)  # type: ignore[call-arg]


@app.get("/report")
@pre.etag
def report() -> bytes:
    return b""


assert_type(report(), bytes)


@pre.etag(note_version, weak=True)
@pre.last_modified(note_updated)
def dated(note_id: int) -> str:
    return ""


assert_type(dated(1), str)
dated("1")  # type: ignore[arg-type]


@pre.etag(note_version, headers={"Cache-Control": "no-cache"})
def cached(note_id: int) -> str:
    return ""


assert_type(cached(1), str)


@pre.exempt
def create_note(text: str) -> tuple[str, int]:
    return text, 201


assert_type(create_note("milk"), tuple[str, int])


@pre.etag(note_version)
async def async_note(note_id: int) -> dict[str, t.Any]:
    return {}


async def read_async_note() -> None:
    assert_type(await async_note(1), dict[str, t.Any])
    await async_note("1")  # type: ignore[arg-type]


class NoteView(MethodView):
    @pre.etag(note_version)
    def get(self, note_id: int) -> str:
        return ""

    @pre.etag(note_version)
    def put(self, note_id: int) -> tuple[str, int]:
        return "", 204


assert_type(NoteView().get(1), str)
assert_type(NoteView().put(1), tuple[str, int])

api = Blueprint("api", __name__)
assert_type(pre.protect(api), Blueprint)
