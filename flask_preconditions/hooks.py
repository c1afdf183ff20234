"""App-wide mode and protected blueprints: the checks of the endpoints that no
decorator of their own handles (:attr:`~flask_preconditions.views.Mode.HOOKS`).

At the application's first request, :func:`prepare_once` classifies every
route and wraps the view of each endpoint the hooks cover in
:class:`CheckedView`: GET responses get entity-tags from their bodies, and
writes are checked against a GET of the same URL. The checks run around the
view, after every ``before_request`` function and before every
``after_request`` function; a request to any other endpoint (a decorated or
exempt view, a static file) meets no code of the extension at all.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing as t

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response

from .against_get import check_against_get
from .against_get import validators_after_write
from .body_hashes import conditional_body_response
from .compat import current
from .conditions import IGNORING_METHODS
from .conditions import NEW_VALIDATOR_METHODS
from .conditions import SAFE_METHODS
from .internal_get import INTERNAL_GET_MARK
from .locking import lock_write
from .locking import needs_lock
from .resource_validators import call_with_view_args
from .responses import header_flags
from .responses import revalidate
from .state import State
from .views import Mode
from .views import Route

logger = logging.getLogger("flask_preconditions")
View = t.Callable[..., t.Any]


def prepare_once(state: State, app: Flask) -> None:
    """Classify every route, then wrap the views the hooks cover; once.

    Runs at the first request, when the URL map is complete: Flask refuses
    new routes after it. A misconfigured route fails loudly then, instead of
    answering its own requests wrongly.

    :raise Misconfigured: a route cannot work as declared; raised again at
        every request until it is fixed.
    """
    if state.routes_checked:
        return
    with state.setup_lock:
        if state.routes_checked:
            return
        covered = set()
        for rule in app.url_map.iter_rules():
            for method in sorted((rule.methods or set()) - {"OPTIONS"}):
                if state.route(app, rule.endpoint, method).mode is Mode.HOOKS:
                    covered.add(rule.endpoint)
        for endpoint in covered:
            view = app.view_functions.get(endpoint)
            if view is not None and not isinstance(view, CheckedView):
                app.view_functions[endpoint] = CheckedView(state, view)
        state.routes_checked = True
    if state.settings.etag_keys is None:
        # At the first request rather than in init_app: CLI commands, which
        # serve none, stay quiet.
        logger.warning(
            "%s has no SECRET_KEY (nor PRECONDITIONS_ETAG_KEY): its entity-tags"
            " are unkeyed digests, so every resource at one version has one tag,"
            " and a small version or a private body can be recovered from its"
            " tag. Set SECRET_KEY to make tags keyed and bound to their resource"
            " (see the Security page).",
            app.import_name,
        )


class CheckedView:
    """A view with the checks of app-wide mode or a protected blueprint around
    it, in ``app.view_functions`` in place of the view.

    It keeps the view's name and attributes (``view_class``, ``methods``), so
    that Flask and the route classification see the same view; ``__wrapped__``
    is the view, and it compares equal to it, so that code that looks an
    endpoint up by its view function (apispec's ``FlaskPlugin``) still finds
    it.
    """

    def __init__(self, state: State, view: View) -> None:
        functools.update_wrapper(self, view)
        self._state = state
        self._view = view
        self._is_async = inspect.iscoroutinefunction(view)

    def __call__(self, **kwargs: t.Any) -> t.Any:
        app, req = current()
        view = app.ensure_sync(self._view) if self._is_async else self._view
        state = self._state
        route = state.route(app, req.endpoint, req.method)
        if route.mode is not Mode.HOOKS:
            return view(**kwargs)
        before_view(state, route, app, req)
        return after_view(state, app, req, app.make_response(view(**kwargs)))

    def __eq__(self, other: object) -> bool:
        return (
            other is self
            or other is self._view
            or (isinstance(other, CheckedView) and other._view is self._view)
        )

    def __hash__(self) -> int:
        return hash(self._view)

    def __repr__(self) -> str:
        return f"<checked {self._view!r}>"


def before_view(state: State, route: Route, app: Flask, req: Request) -> None:
    """Authorise, then check a write before its view runs.

    :raise HTTPException: a problem that answers the request.
    """
    method = req.method
    if method in IGNORING_METHODS:
        return
    # On GET and HEAD too: their 304 would tell a stranger the version. The
    # internal GET of a write the write has authorised already.
    if route.authorize is not None and not req.environ.get(INTERNAL_GET_MARK):
        call_with_view_args(app, route.authorize, req.view_args or {})
    if method in SAFE_METHODS:
        return
    if needs_lock(state.settings, req):
        lock_write(state.settings, app, req)
    check_against_get(state.settings, app, req)


def after_view(state: State, app: Flask, req: Request, response: Response) -> Response:
    """Give a GET response its entity-tag and answer its conditions; give a
    checked write's response its new validators."""
    method = req.method
    if method in SAFE_METHODS:
        flags = header_flags(response.headers)
        if 200 <= response.status_code < 300:
            revalidate(app, req, response, flags[1])
        return conditional_body_response(
            state.settings, app, req, response, weak=False, flags=flags
        )
    if method in NEW_VALIDATOR_METHODS:
        return validators_after_write(app, req, response)
    return response
