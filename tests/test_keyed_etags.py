"""Keyed, resource-bound entity-tags: with a secret, a tag names one state of
one resource, cannot be computed from a version, and reveals nothing of a body."""

from __future__ import annotations

import hashlib
import logging
import typing as t

import pytest
from flask import Flask
from flask import request
from flask import url_for

from flask_preconditions import Preconditions
from flask_preconditions import set_new_version
from flask_preconditions.validators import derive_etag_key
from flask_preconditions.validators import etag_for_body
from flask_preconditions.validators import etag_for_version
from flask_preconditions.validators import keyed_etag_for_body
from flask_preconditions.validators import keyed_etag_for_version
from helpers import etag


def make_app(**config: t.Any) -> Flask:
    app = Flask("keyed")
    app.config.update(config)
    pre = Preconditions(app)
    versions = {1: 3, 2: 3}
    texts = {"a": "same body", "b": "same body"}

    @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
    @pre.etag(lambda note_id: versions.get(note_id))
    def note(note_id: int) -> str:
        if request.method == "PUT":
            versions[note_id] += 1
        return "note"

    @app.route("/docs/<name>", methods=["GET", "PUT"])
    def doc(name: str) -> str:
        if request.method == "PUT":
            texts[name] = request.get_data(as_text=True)
        return texts[name]

    @app.post("/notes")
    def create_note() -> t.Any:
        versions[7] = 1
        set_new_version(1)
        return "created", 201, {"Location": url_for("note", note_id=7)}

    return app


SECRET = {"SECRET_KEY": "s3cret"}


def test_resources_at_one_version_get_different_tags() -> None:
    client = make_app(**SECRET).test_client()
    one = client.get("/notes/1").headers["ETag"]
    two = client.get("/notes/2").headers["ETag"]
    assert one != two


def test_a_tag_of_one_resource_is_refused_on_another() -> None:
    client = make_app(**SECRET).test_client()
    one = client.get("/notes/1").headers["ETag"]
    assert client.put("/notes/2", headers={"If-Match": one}).status_code == 412
    assert client.put("/notes/1", headers={"If-Match": one}).status_code == 200


def test_a_keyed_tag_cannot_be_computed_from_the_version() -> None:
    tag = make_app(**SECRET).test_client().get("/notes/1").headers["ETag"]
    assert tag != etag(3)
    identity = "/notes/%3Cint%3Anote_id%3E?note_id=1"
    unkeyed = hashlib.sha256(identity.encode() + b"\0i:3").hexdigest()[:32]
    assert tag.strip('"') != unkeyed
    # Made with the derived key, never with the secret itself.
    raw = keyed_etag_for_version(3, ":/notes/<int:note_id>?note_id=1", b"s3cret")
    assert tag.strip('"') != raw


def test_body_tags_are_keyed_and_bound_and_still_revalidate() -> None:
    client = make_app(**SECRET).test_client()
    a = client.get("/docs/a").headers["ETag"]
    b = client.get("/docs/b").headers["ETag"]
    assert a != b
    assert a.strip('"') != etag_for_body(b"same body")
    assert client.get("/docs/a", headers={"If-None-Match": a}).status_code == 304
    assert client.put("/docs/b", data="x", headers={"If-Match": a}).status_code == 412
    assert client.put("/docs/a", data="x", headers={"If-Match": a}).status_code == 200


@pytest.mark.parametrize("url", ["/notes/1", "/docs/a"])
def test_tags_of_a_rotated_secret_still_match(url: str) -> None:
    old = make_app(SECRET_KEY="old").test_client().get(url).headers["ETag"]
    rotated = make_app(SECRET_KEY="new", SECRET_KEY_FALLBACKS=["old"]).test_client()
    assert rotated.get(url).headers["ETag"] != old
    assert rotated.get(url, headers={"If-None-Match": old}).status_code == 304
    body = {"data": "x"} if url.startswith("/docs") else {}
    assert rotated.put(url, headers={"If-Match": old}, **body).status_code == 200


@pytest.mark.parametrize("url", ["/notes/1", "/docs/a"])
def test_without_the_fallback_an_old_tag_is_stale(url: str) -> None:
    old = make_app(SECRET_KEY="old").test_client().get(url).headers["ETag"]
    client = make_app(SECRET_KEY="new").test_client()
    assert client.put(url, headers={"If-Match": old}).status_code == 412


def test_a_dedicated_key_wins_over_the_secret_key() -> None:
    with_key = make_app(SECRET_KEY="a", PRECONDITIONS_ETAG_KEY="k").test_client()
    other_secret = make_app(SECRET_KEY="b", PRECONDITIONS_ETAG_KEY="k").test_client()
    assert (
        with_key.get("/notes/1").headers["ETag"]
        == other_secret.get("/notes/1").headers["ETag"]
    )


def test_keyed_tags_are_known_digests() -> None:
    # Pinned: a change of derivation, algorithm or message layout would change
    # every tag in every client and cache, and must not pass unnoticed.
    key = derive_etag_key("s3cret")
    assert key.hex() == (
        "653d97f06e0510dd4f58376544b22a7258e5f1fe45d54bb7895a2adfbe7ffb52"
    )
    assert keyed_etag_for_version(3, "/notes/1", key) == (
        "273a42c5f7d570758b77a58dc6417d4f"
    )
    assert keyed_etag_for_body(b"same body", "/docs/a", key) == (
        "d8422c44339b9bf401b9661445e84bcc"
    )


def test_a_201_carries_the_created_resources_keyed_tag() -> None:
    client = make_app(**SECRET).test_client()
    created = client.post("/notes")
    assert created.status_code == 201
    assert created.headers["ETag"] == client.get("/notes/7").headers["ETag"]


def test_without_a_secret_tags_are_unkeyed_and_the_log_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_app().test_client()
    with caplog.at_level(logging.WARNING, logger="flask_preconditions"):
        tag = client.get("/notes/1").headers["ETag"]
    assert tag == f'"{etag_for_version(3)}"'
    assert "no SECRET_KEY" in caplog.text


def test_views_of_one_url_share_its_tags() -> None:
    app = Flask("split")
    app.config.update(SECRET)
    pre = Preconditions(app)
    versions = {1: 1}

    @app.get("/notes/<int:note_id>")
    @pre.etag(lambda note_id: versions[note_id])
    def read(note_id: int) -> str:
        return "note"

    @app.put("/notes/<int:note_id>")
    @pre.etag(lambda note_id: versions[note_id])
    def write(note_id: int) -> str:
        versions[note_id] += 1
        return "written"

    client = app.test_client()
    tag = client.get("/notes/1").headers["ETag"]
    written = client.put("/notes/1", headers={"If-Match": tag})
    assert written.status_code == 200
    assert written.headers["ETag"] == client.get("/notes/1").headers["ETag"]
