"""Recipe: a client that reads, changes and writes with ``If-Match``, and on 412
reads again and reapplies its change.

``client`` is a ``requests.Session`` or an ``httpx.Client``: their ``get`` and
``put`` take the same ``json=``, ``headers=`` and ``timeout=`` arguments, and
their responses have the same ``status_code``, ``headers``, ``json()`` and
``raise_for_status()``, so one function serves both.
"""

from __future__ import annotations

import time
import typing as t

import httpx
import requests

Document = dict[str, t.Any]


class EditFailed(Exception):
    """The edit was not applied; nothing more was written."""


def edit(
    client: t.Any,
    url: str,
    change: t.Callable[[Document], Document],
    *,
    attempts: int = 3,
    timeout: float = 10.0,
) -> Document:
    """Apply ``change`` to the resource at ``url`` without losing anyone's update.

    ``change`` receives the current representation and returns the new one; it
    is called again, on fresh data, after every 412. Returns the representation
    as saved.
    """
    read_again = True
    for _ in range(attempts):
        if read_again:
            current = client.get(url, timeout=timeout)
            current.raise_for_status()
            etag = current.headers["ETag"]
            new = change(current.json())
        saved = client.put(url, json=new, headers={"If-Match": etag}, timeout=timeout)
        if saved.status_code == 412:
            # Someone else wrote in between: read again and apply the change to
            # the new state. Resending the old body would undo their write.
            read_again = True
        elif saved.status_code == 503:
            # Nothing was written. The same conditional request may be sent
            # again: if someone wrote meanwhile, it becomes a 412.
            retry_after = saved.headers.get("Retry-After", "1")
            time.sleep(min(float(retry_after) if retry_after.isdigit() else 1, 10))
            read_again = False
        elif saved.status_code == 428:
            raise EditFailed("The server requires If-Match: a bug in this client.")
        else:
            saved.raise_for_status()
            return t.cast(Document, saved.json())
    raise EditFailed(f"{url} kept changing: gave up after {attempts} attempts.")


def shout(note: Document) -> Document:
    return {"text": note["text"].upper()}


def shout_with_requests(base_url: str) -> Document:
    with requests.Session() as session:
        return edit(session, f"{base_url}/notes/1", shout)


def shout_with_httpx(base_url: str) -> Document:
    with httpx.Client(base_url=base_url) as client:
        return edit(client, "/notes/1", shout)
