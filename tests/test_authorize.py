"""pre.authorize: no existence or version oracle before authorisation."""

from __future__ import annotations

import typing as t

import pytest
from flask import abort
from flask import Flask
from flask import request

from flask_preconditions import Preconditions
from helpers import etag

OWNER = "ann"
NOTES = {1: {"owner": OWNER, "version": 8}}


def may_see(note_id: int) -> None:
    note = NOTES.get(note_id)
    if note is None or note["owner"] != request.headers.get("X-User"):
        abort(404)


def make_app(mode: str, *, order: str = "above") -> Flask:
    app = Flask(f"authorize_{mode}_{order}")
    pre = Preconditions(app, app_wide=mode == "app-wide")

    def note(note_id: int) -> str:
        return "secret"

    view: t.Callable[..., t.Any] = note
    if mode == "version":
        if order == "above":
            view = pre.authorize(may_see)(
                pre.etag(lambda note_id: NOTES[note_id]["version"])(note)
            )
        else:
            view = pre.etag(lambda note_id: NOTES[note_id]["version"])(
                pre.authorize(may_see)(note)
            )
    else:
        view = pre.authorize(may_see)(note)
    app.add_url_rule("/notes/<int:note_id>", "note", view, methods=["GET", "PUT"])
    return app


@pytest.mark.parametrize(
    ("mode", "order"), [("version", "above"), ("version", "below")]
)
def test_a_stranger_cannot_probe_the_version(mode: str, order: str) -> None:
    client = make_app(mode, order=order).test_client()
    for version in range(1, 12):
        probe = client.get(
            "/notes/1",
            headers={"X-User": "mallory", "If-None-Match": etag(version)},
        )
        # 404 whether or not the tag is right: nothing tells them apart.
        assert probe.status_code == 404


@pytest.mark.parametrize("mode", ["version", "app-wide"])
def test_a_strangers_write_is_refused_before_the_precondition_says_anything(
    mode: str,
) -> None:
    client = make_app(mode).test_client()
    # Without authorisation first, 428 would say the note exists.
    assert client.put("/notes/1", headers={"X-User": "mallory"}).status_code == 404
    assert client.put("/notes/2", headers={"X-User": "mallory"}).status_code == 404


def test_the_owner_gets_the_usual_answers() -> None:
    client = make_app("version").test_client()
    headers = {"X-User": OWNER}
    assert client.get("/notes/1", headers=headers).headers["ETag"] == etag(8)
    revalidated = client.get("/notes/1", headers={**headers, "If-None-Match": etag(8)})
    assert revalidated.status_code == 304
    assert client.put("/notes/1", headers=headers).status_code == 428


def test_a_strangers_write_is_refused_before_it_waits_for_the_lock() -> None:
    from flask_preconditions.locks import resource_key
    from flask_preconditions.locks import ThreadLocks

    locks = ThreadLocks()
    app = Flask("authorize_lock")
    app.config["PRECONDITIONS_LOCK_TIMEOUT"] = 0
    pre = Preconditions(app, lock=locks)

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.authorize(may_see)
    @pre.etag(lambda note_id: NOTES[note_id]["version"])
    def note(note_id: int) -> str:
        return "secret"

    held = locks.acquire(
        resource_key(app.import_name, "/notes/<int:note_id>", {"note_id": 1}), 0
    )
    try:
        client = app.test_client()
        stranger = {"X-User": "mallory", "If-Match": etag(8)}
        # Refused by the authorisation, not kept waiting (503) for the lock.
        assert client.put("/notes/1", headers=stranger).status_code == 404
        owner = {"X-User": OWNER, "If-Match": etag(8)}
        assert client.put("/notes/1", headers=owner).status_code == 503
    finally:
        held.release()
