"""Per-application settings and state, read from the configuration once.

Stored in ``app.extensions["preconditions"]`` by
:meth:`~flask_preconditions.Preconditions.init_app`; :func:`get_state` finds it.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

from flask import Flask

from .conditions import DEFAULT_MAX_HEADER_LENGTH
from .conditions import DEFAULT_REQUIRED_METHODS
from .conditions import unsafe_methods
from .locks import backend_from_setting
from .locks import LockBackend
from .validation import check_route
from .validators import derive_etag_key
from .validators import EntityTagKeys
from .views import classify
from .views import Mode
from .views import Route

#: The name of the extension in ``app.extensions``.
EXTENSION_NAME = "preconditions"
# The registered names of the blueprints protect() covers, in app.extensions:
# a blueprint may be registered before init_app or after it.
PROTECTED_BLUEPRINTS = "preconditions.protected_blueprints"

#: The default ``PRECONDITIONS_*`` configuration (``LOCK_NAMESPACE`` defaults
#: to the application's import name).
DEFAULTS: t.Mapping[str, t.Any] = {
    "PRECONDITIONS_APP_WIDE": True,
    "PRECONDITIONS_REQUIRED_METHODS": sorted(DEFAULT_REQUIRED_METHODS),
    "PRECONDITIONS_MAX_HEADER_LENGTH": DEFAULT_MAX_HEADER_LENGTH,
    "PRECONDITIONS_LOCK": "file",
    "PRECONDITIONS_LOCK_TIMEOUT": 10.0,
    "PRECONDITIONS_LOCK_RETRY_AFTER": 1,
    "PRECONDITIONS_ACCEPT_ALTERED_ETAGS": False,
    "PRECONDITIONS_REQUIRE_ENTITY_TAG": False,
    "PRECONDITIONS_CACHE_CONTROL": "no-cache",
    "PRECONDITIONS_ETAG_KEY": None,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The extension's settings for one application.

    .. versionadded:: 0.2
    """

    app_wide: bool = True
    required_methods: frozenset[str] = DEFAULT_REQUIRED_METHODS
    max_header_length: int = DEFAULT_MAX_HEADER_LENGTH
    #: The write-lock backend, or ``None`` when writes are not locked.
    lock: LockBackend | None = None
    #: Seconds a write waits for its resource's lock before a 503.
    lock_timeout: float = 10.0
    #: Tells applications apart in a lock service they share.
    lock_namespace: str = ""
    #: The ``Retry-After`` of that 503, in seconds.
    lock_retry_after: int = 1
    #: Whether weakened and re-encoded forms of the current tag are accepted.
    accept_altered_etags: bool = False
    #: Whether only If-Match with an entity-tag satisfies the 428 rule.
    require_entity_tag: bool = False
    #: The ``Cache-Control`` given to GET and HEAD responses of resources whose
    #: writes are checked, when they carry none; ``None`` for none.
    cache_control: str | None = "no-cache"
    #: The keys of entity-tag MACs, or ``None`` for unkeyed tags.
    etag_keys: EntityTagKeys | None = None


def read_settings(
    config: t.Mapping[str, t.Any], overrides: t.Mapping[str, t.Any]
) -> Settings:
    """Validate the ``PRECONDITIONS_*`` configuration, constructor values first.

    :raise TypeError, ValueError: a value is not valid; the message names the
        key and what it takes.
    """

    def value(name: str) -> t.Any:
        # None is "not given": the configuration decides.
        override = overrides.get(name)
        return config[f"PRECONDITIONS_{name.upper()}"] if override is None else override

    app_wide = value("app_wide")
    if not isinstance(app_wide, bool):
        raise TypeError(
            f"PRECONDITIONS_APP_WIDE must be True or False, not {app_wide!r}."
        )
    methods = value("required_methods")
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
    max_length = value("max_header_length")
    if not isinstance(max_length, int) or max_length < 64:
        raise ValueError(
            "PRECONDITIONS_MAX_HEADER_LENGTH must be an int of at least 64,"
            f" not {max_length!r}."
        )
    timeout = value("lock_timeout")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout < float("inf")
    ):
        raise ValueError(
            "PRECONDITIONS_LOCK_TIMEOUT must be a number of seconds of at least 0,"
            f" not {timeout!r}."
        )
    retry_after = value("lock_retry_after")
    if (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, int)
        or retry_after < 0
    ):
        raise ValueError(
            "PRECONDITIONS_LOCK_RETRY_AFTER must be a whole number of seconds,"
            f" not {retry_after!r}."
        )
    namespace = value("lock_namespace")
    if not isinstance(namespace, str) or not namespace:
        raise TypeError(
            "PRECONDITIONS_LOCK_NAMESPACE must be a non-empty string, not"
            f" {namespace!r}."
        )
    altered = value("accept_altered_etags")
    if not isinstance(altered, bool):
        raise TypeError(
            "PRECONDITIONS_ACCEPT_ALTERED_ETAGS must be True or False, not"
            f" {altered!r}."
        )
    require_tag = config["PRECONDITIONS_REQUIRE_ENTITY_TAG"]
    if not isinstance(require_tag, bool):
        raise TypeError(
            "PRECONDITIONS_REQUIRE_ENTITY_TAG must be True or False, not"
            f" {require_tag!r}."
        )
    cache_control = config["PRECONDITIONS_CACHE_CONTROL"]
    if cache_control is not None and (
        not isinstance(cache_control, str) or not cache_control.strip()
    ):
        raise TypeError(
            "PRECONDITIONS_CACHE_CONTROL must be a Cache-Control value such as"
            f" 'no-cache', or None, not {cache_control!r}."
        )
    etag_keys = _etag_keys(config)
    return Settings(
        app_wide=app_wide,
        required_methods=unsafe_methods(names),
        max_header_length=max_length,
        lock=backend_from_setting(value("lock")),
        lock_timeout=float(timeout),
        lock_namespace=namespace,
        lock_retry_after=retry_after,
        accept_altered_etags=altered,
        require_entity_tag=require_tag,
        cache_control=cache_control,
        etag_keys=etag_keys,
    )


