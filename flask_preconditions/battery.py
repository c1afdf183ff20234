"""A battery of conditional requests for one resource of an application.

:func:`check_conditional_requests` sends, through a test client, the requests
whose answers RFC 9110 §13 and RFC 6585 prescribe, and reports each answer
that differs with the request, what came back and the section it breaks. It
knows nothing of this extension: it tests what any server should do.

.. versionadded:: 0.2
"""

from __future__ import annotations

import json
import typing as t

from werkzeug.http import quote_etag
from werkzeug.http import unquote_etag

from .battery_report import BatteryReport as BatteryReport
from .battery_report import CheckResult as CheckResult
from .battery_report import Exchange as Exchange
from .battery_report import status_text

if t.TYPE_CHECKING:
    from werkzeug.test import Client

#: The media type of problem details (RFC 9457 §3).
_PROBLEM_MEDIA_TYPE = "application/problem+json"
#: An entity-tag no representation has: ``If-Match`` with it is stale.
STALE_ETAG = '"flask-preconditions-stale-etag"'
# The headers a 304 must repeat from the 200 (RFC 9110 §15.4.5); Date is left
# out because it changes from one response to the next.
_KEPT_BY_304 = ("Cache-Control", "Content-Location", "ETag", "Expires", "Vary")
# What a HEAD response must share with the GET's (RFC 9110 §9.3.2).
_SHARED_WITH_HEAD = ("ETag", "Last-Modified", "Content-Type", "Cache-Control", "Vary")


