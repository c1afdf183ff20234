"""The Flask extension: decorators, the blueprint hook and app-wide enforcement.

This module only gathers inputs from the request, calls
:func:`flask_preconditions.conditions.evaluate` and turns its decision into a
response. The HTTP rules themselves live in :mod:`~flask_preconditions.conditions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import io
import typing as t

from flask import Blueprint
from flask import current_app
from flask import Flask
from flask import g
from flask import request
from flask.wrappers import Request
from flask.wrappers import Response
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.http import parse_date
from werkzeug.http import quote_etag
from werkzeug.http import unquote_etag

from .conditions import Decision
from .conditions import DEFAULT_MAX_HEADER_LENGTH
from .conditions import DEFAULT_REQUIRED_METHODS
from .conditions import evaluate
from .conditions import IGNORING_METHODS
from .conditions import Outcome
from .conditions import Validators
from .problems import PreconditionFailed
from .problems import PreconditionHeaderTooLarge
from .problems import PreconditionRequired
from .validators import etag_for_body
from .validators import etag_for_version_cached
from .validators import to_last_modified

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

P = t.ParamSpec("P")
R = t.TypeVar("R")
R_co = t.TypeVar("R_co", covariant=True)
F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The name of the extension in ``app.extensions``.
EXTENSION_NAME = "preconditions"

_SPEC_ATTR = "__preconditions__"
_EXEMPT_ATTR = "__preconditions_exempt__"
_CHECKED_ATTR = "_preconditions_checked"
_NEW_VERSION_ATTR = "_preconditions_new_version"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
# Successful requests with these methods get the resource's new validators.
_NEW_VALIDATOR_METHODS = frozenset({"PUT", "PATCH"})

# Headers a 304 keeps from the 200 it replaces (RFC 9110 §15.4.5), and
# Set-Cookie, which is not representation metadata.
_NOT_MODIFIED_HEADERS = frozenset(
    {
        "etag",
        "last-modified",
        "cache-control",
        "vary",
        "expires",
        "content-location",
        "date",
        "set-cookie",
    }
)

# WSGI keys left out of the internal GET that finds a resource's current
# validators: its own conditions, any range, the body, and Werkzeug's cached
# request object of the real request.
_INTERNAL_GET_DROPPED = frozenset(
    {
        "HTTP_IF_MATCH",
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_IF_UNMODIFIED_SINCE",
        "HTTP_IF_RANGE",
        "HTTP_RANGE",
        "CONTENT_TYPE",
        "HTTP_CONTENT_ENCODING",
        "werkzeug.request",
    }
)
_INTERNAL_GET_MARK = "flask_preconditions.internal_get"


@dataclasses.dataclass
class ResourceSpec:
    """How a decorated view finds its resource's validators.

    Attached to the view by :meth:`Preconditions.etag` and
    :meth:`Preconditions.last_modified`; read by the route audit.

    .. versionadded:: 0.1
    """

    #: Called with the view arguments; returns the current version or ``None``.
    version: t.Callable[..., t.Any] | None = None
    #: Whether entity-tags derived from the version are weak.
    weak: bool = False
    #: Called with the view arguments; returns the last modification date.
    last_modified: t.Callable[..., t.Any] | None = None
    #: Whether the entity-tag is computed from the GET response body.
    body: bool = False
    #: Representation headers that GET, HEAD and early 304 responses carry.
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def uses_functions(self) -> bool:
        """Whether validators come from functions, without running the view."""
        return not self.body and (
            self.version is not None or self.last_modified is not None
        )


@dataclasses.dataclass(frozen=True)
class Checked:
    """What a request's preconditions were checked against.

    .. versionadded:: 0.1
    """

    #: The version returned by the validator function (``None`` when absent, or
    #: when the entity-tag came from the body of a GET).
    version: t.Any
    #: The current entity-tag, quoted, or ``None`` when the resource is absent.
    etag: str | None


class _State:
    """Per-application state, stored in ``app.extensions["preconditions"]``."""

    def __init__(
        self,
        extension: Preconditions,
        *,
        app_wide: bool,
        required_methods: frozenset[str],
        max_header_length: int,
    ) -> None:
        self.extension = extension
        self.app_wide = app_wide
        self.required_methods = required_methods
        self.max_header_length = max_header_length
        #: (endpoint, method) -> the spec, ``"exempt"`` or ``None`` (body hash).
        self.modes: dict[tuple[str, str], ResourceSpec | str | None] = {}


def _state(app: Flask) -> _State:
    try:
        return t.cast(_State, app.extensions[EXTENSION_NAME])
    except KeyError:
        raise RuntimeError(
            "flask-preconditions is not initialised on this application: call"
            " Preconditions(app) or preconditions.init_app(app) first."
        ) from None


class Preconditions:
    """Require conditional requests and answer them, per RFC 9110 §13.

    ::

        pre = Preconditions(app)

        # or, with an application factory
        pre = Preconditions()
        pre.init_app(app)

    By default every PUT, PATCH and DELETE to a URL that also answers GET must
    carry ``If-Match`` (428 otherwise) with the entity-tag that a GET of the URL
    carries now (412 otherwise), and GET responses get an ``ETag`` computed
    from their body, with 304 for conditional GETs that still match. Decorate
    views with :meth:`etag` and :meth:`last_modified` to take validators from
    the model instead, without running the view for 304, 412 and 428.

    :param app: the application to initialise, if not using :meth:`init_app`.
    :param app_wide: protect every endpoint (default ``True``); when ``False``,
        only decorated views and :meth:`protect`-ed blueprints are covered.
        Overrides ``PRECONDITIONS_APP_WIDE``.
    :param required_methods: methods that must be conditional. Overrides
        ``PRECONDITIONS_REQUIRED_METHODS``.
    :param max_header_length: precondition header values longer than this are
        refused with 431. Overrides ``PRECONDITIONS_MAX_HEADER_LENGTH``.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        app_wide: bool | None = None,
        required_methods: t.Iterable[str] | None = None,
        max_header_length: int | None = None,
    ) -> None:
        self.app_wide = app_wide
        self.required_methods = (
            None if required_methods is None else tuple(required_methods)
        )
        self.max_header_length = max_header_length
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on an application.

        Sets the ``PRECONDITIONS_*`` configuration defaults and the request
        hooks that do app-wide protection. One extension object may serve
        several applications.
        """
        if EXTENSION_NAME in app.extensions:
            # A second set of hooks would check every write twice.
            raise RuntimeError(
                "flask-preconditions is already initialised on this application;"
                " call init_app once per application."
            )
        app.config.setdefault("PRECONDITIONS_APP_WIDE", True)
        app.config.setdefault(
            "PRECONDITIONS_REQUIRED_METHODS", sorted(DEFAULT_REQUIRED_METHODS)
        )
        app.config.setdefault(
            "PRECONDITIONS_MAX_HEADER_LENGTH", DEFAULT_MAX_HEADER_LENGTH
        )
        app_wide = (
            app.config["PRECONDITIONS_APP_WIDE"]
            if self.app_wide is None
            else self.app_wide
        )
        methods = (
            app.config["PRECONDITIONS_REQUIRED_METHODS"]
            if self.required_methods is None
            else self.required_methods
        )
        if not isinstance(app_wide, bool):
            raise TypeError(
                f"PRECONDITIONS_APP_WIDE must be True or False, not {app_wide!r}."
            )
        if isinstance(methods, str):
            raise TypeError(
                "PRECONDITIONS_REQUIRED_METHODS must be a list of methods, not a"
                f" string: {methods!r}."
            )
        names = list(methods) if isinstance(methods, t.Iterable) else None
        if names is None or not all(isinstance(m, str) for m in names):
            raise TypeError(
                "PRECONDITIONS_REQUIRED_METHODS must be a list of method names"
                f" such as 'PUT', not {methods!r}."
            )
        required = frozenset(m.upper() for m in names)
        unsafe_only = required - _SAFE_METHODS - IGNORING_METHODS
        if unsafe_only != required:
            raise ValueError(
                "PRECONDITIONS_REQUIRED_METHODS may only name unsafe methods,"
                f" not {sorted(required - unsafe_only)}."
            )
        max_length = (
            app.config["PRECONDITIONS_MAX_HEADER_LENGTH"]
            if self.max_header_length is None
            else self.max_header_length
        )
        if not isinstance(max_length, int) or max_length < 64:
            raise ValueError(
                "PRECONDITIONS_MAX_HEADER_LENGTH must be an int of at least 64,"
                f" not {max_length!r}."
            )
        state = _State(
            self,
            app_wide=app_wide,
            required_methods=required,
            max_header_length=max_length,
        )
        app.extensions[EXTENSION_NAME] = state
        if app_wide:

            def before_request() -> Response | None:
                return _enforce(state)

            def after_request(response: Response) -> Response:
                return _finish(state, response)

            app.before_request(before_request)
            app.after_request(after_request)
        # Imported here: the command's audit module imports this one.
        from .cli import preconditions_cli

        app.cli.add_command(preconditions_cli)

    # -- decorators ---------------------------------------------------------

    @t.overload
    def etag(self, func: t.Callable[P, R], /) -> ETagDecorator[P, R]: ...

    @t.overload
    def etag(
        self,
        func: t.Callable[..., t.Any],
        /,
        *,
        weak: bool,
        headers: t.Mapping[str, str] | None = None,
    ) -> t.Callable[[F], F]: ...

    @t.overload
    def etag(
        self,
        func: t.Callable[..., t.Any],
        /,
        *,
        weak: bool | None = None,
        headers: t.Mapping[str, str],
    ) -> t.Callable[[F], F]: ...

    @t.overload
    def etag(
        self,
        func: None = None,
        /,
        *,
        weak: bool = False,
        headers: t.Mapping[str, str] | None = None,
    ) -> t.Callable[[F], F]: ...

    def etag(
        self,
        func: t.Callable[..., t.Any] | None = None,
        /,
        *,
        weak: bool | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> t.Any:
        """Give a view's resource an entity-tag and check preconditions on it.

        With a version function, the entity-tag comes from the resource's
        version, and 304, 412 and 428 are decided before the view runs::

            @app.route("/notes/<int:note_id>", methods=["GET", "PUT", "DELETE"])
            @pre.etag(lambda note_id: note_versions.get(note_id))
            def note(note_id): ...

        The function is called with the view's URL arguments and returns the
        current version (``int``, ``str``, ``bytes`` or any JSON-serialisable
        value), or ``None`` when the resource does not exist. After a successful
        PUT or PATCH it is called again, unless the view called
        :func:`set_new_version`, so that the response carries the new
        ``ETag``. With SQLAlchemy, ``versioned(Note)`` of
        :mod:`flask_preconditions.sqlalchemy` is such a function.

        Without a function, GET and HEAD responses get a strong entity-tag
        computed from their body, and PUT, PATCH and DELETE are checked against
        the entity-tag that a GET of the same URL carries now::

            @app.route("/report", methods=["GET", "PUT"])
            @pre.etag
            def report(): ...

        Place authentication decorators above this one, so that preconditions
        are evaluated only for requests that would otherwise succeed.

        :param func: the version function, or (used bare) the view.
        :param weak: make weak entity-tags from the version. Weak tags never
            satisfy ``If-Match`` (RFC 9110 §13.1.1): use them only where clients
            write with ``If-Unmodified-Since`` or do not write at all.
        :param headers: headers of the representation, such as
            ``Cache-Control`` and ``Vary``, that GET and HEAD responses carry
            (where the view did not set them) and that 304 responses decided
            before the view runs carry too, as RFC 9110 §15.4.5 requires::

                @pre.etag(note_version, headers={"Cache-Control": "no-cache"})
        """
        header_items = _header_items(headers)
        if func is None:
            return functools.partial(
                _decorate,
                version=None,
                weak=bool(weak),
                body=True,
                headers=header_items,
            )
        if not callable(func):
            raise TypeError(
                f"etag() takes a version function, not {type(func).__name__!r}."
            )
        if weak is not None or headers is not None:
            return functools.partial(
                _decorate,
                version=func,
                weak=bool(weak),
                body=False,
                headers=header_items,
            )
        return _lazy_etag(func)

    def last_modified(self, func: t.Callable[..., t.Any]) -> t.Callable[[F], F]:
        """Give a view's resource a ``Last-Modified`` date from a function.

        ::

            @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
            @pre.etag(lambda note_id: note_version(note_id))
            @pre.last_modified(lambda note_id: note_updated_at(note_id))
            def note(note_id): ...

        The function is called with the view's URL arguments and returns a
        :class:`~datetime.datetime` (naive values are taken as UTC) or ``None``.
        It enables ``If-Modified-Since`` and ``If-Unmodified-Since``.
        """
        if not callable(func):
            raise TypeError(
                "last_modified() takes a function returning a datetime, not"
                f" {type(func).__name__!r}."
            )
        return t.cast(
            t.Callable[[F], F], functools.partial(_decorate_last_modified, func=func)
        )

    def exempt(self, view: F) -> F:
        """Leave a view out of app-wide and blueprint protection.

        ::

            @app.post("/notes")
            @pre.exempt
            def create_note(): ...
        """
        setattr(view, _EXEMPT_ATTR, True)
        return view

    def protect(self, blueprint: Blueprint) -> Blueprint:
        """Protect every endpoint of a blueprint, as app-wide mode does.

        Call it before the blueprint is registered on the application::

            api = Blueprint("api", __name__)
            pre.protect(api)
            app.register_blueprint(api)

        When app-wide protection is on, this changes nothing.
        """
        blueprint.before_request(_blueprint_before_request)
        blueprint.after_request(_blueprint_after_request)
        return blueprint


class ETagDecorator(t.Protocol[P, R_co]):
    """What ``pre.etag(func)`` returns: a view, or a decorator of views.

    Used on a view, ``@pre.etag`` gives it body-hash entity-tags; given a
    version function, ``@pre.etag(func)`` decorates the view below it.

    .. versionadded:: 0.1
    """

    @t.overload
    def __call__(self, view: F, /) -> F: ...

    @t.overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any: ...


def expected_version() -> t.Any:
    """The version the current request's preconditions were checked against.

    Use it to make the write a compare-and-swap, so that two requests that
    passed the check with the same entity-tag cannot both write::

        updated = db.session.execute(
            update(Note)
            .where(Note.id == note_id, Note.version == expected_version())
            .values(text=text, version=Note.version + 1)
        ).rowcount
        if not updated:
            raise PreconditionFailed()

    Returns ``None`` when the request creates the resource (``If-None-Match:
    *`` on an absent resource), and when the entity-tag came from the body of
    a GET rather than from a version function (use :func:`expected_etag`).

    :raise RuntimeError: no precondition was checked for this request.

    .. versionadded:: 0.1
    """
    return _checked().version


def expected_etag() -> str | None:
    """The quoted entity-tag the current request was checked against.

    ``None`` when the request creates the resource, and when an
    ``If-Match: *`` write passed on a resource without an entity-tag.

    :raise RuntimeError: no precondition was checked for this request.

    .. versionadded:: 0.1
    """
    return _checked().etag


def set_new_version(version: t.Any) -> None:
    """Say which version the current request's write produced.

    After a successful PUT or PATCH, the response carries the ``ETag`` of the
    resource's new version so that the client can chain edits. Without this
    call the version function is asked again after the view; but if another
    request writes between this one's commit and that question, the answer is
    a version this client never saw, and chaining with it would overwrite the
    other change. A compare-and-swap write knows the version it wrote::

        new_version = expected_version() + 1
        if not repository.replace(note_id, data, expected_version(), new_version):
            raise PreconditionFailed()
        set_new_version(new_version)

    ``None`` sends no ``ETag``: the client must read the resource again.

    .. versionadded:: 0.1
    """
    setattr(g, _NEW_VERSION_ATTR, version)


def _add_headers(response: Response, headers: tuple[tuple[str, str], ...]) -> None:
    for name, value in headers:
        if _header_value(response.headers, name) is None:
            response.headers[name] = value


def _checked() -> Checked:
    checked: tuple[Validators | None, t.Any] | None = g.get(_CHECKED_ATTR)
    if checked is None:
        raise RuntimeError(
            "No precondition was checked for this request. Only views decorated"
            " with @pre.etag or covered by app-wide or blueprint protection have"
            " an expected version, and only for PUT, PATCH and DELETE."
        )
    current, version = checked
    if current is None or current.etag is None:
        return Checked(version, None)
    return Checked(version, quote_etag(current.etag, current.weak))


# -- decorating views -----------------------------------------------------------
def _lazy_etag(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """``pre.etag(func)``: ``func`` is a view, or a version function.

    Flask calls views with keyword arguments only, so a call with a single
    positional callable is the decorator use: ``func`` was a version function.
    """
    view = _decorate(func, version=None, weak=False, body=True)
    is_async = inspect.iscoroutinefunction(view)

    @functools.wraps(view)
    def view_or_decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            return _decorate(args[0], version=func, weak=False, body=False)
        if is_async:
            return current_app.ensure_sync(view)(*args, **kwargs)
        return view(*args, **kwargs)

    setattr(view_or_decorator, _SPEC_ATTR, getattr(view, _SPEC_ATTR))
    return view_or_decorator


def _decorate_last_modified(view: F, *, func: t.Callable[..., t.Any]) -> F:
    spec = getattr(view, _SPEC_ATTR, None)
    if spec is not None:
        spec.last_modified = func
        return view
    decorated = _decorate(view, version=None, weak=False, body=False)
    getattr(decorated, _SPEC_ATTR).last_modified = func
    return decorated


def _header_items(
    headers: t.Mapping[str, str] | None,
) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    items = tuple(dict(headers).items())
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"etag(headers=...) takes names and values that are strings, not"
                f" {name!r}: {value!r}."
            )
    return items


def _decorate(
    view: F,
    *,
    version: t.Callable[..., t.Any] | None,
    weak: bool,
    body: bool,
    headers: tuple[tuple[str, str], ...] = (),
) -> F:
    if not callable(view):
        raise TypeError(f"Only views can be decorated, not {type(view).__name__!r}.")
    spec: ResourceSpec | None = getattr(view, _SPEC_ATTR, None)
    if spec is not None:
        # Stacked with last_modified(): one spec, one check.
        if version is not None:
            spec.version = version
            spec.body = False
        spec.weak = weak
        if headers:
            spec.headers = headers
        return view
    spec = ResourceSpec(version=version, weak=weak, body=body, headers=headers)

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            # Validator functions and the internal GET go through Flask's
            # ensure_sync, which cannot run inside this event loop: run them
            # in the request's thread. Async views need asgiref anyway.
            from asgiref.sync import sync_to_async

            app = current_app._get_current_object()  # type: ignore[attr-defined]
            req = request._get_current_object()  # type: ignore[attr-defined]
            early, current = await sync_to_async(_before_view)(spec, app, req)
            if early is not None:
                return early
            rv = await view(*args, **kwargs)
            return await sync_to_async(_after_view)(spec, app, req, rv, current)

        wrapper: t.Any = async_wrapper
    else:

        @functools.wraps(view)
        def sync_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            # The proxies are resolved once: each lookup costs a context
            # variable read, and the checks below need them many times.
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            req = request._get_current_object()  # type: ignore[attr-defined]
            early, current = _before_view(spec, app, req)
            if early is not None:
                return early
            return _after_view(spec, app, req, view(*args, **kwargs), current)

        wrapper = sync_wrapper

    setattr(wrapper, _SPEC_ATTR, spec)
    return t.cast(F, wrapper)


# Whether each validator function is a coroutine function, found once.
_is_async: dict[t.Callable[..., t.Any], bool] = {}


def _call(
    app: Flask, func: t.Callable[..., t.Any], view_args: dict[str, t.Any]
) -> t.Any:
    is_async = _is_async.get(func)
    if is_async is None:
        is_async = _is_async[func] = inspect.iscoroutinefunction(func)
    if is_async:
        return app.ensure_sync(func)(**view_args)
    return func(**view_args)


def _validators_from_functions(
    spec: ResourceSpec, app: Flask, req: Request
) -> tuple[Validators | None, t.Any]:
    """Ask the spec's functions for the resource's validators and version."""
    view_args = req.view_args or {}
    version = None
    etag = None
    if spec.version is not None:
        version = _call(app, spec.version, view_args)
        if version is None:
            return None, None
        try:
            etag = etag_for_version_cached(version)
        except TypeError as e:
            raise TypeError(
                f"The version function of endpoint {req.endpoint!r}"
                f" returned an unsupported value. {e}"
            ) from None
    last_modified = None
    if spec.last_modified is not None:
        value = _call(app, spec.last_modified, view_args)
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
    return Validators(etag, spec.weak, last_modified), version


def _before_view(
    spec: ResourceSpec, app: Flask, req: Request
) -> tuple[Response | None, Validators | None]:
    """Decide 304, 404, 412 and 428 before a decorated view runs, if possible.

    Returns the early response, if any, and the validators the request was
    evaluated against.
    """
    method = req.method
    if method in IGNORING_METHODS:
        return None, None
    state = _state(app)
    if spec.uses_functions:
        current, version = _validators_from_functions(spec, app, req)
        if (
            current is not None
            and method in _SAFE_METHODS
            and not _has_preconditions(req.environ)
        ):
            # An unconditional read of an existing resource: nothing to decide.
            return None, current
        decision = _evaluate(state, req, current)
        if decision.outcome is not Outcome.PROCEED:
            early = _answer(decision, current, app, req)
            if decision.outcome is Outcome.NOT_MODIFIED:
                # What the 200 would have carried (RFC 9110 §15.4.5).
                _add_headers(early, spec.headers)
            return early, current
        if method not in _SAFE_METHODS:
            # Kept raw: most views never ask for it.
            setattr(g, _CHECKED_ATTR, (current, version))
        return None, current
    if method in _SAFE_METHODS:
        # Body hashes need the response: decided in _after_view.
        return None, None
    return _check_against_get(state, app, req), None


def _after_view(
    spec: ResourceSpec,
    app: Flask,
    req: Request,
    rv: t.Any,
    current: Validators | None,
) -> Response:
    response = app.make_response(rv)
    if not 200 <= response.status_code < 300:
        return response
    method = req.method
    if method in _SAFE_METHODS:
        _add_headers(response, spec.headers)
        if spec.uses_functions:
            _set_validators(response, current)
            return response
        if spec.last_modified is not None:
            # A body hash stacked with a date function: the date is the
            # function's, so that If-Modified-Since works on it too.
            _set_validators(response, _validators_from_functions(spec, app, req)[0])
        return _conditional_body_response(_state(app), app, req, response, spec.weak)
    # The write succeeded: hand the client the new validators so that it can
    # chain edits without another GET. Not for POST: the validators of a 201
    # describe the created resource, not the target (RFC 9110 §15.3.2).
    if (
        method in _NEW_VALIDATOR_METHODS
        and spec.uses_functions
        and _header_value(response.headers, "ETag") is None
    ):
        new_version = g.get(_NEW_VERSION_ATTR, _UNSET)
        if new_version is _UNSET:
            new = _validators_from_functions(spec, app, req)[0]
        elif new_version is None:
            new = None
        else:
            new = Validators(etag_for_version_cached(new_version), spec.weak)
        _set_validators(response, new)
    return response


_UNSET = object()


# -- evaluating and answering ---------------------------------------------------

_ENVIRON_KEYS = {
    "If-Match": "HTTP_IF_MATCH",
    "If-None-Match": "HTTP_IF_NONE_MATCH",
    "If-Modified-Since": "HTTP_IF_MODIFIED_SINCE",
    "If-Unmodified-Since": "HTTP_IF_UNMODIFIED_SINCE",
}


class _EnvironHeaders:
    """The precondition headers of a WSGI environ, by their canonical names.

    Werkzeug's ``EnvironHeaders`` raises and catches a ``KeyError`` for every
    absent header; most requests carry none of these four.
    """

    __slots__ = ("environ",)

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ

    def get(self, key: str, /) -> str | None:
        value: str | None = self.environ.get(_ENVIRON_KEYS[key])
        return value


def _has_preconditions(environ: WSGIEnvironment) -> bool:
    return (
        "HTTP_IF_MATCH" in environ
        or "HTTP_IF_NONE_MATCH" in environ
        or "HTTP_IF_MODIFIED_SINCE" in environ
        or "HTTP_IF_UNMODIFIED_SINCE" in environ
    )


def _evaluate(state: _State, req: Request, current: Validators | None) -> Decision:
    return evaluate(
        req.method,
        _EnvironHeaders(req.environ),
        current,
        required_methods=state.required_methods,
        max_header_length=state.max_header_length,
    )


def _set_validators(response: Response, current: Validators | None) -> None:
    if current is None:
        return
    if current.etag is not None:
        response.set_etag(current.etag, current.weak)
    if current.last_modified is not None:
        # RFC 9110 §8.8.2.1: a date in the future is replaced by the present.
        response.last_modified = min(
            current.last_modified, dt.datetime.now(dt.timezone.utc)
        )


def _answer(
    decision: Decision, current: Validators | None, app: Flask, req: Request
) -> Response:
    """Turn a decision other than PROCEED into a response."""
    outcome = decision.outcome
    if outcome is Outcome.NOT_MODIFIED:
        response = _not_modified_class(app.response_class)(status=304)
        _set_validators(response, current)
        return response
    if outcome is Outcome.NOT_FOUND:
        raise NotFound()
    return _problem_response(_problem(decision, req.method), app, req)


def _problem(decision: Decision, method: str) -> HTTPException:
    outcome = decision.outcome
    header = decision.header
    if outcome is Outcome.PRECONDITION_REQUIRED:
        if header == "If-None-Match":
            return PreconditionRequired(
                "This request would create the resource, but does not say that"
                " it must not exist yet, so it could overwrite a resource that"
                " another client created meanwhile. Send If-None-Match: * with it."
            )
        return PreconditionRequired()
    if outcome is Outcome.HEADER_TOO_LARGE:
        return PreconditionHeaderTooLarge(
            f"{decision.reason} Send {header} with only the entity-tags you hold."
        )
    if header == "If-None-Match" and method not in _SAFE_METHODS:
        return PreconditionFailed(
            f"{decision.reason} Nothing was written. Read the resource (GET) and"
            " send If-Match with its ETag to modify it."
        )
    if decision.malformed:
        return PreconditionFailed(
            f"{decision.reason} Send back the ETag header of a GET response"
            " exactly as received, quotes included."
        )
    return PreconditionFailed(f"{decision.reason} {PreconditionFailed.description}")


def _problem_response(error: HTTPException, app: Flask, req: Request) -> Response:
    # The application's own handlers for 412, 428 and 431 win. They are called
    # as Flask would call them for a raised error, but without raising: from an
    # after_request hook, a raised error would become a 500. When there are
    # none, answering directly skips Flask's exception path.
    code = error.code
    for scope in (*req.blueprints, None):
        for key in (code, None):
            handlers = app.error_handler_spec[scope][key]
            if handlers and any(c in handlers for c in type(error).__mro__):
                return app.make_response(app.handle_user_exception(error))
    return t.cast(Response, error.get_response(req.environ))


# -- body hashes and the internal GET -------------------------------------------


def _header_value(headers: Headers, name: str) -> str | None:
    # Headers.get raises and catches a KeyError for an absent header; getlist
    # does not, and these headers are usually absent.
    values = headers.getlist(name)
    return values[0] if values else None


def _conditional_body_response(
    state: _State, app: Flask, req: Request, response: Response, weak: bool = False
) -> Response:
    """Give a GET response a body entity-tag and answer its conditions."""
    if response.status_code != 200:
        return response
    header = _header_value(response.headers, "ETag")
    if header is None:
        if response.is_streamed or response.direct_passthrough:
            return response
        etag: str | None = etag_for_body(response.get_data())
        response.set_etag(t.cast(str, etag), weak)
    else:
        etag, weak = unquote_etag(header)
    environ = req.environ
    if not _has_preconditions(environ):
        return response
    last_modified = _header_value(response.headers, "Last-Modified")
    current = Validators(
        etag, weak, None if last_modified is None else parse_date(last_modified)
    )
    decision = evaluate(
        req.method,
        _EnvironHeaders(environ),
        current,
        required_methods=(),
        max_header_length=state.max_header_length,
    )
    if decision.outcome is Outcome.PROCEED:
        return response
    if decision.outcome is Outcome.NOT_MODIFIED:
        return _not_modified(response)
    return _answer(decision, current, app, req)


def _not_modified(response: Response) -> Response:
    """Turn a 200 into its 304 in place, as Werkzeug's ``make_conditional`` does.

    Building a new response costs more than the rest of the 304 together.
    """
    response.headers = Headers(
        [
            (key, value)
            for key, value in response.headers
            if key.lower() in _NOT_MODIFIED_HEADERS
        ]
    )
    response.close()
    response.response = []
    response.status_code = 304
    response.__class__ = _not_modified_class(type(response))
    return response


_not_modified_classes: dict[type[Response], type[Response]] = {}


def _not_modified_class(base: type[Response]) -> type[Response]:
    """A subclass of the app's response class that keeps Last-Modified on 304s.

    Werkzeug drops Last-Modified from every 304 with the other entity headers,
    but a cache that holds a representation validated only by its date needs
    it to select and freshen that representation (RFC 9110 §15.4.5, RFC 9111
    §4.3.4).
    """
    try:
        return _not_modified_classes[base]
    except KeyError:
        pass

    def get_wsgi_headers(self: Response, environ: WSGIEnvironment) -> Headers:
        headers = base.get_wsgi_headers(self, environ)
        last_modified = _header_value(self.headers, "Last-Modified")
        if last_modified is not None and "Last-Modified" not in headers:
            headers["Last-Modified"] = last_modified
        return headers

    cls = _not_modified_classes[base] = t.cast(
        "type[Response]",
        type("NotModified", (base,), {"get_wsgi_headers": get_wsgi_headers}),
    )
    return cls


def _check_against_get(state: _State, app: Flask, req: Request) -> Response | None:
    """Check a write against the validators a GET of the same URL has now."""
    if req.method not in state.required_methods and not _has_preconditions(req.environ):
        return None
    found, current = _current_by_internal_get(app, req)
    if not found:
        return None
    decision = _evaluate(state, req, current)
    if decision.outcome is not Outcome.PROCEED:
        return _answer(decision, current, app, req)
    setattr(g, _CHECKED_ATTR, (current, None))
    return None


def _current_by_internal_get(
    app: Flask, req: Request
) -> tuple[bool, Validators | None]:
    """Run the GET view of the current URL to learn its current validators.

    Returns ``(False, None)`` when the preconditions do not apply: the URL has
    no GET route, or its GET answers 401 or 403 (the request lacks the
    authentication the write view will ask for too). ``(True, None)`` means
    the resource does not exist (404, 410). Any other failure of the GET (a
    redirect, a 406 for the request's ``Accept``, a 429, a 5xx) says nothing
    about the write, so the resource is taken to exist with no validator the
    client could hold: the write then needs ``If-Match: *`` and is never
    performed unchecked.
    """
    environ = {
        key: value
        for key, value in req.environ.items()
        if key not in _INTERNAL_GET_DROPPED
    }
    environ["REQUEST_METHOD"] = "GET"
    environ["CONTENT_LENGTH"] = "0"
    environ["wsgi.input"] = io.BytesIO()
    environ[_INTERNAL_GET_MARK] = True
    # A fresh application context gives the GET its own g.
    with app.app_context(), app.request_context(environ):
        if request.routing_exception is not None:
            return False, None
        get_endpoint = request.endpoint
        response = app.full_dispatch_request()
    try:
        status = response.status_code
        if status in (401, 403):
            return False, None
        if status in (404, 410):
            return True, None
        if not 200 <= status < 300:
            return True, Validators()
        etag, weak = response.get_etag()
        last_modified = response.last_modified
        if etag is None and last_modified is None and status == 200:
            raise RuntimeError(
                f"GET {req.path} (endpoint {get_endpoint!r}) answered"
                " without an ETag or Last-Modified (a streamed response?), so"
                f" {req.method} requests to it (endpoint"
                f" {req.endpoint!r}) cannot be checked. Decorate the GET view"
                " with @pre.etag(version_function), or exempt the"
                f" {req.method} view with @pre.exempt."
            )
        return True, Validators(etag, bool(weak), last_modified)
    finally:
        response.close()


# -- request hooks ---------------------------------------------------------------


def _mode(
    state: _State, app: Flask, endpoint: str | None, method: str
) -> ResourceSpec | str | None:
    """How an endpoint is handled: a spec, "exempt" or body hashes (None)."""
    if endpoint is None:
        return "exempt"
    key = (endpoint, method)
    try:
        return state.modes[key]
    except KeyError:
        pass
    view = app.view_functions.get(endpoint)
    if view is None:
        return "exempt"
    # Only routed requests get here, so the keys are bounded by the routes.
    mode = state.modes[key] = _view_mode(view, method)
    return mode


def _view_mode(view: t.Callable[..., t.Any], method: str) -> ResourceSpec | str | None:
    if getattr(view, _EXEMPT_ATTR, False):
        return "exempt"
    spec = getattr(view, _SPEC_ATTR, None)
    if spec is not None:
        return t.cast(ResourceSpec, spec)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        # A MethodView whose methods are decorated one by one.
        meth = getattr(view_class, method.lower(), None)
        if meth is None and method == "HEAD":
            meth = getattr(view_class, "get", None)
        if meth is not None:
            if getattr(view_class, _EXEMPT_ATTR, False) or getattr(
                meth, _EXEMPT_ATTR, False
            ):
                return "exempt"
            spec = getattr(meth, _SPEC_ATTR, None)
            if spec is not None:
                return t.cast(ResourceSpec, spec)
    return None


def _enforce(state: _State) -> Response | None:
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    method = req.method
    if method in _SAFE_METHODS or method in IGNORING_METHODS or req.endpoint is None:
        return None
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if _mode(state, app, req.endpoint, method) is not None:
        return None
    return _check_against_get(state, app, req)


def _finish(state: _State, response: Response) -> Response:
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    method = req.method
    if method not in _SAFE_METHODS or req.endpoint is None:
        return response
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if _mode(state, app, req.endpoint, method) is not None:
        return response
    return _conditional_body_response(state, app, req, response)


def _blueprint_before_request() -> Response | None:
    state = _state(current_app)
    if state.app_wide:
        return None
    return _enforce(state)


def _blueprint_after_request(response: Response) -> Response:
    state = _state(current_app)
    if state.app_wide:
        return response
    return _finish(state, response)
