"""The checks that the view decorators and the request hooks share.

Each gathers the request's inputs and the resource's validators, calls
:func:`flask_preconditions.conditions.evaluate`, and turns a decision that
stops the request into a 304 or a raised problem.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import typing as t

from flask import Flask
from flask import request
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import quote_etag

from .comparison import if_range_holds
from .compat import handle_error
from .conditions import Decision
from .conditions import evaluate
from .conditions import IGNORING_METHODS
from .conditions import NEW_VALIDATOR_METHODS
from .conditions import Outcome
from .conditions import Presence
from .conditions import revalidates_current_tag
from .conditions import SAFE_METHODS
from .conditions import Validators
from .decisions import Cause
from .identity import resource_identity
from .internal_get import current_by_internal_get
from .locking import holds_lock
from .problems import PreconditionFailed
from .problems import problem_for
from .problems import ServiceUnavailableProblem
from .records import existing_record
from .records import record_of
from .records import UNSET
from .responses import add_headers
from .responses import EnvironHeaders
from .responses import has_preconditions
from .responses import header_flags
from .responses import header_value
from .responses import not_modified
from .responses import not_modified_class
from .responses import only_if_none_match
from .responses import response_last_modified
from .responses import response_validators
from .responses import revalidate
from .responses import set_validators
from .state import get_state
from .state import Settings
from .validators import body_tags
from .validators import etag_for_version_cached
from .validators import to_last_modified
from .validators import version_tags
from .views import ResourceSpec

logger = logging.getLogger("flask_preconditions")


# -- what one request recorded --------------------------------------------------


def record_checked(req: Request, current: Validators | None, version: t.Any) -> None:
    """Remember what the request's preconditions were checked against."""
    # Kept raw: most views never ask for it.
    record_of(req.environ).checked = (current, version)


def checked_record(
    req: Request | None = None,
) -> tuple[Validators | None, t.Any] | None:
    """What :func:`record_checked` kept for the request, or ``None``."""
    record = existing_record((request if req is None else req).environ)
    return None if record is None else record.checked


def record_new_version(version: t.Any, last_modified: t.Any = None) -> None:
    """Remember the version (and date) the request's write produced."""
    record = record_of(request.environ)
    record.new_version, record.new_last_modified = version, last_modified


def new_version_record(
    req: Request | None = None,
) -> tuple[t.Any, dt.datetime | None]:
    """The version and date :func:`record_new_version` kept; :data:`UNSET`
    and ``None`` when the view declared nothing."""
    record = existing_record((request if req is None else req).environ)
    if record is None or record.new_version is UNSET:
        return UNSET, None
    last_modified = record.new_last_modified
    return record.new_version, None if last_modified is None else to_last_modified(
        last_modified
    )


# -- validators from functions -------------------------------------------------

# Whether each validator function is a coroutine function, found once.
_is_async: dict[t.Callable[..., t.Any], bool] = {}


def call_with_view_args(
    app: Flask, func: t.Callable[..., t.Any], view_args: dict[str, t.Any]
) -> t.Any:
    """Call a function of the view arguments, sync or async."""
    is_async = _is_async.get(func)
    if is_async is None:
        is_async = _is_async[func] = inspect.iscoroutinefunction(func)
    if is_async:
        return app.ensure_sync(func)(**view_args)
    return func(**view_args)


def tags_of_version(
    app: Flask, req: Request, version: t.Any
) -> tuple[str, tuple[str, ...]]:
    """The entity-tag of a version of the request's resource, and the tags
    older keys gave it (:func:`~flask_preconditions.validators.version_tags`)."""
    keys = get_state(app).settings.etag_keys
    if keys is None:
        return etag_for_version_cached(version), ()
    return version_tags(version, resource_identity(app, req, declared=False), keys)


def tags_of_body(app: Flask, req: Request, body: bytes) -> tuple[str, tuple[str, ...]]:
    """The entity-tag of a body of the request's resource, and the tags older
    keys gave it (:func:`~flask_preconditions.validators.body_tags`)."""
    keys = get_state(app).settings.etag_keys
    identity = "" if keys is None else resource_identity(app, req, declared=False)
    return body_tags(body, identity, keys)


def _version_tags(
    app: Flask, req: Request, version: t.Any
) -> tuple[str, tuple[str, ...]]:
    """:func:`tags_of_version`, saying which endpoint's version function
    returned an unsupported value."""
    try:
        return tags_of_version(app, req, version)
    except TypeError as e:
        raise TypeError(
            f"The version function of endpoint {req.endpoint!r}"
            f" returned an unsupported value. {e}"
        ) from None


