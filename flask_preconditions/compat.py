"""Every call into Flask beyond its stable public API, in one place.

Flask 3.2 merged the request context into the application context and made
the dispatch methods take that context as their first argument. The functions
here work on Flask 3.0, 3.1 and 3.2, and are tested on each.
"""

from __future__ import annotations

import inspect
import typing as t

from flask import current_app
from flask import Flask
from flask import request
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.exceptions import HTTPException

#: Whether ``Flask.full_dispatch_request`` and friends take the context (3.2).
DISPATCH_TAKES_CONTEXT = (
    "ctx" in inspect.signature(Flask.full_dispatch_request).parameters
)


def _context_variables() -> tuple[t.Any, t.Any]:
    """Flask's context variables of the application context and of the
    request's context (the request context on Flask 3.0 and 3.1, the
    application context again on 3.2); ``None`` if this Flask lacks one."""
    from flask import globals as flask_globals

    app_context = getattr(flask_globals, "_cv_app", None)
    if DISPATCH_TAKES_CONTEXT:
        return app_context, app_context
    return app_context, getattr(flask_globals, "_cv_request", None)


_APP_CONTEXT, _REQUEST_CONTEXT = _context_variables()


def current() -> tuple[Flask, Request]:
    """The application and request objects behind the proxies.

    The checks need both many times per request: Flask's context variables
    read directly, where each proxy reads them again.

    :raise RuntimeError: outside of a request, as the proxies do.
    """
    if _APP_CONTEXT is not None and _REQUEST_CONTEXT is not None:
        app_context = _APP_CONTEXT.get(None)
        request_context = _REQUEST_CONTEXT.get(None)
        # On 3.2 the context may be an application context without a request.
        if (
            app_context is not None
            and request_context is not None
            and (not DISPATCH_TAKES_CONTEXT or request_context.has_request)
        ):
            return app_context.app, request_context.request
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return app, req


def _contexts() -> tuple[t.Any, t.Any]:
    """The active request context and application context (one object on 3.2)."""
    from flask import globals as flask_globals

    # Typed as Any: the context classes differ between Flask versions.
    proxies: t.Any = flask_globals
    app_context = proxies.app_ctx._get_current_object()
    if DISPATCH_TAKES_CONTEXT:
        return app_context, app_context
    return proxies.request_ctx._get_current_object(), app_context


def dispatch_in_current_context(
    app: Flask, environ: dict[str, t.Any]
) -> Response | None:
    """Dispatch another request within the active one's context, then restore it.

    The nested request gets its own request object, ``g`` and
    ``after_this_request`` callbacks, but no context is pushed or popped: no
    ``teardown_request`` or ``teardown_appcontext`` handler runs, so a
    database session that the app removes on teardown (Flask's
    ``scoped_session`` pattern) is the same before and after, with everything
    the outer request added to it. The cookie session and context-bound
    resources, such as Flask-SQLAlchemy's session, are shared.

    Returns the nested request's response, or ``None``, without dispatching,
    when no route matches it (a 404, a 405 or a redirect of the router).
    """
    ctx, app_context = _contexts()
    # The request slot is private on 3.2, where the request context merged
    # into the application context.
    slot = "_request" if DISPATCH_TAKES_CONTEXT else "request"
    nested = app.request_class(environ)
    nested.json_module = app.json
    adapter = app.create_url_adapter(nested)
    saved = (getattr(ctx, slot), ctx.url_adapter, ctx._after_request_functions)
    saved_g = app_context.g
    try:
        setattr(ctx, slot, nested)
        ctx.url_adapter = adapter
        ctx._after_request_functions = []
        app_context.g = app.app_ctx_globals_class()
        if adapter is None:
            return None
        try:
            rule, view_args = adapter.match(return_rule=True)
        except HTTPException:
            return None
        nested.url_rule, nested.view_args = rule, dict(view_args)
        # Typed as Any: the signature depends on the installed Flask.
        flask_app: t.Any = app
        if DISPATCH_TAKES_CONTEXT:
            response = flask_app.full_dispatch_request(ctx)
        else:
            response = flask_app.full_dispatch_request()
        return t.cast(Response, response)
    finally:
        setattr(ctx, slot, saved[0])
        ctx.url_adapter, ctx._after_request_functions = saved[1:]
        app_context.g = saved_g
        nested.close()


def handle_error(app: Flask, error: HTTPException) -> Response:
    """Answer an HTTP error as Flask would if it were raised, without raising.

    For places where a raised error would become a 500, such as an
    ``after_request`` function or an error handler. The application's own
    handlers are found by Flask's lookup.
    """
    flask_app: t.Any = app
    if DISPATCH_TAKES_CONTEXT:
        rv = flask_app.handle_user_exception(_contexts()[0], error)
    else:
        rv = flask_app.handle_user_exception(error)
    return app.make_response(rv)


def remove_before_request(app: Flask, func: t.Callable[[], t.Any]) -> None:
    """Unregister an application's ``before_request`` function.

    Flask has no public API for it. The list is replaced rather than changed
    in place, so that a request iterating over it in another thread goes on
    undisturbed.
    """
    functions = app.before_request_funcs.get(None)
    if functions is not None and func in functions:
        app.before_request_funcs[None] = [f for f in functions if f is not func]
