"""Misconfigurations found before they answer a request with a 500.

Checked once per endpoint, when the endpoint is first classified (its first
request, or the route audit), so that a mistake is an exception that names the
endpoint and the fix, and a row of the audit, rather than a 500 on every
request.
"""

from __future__ import annotations

import typing as t

from flask import Flask

from .views import DECORATED_BY_ATTRIBUTE
from .views import Mode
from .views import Route


class Misconfigured(RuntimeError):
    """A view's declaration cannot work; the message names the endpoint and
    the fix.

    .. versionadded:: 0.2
    """


class ChecksConfiguration(t.Protocol):
    """A version or date function that can tell whether it works on a route.

    :func:`~flask_preconditions.sqlalchemy.versioned` is one: it needs
    :class:`~flask_preconditions.sqlalchemy.SQLAlchemyPreconditions` and URL
    arguments that name its primary key.

    .. versionadded:: 0.2
    """

    def check_configuration(
        self, app: Flask, endpoint: str, arguments: t.AbstractSet[str]
    ) -> None:
        """Raise :exc:`Misconfigured` if the function cannot work there."""


def check_route(
    app: Flask,
    endpoint: str,
    method: str,
    route: Route,
    required_methods: t.AbstractSet[str],
) -> None:
    """Raise :exc:`Misconfigured` when ``route`` cannot work as declared.

    :raise Misconfigured: the decorator was applied above ``@app.route``; a
        validator function cannot work on the endpoint's URL rules; weak
        entity-tags on a route whose writes must send ``If-Match``, with no
        date to send ``If-Unmodified-Since`` with.
    """
    view = app.view_functions.get(endpoint)
    if route.mode is Mode.UNCOVERED or route.mode is Mode.HOOKS:
        wrapper = getattr(view, DECORATED_BY_ATTRIBUTE, None)
        # The decorated view is registered nowhere in the app: the route took
        # the function before the decorator wrapped it. (A function also
        # registered, decorated, at another endpoint is a choice, not this.)
        # (The wrapper app-wide mode puts in place of a view equals the view.)
        if wrapper is not None and all(
            registered != wrapper for registered in app.view_functions.values()
        ):
            raise Misconfigured(
                f"Endpoint {endpoint!r}: @pre.etag or @pre.last_modified was"
                " applied above @app.route, so the route serves the undecorated"
                " view and nothing is checked. Put the route decorator first"
                " (outermost), the precondition decorators below it."
            )
        return
    spec = route.spec
    if spec is None:
        return
    arguments: set[str] = set()
    writable = False
    for rule in app.url_map.iter_rules():
        if rule.endpoint == endpoint:
            arguments |= rule.arguments
            writable = writable or bool((rule.methods or set()) & required_methods)
    for function in (spec.version, spec.last_modified):
        check = getattr(function, "check_configuration", None)
        if check is not None:
            check(app, endpoint, frozenset(arguments))
    if spec.weak and spec.last_modified is None and writable:
        raise Misconfigured(
            f"Endpoint {endpoint!r} has weak entity-tags and no date function,"
            " so its writes can never succeed: If-Match compares strongly, and a"
            " weak tag never matches (RFC 9110 §13.1.1). Drop weak=True, or add"
            " @pre.last_modified so that clients can write with"
            " If-Unmodified-Since."
        )
