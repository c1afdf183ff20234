"""The lost update, and how flask-preconditions ends it: ``make demo``.

Starts the notes example under gunicorn (4 worker processes, 127.0.0.1, a
temporary SQLite database), then:

1. two clients edit the same note: 428 without If-Match, 412 for a stale
   ETag, a re-read, a successful write and a 304;
2. concurrent clients increment one counter note on a naive server, which
   checks If-Match and then writes with a separate ``UPDATE``: first with the
   extension's write lock off (``PRECONDITIONS_LOCK=off``), then with no
   configuration at all (the default file lock), and on the notes example,
   whose versioned ``UPDATE`` is a compare-and-swap; the demo counts the
   acknowledged updates each one kept.

Every server is stopped by its pid when its part is over.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from examples.notes.modes import seed_counter  # noqa: E402
from examples.notes.race import FORGETFUL_PUT  # noqa: E402
from examples.notes.race import PUT_REFUSED_AT_WRITE  # noqa: E402
from examples.notes.race import race  # noqa: E402
from examples.notes.race import RaceResult  # noqa: E402
from examples.notes.server import gunicorn  # noqa: E402

WORKERS = 4
CLIENTS = 8
INCREMENTS = 20
FORGETFUL_WRITES = 10
_SHOWN_HEADERS = ("If-Match", "If-None-Match")


def short_etag(value: str | None) -> str:
    if not value:
        return "-"
    return value if len(value) <= 12 else value[:9] + '…"'


def short_body(response: requests.Response) -> str:
    if not response.content:
        return ""
    try:
        data = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(data, dict) and "detail" in data:
            text = f"{data.get('title')}: {data['detail']}"
        else:
            if isinstance(data, dict) and len(str(data.get("version"))) > 8:
                # Random versions are long; their start tells them apart.
                data["version"] = str(data["version"])[:6] + "…"
            text = json.dumps(data, ensure_ascii=False)
    return text if len(text) <= 90 else text[:89] + "…"


def show(who: str, response: requests.Response) -> None:
    sent = response.request
    path = requests.utils.urlparse(sent.url).path
    conditions = "  ".join(
        f"{name}: {short_etag(sent.headers[name])}"
        for name in _SHOWN_HEADERS
        if name in sent.headers
    )
    print(
        f"  {who:<6}{sent.method:<7}{path:<10}{conditions or '(no precondition)':<28}"
        f"-> {response.status_code}  ETag {short_etag(response.headers.get('ETag'))}"
    )
    body = short_body(response)
    if body:
        print(f"{'':<14}{body}")


def two_clients(base_url: str) -> None:
    print("\n== Two clients edit the same note ==\n")
    alice, bob = requests.Session(), requests.Session()
    try:
        created = alice.post(
            f"{base_url}/notes", json={"title": "Shopping", "text": "milk"}
        )
        show("alice", created)
        url = base_url + created.headers["Location"]

        read = bob.get(url)
        show("bob", read)
        bob_etag = read.headers["ETag"]

        show("bob", bob.put(url, json={"title": "Shopping", "text": "eggs"}))
        print(f"{'':<14}(bob forgot If-Match: refused, nothing written)")

        alice_etag = created.headers["ETag"]
        written = alice.put(
            url,
            json={"title": "Shopping", "text": "milk, bread"},
            headers={"If-Match": alice_etag},
        )
        show("alice", written)

        stale = bob.put(
            url,
            json={"title": "Shopping", "text": "milk, eggs"},
            headers={"If-Match": bob_etag},
        )
        show("bob", stale)
        print(f"{'':<14}(alice wrote first: bob's copy is stale, nothing written)")

        reread = bob.get(url)
        show("bob", reread)
        merged = reread.json()["text"] + ", eggs"
        show(
            "bob",
            bob.put(
                url,
                json={"title": "Shopping", "text": merged},
                headers={"If-Match": reread.headers["ETag"]},
            ),
        )

        show(
            "alice", alice.get(url, headers={"If-None-Match": written.headers["ETag"]})
        )
        latest = alice.get(url)
        show("alice", alice.get(url, headers={"If-None-Match": latest.headers["ETag"]}))
        print(f"{'':<14}(alice already has the latest version: 304, no body)")
    finally:
        alice.close()
        bob.close()


def counter_race(base_url: str, note_id: int) -> RaceResult:
    return race(
        f"{base_url}/notes/{note_id}",
        clients=CLIENTS,
        increments=INCREMENTS,
        max_attempts=100,
        time_limit=30.0,
        forgetful_writes=FORGETFUL_WRITES,
    )


def naive_server_race(database_url: str, env: dict[str, str]) -> RaceResult:
    note_id = seed_counter(database_url)
    with gunicorn(
        "examples.notes.naive:create_app()",
        env={"NOTES_DATABASE_URL": database_url, **env},
        workers=WORKERS,
        ready_path=f"/notes/{note_id}",
    ) as base_url:
        return counter_race(base_url, note_id)


def report(name: str, result: RaceResult) -> None:
    print(f"\n  {name}")
    print(f"    writes acknowledged (200)         {result.accepted}")
    print(
        f"    stale writes refused (412)        {result.count('PUT', 412)}"
        " (each followed by a re-read)"
    )
    print(
        "      of them refused by the write    "
        f"{result.count(PUT_REFUSED_AT_WRITE, 412)}"
        " (had passed the check; another write came first)"
    )
    print(
        f"    writes without If-Match (428)     {result.count(FORGETFUL_PUT, 428)}"
        f" of {FORGETFUL_WRITES}"
    )
    print(f"    server errors (5xx)               {result.server_errors}")
    print(f"    final counter                     {result.final}")
    verdict = (
        "no acknowledged update lost"
        if result.lost == 0
        else f"{result.lost} acknowledged updates LOST"
        f" ({100 * result.lost / max(result.accepted, 1):.0f} %)"
    )
    print(f"    => {verdict}  [{result.seconds:.1f} s]")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="notes-demo-") as tmp:
        notes_url = f"sqlite:///{os.path.join(tmp, 'notes.sqlite3')}"
        counter_id = seed_counter(notes_url)
        with gunicorn(
            "examples.notes.app:create_app()",
            env={"NOTES_DATABASE_URL": notes_url},
            workers=WORKERS,
        ) as base_url:
            print(f"notes example under gunicorn, {WORKERS} workers, at {base_url}")
            two_clients(base_url)
            print(
                f"\n== {CLIENTS} clients, {INCREMENTS} increments each, of one"
                " counter ==\n"
                "\n  Each client: GET the note, PUT its number + 1 with If-Match,"
                " on 412 read again.\n  One more client sends its increments"
                " without If-Match."
            )
            example = counter_race(base_url, counter_id)
        report(
            "naive server (If-Match check, then a separate UPDATE),"
            " PRECONDITIONS_LOCK=off",
            naive_server_race(
                f"sqlite:///{os.path.join(tmp, 'unlocked.sqlite3')}",
                {"PRECONDITIONS_LOCK": "off"},
            ),
        )
        report(
            "the same naive server, zero configuration (the default file lock)",
            naive_server_race(f"sqlite:///{os.path.join(tmp, 'naive.sqlite3')}", {}),
        )
        report(
            "the notes example: versioned UPDATE under the write lock",
            example,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
