"""The request hooks of app-wide mode and of protected blueprints.

They check the endpoints that no decorator of their own handles
(:attr:`~flask_preconditions.views.Mode.HOOKS`): GET responses get entity-tags
from their bodies, and writes are checked against a GET of the same URL.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask.wrappers import Response

from .checks import call_with_view_args
from .checks import check_against_get
from .checks import conditional_body_response
from .checks import validators_after_write
from .compat import current
from .conditions import IGNORING_METHODS
from .conditions import NEW_VALIDATOR_METHODS
from .conditions import SAFE_METHODS
from .internal_get import INTERNAL_GET_MARK
from .locking import lock_write
from .locking import needs_lock
from .responses import revalidate
from .state import get_state
from .state import State
from .views import Mode

logger = logging.getLogger("flask_preconditions")


def check_routes_once(state: State) -> None:
    """Classify every route at the first request, so that a misconfigured one
    fails loudly at once instead of answering its own requests wrongly.

    :raise Misconfigured: a route cannot work as declared; raised again on
        every request until it is fixed.
    """
    if state.routes_checked:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            state.route(app, rule.endpoint, method)
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


def before_request(state: State) -> None:
    """Authorise, then check a write before its view runs.

    :raise HTTPException: a problem that answers the request.
    """
    app, req = current()
    method = req.method
    if method in IGNORING_METHODS or req.endpoint is None:
        return
    route = state.route(app, req.endpoint, method)
    if route.mode is not Mode.HOOKS:
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


def after_request(state: State, response: Response) -> Response:
    """Give a GET response its entity-tag and answer its conditions; give a
    checked write's response its new validators."""
    app, req = current()
    method = req.method
    if req.endpoint is None or (
        method not in SAFE_METHODS and method not in NEW_VALIDATOR_METHODS
    ):
        return response
    if state.route(app, req.endpoint, method).mode is not Mode.HOOKS:
        return response
    if method in SAFE_METHODS:
        if 200 <= response.status_code < 300:
            revalidate(app, req, response)
        return conditional_body_response(state.settings, app, req, response)
    return validators_after_write(app, req, response)


def blueprint_before_request() -> None:
    """:func:`before_request` for a protected blueprint's endpoints."""
    state = get_state(current_app)
    if not state.settings.app_wide:
        before_request(state)


def blueprint_after_request(response: Response) -> Response:
    """:func:`after_request` for a protected blueprint's endpoints."""
    state = get_state(current_app)
    if state.settings.app_wide:
        return response
    return after_request(state, response)