def validators_from_functions(
    spec: ResourceSpec, app: Flask, req: Request
) -> tuple[Validators | None, t.Any]:
    """Ask the spec's functions for the resource's validators and version."""
    view_args = req.view_args or {}
    version = None
    etag = None
    previous: tuple[str, ...] = ()
    if spec.version is not None:
        version = call_with_view_args(app, spec.version, view_args)
        if version is None:
            return None, None
        etag, previous = _version_tags(app, req, version)
    last_modified = None
    if spec.last_modified is not None:
        value = call_with_view_args(app, spec.last_modified, view_args)
        # None is "no date": only a version function says a resource is absent
        # (RFC 9110 §13.1.4 ignores date conditions on a resource without one).
        if value is not None:
            try:
                last_modified = to_last_modified(value)
            except TypeError as e:
                raise TypeError(
                    f"The last-modified function of endpoint {req.endpoint!r}"
                    f" returned an unsupported value. {e}"
                ) from None
    return Validators(etag, spec.weak, last_modified, previous), version


# -- deciding ------------------------------------------------------------------


def _evaluate(
    settings: Settings, req: Request, current: Validators | None, *, required: bool
) -> Decision:
    return evaluate(
        req.method,
        EnvironHeaders(req.environ),
        current,
        required_methods=settings.required_methods if required else (),
        max_header_length=settings.max_header_length,
        accept_altered_tags=settings.accept_altered_etags,
        require_entity_tag=settings.require_entity_tag,
    )


#: What evaluate() decides for a revalidation of the current tag.
_NOT_MODIFIED = Decision(
    Outcome.NOT_MODIFIED,
    "If-None-Match",
    "The client's representation is current (RFC 9110 §13.1.2).",
    cause=Cause.NOT_MODIFIED,
)


def _revalidates(settings: Settings, req: Request, current: Validators | None) -> bool:
    """Whether a GET or HEAD revalidates exactly the current entity-tag: the
    304 that :func:`evaluate` would decide, decided at once."""
    value = only_if_none_match(req.environ)
    return value is not None and revalidates_current_tag(
        req.method, value, current, max_header_length=settings.max_header_length
    )


def _decide(
    settings: Settings, req: Request, current: Validators | None, *, safe: bool
) -> Decision:
    """:func:`evaluate` for a check before the view, a revalidation of the
    current tag decided at once."""
    if safe and _revalidates(settings, req, current):
        return _NOT_MODIFIED
    return _evaluate(settings, req, current, required=True)


def answer(
    decision: Decision, current: Validators | None, app: Flask, req: Request
) -> Response:
    """The 304 for a decision to answer it, or the raised problem.

    :raise HTTPException: the 404, 412, 428 or 431 of the decision.
    """
    if decision.outcome is Outcome.NOT_MODIFIED:
        response = not_modified_class(app.response_class)(status=304)
        set_validators(response, current)
        return response
    raise problem_for(decision, req.method)


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
        decision = _decide(get_state(app).settings, req, current, safe=safe)
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
    :attr:`~flask_preconditions.views.ResourceSpec.reads_plainly`, as
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
    func = t.cast("t.Callable[..., t.Any]", spec.version)
    version = call_with_view_args(app, func, req.view_args or {})
    state = get_state(app)
    if version is None:
        # Absent: evaluate() decides the 404 (or what a condition says).
        return _early_answer(
            _evaluate(state.settings, req, None, required=True), None, spec, app, req
        )
    etag, previous = _version_tags(app, req, version)
    current = Validators(etag, spec.weak, None, previous)
    if conditional:
        decision = _decide(state.settings, req, current, safe=True)
        if decision.outcome is not Outcome.PROCEED:
            return _early_answer(decision, current, spec, app, req)
    record_of(environ).checked = (current, version)
    response = app.make_response(view(*args, **kwargs))
    if not 200 <= response.status_code < 300:
        return response
    if spec.headers:
        add_headers(response, spec.headers)
    headers = response.headers
    has_etag, has_cache_control, _ = header_flags(headers)
    revalidate(app, req, response, has_cache_control)
    # The extension's tag wins over one the view set, in its place (as in
    # after_view).
    if has_etag:
        headers.set("ETag", quote_etag(etag, spec.weak))
    else:
        headers.add("ETag", quote_etag(etag, spec.weak))
    return response