class _Battery:
    def __init__(
        self,
        client: Client,
        url: str,
        *,
        body: bytes,
        content_type: str,
        method: str,
        headers: t.Mapping[str, str],
        create_url: str | None,
    ) -> None:
        self.client = client
        self.create_url = create_url
        self.url = url
        self.body = body
        self.content_type = content_type
        self.method = method
        self.headers = headers
        #: The 200 of the first check, with its entity-tag.
        self.etag: str | None = None

    def send(
        self,
        method: str,
        headers: t.Mapping[str, str] | None = None,
        *,
        url: str | None = None,
        body: bytes = b"",
    ) -> Exchange:
        sent = {**self.headers, **(headers or {})}
        if body:
            sent["Content-Type"] = self.content_type
        response = self.client.open(
            url or self.url, method=method, headers=sent, data=body or None
        )
        try:
            return Exchange(
                method,
                url or self.url,
                tuple(sent.items()),
                body,
                response.status_code,
                tuple(response.headers.items()),
                response.get_data(),
            )
        finally:
            response.close()

    def write(
        self, result: CheckResult, headers: t.Mapping[str, str], url: str | None = None
    ) -> Exchange:
        exchange = self.send(self.method, headers, url=url, body=self.body)
        result.exchanges.append(exchange)
        return exchange

    def get(
        self, result: CheckResult, headers: t.Mapping[str, str] | None = None
    ) -> Exchange:
        exchange = self.send("GET", headers)
        result.exchanges.append(exchange)
        return exchange

    def expect(
        self, result: CheckResult, exchange: Exchange, expected: int, why: str
    ) -> bool:
        if exchange.status_code == expected:
            return True
        result.fail(
            f"{exchange.method} answered {status_text(exchange.status_code)},"
            f" expected {status_text(expected)}: {why}"
        )
        return False

    def expect_unchanged(self, result: CheckResult, before: Exchange) -> None:
        after = self.get(result)
        if after.header("ETag") != before.header("ETag"):
            result.fail(
                "A write that must be refused changed the resource: its ETag went"
                f" from {before.header('ETag')} to {after.header('ETag')}."
            )
        elif after.response_body != before.response_body:
            result.fail(
                "A write that must be refused changed the resource's"
                " representation (and not its ETag)."
            )

    # The checks; _CHECKS names them and says in which order they run.

    def gives_a_validator(self, result: CheckResult) -> None:
        get = self.get(result)
        if not self.expect(result, get, 200, "the resource must exist."):
            return
        etag = get.header("ETag")
        if etag is None:
            result.fail(
                "The 200 has no ETag: a client has nothing to send in If-Match"
                " or If-None-Match."
            )
        self.etag = etag

    def answers_304(self, result: CheckResult) -> None:
        assert self.etag is not None
        full = self.get(result)
        cached = self.get(result, {"If-None-Match": self.etag})
        why = "If-None-Match names the current entity-tag."
        if not self.expect(result, cached, 304, why):
            return
        if cached.response_body:
            result.fail("The 304 has content; it must have none (RFC 9110 §15.4.5).")
        names = [*_KEPT_BY_304]
        names.extend(
            name
            for name, _ in full.response_headers
            if name.lower().startswith("access-control-")
        )
        for name in names:
            value, kept = full.header(name), cached.header(name)
            if value is None or _same_header(name, value, kept):
                continue
            cors = (
                " a browser's CORS check of the revalidated response fails,"
                if name.lower().startswith("access-control-")
                else ""
            )
            result.fail(
                f"The 200 has {name}: {value} but the 304 has "
                + (f"{name}: {kept}" if kept is not None else "none")
                + f":{cors} a 304 must repeat the 200's {name}."
            )

    def answers_head(self, result: CheckResult) -> None:
        get = self.get(result)
        head = self.send("HEAD")
        result.exchanges.append(head)
        if not self.expect(result, head, get.status_code, "HEAD answers as GET."):
            return
        if head.response_body:
            result.fail("The HEAD response has content; it must have none.")
        for name in _SHARED_WITH_HEAD:
            if not _same_header(name, get.header(name), head.header(name)):
                result.fail(
                    f"GET gives {name}: {get.header(name)} but HEAD gives"
                    f" {head.header(name)}."
                )
        # HEAD may leave out Content-Length, but must not contradict GET.
        length = head.header("Content-Length")
        if length is not None and length != get.header("Content-Length"):
            result.fail(
                f"GET gives Content-Length: {get.header('Content-Length')} but"
                f" HEAD gives {length}."
            )

    def requires_a_precondition(self, result: CheckResult) -> None:
        before = self.get(result)
        write = self.write(result, {})
        why = "a write must say which version it changes, or it can lose an update."
        if self.expect(result, write, 428, why):
            problem = _problem(write)
            if problem:
                result.fail(problem)
        self.expect_unchanged(result, before)

    def refuses_a_stale_etag(self, result: CheckResult) -> None:
        before = self.get(result)
        write = self.write(result, {"If-Match": STALE_ETAG})
        why = "If-Match names no current entity-tag, so the write must not be made."
        self.expect(result, write, 412, why)
        self.expect_unchanged(result, before)

    def refuses_a_weak_etag(self, result: CheckResult) -> None:
        before = self.get(result)
        current = before.header("ETag") or ""
        weak = quote_etag(unquote_etag(current)[0] or "", weak=True)
        write = self.write(result, {"If-Match": weak})
        why = "If-Match uses the strong comparison, which a weak tag never passes."
        self.expect(result, write, 412, why)
        self.expect_unchanged(result, before)

    def writes_with_the_current_etag(self, result: CheckResult) -> None:
        before = self.get(result)
        etag = before.header("ETag")
        write = self.write(result, {"If-Match": etag or ""})
        if not 200 <= write.status_code < 300:
            hint = (
                " The GET's entity-tag is weak, and If-Match's strong comparison"
                " never matches a weak tag: give the resource a strong ETag."
                if etag is not None and etag.startswith("W/")
                else ""
            )
            result.fail(
                f"{self.method} answered {status_text(write.status_code)},"
                f" expected 2xx: If-Match names the current entity-tag.{hint}"
            )
            return
        new = write.header("ETag")
        after = self.get(result)
        if new is None:
            result.fail(
                "The response has no ETag: the client must GET the resource again"
                " before it can write again."
            )
        elif after.header("ETag") != new:
            result.fail(
                f"The write answered ETag: {new} but GET now gives ETag:"
                f" {after.header('ETag')}."
            )
        if after.header("ETag") == etag and after.response_body != before.response_body:
            result.fail(
                "The representation changed but its ETag did not: a client holding"
                " the old one can still write over the change (RFC 9110 §8.8.3)."
            )

    def creates_only_once(self, result: CheckResult) -> None:
        assert self.create_url is not None
        url = self.create_url
        first = self.write(result, {"If-None-Match": "*"}, url)
        why = f"nothing exists at {url} yet (create_url must name a free URL)."
        if self.expect(result, first, 201, why):
            second = self.write(result, {"If-None-Match": "*"}, url)
            self.expect(result, second, 412, "the first request created it.")


def _same_header(name: str, one: str | None, other: str | None) -> bool:
    if name.lower() == "vary" and one is not None and other is not None:
        return {v.strip().lower() for v in one.split(",")} == {
            v.strip().lower() for v in other.split(",")
        }
    return one == other


def _problem(exchange: Exchange) -> str | None:
    """What is wrong with a problem details body, or ``None``."""
    content_type = (exchange.header("Content-Type") or "").partition(";")[0].strip()
    if content_type.lower() != _PROBLEM_MEDIA_TYPE:
        return (
            f"The {exchange.status_code} is {content_type or 'untyped'}, not"
            f" {_PROBLEM_MEDIA_TYPE}: tell the client what to send (RFC 9457 §3)."
        )
    try:
        problem = json.loads(exchange.response_body)
    except ValueError:
        return "The problem details body is not JSON (RFC 9457 §3)."
    if not isinstance(problem, dict):
        return "The problem details body is not a JSON object (RFC 9457 §3)."
    if "status" in problem and problem["status"] != exchange.status_code:
        return (
            f"The problem details say status {problem['status']!r}, the response"
            f" is {exchange.status_code} (RFC 9457 §3.1.2)."
        )
    return None


