"""The lock protocol, its error, and the key that names a resource.

.. versionadded:: 0.2
"""

from __future__ import annotations

import hashlib
import math
import typing as t
import urllib.parse

# How long a waiter sleeps between attempts on a file or Redis lock. Neither
# wakes a waiter on release, so this is the longest a free lock stays unused;
# short enough to be lost in a write request's own time, long enough that a
# queue of waiters costs little CPU or Redis load.
POLL_INTERVAL = 0.01


class LockTimeout(Exception):
    """The lock on :attr:`key` could not be taken within :attr:`timeout`
    seconds, because another request held it all that time.

    Nothing has been written when it is raised, so the request can be
    refused and safely retried.

    .. versionadded:: 0.2
    """

    #: The key whose lock was busy.
    key: str
    #: How many seconds the request waited.
    timeout: float

    def __init__(self, key: str, timeout: float) -> None:
        # Both go to Exception so that args holds them and the exception
        # pickles (multiprocessing, logging handlers) and unpickles intact.
        super().__init__(key, timeout)
        self.key = key
        self.timeout = timeout

    def __str__(self) -> str:
        return f"the lock on {self.key!r} could not be taken within {self.timeout} s"


class HeldLock(t.Protocol):
    """A lock that :meth:`LockBackend.acquire` has taken.

    .. versionadded:: 0.2
    """

    def release(self) -> None:
        """Give the lock up.

        Idempotent: calling it again, or on a lock that has already ended (a
        lease that ran out, a connection that closed), does nothing and never
        raises. It may be called from a thread other than the one that took
        the lock, since a server may finish a response on another thread.

        Always release a lock explicitly. One whose object is dropped
        unreleased ends at garbage collection for :class:`FileLocks` and
        :class:`PostgresAdvisoryLocks`, at its lease for :class:`RedisLocks`,
        and never for :class:`ThreadLocks`.
        """
        ...


class LockBackend(t.Protocol):
    """The protocol every lock backend implements.

    Implement it to lock with something this module does not cover (etcd,
    ZooKeeper, Consul, ...) and pass the object as ``PRECONDITIONS_LOCK``. A
    backend must:

    - exclude every other holder of the same key, in every process and on
      every host that serves the application, until the lock is released;
    - wait at most ``timeout`` seconds, then raise :exc:`LockTimeout`; with
      ``timeout=0``, try once and never wait;
    - end a lock whose holder died (its process was killed, its host went
      down) by itself, on the operating system's or the service's side, or
      after a bounded lease;
    - map distinct keys onto one lock, if it likes (the stripes of
      :class:`FileLocks` do): that serialises their requests, which is safe
      because a request holds one lock at a time.

    It need not be reentrant: the extension never takes a second lock while it
    holds one. A thread that asks again for a key it holds waits and times
    out, which is safe.

    .. versionadded:: 0.2
    """

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``, waiting at most ``timeout`` seconds.

        :param key: the resource, as :func:`resource_key` names it.
        :param timeout: seconds to wait, finite and not negative; ``0`` tries
            once.
        :raises LockTimeout: another holder kept the lock all that time.
        """
        ...


def resource_key(
    namespace: str, endpoint: str, view_args: t.Mapping[str, t.Any]
) -> str:
    """The lock key naming one resource: the application, the endpoint and
    the URL's view arguments.

    The key is the same in every process, on every host and after every
    restart (it uses no :func:`hash` and no object ids), so all the workers of
    an application lock the same resource under the same key. URLs that reach
    the same view with the same arguments (a trailing slash, a default value,
    ``/notes/05`` for ``<int:note_id>``) give the same key, because Flask
    gives them the same endpoint and view arguments.

    View arguments are sorted by name, and each value is rendered with
    :class:`str`. A value therefore shares its key with its string form:
    ``5`` and ``"5"`` give one key, as do a :class:`~uuid.UUID` and its
    string. That is safe: requests whose keys are equal are serialised, never
    let through together. A value whose type keeps :class:`object`'s own
    ``__str__`` and ``__repr__`` (text with a memory address, different in
    every process) is refused with :exc:`TypeError`; give its converter's type
    a ``__str__``.

    The format is part of the public API and does not change between
    versions, so that old and new workers exclude each other during a rolling
    deploy: each part percent-encoded (:func:`urllib.parse.quote` with no safe
    characters), as ``namespace:endpoint`` followed by
    ``?name=value&name=value`` when there are view arguments::

        >>> resource_key("notes", "note", {"note_id": 5})
        'notes:note?note_id=5'

    :param namespace: what tells applications apart when they share a lock
        service, usually the application's import name.
    :param endpoint: the URL rule's endpoint.
    :param view_args: the arguments the URL rule matched.

    .. versionadded:: 0.2
    """
    key = f"{_quote(namespace)}:{_quote(endpoint)}"
    if view_args:
        arguments = "&".join(
            f"{_quote(name)}={_quote(_render(name, value))}"
            for name, value in sorted(view_args.items())
        )
        key = f"{key}?{arguments}"
    return key


def _quote(text: str) -> str:
    # Nothing is safe, so ":", "?", "&" and "=" inside a part are encoded and
    # the parts can be told apart: distinct inputs give distinct keys. Lone
    # surrogates (from undecodable URL bytes) are kept, not refused.
    return urllib.parse.quote(text, safe="", errors="surrogatepass")


def _render(name: str, value: t.Any) -> str:
    kind = type(value)
    # Every class's MRO ends with object, whose text holds the id.
    if not any(
        "__str__" in vars(base) or "__repr__" in vars(base)
        for base in kind.__mro__[:-1]
    ):
        raise TypeError(
            f"view argument {name!r} is a {kind.__qualname__} without __str__ or"
            " __repr__, whose text differs between processes, so it cannot name"
            " a resource in a lock key; give the type a __str__"
        )
    return str(value)


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def check_timeout(timeout: float) -> None:
    # NaN fails the comparison too. Waiting forever is what LockTimeout is
    # there to prevent, so infinity is refused as well.
    if not 0 <= timeout < math.inf:
        raise ValueError(
            f"timeout must be a finite number of seconds, 0 or more, not {timeout!r}"
        )


class Hold:
    """The once-only part of :meth:`HeldLock.release`, for the backends here."""

    def __init__(self, key: str) -> None:
        self.key = key
        # Emptied by the first release: list.pop is atomic, so of two threads
        # releasing at once exactly one goes on, without a lock per hold.
        self._unreleased = [True]

    @property
    def _released(self) -> bool:
        return not self._unreleased

    def release(self) -> None:
        try:
            self._unreleased.pop()
        except IndexError:
            return
        self._release()

    def _release(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return f"<{type(self).__name__} {self.key!r} {state}>"
