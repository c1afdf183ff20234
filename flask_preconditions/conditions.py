"""Evaluation of HTTP preconditions, as RFC 9110 §13 defines it.

Nothing in this module knows about Flask: :func:`evaluate` takes the request
method, the request's header values and the resource's current validators, and
returns a :class:`Decision`. The rest of the policy the Flask glue applies lives
here too: the method sets, which headers a 304 keeps, the date clamp, and what
the status of a GET says about a resource. The glue only gathers inputs and
turns decisions into responses.
"""

from __future__ import annotations

import datetime as dt
import enum
import typing as t

from .comparison import altered_match
from .comparison import is_current_tag
from .comparison import recoded_match
from .comparison import strong_match
from .comparison import unmodified_since
from .comparison import weak_match
from .decisions import Cause
from .decisions import Decision as Decision
from .decisions import HeaderLookup as HeaderLookup
from .decisions import Outcome as Outcome
from .decisions import Validators as Validators
from .headers import parse_entity_tags
from .headers import parse_http_date

#: Methods whose requests never carry meaningful preconditions (RFC 9110 §13.2.1).
IGNORING_METHODS = frozenset({"OPTIONS", "CONNECT", "TRACE"})

#: The methods answered with a representation, which get validators and 304s.
SAFE_METHODS = frozenset({"GET", "HEAD"})

#: Methods whose successful response describes the target resource's new state,
#: so it carries the new validators (RFC 9110 §9.3.4, §9.3.5 and RFC 5789). A
#: POST's 201 describes the created resource instead (§15.3.2).
NEW_VALIDATOR_METHODS = frozenset({"PUT", "PATCH"})


#: The unsafe methods that must be conditional unless configured otherwise.
DEFAULT_REQUIRED_METHODS = frozenset({"PUT", "PATCH", "DELETE"})

#: Precondition header values longer than this are refused with 431.
DEFAULT_MAX_HEADER_LENGTH = 8192


_PROCEED = Decision(Outcome.PROCEED)


def _header(headers: HeaderLookup, name: str) -> str | None:
    value = headers.get(name)
    # An empty field value is not a valid member of any of these fields; it is
    # treated as if the field were absent.
    if value is None or not value.strip(" \t"):
        return None
    return value


def evaluate(
    method: str,
    headers: HeaderLookup,
    current: Validators | None,
    *,
    required_methods: t.Collection[str] = DEFAULT_REQUIRED_METHODS,
    max_header_length: int = DEFAULT_MAX_HEADER_LENGTH,
    accept_altered_tags: bool = False,
    require_entity_tag: bool = False,
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
    :param accept_altered_tags: also take, in ``If-Match`` and
        ``If-None-Match``, the current strong entity-tag as a compressing
        intermediary alters it: weakened (``W/"tag"``) or with a content-coding
        suffix (:data:`~flask_preconditions.comparison.CODING_SUFFIXES`). A
        deviation from the strong comparison of §13.1.1, for deployments
        behind such intermediaries.
    :param require_entity_tag: only ``If-Match`` with an entity-tag (or
        ``If-None-Match: *`` to create) satisfies the 428 rule; ``If-Match:
        *`` and ``If-Unmodified-Since`` alone do not.

    .. versionchanged:: 0.2
        Added ``accept_altered_tags`` and ``require_entity_tag``.

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
                cause=Cause.TOO_LARGE,
            )

    safe = method in SAFE_METHODS
    exists = current is not None

    # RFC 9110 §13.2.1: preconditions are ignored where the response without
    # them would not be 2xx or 412. Only PUT can create a missing resource.
    if not exists and method != "PUT":
        return Decision(
            Outcome.NOT_FOUND,
            None,
            "The resource does not exist (RFC 9110 §13.2.1).",
            cause=Cause.NOT_FOUND,
        )

    decided = _evaluate_conditions(
        method,
        safe,
        accept_altered_tags,
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
            current, if_match, if_none_match, if_unmodified_since, require_entity_tag
        )
    return _PROCEED


def revalidates_current_tag(
    method: str,
    if_none_match: str,
    current: Validators | None,
    *,
    max_header_length: int = DEFAULT_MAX_HEADER_LENGTH,
) -> bool:
    """Whether a GET or HEAD whose only precondition is ``If-None-Match:
    <if_none_match>`` is answered 304 by :func:`evaluate`, because the value
    is exactly the current entity-tag.

    The request clients send most, a cache or a client revalidating the tag it
    was given, decided without the rest of :func:`evaluate`. Only for a
    request that carries none of the other three precondition fields; when
    this returns ``False``, :func:`evaluate` decides.

    .. versionadded:: 0.2
    """
    return (
        method in SAFE_METHODS
        and len(if_none_match) <= max_header_length
        and is_current_tag(if_none_match, current, weak=True)
    )


