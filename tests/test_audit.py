"""The route audit says what requests really get: each row is sent and checked.

For every row of :func:`audit_routes`, in app-wide mode and without it, with
the write lock on and off, the test sends the requests the row's label makes
a promise about and checks the promise: a protected write without a
precondition is 428 and writes nothing, an unprotected one writes, a
protected GET carries a validator, a write atomic by lock waits for the lock.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask.views import MethodView

from flask_preconditions import Preconditions
from flask_preconditions.audit import Atomicity
from flask_preconditions.audit import audit_routes
from flask_preconditions.audit import Protection
from flask_preconditions.audit import RouteProtection
from flask_preconditions.locks import resource_key
from flask_preconditions.locks import ThreadLocks

WRITES = ("PUT", "PATCH", "DELETE", "POST")


class Recorder:
    """Counts the requests that reached a view."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def view(self, name: str) -> t.Callable[..., t.Any]:
        def view(**kwargs: t.Any) -> dict[str, t.Any]:
            self.calls.append((name, request.method))
            return {"name": name, **kwargs}

        view.__name__ = name
        return view


def make_app(*, app_wide: bool, lock: t.Any) -> tuple[Flask, Recorder]:
    app = Flask(f"audit_{app_wide}")
    app.testing = True
    app.config["PRECONDITIONS_LOCK_TIMEOUT"] = 0
    pre = Preconditions(app, app_wide=app_wide, lock=lock)
    seen = Recorder()
    versions = {1: 1}

    def version(item_id: int) -> int | None:
        return versions.get(item_id)

    app.add_url_rule(
        "/versioned/<int:item_id>",
        view_func=pre.etag(version)(seen.view("versioned")),
        methods=["GET", "PUT", "DELETE"],
    )
    app.add_url_rule(
        "/atomic/<int:item_id>",
        view_func=pre.etag(version, atomic=True)(seen.view("atomic")),
        methods=["GET", "PUT"],
    )
    app.add_url_rule(
        "/hashed", view_func=pre.etag(seen.view("hashed")), methods=["GET", "PUT"]
    )
    app.add_url_rule(
        "/plain", view_func=seen.view("plain"), methods=["GET", "PUT", "POST"]
    )
    app.add_url_rule(
        "/exempt", view_func=pre.exempt(seen.view("exempt")), methods=["PUT"]
    )

    class Item(MethodView):
        def get(self) -> dict[str, str]:
            return seen.view("item")()

        def patch(self) -> dict[str, str]:
            return seen.view("item")()

    app.add_url_rule("/item", view_func=Item.as_view("item"))

    api = pre.protect(Blueprint("api", __name__))
    api.add_url_rule("/docs", "docs", seen.view("api_docs"), methods=["GET", "PUT"])
    app.register_blueprint(api, url_prefix="/api")
    other = Blueprint("other", __name__)
    other.add_url_rule("/docs", "docs", seen.view("other_docs"), methods=["GET", "PUT"])
    app.register_blueprint(other, url_prefix="/other")
    return app, seen


def url_of(row: RouteProtection) -> str:
    return row.rule.replace("<int:item_id>", "1")


def reached(seen: Recorder, row: RouteProtection, method: str) -> bool:
    return any(call[1] == method for call in seen.calls)


def check_row(app: Flask, seen: Recorder, row: RouteProtection) -> None:
    client = app.test_client()
    url = url_of(row)
    if row.method == "GET":
        response = client.get(url)
        has_validator = (
            "ETag" in response.headers or "Last-Modified" in response.headers
        )
        protected = row.protection in (Protection.VERSION, Protection.BODY_HASH)
        assert has_validator == protected, row
        return
    seen.calls.clear()
    blind = client.open(url, method=row.method)
    if row.protection in (Protection.VERSION, Protection.BODY_HASH):
        assert blind.status_code == 428, row
        assert not reached(seen, row, row.method), row
        stale = client.open(url, method=row.method, headers={"If-Match": '"stale"'})
        assert stale.status_code == 412, row
        assert not reached(seen, row, row.method), row
    else:
        assert 200 <= blind.status_code < 300, row
        assert reached(seen, row, row.method), row


def check_atomicity(
    app: Flask, locks: ThreadLocks | None, row: RouteProtection
) -> None:
    if row.method not in WRITES or row.atomicity is Atomicity.NOT_APPLICABLE:
        return
    client = app.test_client()
    url = url_of(row)
    etag = client.get(url).headers["ETag"]
    view_args = {"item_id": 1} if "<int:item_id>" in row.rule else {}
    other = None
    if locks is not None:
        other = locks.acquire(resource_key(app.import_name, row.rule, view_args), 0)
    try:
        response = client.open(url, method=row.method, headers={"If-Match": etag})
    finally:
        if other is not None:
            other.release()
    if row.atomicity is Atomicity.LOCK:
        # Another request holds the lock: this one may not write meanwhile.
        assert response.status_code == 503, row
    else:
        assert 200 <= response.status_code < 300, row


@pytest.mark.parametrize("app_wide", [True, False])
@pytest.mark.parametrize("locked", [True, False])
def test_every_audit_row_describes_what_requests_get(
    app_wide: bool, locked: bool
) -> None:
    locks = ThreadLocks() if locked else None
    app, seen = make_app(app_wide=app_wide, lock=locks if locked else "off")
    rows = [row for row in audit_routes(app) if row.endpoint != "static"]
    labels = {row.protection for row in rows}
    # The app has a route of every kind, in either mode.
    assert {Protection.VERSION, Protection.BODY_HASH, Protection.EXEMPT} <= labels
    assert (Protection.UNPROTECTED in labels) is not app_wide
    for row in rows:
        check_row(app, seen, row)
        check_atomicity(app, locks, row)
    atomicities = {row.atomicity for row in rows}
    assert Atomicity.COMPARE_AND_SWAP in atomicities
    assert (Atomicity.LOCK in atomicities) is locked
    assert (Atomicity.CHECK_THEN_WRITE in atomicities) is not locked


def test_a_write_on_a_subdomain_without_its_own_get_is_unprotected() -> None:
    app = Flask(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    Preconditions(app)
    writes: list[str] = []

    @app.get("/doc")
    def doc() -> str:
        return "doc"

    @app.put("/doc", subdomain="api")
    def api_doc() -> str:
        writes.append("PUT")
        return "written"

    rows = {(row.endpoint, row.method): row for row in audit_routes(app)}
    assert rows[("api_doc", "PUT")].protection is Protection.UNPROTECTED
    # As the audit says: a blind write to it writes.
    response = app.test_client().put("/doc", base_url="http://api.example.test")
    assert response.status_code == 200
    assert writes == ["PUT"]


def test_a_streamed_get_is_reported_and_its_writes_are_unprotected() -> None:
    app = Flask(__name__)
    Preconditions(app)

    @app.route("/feed", methods=["GET", "PUT"])
    def feed() -> t.Iterator[str]:
        yield "a"
        yield "b"

    rows = {(row.endpoint, row.method): row for row in audit_routes(app)}
    assert rows[("feed", "GET")].protection is Protection.SAFE
    assert rows[("feed", "PUT")].protection is Protection.UNPROTECTED
    assert "streams" in rows[("feed", "PUT")].reason
    # What requests get: no ETag on the GET, and no write can be confirmed.
    client = app.test_client()
    assert "ETag" not in client.get("/feed").headers
    assert client.put("/feed", headers={"If-Match": '"x"'}).status_code == 412
