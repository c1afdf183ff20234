"""The validators of a request's resource: from the functions a view declares,
or from a body.
"""

from __future__ import annotations

import inspect
import typing as t

from flask import Flask
from flask.wrappers import Request

from .conditions import Validators
from .identity import resource_identity
from .state import get_state
from .validators import body_tags
from .validators import etag_for_version_cached
from .validators import to_last_modified
from .validators import version_tags
from .views import ResourceSpec

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
    older keys gave it (:func:`~flask_preconditions.validators.version_tags`).

    :raise TypeError: the version function returned an unsupported value;
        the message names its endpoint.
    """
    keys = get_state(app).settings.etag_keys
    try:
        if keys is None:
            return etag_for_version_cached(version), ()
        identity = resource_identity(app, req, declared=False)
        return version_tags(version, identity, keys)
    except TypeError as e:
        raise TypeError(
            f"The version function of endpoint {req.endpoint!r}"
            f" returned an unsupported value. {e}"
        ) from None


def tags_of_body(app: Flask, req: Request, body: bytes) -> tuple[str, tuple[str, ...]]:
    """The entity-tag of a body of the request's resource, and the tags older
    keys gave it (:func:`~flask_preconditions.validators.body_tags`)."""
    keys = get_state(app).settings.etag_keys
    identity = "" if keys is None else resource_identity(app, req, declared=False)
    return body_tags(body, identity, keys)


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
        etag, previous = tags_of_version(app, req, version)
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
