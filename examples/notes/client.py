"""The retrying client recipe, with requests: read, modify, write, re-read on 412.

A write is sent with the ``ETag`` of the representation it was computed from.
If the server answers 412, someone else changed the note in between: the
change is applied again *to the new state* and sent with the new ``ETag``.
Resending the same body (a blind retry) would overwrite the other change, which
is exactly the lost update that ``If-Match`` is there to prevent.
"""

from __future__ import annotations

import time
import typing as t

import requests


class EditFailed(Exception):
    """The edit could not be applied; nothing more was written."""


def edit(
    http: requests.Session,
    url: str,
    change: t.Callable[[dict[str, t.Any]], dict[str, t.Any]],
    *,
    max_attempts: int = 10,
    timeout: float = 10.0,
) -> dict[str, t.Any]:
    """Apply ``change`` to the resource at ``url`` without losing anyone's update.

    ``change`` receives the current representation and returns the new one; it
    is called again, on fresh data, after every 412. Returns the representation
    that was written.
    """
    read_again = True
    for _ in range(max_attempts):
        if read_again:
            current = http.get(url, timeout=timeout)
            current.raise_for_status()
            etag = current.headers["ETag"]
            new = change(current.json())
        response = http.put(url, json=new, headers={"If-Match": etag}, timeout=timeout)
        if response.status_code == 503:
            # Nothing was written, and the same conditional request cannot
            # overwrite a change made meanwhile: it is safe to send it again.
            time.sleep(float(response.headers.get("Retry-After", "1")))
            read_again = False
            continue
        if response.status_code == 412:
            # Someone else wrote first: read again and reapply the change.
            read_again = True
            continue
        if response.status_code == 428:
            raise EditFailed("The server requires If-Match; this is a client bug.")
        response.raise_for_status()
        return t.cast(dict[str, t.Any], response.json())
    raise EditFailed(
        f"Gave up after {max_attempts} attempts; nothing more was written."
    )
