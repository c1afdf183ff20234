"""Concurrent clients incrementing one counter: does the server lose updates?

Each client repeats read-modify-write increments of a note whose text is a
number: GET it, PUT the number plus one with ``If-Match``, and on 412 read again
and retry, at most ``max_attempts`` times per increment. Every write the server
acknowledged with 200 counts one increment; at the end, the note must hold
exactly that many. Anything less is an acknowledged update that was lost.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
import typing as t

import requests


@dataclasses.dataclass
class RaceResult:
    """What the clients saw, and what the server stored."""

    initial: int
    final: int
    #: Writes acknowledged with 2xx.
    accepted: int
    #: Statuses of every response, by method: {"PUT": {200: 400, 412: 900}}.
    statuses: dict[str, collections.Counter[int]]
    #: Increments given up (attempts exhausted or the deadline passed).
    unfinished: int
    seconds: float

    @property
    def lost(self) -> int:
        """Acknowledged increments that are not in the final value."""
        return self.accepted - (self.final - self.initial)

    @property
    def server_errors(self) -> int:
        return sum(
            count
            for counter in self.statuses.values()
            for status, count in counter.items()
            if status >= 500
        )

    def count(self, method: str, status: int) -> int:
        return self.statuses.get(method, collections.Counter())[status]


def increment_until_done(
    url: str,
    increments: int,
    *,
    max_attempts: int,
    deadline: float,
    record: t.Callable[[str, int], None],
) -> tuple[int, int]:
    """One client: returns (increments accepted, increments given up)."""
    accepted = 0
    http = requests.Session()
    try:
        for done in range(increments):
            for _ in range(max_attempts):
                if time.monotonic() > deadline:
                    return accepted, increments - done
                current = http.get(url, timeout=10)
                record("GET", current.status_code)
                if current.status_code != 200:
                    continue
                note = current.json()
                note["text"] = str(int(note["text"]) + 1)
                del note["id"], note["version"]
                response = http.put(
                    url,
                    json=note,
                    headers={"If-Match": current.headers["ETag"]},
                    timeout=10,
                )
                record("PUT", response.status_code)
                if response.status_code == 412 and RACE_LOST_AT_WRITE in response.text:
                    record(PUT_REFUSED_AT_WRITE, 412)
                if 200 <= response.status_code < 300:
                    accepted += 1
                    break
                # 412: someone else wrote first; 503: nothing was written.
                # Either way, read again and reapply the increment.
            else:
                return accepted, increments - done
        return accepted, 0
    finally:
        http.close()


#: The key of :attr:`RaceResult.statuses` for 412s answered by the write itself:
#: the request passed the If-Match check, but another write came first.
PUT_REFUSED_AT_WRITE = "PUT refused by the conditional write"
# Part of the detail of those 412s (flask_preconditions.sqlalchemy).
RACE_LOST_AT_WRITE = "after this request's preconditions were checked"

#: The key of :attr:`RaceResult.statuses` for writes sent without If-Match.
FORGETFUL_PUT = "PUT without If-Match"


def forget_if_match(
    url: str,
    writes: int,
    *,
    deadline: float,
    record: t.Callable[[str, int], None],
) -> None:
    """A client that forgets If-Match: every write should be refused (428)."""
    http = requests.Session()
    try:
        for _ in range(writes):
            if time.monotonic() > deadline:
                return
            current = http.get(url, timeout=10)
            record("GET", current.status_code)
            note = current.json()
            note["text"] = str(int(note["text"]) + 1)
            del note["id"], note["version"]
            response = http.put(url, json=note, timeout=10)
            record(FORGETFUL_PUT, response.status_code)
    finally:
        http.close()


def read_counter(url: str) -> int:
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return int(response.json()["text"])


def race(
    url: str | t.Sequence[str],
    *,
    clients: int = 8,
    increments: int = 50,
    max_attempts: int = 100,
    time_limit: float = 60.0,
    forgetful_writes: int = 0,
) -> RaceResult:
    """Run ``clients`` threads, each making ``increments`` increments of ``url``.

    ``url`` may be several URLs of one note, one per server that shares its
    database: the clients take them in turn.

    With ``forgetful_writes``, one more thread sends that many increments
    without If-Match at the same time.
    """
    urls = [url] if isinstance(url, str) else list(url)
    initial = read_counter(urls[0])
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(
        collections.Counter
    )
    lock = threading.Lock()
    totals = [0, 0]
    errors: list[BaseException] = []

    def record(method: str, status: int) -> None:
        with lock:
            statuses[method][status] += 1

    started = time.monotonic()
    deadline = started + time_limit

    def client(url: str) -> None:
        try:
            accepted, unfinished = increment_until_done(
                url,
                increments,
                max_attempts=max_attempts,
                deadline=deadline,
                record=record,
            )
        except BaseException as e:  # reported by race()
            with lock:
                errors.append(e)
            return
        with lock:
            totals[0] += accepted
            totals[1] += unfinished

    def forgetful_client() -> None:
        try:
            forget_if_match(urls[0], forgetful_writes, deadline=deadline, record=record)
        except BaseException as e:  # reported by race()
            with lock:
                errors.append(e)

    threads = [
        threading.Thread(target=client, args=(urls[number % len(urls)],))
        for number in range(clients)
    ]
    if forgetful_writes:
        threads.append(threading.Thread(target=forgetful_client))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 30)
    if errors:
        raise errors[0]
    return RaceResult(
        initial=initial,
        final=read_counter(urls[0]),
        accepted=totals[0],
        statuses=dict(statuses),
        unfinished=totals[1],
        seconds=time.monotonic() - started,
    )
