"""What names the resource of a request: for its write lock and its entity-tags.

A resource is its URL rule (with host or subdomain) and the URL's arguments as
matched, so that the views of one URL (a GET view and a PUT view) and the
variants of one URL (``/notes/05`` for ``<int:note_id>``) name one resource.
For its lock, the key a view declares with :meth:`Preconditions.resource_key`
names it instead, so that several URLs of one record exclude each other.
"""

from __future__ import annotations

import functools
import typing as t
import urllib.parse
import uuid

from flask import Flask
from flask.wrappers import Request
from werkzeug.exceptions import HTTPException

from .locks import resource_key
from .views import RESOURCE_KEY_ATTRIBUTE


def resource_identity(
    app: Flask, req: Request, namespace: str = "", *, declared: bool = True
) -> str:
    """The key of the request's resource, after ``namespace``.

    In the format of :func:`~flask_preconditions.locks.resource_key`, with
    the rule (``host`` or ``subdomain``, then the rule string) in place of
    the endpoint, or ``resource=<declared key>``.

    :param declared: use a key the view declares. Locks do, so that several
        rules of one record exclude each other; entity-tags do not, so that a
        GET view and a write view of one URL agree on a tag whether or not
        both declare the key.
    """
    view_args: t.Mapping[str, t.Any] = req.view_args or {}
    rule = req.url_rule
    if declared:
        view = app.view_functions.get("" if rule is None else rule.endpoint)
        key_function = getattr(view, RESOURCE_KEY_ATTRIBUTE, None)
        if key_function is not None:
            resource = key_function(**view_args)
            return resource_key(namespace, "", {"resource": resource})
    if rule is None:
        return resource_key(namespace, req.path, {})
    place = rule.host or rule.subdomain or ""
    for value in view_args.values():
        if type(value) not in _REMEMBERED_TYPES:
            return resource_key(namespace, f"{place}{rule.rule}", view_args)
    return _cached_key(namespace, place, rule.rule, *view_args.items())


# The types whose equal values have one text, so that remembering a key by
# equal arguments is right: not floats (0.0 and -0.0 are equal), nor Decimal
# or a converter's own type; those are encoded each time.
_REMEMBERED_TYPES = frozenset({str, int, uuid.UUID})


@functools.lru_cache(maxsize=4096)
def _cached_key(
    namespace: str, place: str, rule: str, *arguments: tuple[str, t.Any]
) -> str:
    # Encoding each part costs more than the rest of a version check: the
    # resources a process serves repeat, a bounded number are remembered.
    # (resource_key sorts the arguments by name.)
    return resource_key(namespace, f"{place}{rule}", dict(arguments))


def location_identity(app: Flask, req: Request, location: str) -> str | None:
    """The tag identity of the resource a ``Location`` names, as a GET of it
    would compute it; ``None`` when no GET route of the app matches it."""
    path = urllib.parse.urlsplit(location).path
    # url_for() puts the app's mount point (SCRIPT_NAME) in front.
    root = req.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    try:
        adapter = app.url_map.bind_to_environ(req.environ)
        rule, view_args = adapter.match(path, method="GET", return_rule=True)
    except HTTPException:
        return None
    place = rule.host or rule.subdomain or ""
    return resource_key("", f"{place}{rule.rule}", view_args)
