"""The vocabulary of precondition evaluation: validators, outcomes, decisions.

Plain values, with no knowledge of Flask, shared by
:mod:`~flask_preconditions.conditions` and the layers above it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing as t


class Cause(enum.Enum):
    """Why :func:`~flask_preconditions.conditions.evaluate` stopped a request.

    Each cause has its own problem detail, so that a client is told the truth
    about what it sent and what to send next.

    .. versionadded:: 0.2
    """

    #: ``If-Match`` names only other entity-tags: the client's copy is stale.
    STALE_TAG = "stale-tag"
    #: ``If-Match`` names the current entity-tag only in a weak form, or the
    #: current entity-tag is weak: the strong comparison never matches a weak
    #: tag (§13.1.1), and a proxy that compresses may have weakened it.
    WEAK_TAG = "weak-tag"
    #: ``If-Match`` names the current entity-tag with a content-coding suffix
    #: (``"tag-gzip"``, ``"tag:zstd"``): a compressing intermediary re-encoded
    #: the representation and renamed its tag.
    RECODED_TAG = "recoded-tag"
    #: ``If-Match`` is not ``*`` or a list of entity-tags.
    MALFORMED_TAG = "malformed-tag"
    #: ``If-Match`` was sent for a resource that does not exist.
    NO_RESOURCE = "no-resource"
    #: The resource was modified after the ``If-Unmodified-Since`` date.
    MODIFIED_SINCE = "modified-since"
    #: ``If-None-Match: *`` was sent for a resource that exists.
    EXISTS = "exists"
    #: An entity-tag in ``If-None-Match`` matches, on an unsafe request.
    NONE_MATCH = "none-match"
    #: A conditional GET or HEAD whose representation the client has.
    NOT_MODIFIED = "not-modified"
    #: The resource does not exist and the method cannot create it.
    NOT_FOUND = "not-found"
    #: A write that says nothing of the version it modifies (RFC 6585 §3).
    MISSING_IF_MATCH = "missing-if-match"
    #: A write that would create the resource without ``If-None-Match: *``.
    MISSING_IF_NONE_MATCH = "missing-if-none-match"
    #: A precondition header too long to evaluate at bounded cost.
    TOO_LARGE = "too-large"


class HeaderLookup(t.Protocol):
    """Request headers, looked up by canonical name: a dict or Werkzeug's
    :class:`~werkzeug.datastructures.Headers`.

    .. versionadded:: 0.1
    """

    def get(self, key: str, /) -> str | None: ...


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
    :param previous: tags that name the same state under older keys.

    A named tuple: one is built for every request, and tuples are the cheapest
    immutable records Python has.

    .. versionadded:: 0.1
    """

    etag: str | None = None
    weak: bool = False
    last_modified: dt.datetime | None = None
    #: Opaque tags that name the same state under an older key (a rotated
    #: secret): they match as :attr:`etag` does, but are never sent.
    previous: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Decision:
    """The result of :func:`evaluate`.

    :param outcome: what to do with the request.
    :param header: the request header that decided it, if one did.
    :param reason: a sentence for humans saying why, citing the RFC rule.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Added :attr:`cause`.
    """

    outcome: Outcome
    header: str | None = None
    reason: str = ""
    #: Whether the deciding header was not valid syntax for its field.
    malformed: bool = False
    #: Why, for the problem details that tell the client what to do next.
    cause: Cause | None = None

    @property
    def proceed(self) -> bool:
        """Whether the request goes on to the view."""
        return self.outcome is Outcome.PROCEED