def matches_current_tag(
    if_match: str,
    current: Validators | None,
    *,
    max_header_length: int = DEFAULT_MAX_HEADER_LENGTH,
) -> bool:
    """Whether a request whose only precondition is ``If-Match: <if_match>``
    is let through by :func:`evaluate`, whatever its method and settings,
    because the value is the current strong entity-tag (or one an older key
    gave the same state) alone, with at most whitespace around it.

    The write clients send most, one that names the tag it was given,
    decided without the rest of :func:`evaluate`: the tag satisfies the
    strong comparison of §13.1.1 and the 428 rule (it names a version, with
    an entity-tag). Only for a request that carries none of the other three
    precondition fields; when this returns ``False``, :func:`evaluate`
    decides.

    .. versionadded:: 0.2
    """
    return len(if_match) <= max_header_length and is_current_tag(
        if_match, current, weak=False
    )


def _evaluate_conditions(
    method: str,
    safe: bool,
    accept_altered_tags: bool,
    current: Validators | None,
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
    if_modified_since: str | None,
) -> Decision | None:
    """Steps 1 to 4 of RFC 9110 §13.2.2; ``None`` means every condition held."""
    # Step 1: If-Match, strong comparison (§13.1.1).
    if if_match is not None and not is_current_tag(if_match, current, weak=False):
        tags = parse_entity_tags(if_match)
        if tags is None:
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Match",
                "The If-Match header is not '*' or a list of quoted entity-tags"
                " (RFC 9110 §13.1.1).",
                malformed=True,
                cause=Cause.MALFORMED_TAG,
            )
        if current is None or not (
            strong_match(tags, current)
            or (
                accept_altered_tags
                and not current.weak
                and altered_match(tags, current)
            )
        ):
            if current is None:
                cause = Cause.NO_RESOURCE
            elif weak_match(tags, current):
                cause = Cause.WEAK_TAG
            elif recoded_match(tags, current):
                cause = Cause.RECODED_TAG
            else:
                cause = Cause.STALE_TAG
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Match",
                "No entity-tag in If-Match matches the current representation"
                " (RFC 9110 §13.1.1, strong comparison).",
                cause=cause,
            )
    # Step 2: If-Unmodified-Since, only when If-Match is absent (§13.1.4).
    elif if_match is None and if_unmodified_since is not None and current is not None:
        date = parse_http_date(if_unmodified_since)
        last_modified = current.last_modified
        if (
            date is not None
            and last_modified is not None
            and not unmodified_since(date, last_modified)
        ):
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-Unmodified-Since",
                "The resource was modified after the If-Unmodified-Since date"
                " (RFC 9110 §13.1.4).",
                cause=Cause.MODIFIED_SINCE,
            )

    # Step 3: If-None-Match, weak comparison (§13.1.2).
    if if_none_match is not None:
        if is_current_tag(if_none_match, current, weak=True):
            matched, star = True, False
        else:
            tags = parse_entity_tags(if_none_match)
            # A malformed value cannot name any representation: it is ignored.
            matched = (
                tags is not None
                and current is not None
                and (
                    weak_match(tags, current)
                    or (accept_altered_tags and recoded_match(tags, current))
                )
            )
            star = tags is not None and tags.star_tag
        if matched:
            if safe:
                return Decision(
                    Outcome.NOT_MODIFIED,
                    "If-None-Match",
                    "The client's representation is current (RFC 9110 §13.1.2).",
                    cause=Cause.NOT_MODIFIED,
                )
            return Decision(
                Outcome.PRECONDITION_FAILED,
                "If-None-Match",
                "If-None-Match: * was sent but the resource exists (RFC 9110 §13.1.2)."
                if star
                else "An entity-tag in If-None-Match matches the current"
                " representation (RFC 9110 §13.1.2).",
                cause=Cause.EXISTS if star else Cause.NONE_MATCH,
            )
    # Step 4: If-Modified-Since, GET and HEAD only, only when If-None-Match is
    # absent (§13.1.3).
    elif safe and if_modified_since is not None and current is not None:
        date = parse_http_date(if_modified_since)
        last_modified = current.last_modified
        if (
            date is not None
            and last_modified is not None
            and unmodified_since(date, last_modified)
        ):
            return Decision(
                Outcome.NOT_MODIFIED,
                "If-Modified-Since",
                "The resource was not modified since the If-Modified-Since date"
                " (RFC 9110 §13.1.3).",
                cause=Cause.NOT_MODIFIED,
            )
    return None


