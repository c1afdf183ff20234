"""Evaluation of HTTP preconditions, as RFC 9110 §13 defines it.

Nothing in this module knows about Flask: :func:`evaluate` takes the request
method, the request's header values and the resource's current validators, and
returns a :class:`Decision`. The Flask glue in :mod:`flask_preconditions.extension`
gathers those inputs and turns the decision into a response.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import typing as t

from werkzeug.datastructures import ETags
from werkzeug.http import parse_date
from werkzeug.http import parse_etags

#: Methods whose requests never carry meaningful preconditions (RFC 9110 §13.2.1).
IGNORING_METHODS = frozenset({"OPTIONS", "CONNECT", "TRACE"})

#: The unsafe methods that must be conditional unless configured otherwise.
DEFAULT_REQUIRED_METHODS = frozenset({"PUT", "PATCH", "DELETE"})

#: Precondition header values longer than this are refused with 431.
DEFAULT_MAX_HEADER_LENGTH = 8192


class HeaderLookup(t.Protocol):
    """Request headers, looked up by canonical name: a dict or Werkzeug's
    :class:`~werkzeug.datastructures.Headers`.

    .. versionadded:: 0.1
    """

    def get(self, key: str, /) -> str | None: ...


# RFC 9110 §8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, and §5.6.1 lists
# that may contain empty elements. Werkzeug's parse_etags is quadratic on some
# malformed input (measured: 6 KB of '"a"x, ' takes 70 ms, 96 KB 14 s), so a
# value is checked against this linear, backtracking-free grammar first and only
# well-formed lists reach Werkzeug.
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ENTITY_TAG_LIST = re.compile(
    rf"[ \t]*(?:,[ \t]*)*{_ENTITY_TAG}"
    rf"(?:[ \t]*,(?:[ \t]*,)*[ \t]*{_ENTITY_TAG})*"
    r"(?:[ \t]*,)*[ \t]*"
)

# RFC 9110 §5.6.7: the three forms of HTTP-date, names case-sensitive. Werkzeug
# (through email.utils) also reads lists of dates, numeric zones and trailing
# text, which §13.1.3 and §13.1.4 say must be ignored; a value is checked
# against this anchored, linear grammar before Werkzeug parses it.
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_DAY_LONG = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = "[0-9]{2}:[0-9]{2}:[0-9]{2}"
_HTTP_DATE = re.compile(
    rf"{_DAY}, [0-9]{{2}} {_MONTH} [0-9]{{4}} {_TIME} GMT"
    rf"|{_DAY_LONG}, [0-9]{{2}}-{_MONTH}-(?P<short_year>[0-9]{{2}}) {_TIME} GMT"
    rf"|{_DAY} {_MONTH} (?:[0-9]{{2}}| [0-9]) {_TIME} [0-9]{{4}}"
)


class Outcome(enum.Enum):
    """What the server must do with a request after evaluating its preconditions.

    The value of each member is the HTTP status code it leads to, or ``None``
    when the request goes on to the view.

    .. versionadded:: 0.1
    """

    #: The preconditions hold (or do not apply): perform the method.
    PROCEED = None
    #: A conditional GET or HEAD whose representation the client already has.
    NOT_MODIFIED = 304
    #: The resource does not exist and the method cannot create it.
    NOT_FOUND = 404
    #: A precondition was false: the client's copy is stale. Nothing is written.
    PRECONDITION_FAILED = 412
    #: An unsafe request that does not say which version it modifies.
    PRECONDITION_REQUIRED = 428
    #: A precondition header was too long to be evaluated at bounded cost.
    HEADER_TOO_LARGE = 431


class Validators(t.NamedTuple):
    """The current validators of an existing resource.

    :param etag: the opaque part of the entity-tag, without quotes or ``W/``,
        or ``None`` when the resource has no entity-tag.
    :param weak: whether the entity-tag is weak.
    :param last_modified: the last modification date, timezone-aware in UTC,
        or ``None`` when the resource has none.

    A named tuple: one is built for every request, and tuples are the cheapest
    immutable records Python has.

    .. versionadded:: 0.1
    """

    etag: str | None = None
    weak: bool = False
    last_modified: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Decision:
    """The result of :func:`evaluate`.

    :param outcome: what to do with the request.
    :param header: the request header that decided it, if one did.
    :param reason: a sentence for humans saying why, citing the RFC rule.

    .. versionadded:: 0.1
    """

    outcome: Outcome
    header: str | None = None
    reason: str = ""
    #: Whether the deciding header was not valid syntax for its field.
    malformed: bool = False

    @property
    def proceed(self) -> bool:
        """Whether the request goes on to the view."""
        return self.outcome is Outcome.PROCEED


_PROCEED = Decision(Outcome.PROCEED)


def parse_entity_tags(value: str) -> ETags | None:
    """Parse an ``If-Match`` or ``If-None-Match`` field value.

    Returns Werkzeug's :class:`~werkzeug.datastructures.ETags`, or ``None`` when
    the value is neither ``*`` nor a list of entity-tags (RFC 9110 §13.1.1). The
    syntax is checked in linear time before Werkzeug parses the value.

    .. versionadded:: 0.1
    """
    stripped = value.strip(" \t")
    if stripped == "*":
        return ETags(star_tag=True)
    if _ENTITY_TAG_LIST.fullmatch(stripped) is None:
        return None
    tags = parse_etags(stripped)
    strong = tags.as_set()
    weak = tags.as_set(include_weak=True) - strong
    # Werkzeug reads an empty list element ("a", , "b") as the tag "" (3.0) and
    # the empty entity-tag "" as None, which would then match nothing.
    if "" in strong or None in strong or None in weak:
        tags = ETags(_empty_tag_fixed(strong), _empty_tag_fixed(weak))
    return tags


def _empty_tag_fixed(tags: t.Iterable[str | None]) -> set[str]:
    return {"" if tag is None else tag for tag in tags if tag != ""}


def parse_http_date(value: str) -> dt.datetime | None:
    """Parse an HTTP-date, returning ``None`` for anything else.

    RFC 9110 §13.1.3 and §13.1.4 say a recipient must ignore a date condition
    whose value is not a valid HTTP-date or has more than one member.

    .. versionadded:: 0.1
    """
    value = value.strip(" \t")
    match = _HTTP_DATE.fullmatch(value)
    if match is None:
        return None
    date = parse_date(value)
    if date is not None and match["short_year"] is not None:
        date = _rfc850_century(date)
    return date


def _rfc850_century(date: dt.datetime) -> dt.datetime:
    # RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the
    # future is the most recent past year with those digits. email.utils puts
    # 69 to 99 in the 1900s and the rest in the 2000s instead.
    now = dt.datetime.now(dt.timezone.utc)
    year = now.year - now.year % 100 + date.year % 100
    if year > now.year + 50:
        year -= 100
    try:
        return date.replace(year=year)
    except ValueError:  # 29 February of a year that has none
        return date.replace(year=year, day=28)


def _header(headers: HeaderLookup, name: str) -> str | None:
    value = headers.get(name)
    # An empty field value is not a valid member of any of these fields; it is
    # treated as if the field were absent.
    if value is None or not value.strip(" \t"):
        return None
    return value


def _is_current_tag(value: str, current: Validators | None, weak: bool) -> bool:
    """Whether a field value is exactly the current entity-tag.

    Clients nearly always send back the one tag they were given; recognising
    it saves parsing the list. ``weak`` allows the weak comparison (§8.8.3.2).
    """
    if current is None or current.etag is None or (current.weak and not weak):
        return False
    value = value.strip(" \t")
    if value.startswith("W/"):
        if not weak:
            return False
        value = value[2:]
    return value == f'"{current.etag}"'


def _strong_match(tags: ETags, current: Validators) -> bool:
    # RFC 9110 §8.8.3.2: strong comparison needs both tags to be strong.
    if tags.star_tag:
        return True
    return current.etag is not None and not current.weak and current.etag in tags


def _weak_match(tags: ETags, current: Validators) -> bool:
    if tags.star_tag:
        return True
    return current.etag is not None and tags.contains_weak(current.etag)


def _unmodified_since(date: dt.datetime, last_modified: dt.datetime) -> bool:
    # HTTP-dates have a resolution of one second (RFC 9110 §5.6.7).
    return last_modified.replace(microsecond=0) <= date


def evaluate(
    method: str,
    headers: HeaderLookup,
    current: Validators | None,
    *,
    required_methods: t.Collection[str] = DEFAULT_REQUIRED_METHODS,
    max_header_length: int = DEFAULT_MAX_HEADER_LENGTH,
) -> Decision:
    """Evaluate a request's preconditions against the resource's current state.

    This follows RFC 9110 §13.2.2 step by step: ``If-Match``, then
    ``If-Unmodified-Since`` when ``If-Match`` is absent, then ``If-None-Match``,
    then ``If-Modified-Since`` for GET and HEAD when ``If-None-Match`` is absent.
    It adds the rule of RFC 6585 §3: a request whose method is in
    ``required_methods`` and that does not say which version it modifies is
    answered with 428.

    :param method: the request method, upper case.
    :param headers: the request headers; only the four precondition fields
        are read, by their canonical names. Werkzeug's header objects and plain
        dicts both work.
    :param current: the resource's current validators, or ``None`` when the
        resource does not exist.
    :param required_methods: methods that must carry ``If-Match`` or
        ``If-Unmodified-Since`` (or ``If-None-Match: *`` to create).
    :param max_header_length: longer precondition values are answered with 431
        instead of being parsed.

    .. versionadded:: 0.1
    """
    if method in IGNORING_METHODS:
        return _PROCEED

    if_match = _header(headers, "If-Match")
    if_none_match = _header(headers, "If-None-Match")
    if_unmodified_since = _header(headers, "If-Unmodified-Since")
    if_modified_since = _header(headers, "If-Modified-Since")

    for name, value in (
        ("If-Match", if_match),
        ("If-None-Match", if_none_match),
        ("If-Unmodified-Since", if_unmodified_since),
        ("If-Modified-Since", if_modified_since),
    ):
        if value is not None and len(value) > max_header_length:
            return Decision(
                Outcome.HEADER_TOO_LARGE,
                name,
                f"The {name} header is longer than {max_header_length} characters.",
            )

    safe = method in ("GET", "HEAD")
    exists = current is not None

    # RFC 9110 §13.2.1: preconditions are ignored where the response without
    # them would not be 2xx or 412. Only PUT can create a missing resource.
    if not exists and method != "PUT":
        return Decision(
            Outcome.NOT_FOUND, None, "The resource does not exist (RFC 9110 §13.2.1)."
        )

    decided = _evaluate_conditions(
        method,
        safe,
        current,
        if_match,
        if_none_match,
        if_unmodified_since,
        if_modified_since,
    )
    if decided is not None:
        return decided

    if method in required_methods:
        return _require_precondition(
            current, if_match, if_none_match, if_unmodified_since
        )
    return _PROCEED


def _evaluate_conditions(
    method: str,
    safe: bool,
    current: Validators | None,
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
    if_modified_since: str | None,
) -> Decision | None:
    """Steps 1 to 4 of RFC 9110 §13.2.2; ``None`` means every condition held."""
    # Step 1: If-Match, strong comparison (§13.1.1).
    if if_match is not None and not _is_current_tag(if_match, current, weak=False):
        tags = parse_entity_tags(if_match)
        if tags is None:
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Match",
                "The If-Match header is not '*' or a list of quoted entity-tags"
                " (RFC 9110 §13.1.1).",
                malformed=True,
            )
        if current is None or not _strong_match(tags, current):
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Match",
                "No entity-tag in If-Match matches the current representation"
                " (RFC 9110 §13.1.1, strong comparison).",
            )
    # Step 2: If-Unmodified-Since, only when If-Match is absent (§13.1.4).
    elif if_match is None and if_unmodified_since is not None and current is not None:
        date = parse_http_date(if_unmodified_since)
        last_modified = current.last_modified
        if (
            date is not None
            and last_modified is not None
            and not _unmodified_since(date, last_modified)
        ):
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Unmodified-Since",
                "The resource was modified after the If-Unmodified-Since date"
                " (RFC 9110 §13.1.4).",
            )

    # Step 3: If-None-Match, weak comparison (§13.1.2).
    if if_none_match is not None:
        if _is_current_tag(if_none_match, current, weak=True):
            matched, star = True, False
        else:
            tags = parse_entity_tags(if_none_match)
            # A malformed value cannot name any representation: it is ignored.
            matched = (
                tags is not None and current is not None and _weak_match(tags, current)
            )
            star = tags is not None and tags.star_tag
        if matched:
            if safe:
                return Decision(
                    Outcome.NOT_MODIFIED,
                    "If-None-Match",
                    "The client's representation is current (RFC 9110 §13.1.2).",
                )
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-None-Match",
                "If-None-Match: * was sent but the resource exists (RFC 9110 §13.1.2)."
                if star
                else "An entity-tag in If-None-Match matches the current"
                " representation (RFC 9110 §13.1.2).",
            )
    # Step 4: If-Modified-Since, GET and HEAD only, only when If-None-Match is
    # absent (§13.1.3).
    elif safe and if_modified_since is not None and current is not None:
        date = parse_http_date(if_modified_since)
        last_modified = current.last_modified
        if (
            date is not None
            and last_modified is not None
            and _unmodified_since(date, last_modified)
        ):
            return Decision(
                Outcome.NOT_MODIFIED,
                "If-Modified-Since",
                "The resource was not modified since the If-Modified-Since date"
                " (RFC 9110 §13.1.3).",
            )
    return None


def _require_precondition(
    current: Validators | None,
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
) -> Decision:
    """RFC 6585 §3: the request must say which version it modifies.

    Only called once every condition the request sent has held.
    """
    if current is None:
        # Creating: only If-None-Match: * says "no version exists yet". An
        # If-Match would already have failed on the absent resource.
        if if_none_match is not None and if_none_match.strip(" \t") == "*":
            return _PROCEED
        return Decision(
            Outcome.PRECONDITION_REQUIRED,
            "If-None-Match",
            "A request that creates this resource must send If-None-Match: *.",
        )
    if if_match is not None:
        return _PROCEED
    if (
        if_unmodified_since is not None
        and current.last_modified is not None
        and parse_http_date(if_unmodified_since) is not None
    ):
        return _PROCEED
    return Decision(
        Outcome.PRECONDITION_REQUIRED,
        "If-Match",
        "A request that modifies this resource must send If-Match with the"
        " entity-tag it was read with (RFC 6585 §3).",
    )
