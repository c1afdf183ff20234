"""Which routes of an application are protected, and how.

The ``flask preconditions routes`` command (:mod:`flask_preconditions.cli`) and
the OpenAPI plugin (:mod:`flask_preconditions.openapi`) both read this module's
answers. It only inspects the application: no request is made.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing as t

from flask import Flask
from werkzeug.routing import Rule

from .conditions import IGNORING_METHODS
from .conditions import SAFE_METHODS
from .state import get_state
from .state import State
from .validation import Misconfigured
from .views import Mode

# HEAD is answered like GET, and OPTIONS by Flask: neither is listed.
_UNLISTED_METHODS = IGNORING_METHODS | {"HEAD"}


class Protection(str, enum.Enum):
    """How requests with one method to one route are protected.

    .. versionadded:: 0.1
    """

    #: Validators come from a version or last-modified function: 304, 412 and
    #: 428 are decided before the view runs.
    VERSION = "version"
    #: The entity-tag is a hash of the GET response body; writes are checked
    #: against a GET of the same URL.
    BODY_HASH = "body-hash"
    #: Left out of protection with :meth:`~flask_preconditions.Preconditions.exempt`.
    EXEMPT = "exempt"
    #: A method in ``PRECONDITIONS_REQUIRED_METHODS`` that is not checked, so
    #: it can overwrite another client's change: a lost update.
    UNPROTECTED = "unprotected"
    #: A GET (or other safe method) that gets no validators.
    SAFE = "safe"
    #: An unsafe method outside ``PRECONDITIONS_REQUIRED_METHODS``, such as
    #: POST to a collection, whose preconditions are not checked.
    NOT_REQUIRED = "not-required"
    #: A declaration that cannot work (the reason says why and how to fix
    #: it): requests to the endpoint raise
    #: :exc:`~flask_preconditions.validation.Misconfigured`.
    MISCONFIGURED = "misconfigured"

    def __str__(self) -> str:
        return self.value


class Atomicity(str, enum.Enum):
    """Whether a checked write is atomic with its check, and what makes it so.

    .. versionadded:: 0.2
    """

    #: The write itself is conditional on the checked version (``versioned()``,
    #: ``atomic=True``): two writes checked against one version cannot both
    #: succeed.
    COMPARE_AND_SWAP = "compare-and-swap"
    #: The resource's write lock is held from the check to the end of the
    #: request.
    LOCK = "lock"
    #: Checked, then written, with nothing between: two writes carrying the
    #: same entity-tag can both pass the check, and one is lost. The lock is
    #: off (``PRECONDITIONS_LOCK``).
    CHECK_THEN_WRITE = "check-then-write"
    #: Not a checked write: a safe method, or one the extension does not check.
    NOT_APPLICABLE = "-"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class RouteProtection:
    """One method of one URL rule, and how it is protected.

    .. versionadded:: 0.1
    """

    #: The endpoint name, as in :attr:`flask.Flask.view_functions`.
    endpoint: str
    #: The request method, upper case.
    method: str
    #: The URL rule, as written in ``@app.route``.
    rule: str
    #: How requests are protected.
    protection: Protection
    #: Why, in a sentence.
    reason: str
    #: Whether a checked write is atomic with its check.
    atomicity: Atomicity = Atomicity.NOT_APPLICABLE
    #: The lock backend of an :attr:`Atomicity.LOCK` write, by class name.
    lock: str | None = None
    #: Whether preconditions the request sends are evaluated (also for a
    #: ``not-required`` method, which may send none).
    conditional: bool = False
    #: Whether the write is checked against a GET of its URL, and so goes
    #: unchecked when that GET answers 401 or 403 to the writer.
    steps_aside: bool = False

    def as_dict(self) -> dict[str, str | bool | None]:
        """The row as a JSON-ready dict."""
        return {
            "endpoint": self.endpoint,
            "method": self.method,
            "rule": self.rule,
            "protection": self.protection.value,
            "reason": self.reason,
            "atomicity": self.atomicity.value,
            "lock": self.lock,
            "steps_aside": self.steps_aside,
        }


def _get_endpoint(app: Flask, url_rule: Rule) -> str | None:
    """The endpoint that answers GET at the same URL: same rule, host and
    subdomain, as the internal GET is routed."""
    for rule in app.url_map.iter_rules():
        if (
            rule.rule == url_rule.rule
            and rule.host == url_rule.host
            and rule.subdomain == url_rule.subdomain
            and rule.methods
            and "GET" in rule.methods
        ):
            return t.cast(str, rule.endpoint)
    return None


def protection_of(
    app: Flask, endpoint: str, method: str, rule: str | None = None
) -> RouteProtection:
    """How requests with ``method`` to ``endpoint`` are protected.

    :param app: an application on which the extension is initialised.
    :param endpoint: the endpoint name.
    :param method: the request method.
    :param rule: the URL rule, when the endpoint has several; the first rule
        of the endpoint otherwise.
    :raise RuntimeError: the extension is not initialised on ``app``.
    :raise KeyError: no such endpoint or rule.

    .. versionadded:: 0.1
    """
    state = get_state(app)
    method = method.upper()
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint == endpoint and (rule is None or r.rule == rule)
    ]
    if not rules:
        raise KeyError(f"No URL rule {rule!r} for endpoint {endpoint!r}.")
    return _row(app, state, endpoint, method, rules[0])


def _row(
    app: Flask, state: State, endpoint: str, method: str, url_rule: Rule
) -> RouteProtection:
    try:
        protection, reason = _classify(app, state, endpoint, method, url_rule)
    except Misconfigured as e:
        return RouteProtection(
            endpoint, method, url_rule.rule, Protection.MISCONFIGURED, str(e)
        )
    conditional = protection in (Protection.VERSION, Protection.BODY_HASH)
    if (
        conditional
        and method not in SAFE_METHODS
        and method not in state.settings.required_methods
    ):
        # evaluate() asks nothing of such a request, so it goes through
        # unchecked unless it sends a precondition itself.
        protection, reason = (
            Protection.NOT_REQUIRED,
            (
                f"{method} is not in PRECONDITIONS_REQUIRED_METHODS: checked only"
                " when the request sends a precondition."
            ),
        )
    atomicity, lock = _atomicity(app, state, endpoint, method, conditional)
    spec = state.route(app, endpoint, method).spec
    return RouteProtection(
        endpoint,
        method,
        url_rule.rule,
        protection,
        reason,
        atomicity,
        lock,
        conditional,
        steps_aside=conditional
        and method not in SAFE_METHODS
        and (spec is None or not spec.uses_functions),
    )


def _atomicity(
    app: Flask, state: State, endpoint: str, method: str, conditional: bool
) -> tuple[Atomicity, str | None]:
    if method in SAFE_METHODS or not conditional:
        return Atomicity.NOT_APPLICABLE, None
    spec = state.route(app, endpoint, method).spec
    if spec is not None and spec.compare_and_swap:
        return Atomicity.COMPARE_AND_SWAP, None
    lock = state.settings.lock
    if lock is None:
        return Atomicity.CHECK_THEN_WRITE, None
    return Atomicity.LOCK, type(lock).__name__


def _classify(
    app: Flask, state: State, endpoint: str, method: str, url_rule: Rule
) -> tuple[Protection, str]:
    mode, spec, _ = state.route(app, endpoint, method)
    required = method in state.settings.required_methods
    if mode is Mode.EXEMPT:
        return Protection.EXEMPT, "Exempted with @pre.exempt."
    if spec is not None and spec.uses_functions:
        return Protection.VERSION, "Validators from a version function."
    if mode is Mode.UNCOVERED:
        if required:
            return Protection.UNPROTECTED, (
                f"{method} is in PRECONDITIONS_REQUIRED_METHODS but the view is"
                " not decorated, not in a protected blueprint, and app-wide"
                " protection is off."
            )
        if method in SAFE_METHODS:
            return Protection.SAFE, "Safe method; no validators."
        return Protection.NOT_REQUIRED, (
            f"{method} is not in PRECONDITIONS_REQUIRED_METHODS; not checked."
        )
    if mode is Mode.DECORATED:
        how = "@pre.etag"
    elif state.settings.app_wide:
        how = "app-wide protection"
    else:
        how = "a protected blueprint"
    if method in SAFE_METHODS:
        if (spec is None or not spec.uses_functions) and _streams(app, endpoint):
            return Protection.SAFE, (
                "A streamed response (a generator view): no body to hash, so"
                " no entity-tag; give the view a version function."
            )
        return Protection.BODY_HASH, f"Entity-tag from the body ({how})."
    # A write is checked against a GET of the same URL, which must exist and
    # give the representation an entity-tag.
    get_endpoint = _get_endpoint(app, url_rule)
    if get_endpoint is None:
        if required:
            return Protection.UNPROTECTED, (
                f"Covered by {how}, but {url_rule.rule} answers no GET to take"
                " the current entity-tag from: decorate the view with"
                " @pre.etag(version_function)."
            )
        return Protection.NOT_REQUIRED, f"{url_rule.rule} answers no GET."
    get_mode = state.route(app, get_endpoint, "GET").mode
    if get_mode in (Mode.UNCOVERED, Mode.EXEMPT):
        if required:
            return Protection.UNPROTECTED, (
                f"Covered by {how}, but the GET view {get_endpoint!r} of"
                f" {url_rule.rule} is"
                f" {'exempt' if get_mode is Mode.EXEMPT else 'not covered'},"
                " so it gives no entity-tag to check against."
            )
        return Protection.NOT_REQUIRED, (
            f"The GET view {get_endpoint!r} gives no entity-tag."
        )
    get_spec = state.route(app, get_endpoint, "GET").spec
    hashed = get_spec is None or not get_spec.uses_functions
    if hashed and _streams(app, get_endpoint):
        return Protection.UNPROTECTED, (
            f"The GET view {get_endpoint!r} of {url_rule.rule} streams its"
            " response (a generator view), so it has no entity-tag to check"
            " against and only If-Match: * can write: give the GET view a"
            " version function with @pre.etag(version_function)."
        )
    return Protection.BODY_HASH, (
        f"Checked against the entity-tag of GET {url_rule.rule} ({how})."
    )


def audit_routes(app: Flask) -> list[RouteProtection]:
    """List every route and method of an application with its protection.

    HEAD and OPTIONS are left out: HEAD is answered as GET is, and neither
    changes anything. Rows are in the order of the URL map.

    ::

        unprotected = [
            row for row in audit_routes(app)
            if row.protection is Protection.UNPROTECTED
        ]

    :raise RuntimeError: the extension is not initialised on ``app``.

    .. versionadded:: 0.1
    """
    state = get_state(app)
    return [
        _row(app, state, url_rule.endpoint, method, url_rule)
        for url_rule in app.url_map.iter_rules()
        for method in sorted((url_rule.methods or set()) - _UNLISTED_METHODS)
    ]


def _streams(app: Flask, endpoint: str) -> bool:
    """Whether an endpoint's view is a generator function: Flask streams what
    it yields, and there is no body to hash."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return False
    view = inspect.unwrap(view)
    return inspect.isgeneratorfunction(view) or inspect.isasyncgenfunction(view)