#: The checks, in the order they run: the method, what it expects, and the
#: sections of the RFCs that say so. All but the first need its entity-tag.
_CHECKS: tuple[tuple[t.Callable[[_Battery, CheckResult], None], str, str], ...] = (
    (_Battery.gives_a_validator, "GET gives an entity-tag", "RFC 9110 §8.8.3"),
    (
        _Battery.answers_304,
        "a conditional GET is 304 with the 200's caching and CORS headers",
        "RFC 9110 §13.1.2, §15.4.5",
    ),
    (_Battery.answers_head, "HEAD is answered as GET is", "RFC 9110 §9.3.2"),
    (
        _Battery.requires_a_precondition,
        "a write without a precondition is 428 with a problem body",
        "RFC 6585 §3, RFC 9457 §3",
    ),
    (
        _Battery.refuses_a_stale_etag,
        "a stale entity-tag in If-Match is 412 and changes nothing",
        "RFC 9110 §13.1.1",
    ),
    (
        _Battery.refuses_a_weak_etag,
        "a weak entity-tag in If-Match is 412 and changes nothing",
        "RFC 9110 §13.1.1, §8.8.3.2",
    ),
    (
        _Battery.writes_with_the_current_etag,
        "a write with the current entity-tag succeeds and gives the new one",
        "RFC 9110 §13.1.1, §9.3.4",
    ),
    (
        _Battery.creates_only_once,
        "If-None-Match: * creates with 201 once, then is 412",
        "RFC 9110 §13.1.2, §15.3.2",
    ),
)


def check_conditional_requests(
    client: Client,
    url: str,
    *,
    body: t.Any,
    content_type: str | None = None,
    method: str = "PUT",
    create_url: str | None = None,
    headers: t.Mapping[str, str] | None = None,
    origin: str | None = "https://client.example",
) -> BatteryReport:
    """Send the conditional requests RFC 9110 prescribes answers for to one URL.

    The checks, in order:

    1. GET gives a validator (an ``ETag``);
    2. GET with ``If-None-Match`` naming it is 304, without content, with the
       200's ``Cache-Control``, ``Content-Location``, ``ETag``, ``Expires``,
       ``Vary`` and ``Access-Control-*`` headers;
    3. HEAD is answered as GET is, without content;
    4. a write without a precondition is 428 with a problem details body, and
       changes nothing;
    5. a write with a stale ``If-Match`` is 412 and changes nothing;
    6. a write with the current entity-tag made weak (``W/"…"``) is 412 and
       changes nothing;
    7. a write with the current entity-tag succeeds, and its ``ETag`` is the
       one GET gives afterwards;
    8. with ``create_url``: a write there with ``If-None-Match: *`` is 201, and
       the same again is 412.

    The writes change the resource: run the battery against test data. Checks
    2 to 7 are skipped when GET gives no entity-tag.

    ::

        report = check_conditional_requests(
            app.test_client(), "/notes/1", body={"text": "Changed"}
        )
        report.raise_for_failures()

    :param client: a test client of the application, as
        :meth:`flask.Flask.test_client` makes.
    :param url: the resource to check; it must exist.
    :param body: the content of the writes: :class:`bytes`, or a value sent as
        JSON. Make it differ from the current representation, so that a write
        that should have been refused shows.
    :param content_type: the writes' ``Content-Type``; ``application/json``
        by default, ``application/octet-stream`` for bytes.
    :param method: the write method, ``PUT`` or ``PATCH``.
    :param create_url: a URL where nothing exists yet, for check 8; skipped
        without it.
    :param headers: sent with every request, such as ``Authorization``.
    :param origin: sent as ``Origin`` with every request, so that a CORS
        extension adds the headers check 2 compares; ``None`` sends none.

    .. versionadded:: 0.2
    """
    if isinstance(body, (bytes, bytearray)):
        data = bytes(body)
        content_type = content_type or "application/octet-stream"
    else:
        data = json.dumps(body).encode()
        content_type = content_type or "application/json"
    sent = dict(headers or {})
    if origin is not None:
        sent.setdefault("Origin", origin)
    battery = _Battery(
        client,
        url,
        body=data,
        content_type=content_type,
        method=method.upper(),
        headers=sent,
        create_url=create_url,
    )
    results = []
    for check, name, sections in _CHECKS:
        result = CheckResult(name, sections)
        if check is not _Battery.gives_a_validator and battery.etag is None:
            result.skip("Needs the entity-tag that GET did not give.")
        elif check is _Battery.creates_only_once and create_url is None:
            result.skip("Pass create_url, a URL where nothing exists yet, to run it.")
        else:
            check(battery, result)
        results.append(result)
    return BatteryReport(url, results)
