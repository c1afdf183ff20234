"""Recipe: a client that re-reads and retries when its write gets 412.

``client`` is a ``requests.Session`` or an ``httpx.Client``: both have the
same ``get``/``put`` methods and responses.
"""

import httpx
import requests


class Conflict(Exception):
    """The resource kept changing; the edit was not applied."""


def update(client, url, edit, attempts=3):
    """Apply ``edit`` (a function of the current document) without losing
    anyone else's change, and return the document as saved."""
    for _ in range(attempts):
        read = client.get(url)
        read.raise_for_status()
        saved = client.put(
            url, json=edit(read.json()), headers={"If-Match": read.headers["ETag"]}
        )
        if saved.status_code != 412:
            saved.raise_for_status()
            return saved.json()
        # 412: someone wrote in between. Re-read and apply the edit to the
        # new state; never resend the same body.
    raise Conflict(f"{url} changed {attempts} times while being edited.")


def shout(note):
    return {"text": note["text"].upper()}


def shout_with_requests(base_url):
    with requests.Session() as session:
        return update(session, f"{base_url}/notes/1", shout)


def shout_with_httpx(base_url):
    with httpx.Client(base_url=base_url) as client:
        return update(client, "/notes/1", shout)
