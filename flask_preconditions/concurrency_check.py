"""Concurrent read-modify-write clients: is every acknowledged write kept?

:func:`check_lost_updates` runs clients in threads against the URL of one
resource of a running server. Each client repeats one change (GET, apply the
change to the body, write it back with ``If-Match``; on 412 read again and
retry), and counts the writes the server acknowledged with 2xx. At the end the
resource must show exactly that many changes: an acknowledged write that is
missing was silently overwritten by another one, a lost update.

Only the standard library is used: each request goes over a fresh connection
(``http.client``), never through a proxy of the environment, so that a write
that gets no answer is never mistaken for one the server did not receive.

.. versionadded:: 0.2
"""

from __future__ import annotations

import collections
import dataclasses
import http.client
import json
import threading
import time
import traceback
import typing as t
import urllib.parse

#: A representation as the change and read functions get it: the parsed JSON
#: of a JSON body (``application/json`` or ``+json``), the bytes of any other.
Representation = t.Any

# Statuses after which a client reads again and retries: the write was refused
# without being applied (RFC 9110 §13.1.1, §15.5.10, RFC 6585 §4) or the server
# could not answer now (ResourceBusy's 503).
_RETRY_STATUSES = frozenset({409, 412, 429})


@dataclasses.dataclass
class LostUpdateReport:
    """What the clients of :func:`check_lost_updates` saw, and what was kept.

    ``str(report)`` is a readable summary; :meth:`raise_for_failures` raises
    it as an :class:`AssertionError` unless :attr:`ok`.

    .. versionadded:: 0.2
    """

    #: The resource's URL and the write method.
    url: str
    method: str
    clients: int
    increments: int
    #: ``read()`` of the representation before and after the clients ran;
    #: ``None`` when it could not be read.
    initial: int | None = None
    final: int | None = None
    #: Writes answered with 2xx.
    acknowledged: int = 0
    #: The status of every response, by request method.
    statuses: dict[str, collections.Counter[int]] = dataclasses.field(
        default_factory=dict
    )
    #: Writes sent that got no answer (a timeout or a closed connection):
    #: whether they were applied is unknown.
    unanswered: int = 0
    #: Changes given up: out of attempts, or out of time.
    unfinished: int = 0
    #: What stopped a client or the check, one sentence each.
    errors: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def kept(self) -> int | None:
        """How many changes the resource shows: ``read(final) - read(initial)``."""
        if self.initial is None or self.final is None:
            return None
        return self.final - self.initial

    @property
    def lost(self) -> int | None:
        """Acknowledged writes that are not in the resource."""
        kept = self.kept
        return None if kept is None else max(self.acknowledged - kept, 0)

    @property
    def refused(self) -> int:
        """Writes answered 412: their ``If-Match`` was stale."""
        return self.statuses.get(self.method, collections.Counter())[412]

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status, to any request."""
        return sum(
            count
            for counter in self.statuses.values()
            for status, count in counter.items()
            if status >= 500
        )

    @property
    def problems(self) -> list[str]:
        """Why the check failed, one sentence each; empty if it passed."""
        problems = list(self.errors)
        kept = self.kept
        if self.lost:
            problems.append(
                f"{self.lost} acknowledged write(s) are not in the resource: the"
                f" server answered 2xx to {self.acknowledged} writes, and"
                f" {kept} of their changes are there. A write that passed its"
                " If-Match check was overwritten by a concurrent one (a lost"
                " update): make the write conditional on the version it was"
                " checked against, or hold a lock from the check to the write."
            )
        if self.unanswered:
            problems.append(
                f"{self.unanswered} write(s) got no answer (a timeout or a closed"
                " connection), so whether they were applied is unknown and the"
                " count proves nothing; see the server's log."
            )
        elif kept is not None and kept > self.acknowledged:
            failed_writes = sum(
                n
                for status, n in self.statuses.get(self.method, {}).items()
                if status >= 500
            )
            cause = (
                f"{failed_writes} write(s) answered 5xx were applied all the same"
                if failed_writes
                else "something else wrote to it"
            )
            problems.append(
                f"The resource shows {kept} changes but only {self.acknowledged}"
                f" writes were acknowledged: {cause}, or read() does not count"
                " what change() does."
            )
        if not problems and self.acknowledged == 0:
            problems.append("No write was acknowledged, so nothing was checked.")
        return problems

    @property
    def ok(self) -> bool:
        """Whether every acknowledged write was kept, and the check was sound."""
        return not self.problems

    def raise_for_failures(self) -> None:
        """Raise :class:`AssertionError` with the report unless :attr:`ok`."""
        __tracebackhide__ = True
        if not self.ok:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        def row(name: str, value: object, meaning: str) -> str:
            shown = "?" if value is None else value
            return f"  {name:<13}{shown:>6}  {meaning}"

        kept_meaning = (
            f"read(final) - read(initial) = {self.final} - {self.initial}"
            if self.kept is not None
            else "the resource could not be read"
        )
        lines = [
            f"Lost-update check: {self.method} {self.url}",
            f"{self.clients} clients x {self.increments} changes in"
            f" {self.seconds:.1f} s",
            "",
            row("acknowledged", self.acknowledged, "writes answered 2xx"),
            row("kept", self.kept, kept_meaning),
            row("lost", self.lost, "acknowledged, then overwritten"),
            row("412", self.refused, "stale If-Match: read again and retried"),
            row("5xx", self.server_errors, "server errors (retried)"),
            row("unanswered", self.unanswered, "writes with no answer"),
            row("unfinished", self.unfinished, "changes given up (attempts or time)"),
            "",
            "  responses: "
            + "; ".join(
                f"{method} "
                + ", ".join(f"{status} x{n}" for status, n in sorted(counter.items()))
                for method, counter in sorted(self.statuses.items())
            ),
        ]
        problems = self.problems
        if problems:
            lines.append("")
            lines.extend(f"FAILED: {problem}" for problem in problems)
        elif self.refused == 0:
            lines.append(
                "\n  note: no write was refused with 412, so the clients may never"
                " have raced; more clients or server workers make the check"
                " stronger."
            )
        return "\n".join(lines)


class _ClientStopped(Exception):
    """A client cannot go on; the message says why."""


@dataclasses.dataclass(frozen=True)
class _Target:
    url: str
    method: str
    headers: t.Mapping[str, str]
    timeout: float

    def send(
        self, method: str, headers: t.Mapping[str, str], body: bytes | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        parts = urllib.parse.urlsplit(self.url)
        connection_class = (
            http.client.HTTPSConnection
            if parts.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=self.timeout)
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request(
                method,
                path,
                body=body,
                headers={**self.headers, **headers, "Connection": "close"},
            )
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


class _Tally:
    """What all clients saw, added up under a lock."""

    def __init__(self, report: LostUpdateReport) -> None:
        self.report = report
        self.lock = threading.Lock()

    def status(self, method: str, status: int) -> None:
        with self.lock:
            self.report.statuses.setdefault(method, collections.Counter())[status] += 1

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self.report, name, getattr(self.report, name) + count)

    def error(self, message: str) -> None:
        with self.lock:
            self.report.errors.append(message)


def _decode(headers: http.client.HTTPMessage, body: bytes) -> Representation:
    content_type = headers.get_content_type()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError:
            raise _ClientStopped(
                f"The {content_type} body is not JSON: {body[:200]!r}"
            ) from None
    return body


def _encode(
    value: Representation, get_headers: http.client.HTTPMessage
) -> tuple[bytes, str]:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), get_headers.get("Content-Type", "application/octet-stream")
    return json.dumps(value).encode(), "application/json"


def _call(
    what: str, function: t.Callable[[Representation], t.Any], value: t.Any
) -> t.Any:
    try:
        return function(value)
    except Exception as e:
        reason = "".join(traceback.format_exception_only(type(e), e)).strip()
        raise _ClientStopped(f"{what} raised {reason}") from e


def _read(target: _Target, read: t.Callable[[Representation], int]) -> int:
    status, headers, body = target.send("GET", {})
    if status != 200:
        raise _ClientStopped(
            f"GET {target.url} answered {status}: {body[:200]!r}; the resource"
            " must exist before the check."
        )
    value = _call("read()", read, _decode(headers, body))
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ClientStopped(f"read() must return an int, not {value!r}.")
    return value


def _client(
    target: _Target,
    change: t.Callable[[Representation], Representation],
    *,
    increments: int,
    max_attempts: int,
    deadline: float,
    tally: _Tally,
) -> None:
    method = target.method
    for done in range(increments):
        for _ in range(max_attempts):
            if time.monotonic() > deadline:
                tally.add(unfinished=increments - done)
                return
            try:
                status, headers, body = target.send("GET", {})
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
                continue
            tally.status("GET", status)
            if status != 200:
                time.sleep(0.05)
                continue
            etag = headers.get("ETag")
            if etag is None:
                raise _ClientStopped(
                    f"GET {target.url} gave no ETag, so there is nothing to send"
                    " in If-Match."
                )
            new_body, content_type = _encode(
                _call("change()", change, _decode(headers, body)), headers
            )
            try:
                status, _, answer = target.send(
                    method,
                    {"If-Match": etag, "Content-Type": content_type},
                    new_body,
                )
            except (OSError, http.client.HTTPException):
                # Sent, and maybe applied: counting on would prove nothing.
                tally.add(unanswered=1, unfinished=increments - done)
                return
            tally.status(method, status)
            if 200 <= status < 300:
                tally.add(acknowledged=1)
                break
            if status in _RETRY_STATUSES:
                continue
            if status >= 500:
                time.sleep(0.05)
                continue
            raise _ClientStopped(
                f"{method} {target.url} with If-Match answered {status}:"
                f" {answer[:300]!r}; check what change() returns."
            )
        else:
            tally.add(unfinished=increments - done)
            return


def check_lost_updates(
    url: str,
    *,
    change: t.Callable[[Representation], Representation],
    read: t.Callable[[Representation], int],
    clients: int = 8,
    increments: int = 25,
    method: str = "PUT",
    headers: t.Mapping[str, str] | None = None,
    max_attempts: int = 100,
    time_limit: float = 60.0,
    request_timeout: float = 10.0,
) -> LostUpdateReport:
    """Run concurrent read-modify-write clients against one resource.

    Each of ``clients`` threads makes ``increments`` changes: GET ``url``,
    apply ``change`` to the body, send the result with ``method`` and
    ``If-Match`` (the GET's ``ETag``); on 412, 409, 429 or 5xx read again and
    retry, at most ``max_attempts`` times per change. ``read`` turns a body
    into a count that each change adds one to: the resource must then show
    exactly as many changes as writes were acknowledged.

    ::

        report = check_lost_updates(
            live.url + "/counters/1",
            change=lambda doc: {**doc, "n": doc["n"] + 1},
            read=lambda doc: doc["n"],
        )
        report.raise_for_failures()

    :param change: the new body from the current one. A JSON body
        (``application/json`` or ``+json``) is given parsed, and whatever is
        returned is sent as JSON, unless it is :class:`bytes`; any other body is
        given as :class:`bytes` and must be returned as bytes, sent with the
        GET's ``Content-Type``.
    :param read: the count of changes in a body, as ``change`` gets it.
    :param headers: sent with every request, such as ``Authorization``.
    :param time_limit: seconds for the whole run; changes not done by then
        are given up and reported as unfinished.
    :param request_timeout: seconds for each request.
    :return: the report; it fails (:attr:`LostUpdateReport.ok` is false) when
        an acknowledged write is missing, a write got no answer, or no write
        was acknowledged at all.

    .. versionadded:: 0.2
    """
    method = method.upper()
    target = _Target(url, method, dict(headers or {}), request_timeout)
    report = LostUpdateReport(url, method, clients, increments)
    tally = _Tally(report)
    started = time.monotonic()
    try:
        report.initial = _read(target, read)
    except (_ClientStopped, OSError, http.client.HTTPException) as e:
        report.errors.append(f"Reading the resource first failed: {e}")
        return report
    deadline = started + time_limit

    def run() -> None:
        try:
            _client(
                target,
                change,
                increments=increments,
                max_attempts=max_attempts,
                deadline=deadline,
                tally=tally,
            )
        except _ClientStopped as e:
            tally.error(f"A client stopped: {e}")
        except Exception as e:
            # Reported, not raised: an exception ending a thread is lost.
            tally.error(f"A client failed: {e!r}")

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    # A GET and a write started before the deadline may take request_timeout
    # each after it.
    joined_by = deadline + 2 * request_timeout + 1
    for thread in threads:
        thread.join(max(joined_by - time.monotonic(), 0))
    if any(thread.is_alive() for thread in threads):
        report.errors.append("A client was still running after the time limit.")
    try:
        report.final = _read(target, read)
    except (_ClientStopped, OSError, http.client.HTTPException) as e:
        report.errors.append(f"Reading the resource at the end failed: {e}")
    report.seconds = time.monotonic() - started
    return report
