"""The retrying client recipe, with httpx: read, modify, write, re-read on 412.

The same loop as :mod:`examples.notes.client`: apply the change again to the
state the server has now, never resend a write unchanged.
"""

from __future__ import annotations

import time
import typing as t

import httpx


class EditFailed(Exception):
    """The edit could not be applied; nothing more was written."""


def edit(
    http: httpx.Client,
    url: str,
    change: t.Callable[[dict[str, t.Any]], dict[str, t.Any]],
    *,
    max_attempts: int = 10,
) -> dict[str, t.Any]:
    """Apply ``change`` to the resource at ``url`` without losing anyone's update."""
    read_again = True
    for _ in range(max_attempts):
        if read_again:
            current = http.get(url)
            current.raise_for_status()
            etag = current.headers["ETag"]
            new = change(current.json())
        response = http.put(url, json=new, headers={"If-Match": etag})
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
