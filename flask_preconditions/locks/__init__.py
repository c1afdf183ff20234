"""Per-resource write locks: the critical section around check-then-write.

Checking ``If-Match`` and then writing is two steps. Two requests that carry the
same valid entity-tag can both pass the check before either writes, and one
update is lost. To close that window the extension takes a lock on a key that
names the resource (:func:`resource_key`) before it evaluates the preconditions
of an unsafe request, and releases it once the response is finished. Safe
methods never lock, and a request holds at most one lock, so locks cannot
deadlock one another.

This module supplies the locks. It imports nothing from Flask:

- :class:`LockBackend` and :class:`HeldLock` are the protocol that the
  extension codes against; any object with a matching ``acquire`` method
  (etcd, ZooKeeper, ...) can be used.
- :class:`FileLocks` (the default) holds across the worker processes and
  threads of one host and needs no service.
- :class:`ThreadLocks` holds across the threads of one process only.
- :class:`RedisLocks` and :class:`PostgresAdvisoryLocks` hold across hosts.
- :func:`backend_from_setting` turns the ``PRECONDITIONS_LOCK`` configuration
  value into one of these.

Choosing: every process that can write a resource must use the same backend
with the same settings, or the lock excludes nothing. One host (any number of
gunicorn, uWSGI or waitress workers): :class:`FileLocks`. Several hosts: the
service they already share, :class:`PostgresAdvisoryLocks` when that is the
database, else :class:`RedisLocks`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

from .base import HeldLock
from .base import LockBackend
from .base import LockTimeout
from .base import resource_key
from .local import FileLocks
from .local import ThreadLocks
from .services import PostgresAdvisoryLocks
from .services import RedisLocks

__all__ = [
    "FileLocks",
    "HeldLock",
    "LockBackend",
    "LockTimeout",
    "PostgresAdvisoryLocks",
    "RedisLocks",
    "ThreadLocks",
    "backend_from_setting",
    "resource_key",
]


_ACCEPTED_SETTINGS = (
    "None, False or 'off' (no locking); 'file' (FileLocks, the default);"
    " 'thread' (ThreadLocks); a redis://, rediss:// or unix:// URL (RedisLocks);"
    " a postgresql:// or postgresql+<driver>:// URL (PostgresAdvisoryLocks);"
    " or an object with an acquire(key, timeout) method"
)


def backend_from_setting(value: t.Any) -> LockBackend | None:
    """The lock backend that a ``PRECONDITIONS_LOCK`` configuration value
    names, or ``None`` when locking is off.

    - ``None``, ``False`` or ``"off"``: ``None``, writes are not locked;
    - ``"file"`` (the default): :class:`FileLocks` in its default directory;
    - ``"thread"``: :class:`ThreadLocks`;
    - a ``redis://``, ``rediss://`` or ``unix://`` URL: :class:`RedisLocks`
      on that URL;
    - a ``postgresql://`` or ``postgresql+<driver>://`` URL (such as
      ``postgresql+psycopg://``): :class:`PostgresAdvisoryLocks` on that URL;
    - an object with an ``acquire`` method (a :class:`LockBackend`): that
      object.

    The words are matched ignoring case and surrounding spaces, so the value
    can come from an environment variable.

    :raises ValueError: a string that names no backend.
    :raises TypeError: a value of another type, or a backend class instead of
        an instance.

    .. versionadded:: 0.2
    """
    if value is None or value is False:
        return None
    if isinstance(value, str):
        text = value.strip()
        word = text.lower()
        if word == "off":
            return None
        if word == "file":
            return FileLocks()
        if word == "thread":
            return ThreadLocks()
        scheme, separator, _ = word.partition("://")
        if separator and scheme in {"redis", "rediss", "unix"}:
            return RedisLocks(text)
        if separator and (scheme == "postgresql" or scheme.startswith("postgresql+")):
            return PostgresAdvisoryLocks(text)
        raise ValueError(
            f"PRECONDITIONS_LOCK = {value!r} names no lock backend; it accepts"
            f" {_ACCEPTED_SETTINGS}"
        )
    if isinstance(value, type):
        raise TypeError(
            f"PRECONDITIONS_LOCK is the class {value.__qualname__}; pass an"
            f" instance, such as {value.__qualname__}(...)"
        )
    if callable(getattr(value, "acquire", None)):
        return t.cast(LockBackend, value)
    raise TypeError(
        f"PRECONDITIONS_LOCK = {value!r} ({type(value).__qualname__}) names no"
        f" lock backend; it accepts {_ACCEPTED_SETTINGS}"
    )
