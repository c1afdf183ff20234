"""The checks around a decorated view: before it runs (authorisation, the
write lock's check, early 304s and problems) and after it (validators on its
response), on the general path and on the plain paths of common reads and
writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

from flask import Flask
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.http import quote_etag

from .against_get import check_against_get
from .against_get import validators_after_write
from .body_hashes import conditional_body_response
from .comparison import if_range_holds
from .conditions import Decision
from .conditions import IGNORING_METHODS
from .conditions import matches_current_tag
from .conditions import NEW_VALIDATOR_METHODS
from .conditions import Outcome
from .conditions import SAFE_METHODS
from .conditions import Validators
from .deciding import answer
from .deciding import decide_before_view
from .deciding import evaluate_request
from .locking import lock_write
from .records import new_version_record
from .records import record_checked
from .records import record_of
from .records import UNSET
from .resource_validators import call_with_view_args
from .resource_validators import tags_of_version
from .resource_validators import validators_from_functions
from .responses import add_headers
from .responses import has_preconditions
from .responses import header_flags
from .responses import header_value
from .responses import only_if_match
from .responses import revalidate
from .responses import set_validators
from .state import get_state
from .views import ResourceSpec

logger = logging.getLogger("flask_preconditions")


def authorize(spec: ResourceSpec, app: Flask, req: Request) -> None:
    """Run the view's authorisation, before anything else is decided or locked.

    A 304, 404 or 412 would tell a client that may not see the resource that
    it exists, and its version; and a stranger must not hold its lock.

    :raise HTTPException: the refusal the authorisation function raises.
    """
    if spec.authorize is not None and req.method not in IGNORING_METHODS:
        call_with_view_args(app, spec.authorize, req.view_args or {})


def _early_answer(
    decision: Decision,
    current: Validators | None,
    spec: ResourceSpec,
    app: Flask,
    req: Request,
) -> Response:
    """The 304 decided before the view, with what the 200 would have carried
    (RFC 9110 §15.4.5); or the raised problem."""
    early = answer(decision, current, app, req)
    add_headers(early, spec.headers)
    return revalidate(app, req, early)


def before_view(
    spec: ResourceSpec, app: Flask, req: Request
) -> tuple[Response | None, Validators | None]:
    """Decide 304, 404, 412 and 428 before a decorated view runs, if possible.

    The view's authorisation (:func:`authorize`) has run first.

    Returns the early response, if any, and the validators the request was
    evaluated against.

    :raise HTTPException: a problem that answers the request.
    """
    method = req.method
    if method in IGNORING_METHODS:
        return None, None
    if spec.uses_functions:
        current, version = validators_from_functions(spec, app, req)
        safe = method in SAFE_METHODS
        environ = req.environ
        if current is not None and safe and not has_preconditions(environ):
            # An unconditional read of an existing resource: nothing to decide.
            record_checked(req, current, version)
            if "HTTP_IF_RANGE" in environ:
                _apply_if_range(req, current)
            return None, current
        decision = decide_before_view(get_state(app).settings, req, current, safe=safe)
        if decision.outcome is not Outcome.PROCEED:
            return _early_answer(decision, current, spec, app, req), current
        if safe:
            _apply_if_range(req, current)
        record_checked(req, current, version)
        return None, current
    if method in SAFE_METHODS:
        # Body hashes need the response: decided in after_view.
        return None, None
    check_against_get(get_state(app).settings, app, req)
    return None, None


def plain_read(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    view: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> Response | None:
    """Answer a GET or HEAD of a view whose spec
    :attr:`~flask_preconditions.views.ResourceSpec.version_only`, as
    :func:`before_view` and :func:`after_view` would: its 304 or problem, or
    the view's response with the resource's entity-tag, the declared headers
    and ``Cache-Control``.

    ``None`` when the request carries ``If-Range``: :func:`before_view`
    answers it.

    :raise HTTPException: a problem that answers the request.
    """
    environ = req.environ
    if "HTTP_IF_RANGE" in environ:
        return None
    conditional = has_preconditions(environ)
    func = spec.version
    assert func is not None  # version_only
    version = call_with_view_args(app, func, req.view_args or {})
    state = get_state(app)
    if version is None:
        # Absent: evaluate() decides the 404 (or what a condition says).
        decision = decide_before_view(state.settings, req, None, safe=True)
        return _early_answer(decision, None, spec, app, req)
    etag, previous = tags_of_version(app, req, version)
    current = Validators(etag, spec.weak, None, previous)
    if conditional:
        decision = decide_before_view(state.settings, req, current, safe=True)
        if decision.outcome is not Outcome.PROCEED:
            return _early_answer(decision, current, spec, app, req)
    record_of(environ).checked = (current, version)
    response = app.make_response(view(*args, **kwargs))
    if not 200 <= response.status_code < 300:
        return response
    # _finish_read's work for a version function, inline: on the read most
    # requests are, its calls cost a measurable share (about 1 µs).
    if spec.headers:
        add_headers(response, spec.headers)
    headers = response.headers
    has_etag, has_cache_control, _ = header_flags(headers)
    revalidate(app, req, response, has_cache_control)
    # The extension's tag wins over one the view set, in its place.
    if has_etag:
        headers.set("ETag", quote_etag(etag, spec.weak))
    else:
        headers.add("ETag", quote_etag(etag, spec.weak))
    return response


def plain_write(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    view: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> Response | None:
    """Answer a write to a view whose spec
    :attr:`~flask_preconditions.views.ResourceSpec.version_only` and whose
    only precondition is ``If-Match``, as the general path (the write lock,
    :func:`before_view`, the view, :func:`after_view`) would: its problem, or
    the view's response with the new validators. The write lock is taken
    first, unless locking is off or the spec is a compare-and-swap.

    ``None`` for a request with another precondition header, or none, and
    for a method that ignores preconditions: the general path answers it.

    :raise HTTPException: a problem that answers the request.
    """
    value = only_if_match(req.environ)
    if value is None or req.method in IGNORING_METHODS:
        return None
    settings = get_state(app).settings
    if settings.lock is not None and not spec.compare_and_swap:
        lock_write(settings, app, req)
    func = spec.version
    assert func is not None  # version_only
    version = call_with_view_args(app, func, req.view_args or {})
    current = None
    if version is not None:
        etag, previous = tags_of_version(app, req, version)
        current = Validators(etag, spec.weak, None, previous)
    if not matches_current_tag(
        value, current, max_header_length=settings.max_header_length
    ):
        # Not the current tag itself: evaluate() decides (a list, *, a stale
        # or malformed tag, an absent resource).
        decision = evaluate_request(settings, req, current, required=True)
        if decision.outcome is not Outcome.PROCEED:
            return _early_answer(decision, current, spec, app, req)
    record_of(req.environ).checked = (current, version)
    return after_view(spec, app, req, view(*args, **kwargs), current)


def plain_body_read(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    view: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> Response:
    """Answer a GET or HEAD of a view whose spec
    :attr:`~flask_preconditions.views.ResourceSpec.body_hash_only`, as
    :func:`before_view` and :func:`after_view` would: the view's response
    with the entity-tag of its body, or the 304 or problem it makes."""
    response = app.make_response(view(*args, **kwargs))
    if not 200 <= response.status_code < 300:
        return response
    return _finish_read(spec, app, req, response, None)


def _finish_read(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    response: Response,
    current: Validators | None,
) -> Response:
    """A decorated read's 2xx with its declared headers, ``Cache-Control``
    and validators: ``current``'s, or its body's tag and the conditions
    decided against it."""
    if spec.headers:
        add_headers(response, spec.headers)
    flags = header_flags(response.headers)
    revalidate(app, req, response, flags[1])
    if spec.uses_functions:
        # The extension's tag wins over one the view set, in its place.
        set_validators(response, current)
        return response
    if spec.last_modified is not None:
        # A body hash stacked with a date function: the date is the
        # function's, so that If-Modified-Since works on it too. (It adds no
        # ETag: the flags still hold.)
        set_validators(response, validators_from_functions(spec, app, req)[0])
    return conditional_body_response(
        get_state(app).settings, app, req, response, spec.weak, flags
    )


def _apply_if_range(req: Request, current: Validators | None) -> None:
    """Decide ``If-Range`` (RFC 9110 §13.1.5) against the resource's validators.

    Werkzeug's range handling (``make_conditional``, ``send_file``) compares
    ``If-Range`` with the tag of the response it builds, which is not the
    resource's: so the extension decides, and leaves Werkzeug a plain
    ``Range`` when the condition holds and none when it does not (the full
    200).
    """
    environ = req.environ
    value = environ.get("HTTP_IF_RANGE")
    if value is None or "HTTP_RANGE" not in environ:
        return
    del environ["HTTP_IF_RANGE"]
    if not if_range_holds(value, current, dt.datetime.now(dt.timezone.utc)):
        del environ["HTTP_RANGE"]


def after_view(
    spec: ResourceSpec, app: Flask, req: Request, rv: t.Any, current: Validators | None
) -> Response:
    """Turn a decorated view's return value into its response, with validators."""
    response = app.make_response(rv)
    if not 200 <= response.status_code < 300:
        return response
    method = req.method
    if method in SAFE_METHODS:
        return _finish_read(spec, app, req, response, current)
    # The write succeeded: hand the client the new validators so that it can
    # chain edits without another GET.
    if method not in NEW_VALIDATOR_METHODS:
        return response
    if not spec.uses_functions:
        # Body hashes: the view's own ETag, if it sets one, is the tag.
        if header_value(response.headers, "ETag"):
            return response
        return validators_after_write(app, req, response)
    # Validators from functions: the tag is always the extension's, as on GET,
    # so that a client chaining from it is checked against the same tag.
    del response.headers["ETag"]
    try:
        new_version, last_modified = new_version_record(req)
        if new_version is UNSET:
            new = validators_from_functions(spec, app, req)[0]
        elif new_version is None:
            new = None
        else:
            new = Validators(
                tags_of_version(app, req, new_version)[0], spec.weak, last_modified
            )
    except Exception:
        # The write happened: a 5xx now would make the client retry a write
        # that succeeded, and meet 412. It goes without its new validators.
        logger.exception(
            "The new validators of %s %s could not be computed; the response"
            " goes without them.",
            method,
            req.path,
        )
        return response
    set_validators(response, new)
    return response
