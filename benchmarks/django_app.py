"""Django serving the item with its own tools: ``@condition(etag_func=...)``
on the view, as Django's documentation shows, next to the same view without
it, Django's own baseline. Both run in Django's own WSGI handler with a
minimal in-process configuration (no middleware, no database).
"""

from __future__ import annotations

import json
import typing as t

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import HttpResponseBadRequest
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.http import condition
from items import document
from items import parse_update
from items import Store

_store = Store()


def setup(store: Store) -> WSGIHandler:
    """Configure Django once for this process and serve ``store``."""
    global _store
    _store = store
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only",
            ALLOWED_HOSTS=["localhost", "127.0.0.1"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
            USE_TZ=True,
        )
        django.setup()
    return WSGIHandler()


def _item(request: HttpRequest, item_id: int) -> HttpResponse:
    record = _store.get(item_id)
    if record is None:
        return HttpResponse(status=404)
    if request.method == "PUT":
        try:
            data = parse_update(json.loads(request.body))
        except ValueError:
            data = None
        if data is None:
            return HttpResponseBadRequest()
        record = _store.write(item_id, data)
    return JsonResponse(document(record))


def bare_item(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item(request, item_id)


def item_etag(request: HttpRequest, item_id: int) -> str | None:
    version = _store.version(item_id)
    return None if version is None else f'"v{version}"'


@condition(etag_func=item_etag)
def conditional_item(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item(request, item_id)


urlpatterns: list[t.Any] = [
    path("bare/items/<int:item_id>", bare_item),
    path("items/<int:item_id>", conditional_item),
]
