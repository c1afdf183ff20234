"""The scenarios of the benchmark, the targets of issue 4 and the peers.

Every scenario gets its own item in one shared :class:`~items.Store`, so a
scenario's writes never change what another one reads.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import typing as t

import flask_apps
from harness import Scenario
from harness import WSGIApp
from items import Store
from werkzeug.http import quote_etag

from flask_preconditions.validators import etag_for_body
from flask_preconditions.validators import etag_for_version

PEERS = {
    "flask-smorest": ("flask_smorest", "marshmallow"),
    "django": ("django",),
}


def peer_available(peer: str) -> bool:
    return all(importlib.util.find_spec(module) for module in PEERS[peer])


def _version_etag(version: int, body: bytes) -> str:
    return quote_etag(etag_for_version(version))


def _body_etag(version: int, body: bytes) -> str:
    return quote_etag(etag_for_body(body))


def build(store: Store, *, peers: t.Collection[str]) -> list[Scenario]:
    """Every scenario, ours first, then the peers named in ``peers``."""
    ids = itertools.count(1)

    def make(app: WSGIApp, name: str, **kwargs: t.Any) -> Scenario:
        item_id = next(ids)
        prefix = kwargs.pop("prefix", "")
        return Scenario(
            name=name,
            app=app,
            store=store,
            item_id=item_id,
            path=f"{prefix}/items/{item_id}",
            **kwargs,
        )

    bare = flask_apps.bare_app(store)
    floor = flask_apps.floor_app(store)
    version = flask_apps.version_app(store)
    body_hash = flask_apps.hash_app(store)
    appwide = flask_apps.appwide_app(store)
    werkzeug = flask_apps.werkzeug_app(store)
    ours = "flask-preconditions"
    hand = "hand-written"
    scenarios = [
        make(
            bare,
            "bare_200",
            framework="flask",
            kind="read",
            baseline=None,
            description="plain Flask GET, no extension: the read baseline",
        ),
        make(
            bare,
            "write_bare",
            framework="flask",
            kind="write",
            baseline=None,
            method="PUT",
            description="plain Flask PUT, no check: the write baseline",
        ),
        make(
            floor,
            "floor_304",
            framework=hand,
            kind="read",
            baseline="bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=True,
            description="hand-written version check, 304 before the view",
        ),
        make(
            floor,
            "floor_write_if_match",
            framework=hand,
            kind="write",
            baseline="write_bare",
            method="PUT",
            condition="if-match",
            expect_etag=True,
            description="hand-written If-Match check on the version",
        ),
        make(
            version,
            "version_200",
            framework=ours,
            kind="read",
            baseline="bare_200",
            expect_etag=True,
            etag_of=_version_etag,
            description="@pre.etag(version), unconditional GET",
        ),
        make(
            version,
            "version_304",
            framework=ours,
            kind="read",
            baseline="bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=True,
            etag_of=_version_etag,
            description="@pre.etag(version), GET with a matching If-None-Match",
        ),
        make(
            body_hash,
            "hash_200",
            framework=ours,
            kind="read",
            baseline="bare_200",
            expect_etag=True,
            etag_of=_body_etag,
            description="bare @pre.etag (ETag from the body), unconditional GET",
        ),
        make(
            body_hash,
            "hash_304",
            framework=ours,
            kind="read",
            baseline="bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=True,
            description="bare @pre.etag, GET with a matching If-None-Match",
        ),
        make(
            version,
            "write_if_match",
            framework=ours,
            kind="write",
            baseline="write_bare",
            method="PUT",
            condition="if-match",
            expect_etag=True,
            etag_of=_version_etag,
            description="@pre.etag(version), PUT with the current If-Match",
        ),
        make(
            appwide,
            "write_if_match_appwide",
            framework=ours,
            kind="write",
            baseline="write_bare",
            method="PUT",
            condition="if-match",
            description="app-wide mode, undecorated view: PUT with If-Match,"
            " current ETag from running the GET view",
        ),
        make(
            version,
            "428",
            framework=ours,
            kind="write",
            baseline="write_bare",
            method="PUT",
            expect_status=428,
            expect_problem=True,
            description="@pre.etag(version), PUT without If-Match",
        ),
        make(
            version,
            "412",
            framework=ours,
            kind="write",
            baseline="write_bare",
            method="PUT",
            condition="stale-if-match",
            expect_status=412,
            expect_problem=True,
            description="@pre.etag(version), PUT with a stale If-Match",
        ),
        make(
            werkzeug,
            "werkzeug_200",
            framework="werkzeug",
            kind="read",
            baseline="bare_200",
            expect_etag=True,
            description="add_etag() + make_conditional(), unconditional GET",
        ),
        make(
            werkzeug,
            "werkzeug_304",
            framework="werkzeug",
            kind="read",
            baseline="bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=True,
            description="add_etag() + make_conditional(), matching If-None-Match",
        ),
    ]
    if "flask-smorest" in peers:
        scenarios += _smorest(store, make)
    if "django" in peers:
        scenarios += _django(store, make)
    return scenarios


def _smorest(store: Store, make: t.Callable[..., Scenario]) -> list[Scenario]:
    from smorest_app import smorest_app

    bare = smorest_app(store, etag=False)
    etag = smorest_app(store, etag=True)
    peer = "flask-smorest"
    return [
        make(
            bare,
            "smorest_bare_200",
            framework=peer,
            kind="read",
            baseline=None,
            description="flask-smorest GET with its schema, no @blp.etag",
        ),
        make(
            bare,
            "smorest_write_bare",
            framework=peer,
            kind="write",
            baseline=None,
            method="PUT",
            description="flask-smorest PUT with its schemas, no @blp.etag",
        ),
        make(
            etag,
            "smorest_200",
            framework=peer,
            kind="read",
            baseline="smorest_bare_200",
            expect_etag=True,
            description="@blp.etag, unconditional GET",
        ),
        make(
            etag,
            "smorest_304",
            framework=peer,
            kind="read",
            baseline="smorest_bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=False,
            description="@blp.etag, GET with a matching If-None-Match",
        ),
        make(
            etag,
            "smorest_write_if_match",
            framework=peer,
            kind="write",
            baseline="smorest_write_bare",
            method="PUT",
            condition="if-match",
            expect_etag=True,
            description="@blp.etag + blp.check_etag(), PUT with If-Match",
        ),
        make(
            etag,
            "smorest_428",
            framework=peer,
            kind="write",
            baseline="smorest_write_bare",
            method="PUT",
            expect_status=428,
            description="@blp.etag, PUT without If-Match",
        ),
        make(
            etag,
            "smorest_412",
            framework=peer,
            kind="write",
            baseline="smorest_write_bare",
            method="PUT",
            condition="stale-if-match",
            expect_status=412,
            description="@blp.etag + blp.check_etag(), stale If-Match",
        ),
    ]


def _django(store: Store, make: t.Callable[..., Scenario]) -> list[Scenario]:
    import django_app

    handler = django_app.setup(store)
    peer = "django"

    def bare(name: str, **kwargs: t.Any) -> Scenario:
        return make(handler, name, framework=peer, prefix="/bare", **kwargs)

    def conditional(name: str, **kwargs: t.Any) -> Scenario:
        return make(handler, name, framework=peer, **kwargs)

    return [
        bare(
            "django_bare_200",
            kind="read",
            baseline=None,
            description="Django GET view, no decorator",
        ),
        bare(
            "django_write_bare",
            kind="write",
            baseline=None,
            method="PUT",
            description="Django PUT view, no decorator",
        ),
        conditional(
            "django_200",
            kind="read",
            baseline="django_bare_200",
            expect_etag=True,
            description="@condition(etag_func), unconditional GET",
        ),
        conditional(
            "django_304",
            kind="read",
            baseline="django_bare_200",
            condition="if-none-match",
            expect_status=304,
            expect_etag=True,
            description="@condition(etag_func), matching If-None-Match",
        ),
        conditional(
            "django_write_if_match",
            kind="write",
            baseline="django_write_bare",
            method="PUT",
            condition="if-match",
            description="@condition(etag_func), PUT with If-Match",
        ),
        conditional(
            "django_412",
            kind="write",
            baseline="django_write_bare",
            method="PUT",
            condition="stale-if-match",
            expect_status=412,
            description="@condition(etag_func), stale If-Match",
        ),
    ]


@dataclasses.dataclass(frozen=True)
class Target:
    """A target of issue 4: ``scenario``'s ratio to ``versus`` at most ``limit``."""

    scenario: str
    versus: str
    limit: float
    text: str