def _require_precondition(
    current: Validators | None,
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
    require_entity_tag: bool,
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
            cause=Cause.MISSING_IF_NONE_MATCH,
        )
    if require_entity_tag:
        # If-Match: * only says "it exists", and a far-future date is always
        # true: neither names the version the client edited.
        if if_match is not None and if_match.strip(" \t") != "*":
            return _PROCEED
        return Decision(
            Outcome.PRECONDITION_REQUIRED,
            "If-Match",
            "A request that modifies this resource must send If-Match with the"
            " entity-tag it was read with; this API accepts neither If-Match: *"
            " nor If-Unmodified-Since in its place (RFC 6585 §3).",
            cause=Cause.MISSING_IF_MATCH,
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
        cause=Cause.MISSING_IF_MATCH,
    )


# -- what the glue needs to know besides evaluate() -----------------------------

#: The headers a 304 made from a 200 leaves out, lower case: representation
#: metadata that describes the content a 304 does not carry (RFC 9110 §8.3 to
#: §8.6, §14.4, §15.4.5), and ``Allow``, which Werkzeug's own 304 leaves out
#: too. Everything else a 200 carries stays on its 304: validators, caching
#: headers, Set-Cookie, and what the app's hooks added (CORS, tracing).
#:
#: .. versionadded:: 0.2
CONTENT_METADATA = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-range",
        "content-md5",
        "content-disposition",
        "transfer-encoding",
        "trailer",
        "allow",
    }
)


def kept_on_not_modified(name: str) -> bool:
    """Whether a 304 made from a 200 keeps the header ``name``.

    Every header but the metadata of the content it omits: a 304 must carry
    what the 200 would have carried to update the cached response (§15.4.5),
    and an app's own headers, such as CORS, must reach the client too.

    .. versionadded:: 0.2
    """
    return name.lower() not in CONTENT_METADATA


def clamp_last_modified(last_modified: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The ``Last-Modified`` date to send for a resource, given the present.

    RFC 9110 §8.8.2.1: an origin server must not send a date later than its
    own clock, and replaces such a date with the present.

    .. versionadded:: 0.2
    """
    return min(last_modified, now)


class Presence(enum.Enum):
    """What the status of a GET of a resource says about the resource.

    .. versionadded:: 0.2
    """

    #: A 2xx: the resource exists, and the response carries its validators.
    PRESENT = "present"
    #: A 2xx without ``ETag`` or ``Last-Modified`` (a streamed response): the
    #: resource exists, but no entity-tag a client holds can be confirmed.
    NO_VALIDATOR = "no-validator"
    #: 404 or 410: the resource does not exist.
    ABSENT = "absent"
    #: 401 or 403: the request lacks the credentials the write needs too, and
    #: the write view will refuse it the same way; preconditions do not apply.
    NOT_APPLICABLE = "not-applicable"
    #: 429 or 503: the server cannot read the resource now; a write cannot be
    #: checked, and the client may send it again later.
    UNAVAILABLE = "unavailable"
    #: Anything else (a redirect, 406, a 500): nothing is known about the
    #: resource. It is taken to exist with no validator a client could hold,
    #: so only ``If-Match: *`` can write: fail closed, never unchecked.
    UNKNOWN = "unknown"


def presence_from_status(status: int) -> Presence:
    """Classify the status of a GET of a write's target resource.

    .. versionadded:: 0.2
    """
    if 200 <= status < 300:
        return Presence.PRESENT
    if status in (404, 410):
        return Presence.ABSENT
    if status in (401, 403):
        return Presence.NOT_APPLICABLE
    if status in (429, 503):
        return Presence.UNAVAILABLE
    return Presence.UNKNOWN


def unsafe_methods(methods: t.Iterable[str]) -> frozenset[str]:
    """Upper-case method names, refusing methods that cannot be required.

    Safe methods and those that ignore preconditions (§13.2.1) cannot be
    made to carry one.

    :raise ValueError: a name is a safe or ignoring method.

    .. versionadded:: 0.2
    """
    required = frozenset(m.upper() for m in methods)
    refused = required & (SAFE_METHODS | IGNORING_METHODS)
    if refused:
        raise ValueError(
            "PRECONDITIONS_REQUIRED_METHODS may only name unsafe methods,"
            f" not {sorted(refused)}."
        )
    return required
