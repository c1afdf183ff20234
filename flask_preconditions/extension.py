"""The Flask extension: :class:`Preconditions` and the request accessors.

``init_app`` reads the configuration and registers the first-request setup,
the release of write locks and the error handler; the checks themselves live
in :mod:`flask_preconditions.checks` (around a decorated view),
:mod:`flask_preconditions.body_hashes` and
:mod:`flask_preconditions.against_get`, the decorators in
:mod:`flask_preconditions.decorators` and the hooks in
:mod:`flask_preconditions.hooks`.
"""

from __future__ import annotations

import functools
import typing as t

from flask import Blueprint
from flask import Flask
from flask import request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from . import hooks
from .cli import preconditions_cli
from .compat import remove_before_request
from .decorators import decorate
from .decorators import decorate_last_modified
from .decorators import ETagDecorator
from .decorators import header_items
from .decorators import lazy_etag
from .locking import release_after
from .problems import problem_response
from .state import DEFAULTS
from .state import EXTENSION_NAME
from .state import protected_blueprints
from .state import read_settings
from .state import State
from .views import AUTHORIZE_ATTRIBUTE
from .views import EXEMPT_ATTRIBUTE
from .views import RESOURCE_KEY_ATTRIBUTE
from .views import SPEC_ATTRIBUTE