def _etag_keys(config: t.Mapping[str, t.Any]) -> EntityTagKeys | None:
    """The entity-tag keys: from ``PRECONDITIONS_ETAG_KEY``, else derived from
    ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``; ``None`` without either."""
    dedicated = config["PRECONDITIONS_ETAG_KEY"]
    if dedicated is not None:
        secrets = [dedicated]
    elif config.get("SECRET_KEY"):
        secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    else:
        return None
    for secret in secrets:
        if not isinstance(secret, (str, bytes)) or not secret:
            raise TypeError(
                "PRECONDITIONS_ETAG_KEY, SECRET_KEY and SECRET_KEY_FALLBACKS must"
                f" be non-empty strings or bytes, not {secret!r}."
            )
    keys = [derive_etag_key(secret) for secret in secrets]
    return EntityTagKeys(keys[0], tuple(keys[1:]))


class State:
    """Per-application state, stored in ``app.extensions["preconditions"]``.

    .. versionadded:: 0.2
    """

    def __init__(
        self, extension: t.Any, settings: Settings, protected_blueprints: set[str]
    ) -> None:
        #: The :class:`~flask_preconditions.Preconditions` that initialised it.
        self.extension = extension
        self.settings = settings
        #: Registered names of the blueprints :meth:`Preconditions.protect` covers.
        self.protected_blueprints = protected_blueprints
        # (endpoint, method) -> Route; only routed requests and the routes the
        # audit lists reach it, so it is bounded by the URL map.
        self._routes: dict[tuple[str, str], Route] = {}
        # endpoint -> whether a write to one of its URLs is checked.
        self._writable: dict[str, bool] = {}
        #: Whether every route has been classified and found to work, and
        #: the views the hooks cover wrapped
        #: (:func:`~flask_preconditions.hooks.prepare_once`).
        self.routes_checked = False
        #: Held while that is done, by the first request of each thread.
        self.setup_lock = threading.Lock()
        #: Whether the log has been told of bodies hashed after compression.
        self.warned_of_encoded_bodies = False

    def hooks_cover(self, endpoint: str) -> bool:
        """Whether app-wide mode or a protected blueprint covers an endpoint.

        ``"api.v1.notes"`` is covered by the blueprints ``"api.v1"`` and
        ``"api"``, as Flask's ``Request.blueprints`` orders them.
        """
        if self.settings.app_wide:
            return True
        name = endpoint.rpartition(".")[0]
        while name:
            if name in self.protected_blueprints:
                return True
            name = name.rpartition(".")[0]
        return False

    def route(self, app: Flask, endpoint: str | None, method: str) -> Route:
        """How requests with ``method`` to ``endpoint`` are handled."""
        if endpoint is None:
            return classify(None, method, hooks_cover=False)
        key = (endpoint, method)
        try:
            return self._routes[key]
        except KeyError:
            pass
        route = classify(
            app.view_functions.get(endpoint),
            method,
            hooks_cover=self.hooks_cover(endpoint),
        )
        # Before it is remembered: a misconfigured route raises every time.
        check_route(app, endpoint, method, route, self.settings.required_methods)
        self._routes[key] = route
        return route

    def cache_control_of(self, app: Flask, endpoint: str) -> str | None:
        """The ``Cache-Control`` that GET and HEAD responses of an endpoint get
        when they have none: ``PRECONDITIONS_CACHE_CONTROL`` where its writes
        are checked, else ``None``."""
        value = self.settings.cache_control
        if value is None or not self.writes_checked(app, endpoint):
            return None
        return value

    def writes_checked(self, app: Flask, endpoint: str) -> bool:
        """Whether a method in ``PRECONDITIONS_REQUIRED_METHODS`` is checked on
        one of the endpoint's URL rules: its GETs must then be revalidated."""
        try:
            return self._writable[endpoint]
        except KeyError:
            pass
        rules = {
            (rule.rule, rule.host)
            for rule in app.url_map.iter_rules()
            if rule.endpoint == endpoint
        }
        checked = any(
            self.route(app, rule.endpoint, method).mode is not Mode.EXEMPT
            and self.route(app, rule.endpoint, method).mode is not Mode.UNCOVERED
            for rule in app.url_map.iter_rules()
            if (rule.rule, rule.host) in rules
            for method in (rule.methods or set()) & self.settings.required_methods
        )
        self._writable[endpoint] = checked
        return checked


def get_state(app: Flask) -> State:
    """The extension's state on an application.

    :raise RuntimeError: the extension is not initialised on ``app``.

    .. versionadded:: 0.2
    """
    try:
        # Annotated rather than cast: typing.cast is a call, on every request.
        state: State = app.extensions[EXTENSION_NAME]
    except KeyError:
        raise RuntimeError(
            f"flask-preconditions is not initialised on the application"
            f" {app.name!r}: call Preconditions(app) or init_app(app) first."
        ) from None
    return state


def protected_blueprints(app: Flask) -> set[str]:
    """The set of blueprint names :meth:`Preconditions.protect` covers on ``app``."""
    return t.cast(set[str], app.extensions.setdefault(PROTECTED_BLUEPRINTS, set()))