def plain_body_read(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    view: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> Response:
    """Answer a GET or HEAD of a view whose spec
    :attr:`~flask_preconditions.views.ResourceSpec.hashes_plainly`, as
    :func:`before_view` and :func:`after_view` would: the view's response
    with the entity-tag of its body, or the 304 or problem it makes."""
    response = app.make_response(view(*args, **kwargs))
    if not 200 <= response.status_code < 300:
        return response
    if spec.headers:
        add_headers(response, spec.headers)
    flags = header_flags(response.headers)
    revalidate(app, req, response, flags[1])
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
        if spec.headers:
            add_headers(response, spec.headers)
        revalidate(app, req, response)
        if spec.uses_functions:
            set_validators(response, current)
            return response
        if spec.last_modified is not None:
            # A body hash stacked with a date function: the date is the
            # function's, so that If-Modified-Since works on it too.
            set_validators(response, validators_from_functions(spec, app, req)[0])
        return conditional_body_response(
            get_state(app).settings, app, req, response, spec.weak
        )
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


def validators_after_write(app: Flask, req: Request, response: Response) -> Response:
    """Give a checked write's 2xx the validators a GET of its URL has now.

    Called while the request still holds its resource's write lock, so the
    validators name exactly the state this write produced. A write that was
    not checked, or whose response already carries an ``ETag``, is left
    alone, as is one whose GET fails: the write happened, and a missing
    validator only costs the client a GET.
    """
    if (
        checked_record(req) is None
        or not 200 <= response.status_code < 300
        or header_value(response.headers, "ETag") is not None
        or not holds_lock(req)
    ):
        return response
    try:
        found = current_by_internal_get(app, req)
    except Exception:
        logger.exception(
            "The GET after the write to %s failed; the response goes without"
            " its new validators.",
            req.path,
        )
        return response
    if found.presence is Presence.PRESENT:
        set_validators(response, found.validators)
    return response


def check_against_get(settings: Settings, app: Flask, req: Request) -> None:
    """Check a write against the validators a GET of the same URL has now.

    :raise HTTPException: a problem that answers the request.
    """
    if req.method not in settings.required_methods and not has_preconditions(
        req.environ
    ):
        return
    found = current_by_internal_get(app, req)
    presence, current = found.presence, found.validators
    if presence is Presence.NOT_APPLICABLE:
        return
    if presence is Presence.UNAVAILABLE:
        retry_after = found.retry_after or ""
        raise ServiceUnavailableProblem(
            "The current state of the resource could not be read (a GET of this"
            f" URL answered {found.status}), so this write could not be checked"
            " and nothing was written. Send it again after the Retry-After"
            " delay.",
            retry_after=int(retry_after)
            if retry_after and retry_after.isdigit()
            else 1,
        )
    decision = _evaluate(settings, req, current, required=True)
    if decision.outcome is not Outcome.PROCEED:
        if presence is Presence.NO_VALIDATOR and decision.cause is Cause.STALE_TAG:
            raise PreconditionFailed(
                "A GET of this URL answers without an ETag or Last-Modified (a"
                " streamed response?), so no entity-tag in If-Match can be"
                " confirmed and nothing was written. Only If-Match: * can write"
                " it. The API should give the GET view a version function"
                " (@pre.etag(version_function)), or exempt the write with"
                " @pre.exempt."
            )
        if presence is Presence.UNKNOWN and decision.cause is Cause.STALE_TAG:
            raise PreconditionFailed(
                "The current entity-tag of the resource could not be read (a GET"
                f" of this URL answered {found.status}), so no entity-tag in"
                " If-Match can be confirmed and nothing was written. Only"
                " If-Match: * can write it until its GET answers 200."
            )
        answer(decision, current, app, req)
    record_checked(req, current, None)


def _warn_encoded_once(app: Flask) -> None:
    # The view compressed its own body: gzip stamps the time into its output,
    # so the tag changes every second (200s for 304s, and 412s for writes).
    # Compressing extensions run after the hash, in after_request; see the
    # Deploying page.
    state = get_state(app)
    if state.warned_of_encoded_bodies:
        return
    state.warned_of_encoded_bodies = True
    logger.warning(
        "%s: a GET body was already content-encoded when its entity-tag was"
        " computed, so the tag follows the compressed bytes (gzip's change"
        " every second). Leave compression to an extension such as"
        " Flask-Compress or to the proxy, which compress after the body is"
        " hashed.",
        app.import_name,
    )


def conditional_body_response(
    settings: Settings,
    app: Flask,
    req: Request,
    response: Response,
    weak: bool = False,
    flags: tuple[bool, bool, bool] | None = None,
) -> Response:
    """Give a GET response a body entity-tag and answer its conditions.

    Runs after the view, where a raised error would become a 500: a problem is
    answered through the app's error handlers instead.

    :param flags: the response's :func:`~flask_preconditions.responses.header_flags`,
        if known.
    """
    if response.status_code != 200:
        return response
    headers = response.headers
    has_etag, _, encoded = header_flags(headers) if flags is None else flags
    own_tag = header_value(headers, "ETag") if has_etag else None
    if own_tag is None:
        if response.is_streamed or response.direct_passthrough:
            return response
        if encoded:
            _warn_encoded_once(app)
        etag, previous = tags_of_body(app, req, response.get_data())
        headers.add("ETag", quote_etag(etag, weak))
    if not has_preconditions(req.environ):
        return response
    if own_tag is None and _revalidates(
        settings, req, Validators(etag, weak, None, previous)
    ):
        return not_modified(response)
    if own_tag is None:
        # The tag just computed, rather than parsed back from the header.
        current = Validators(etag, weak, response_last_modified(response), previous)
    else:
        current = response_validators(response)
    decision = _evaluate(settings, req, current, required=False)
    if decision.outcome is Outcome.PROCEED:
        return response
    if decision.outcome is Outcome.NOT_MODIFIED:
        return not_modified(response)
    try:
        return answer(decision, current, app, req)
    except HTTPException as error:
        return handle_error(app, error)
