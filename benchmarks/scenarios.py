"""The scenarios of the benchmark: one table, and the apps it names.

Each row of :data:`ROWS` is one kind of request to one app: its name, the app,
the request (a method, then the precondition sent), the status it must be
answered with and, for our apps, keyword arguments for
:class:`~flask_preconditions.Preconditions`. A scenario's ratio is taken to
the row of its framework's plain view with the same method. A new dimension (a
setting, a backend) is a set of rows differing in the last column, as in
:func:`lock_rows`. :func:`build` puts each scenario on its own item of one
shared store, so that no scenario's writes change what another reads.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import typing as t

import apps
from harness import App
from harness import Scenario
from harness import WSGIApp
from items import Store
from peers import django_app
from peers import smorest_app

#: Each peer and the modules it needs (``benchmarks/requirements.txt``).
PEERS = {"flask-smorest": ("flask_smorest", "marshmallow"), "django": ("django",)}


def peer_available(peer: str) -> bool:
    return all(importlib.util.find_spec(module) for module in PEERS[peer])


OURS = "flask-preconditions"
SMOREST_BARE = functools.partial(smorest_app, etag=False)
APPS = {
    "bare": App(apps.bare, "flask", "plain Flask view", None),
    "floor": App(apps.floor, "hand-written", "version check by hand", "bare", "any"),
    "floor_read": App(
        apps.floor_read, "hand-written", "version tag by hand", "bare", "any"
    ),
    "floor_hash": App(
        apps.floor_hash, "hand-written", "body hash by hand", "bare", "any"
    ),
    "floor_locked": App(
        apps.floor_locked,
        "hand-written",
        "version check by hand, under flock",
        "bare",
        "any",
    ),
    "version": App(apps.version, OURS, "@pre.etag(version)", "bare", "version", True),
    "hash": App(apps.body_hash, OURS, "@pre.etag, body hash", "bare", "body", True),
    "app_wide": App(apps.app_wide, OURS, "app-wide, no decorator", "bare", None, True),
    "exempt": App(apps.exempt, OURS, "@pre.exempt, app-wide on", "bare", None),
    # With a key: keyed, resource-bound tags, learnt from a GET.
    "version_keyed": App(
        functools.partial(apps.version, etag_key="bench"),
        OURS,
        "@pre.etag(version), keyed tags",
        "bare",
        "any",
        True,
    ),
    "hash_keyed": App(
        functools.partial(apps.body_hash, etag_key="bench"),
        OURS,
        "@pre.etag, keyed body hash",
        "bare",
        "any",
        True,
    ),
    "werkzeug": App(apps.werkzeug, "werkzeug", "make_conditional()", "bare", "any"),
    "smorest_bare": App(SMOREST_BARE, "flask-smorest", "no @blp.etag", None),
    "smorest": App(smorest_app, "flask-smorest", "@blp.etag", "smorest_bare"),
    "django_bare": App(django_app, "django", "Django view", None, prefix="/bare"),
    "django": App(django_app, "django", "@condition(etag_func)", "django_bare", "any"),
}


class Row(t.NamedTuple):
    name: str
    app: str
    #: As :attr:`harness.Scenario.request`: "PUT If-Match", for instance.
    request: str
    status: int
    options: t.Mapping[str, t.Any] = {}


NO_HOOKS = {"app_wide": False}

# fmt: off
ROWS = [Row(*row) for row in (
    ("bare_200",                "bare",         "GET",                200),
    ("write_bare",              "bare",         "PUT",                200),
    ("floor_200",               "floor_read",   "GET",                200),
    ("floor_hash_200",          "floor_hash",   "GET",                200),
    ("floor_304",               "floor",        "GET If-None-Match",  304),
    ("floor_write_if_match",    "floor",        "PUT If-Match",       200),
    ("version_200",             "version",      "GET",                200),
    ("version_304",             "version",      "GET If-None-Match",  304),
    ("hash_200",                "hash",         "GET",                200),
    ("hash_304",                "hash",         "GET If-None-Match",  304),
    ("version_keyed_200",       "version_keyed", "GET",               200),
    ("version_keyed_304",       "version_keyed", "GET If-None-Match", 304),
    ("hash_keyed_200",          "hash_keyed",   "GET",                200),
    ("hash_keyed_304",          "hash_keyed",   "GET If-None-Match",  304),
    ("write_if_match",          "version",      "PUT If-Match",       200),
    ("write_if_match_appwide",  "app_wide",     "PUT If-Match",       200),
    ("428",                     "version",      "PUT",                428),
    # Requests the extension does not check: an exempt view.
    ("unchecked_200",           "exempt",       "GET",                200),
    ("unchecked_write",         "exempt",       "PUT",                200),
    ("412",                     "version",      "PUT stale If-Match", 412),
    # The decorated view again, with app_wide=False: no app-wide hooks.
    ("version_200_no_hooks",    "version",      "GET",                200, NO_HOOKS),
    ("version_304_no_hooks",    "version",      "GET If-None-Match",  304, NO_HOOKS),
    ("write_if_match_no_hooks", "version",      "PUT If-Match",       200, NO_HOOKS),
    ("werkzeug_200",            "werkzeug",     "GET",                200),
    ("werkzeug_304",            "werkzeug",     "GET If-None-Match",  304),
    ("smorest_bare_200",        "smorest_bare", "GET",                200),
    ("smorest_write_bare",      "smorest_bare", "PUT",                200),
    ("smorest_200",             "smorest",      "GET",                200),
    ("smorest_304",             "smorest",      "GET If-None-Match",  304),
    ("smorest_write_if_match",  "smorest",      "PUT If-Match",       200),
    ("smorest_428",             "smorest",      "PUT",                428),
    ("smorest_412",             "smorest",      "PUT stale If-Match", 412),
    ("django_bare_200",         "django_bare",  "GET",                200),
    ("django_write_bare",       "django_bare",  "PUT",                200),
    ("django_200",              "django",       "GET",                200),
    ("django_304",              "django",       "GET If-None-Match",  304),
    ("django_write_if_match",   "django",       "PUT If-Match",       200),
    ("django_412",              "django",       "PUT stale If-Match", 412),
)]
# fmt: on


FLOOR_LOCKED = Row("floor_write_locked", "floor_locked", "PUT If-Match", 200)


def lock_rows() -> list[Row]:
    """The checked write under each per-resource write lock, and without one;
    and the hand-written check under ``flock``, where there is one.

    "file" (the default) and "thread" always; Redis and PostgreSQL when a
    server is named by ``PRECONDITIONS_TEST_REDIS_URL`` or
    ``PRECONDITIONS_TEST_DATABASE_URL``. Each is a ratio to the unchecked write
    of the same run, like every write.
    """
    locks = {"off": "off", "file": "file", "thread": "thread"}
    for backend, variable in (("redis", "REDIS_URL"), ("postgres", "DATABASE_URL")):
        if url := os.environ.get(f"PRECONDITIONS_TEST_{variable}"):
            locks[backend] = url
    # The least an OS lock costs, by hand, where there is flock.
    floor = [] if apps.fcntl is None else [FLOOR_LOCKED]
    return floor + [
        Row(
            f"write_if_match_lock_{name}",
            "version",
            "PUT If-Match",
            200,
            {"lock": lock},
        )
        for name, lock in locks.items()
    ]


def _shown(value: t.Any) -> t.Any:
    # Never print a server URL's credentials: its scheme says enough.
    if isinstance(value, str) and "://" in value:
        return value.split("://", 1)[0] + "://..."
    return value


def baseline(row: Row, rows: list[Row]) -> str | None:
    """The plain view of the row's framework with the same method."""
    plain = APPS[row.app].plain
    method = row.request.split()[0]
    if plain is None:
        return None
    return next(r.name for r in rows if r.app == plain and r.request == method)


def build(store: Store, *, peers: t.Collection[str]) -> list[Scenario]:
    """A scenario for every row, skipping the peers not named in ``peers``."""
    rows = ROWS + lock_rows()
    built: dict[tuple[t.Any, ...], WSGIApp] = {}
    scenarios = []
    for item_id, row in enumerate(rows, start=1):
        app = APPS[row.app]
        if app.framework in PEERS and app.framework not in peers:
            continue
        key = (app.factory, *sorted(row.options.items()))
        if key not in built:
            built[key] = app.factory(store, **row.options)
        options = "".join(f", {k}={_shown(v)!r}" for k, v in row.options.items())
        scenarios.append(
            Scenario(
                name=row.name,
                spec=app,
                app=built[key],
                store=store,
                item_id=item_id,
                request=row.request,
                status=row.status,
                baseline=baseline(row, rows),
                what=f"{app.what}{options}: {row.request}",
            )
        )
    return scenarios