P = t.ParamSpec("P")
R = t.TypeVar("R")
F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The statuses whose errors ``init_app`` answers with problem details, unless
#: the application has its own handler for them.
PROBLEM_STATUSES = (412, 428, 431, 503)


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

    Every write it checks holds its resource's write lock from before the
    check until the request is torn down, so that two writes carrying the same
    entity-tag cannot both succeed: the second is checked against what the
    first wrote. The default lock holds across the worker processes and
    threads of one host; see :mod:`flask_preconditions.locks` for many hosts.

    :param app: the application to initialise, if not using :meth:`init_app`.
    :param app_wide: protect every endpoint (default ``True``); when ``False``,
        only decorated views and :meth:`protect`-ed blueprints are covered.
        Overrides ``PRECONDITIONS_APP_WIDE``.
    :param required_methods: methods that must be conditional. Overrides
        ``PRECONDITIONS_REQUIRED_METHODS``.
    :param max_header_length: precondition header values longer than this are
        refused with 431. Overrides ``PRECONDITIONS_MAX_HEADER_LENGTH``.
    :param lock: the write-lock backend: a
        :class:`~flask_preconditions.locks.LockBackend`, or a value that
        ``PRECONDITIONS_LOCK`` takes (``"file"``, ``"thread"``, a Redis or
        PostgreSQL URL); ``False`` or ``"off"`` turns locking off. Overrides
        ``PRECONDITIONS_LOCK``.
    :param lock_timeout: seconds a write waits for its resource's lock before
        it is answered 503. Overrides ``PRECONDITIONS_LOCK_TIMEOUT``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Checked writes hold a per-resource write lock; ``lock`` and
        ``lock_timeout`` were added.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        app_wide: bool | None = None,
        required_methods: t.Iterable[str] | None = None,
        max_header_length: int | None = None,
        lock: t.Any = None,
        lock_timeout: float | None = None,
    ) -> None:
        self.app_wide = app_wide
        self.lock = lock
        self.lock_timeout = lock_timeout
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
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, default)
        app.config.setdefault("PRECONDITIONS_LOCK_NAMESPACE", app.import_name)
        settings = read_settings(
            app.config,
            {
                "app_wide": self.app_wide,
                "required_methods": self.required_methods,
                "max_header_length": self.max_header_length,
                "lock": self.lock,
                "lock_timeout": self.lock_timeout,
            },
        )
        state = State(self, settings, protected_blueprints(app))
        app.extensions[EXTENSION_NAME] = state

        # Checks around the views the hooks cover, put in place at the first
        # request; then this function leaves, so that no request pays for it.
        def prepare() -> None:
            hooks.prepare_once(state, app)
            remove_before_request(app, prepare)

        app.before_request(prepare)
        if settings.lock is not None:
            # Flask's documented way of adding WSGI middleware.
            app.wsgi_app = release_after(app.wsgi_app)  # type: ignore[assignment]
        # One handler for every HTTP error, passing through those it does not
        # render, so that Flask's own lookup lets any handler of the app win:
        # one for a status or class (found first), a blueprint's (found before
        # the app's), and a catch-all HTTPException handler registered before
        # init_app (kept) or after it (replacing this one).
        if HTTPException not in app.error_handler_spec[None][None]:
            app.register_error_handler(HTTPException, _render_problem)
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
        atomic: bool | None = None,
    ) -> t.Callable[[F], F]: ...

    @t.overload
    def etag(
        self,
        func: t.Callable[..., t.Any],
        /,
        *,
        weak: bool | None = None,
        headers: t.Mapping[str, str],
        atomic: bool | None = None,
    ) -> t.Callable[[F], F]: ...

    @t.overload
    def etag(
        self,
        func: t.Callable[..., t.Any],
        /,
        *,
        weak: bool | None = None,
        headers: t.Mapping[str, str] | None = None,
        atomic: bool,
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
        atomic: bool | None = None,
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

        :param atomic: the view's write is itself a compare-and-swap on
            :func:`expected_version` (an ``UPDATE … WHERE version =
            :expected`` that refuses a changed row with 412), so it needs no
            write lock. Say so only where every change the view makes is in
            that statement (not, say, a relationship of the row).

        .. versionchanged:: 0.2
            Added ``atomic``.
        """
        declared_headers = header_items(headers)
        if func is None:
            return functools.partial(
                decorate,
                version=None,
                weak=bool(weak),
                body=True,
                headers=declared_headers,
            )
        if not callable(func):
            raise TypeError(
                f"etag() takes a version function, not {type(func).__name__!r}."
            )
        if weak is not None or headers is not None or atomic is not None:
            return functools.partial(
                decorate,
                version=func,
                weak=bool(weak),
                body=False,
                headers=declared_headers,
                atomic=bool(atomic),
            )
        return lazy_etag(func)

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
            t.Callable[[F], F], functools.partial(decorate_last_modified, func=func)
        )

    def exempt(self, view: F) -> F:
        """Leave a view out of app-wide and blueprint protection.

        ::

            @app.post("/notes")
            @pre.exempt
            def create_note(): ...
        """
        setattr(view, EXEMPT_ATTRIBUTE, True)
        return view

    def authorize(self, func: t.Callable[..., t.Any]) -> t.Callable[[F], F]:
        """Refuse clients that may not see a resource before anything is decided.

        With a version function, 304, 404, 412 and 428 are answered before the
        view runs, so an authorisation check inside the view comes too late:
        a stranger learns whether a resource exists and which version it has
        from ``If-None-Match`` probes. ``func`` is called with the view
        arguments first, in every mode, and refuses by raising (``abort(404)``
        to hide the resource, ``abort(403)``)::

            def owns_note(note_id):
                if not repository.is_owner(note_id, current_user):
                    abort(404)

            @app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
            @pre.authorize(owns_note)
            @pre.etag(note_version)
            def note(note_id): ...

        Its return value is ignored. Apply it above or below ``@pre.etag``.

        .. versionadded:: 0.2
        """
        if not callable(func):
            raise TypeError(
                f"authorize() takes a function, not {type(func).__name__!r}."
            )

        def decorator(view: F) -> F:
            setattr(view, AUTHORIZE_ATTRIBUTE, func)
            spec = getattr(view, SPEC_ATTRIBUTE, None)
            if spec is not None:
                spec.authorize = func
            return view

        return decorator

    def resource_key(self, func: t.Callable[..., t.Any]) -> t.Callable[[F], F]:
        """Name the resource of a view's URLs, for its write lock.

        By default a resource is its URL rule and the URL's arguments, so the
        views of one URL (a GET view, a PUT view, a DELETE view) share its lock,
        as do the variants of one URL. When several URL rules reach one
        record, give their views the same key, so that their writes exclude
        each other too::

            @app.put("/notes/<int:note_id>")
            @app.put("/users/<user>/notes/<int:note_id>")
            @pre.resource_key(lambda note_id, **_: f"note:{note_id}")
            def put_note(note_id, user=None): ...

        The function is called with the view arguments and returns a string
        (or anything with a stable ``str()``).

        .. versionadded:: 0.2
        """
        if not callable(func):
            raise TypeError(
                f"resource_key() takes a function, not {type(func).__name__!r}."
            )

        def decorator(view: F) -> F:
            setattr(view, RESOURCE_KEY_ATTRIBUTE, func)
            return view

        return decorator

    def protect(self, blueprint: Blueprint) -> Blueprint:
        """Protect every endpoint of a blueprint, as app-wide mode does.

        Call it before the blueprint is registered on the application::

            api = Blueprint("api", __name__)
            pre.protect(api)
            app.register_blueprint(api)

        When app-wide protection is on, this changes nothing.
        """
        try:
            blueprint.record(_record_protected)
        except AssertionError:
            # Flask refuses setup methods on a registered blueprint.
            raise RuntimeError(
                f"protect({blueprint.name!r}) was called after the blueprint was"
                " registered on an application, so its requests would not be"
                " checked. Call pre.protect(blueprint) before"
                " app.register_blueprint(blueprint)."
            ) from None
        return blueprint


def _record_protected(setup: BlueprintSetupState) -> None:
    # The name the blueprint is registered under, nested names included, as
    # its endpoints start with it.
    name = f"{setup.name_prefix}.{setup.name}".lstrip(".")
    app = t.cast(Flask, setup.app)
    names = protected_blueprints(app)
    if not names:
        # Only an initialised extension checks anything: an app that forgot
        # init_app must not serve a protected blueprint's writes unchecked.
        def require_extension() -> None:
            if EXTENSION_NAME not in app.extensions:
                raise RuntimeError(
                    f"pre.protect() covers blueprints of {app.name!r}, but"
                    " flask-preconditions is not initialised on it, so nothing"
                    " would be checked: call pre.init_app(app)."
                )
            remove_before_request(app, require_extension)

        app.before_request(require_extension)
    names.add(name)


def _render_problem(error: HTTPException) -> BaseResponse | HTTPException:
    if error.code not in PROBLEM_STATUSES:
        # Answered as if there were no handler.
        return error
    return problem_response(error, request.environ)