TARGETS = [
    Target("version_304", "floor_304", 1.10, "≤ 1.10x floor_304"),
    Target("version_200", "bare_200", 1.10, "≤ 1.10x"),
    Target("hash_200", "bare_200", 1.15, "≤ 1.15x"),
    Target("hash_304", "bare_200", 1.15, "≤ 1.15x"),
    Target("write_if_match", "write_bare", 1.10, "≤ 1.10x"),
    Target("428", "write_bare", 1.00, "≤ 1.00x"),
    Target("412", "write_bare", 1.00, "≤ 1.00x"),
]

#: Our scenario -> the peers' equivalents it must be ahead of, each peer's
#: cost taken as a ratio to its own framework's bare view.
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "version_200": ("smorest_200", "django_200"),
    "version_304": ("smorest_304", "django_304"),
    "hash_200": ("werkzeug_200", "smorest_200"),
    "hash_304": ("werkzeug_304", "smorest_304"),
    "write_if_match": ("smorest_write_if_match", "django_write_if_match"),
    # Django's @condition always takes a function, so only flask-smorest,
    # whose check_etag() derives the tag from the representation, compares.
    "write_if_match_appwide": ("smorest_write_if_match",),
    "428": ("smorest_428",),
    "412": ("smorest_412", "django_412"),
}
