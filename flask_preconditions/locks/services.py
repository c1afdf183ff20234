"""Locks shared by many hosts: Redis, and PostgreSQL advisory locks.

Each imports its client library lazily, so that neither is needed unless used.

.. versionadded:: 0.2
"""

from __future__ import annotations

import importlib.util
import logging
import math
import typing as t

from .base import check_timeout
from .base import HeldLock
from .base import Hold
from .base import key_digest
from .base import LockTimeout
from .base import POLL_INTERVAL

if t.TYPE_CHECKING:
    import redis
    import sqlalchemy

logger = logging.getLogger("flask_preconditions.locks")

_LOCK_NOT_AVAILABLE = "55P03"


class RedisLocks:
    """Locks that hold across hosts, kept in Redis with redis-py's own
    :class:`redis.lock.Lock`.

    Choose it when the application runs on several hosts that share a Redis
    server. Each lock is a Redis key (``prefix`` + the resource key) set only
    if absent, holding a random token; release deletes it only if it still
    holds that token, so a request never releases another's lock.

    The trade-off is the lease. A lock is a Redis key, not tied to the
    connection of the worker that set it, so every lock expires ``lease``
    seconds after it was taken, held or not: that is what frees the resources
    of a killed worker, after at most ``lease`` seconds. But a request that
    is still writing when its lease runs out loses the lock while it works,
    and another request may enter the critical section: a lost update is
    possible again. So ``lease`` must be longer than the longest write
    request (the server's worker timeout is a good bound), and a killed
    worker's resource stays locked that long. When a lease has run out before
    its release, the release logs a warning on the
    ``flask_preconditions.locks`` logger.

    A single Redis server is assumed. With replication, a lock written to a
    primary that fails before its replica has it can be taken twice.

    :param client_or_url: a :class:`redis.Redis` client, or a URL for
        :meth:`redis.Redis.from_url` (``redis://``, ``rediss://``,
        ``unix://``). A client made from a URL gives up on a connection or
        a command after 5 seconds, unless the URL's ``socket_timeout`` and
        ``socket_connect_timeout`` parameters say otherwise.
    :param lease: seconds after which a lock ends by itself.
    :param prefix: prepended to every resource key, to keep the locks apart
        from the server's other keys.
    :raises ImportError: redis-py is not installed; install
        ``flask-preconditions[redis]``.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        client_or_url: redis.Redis | str,
        *,
        lease: float = 60.0,
        prefix: str = "flask-preconditions:",
    ) -> None:
        try:
            import redis
        except ImportError as error:
            raise ImportError(
                "RedisLocks needs redis-py: install 'flask-preconditions[redis]'"
            ) from error
        # redis-py treats a zero lease as none (the lock would never expire)
        # and sends it in whole milliseconds.
        if not 0.001 <= lease < math.inf:
            raise ValueError(
                f"lease must be a finite number of seconds, at least 0.001, not"
                f" {lease!r}"
            )
        if isinstance(client_or_url, str):
            # Without socket timeouts, a request would hang for as long as a
            # network failure lasts instead of failing.
            client_or_url = redis.Redis.from_url(
                client_or_url, socket_connect_timeout=5.0, socket_timeout=5.0
            )
        #: The Redis client that holds the locks.
        self.client: redis.Redis = client_or_url
        #: Seconds after which a lock ends by itself.
        self.lease: float = lease
        #: Prepended to every resource key.
        self.prefix: str = prefix
        self._not_owned_error = redis.exceptions.LockNotOwnedError

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``; see :meth:`LockBackend.acquire`.

        .. versionadded:: 0.2
        """
        check_timeout(timeout)
        lock = self.client.lock(
            self.prefix + key,
            timeout=self.lease,
            sleep=POLL_INTERVAL,
            blocking=timeout > 0,
            blocking_timeout=timeout,
            # The token must not live in thread-local storage: a server may
            # finish the response, and so release, on another thread.
            thread_local=False,
        )
        if not lock.acquire():
            raise LockTimeout(key, timeout)
        return _RedisHold(key, self, lock)

    def __repr__(self) -> str:
        # Not the client: its repr can be long, and can show connection details.
        return f"{type(self).__name__}(lease={self.lease}, prefix={self.prefix!r})"


class _RedisHold(Hold):
    def __init__(self, key: str, owner: RedisLocks, lock: t.Any) -> None:
        super().__init__(key)
        self._owner = owner
        self._lock = lock

    def _release(self) -> None:
        try:
            self._lock.release()
        except self._owner._not_owned_error:
            logger.warning(
                "The Redis lock on %r reached its lease of %s s before the"
                " request finished, so another request may have entered the"
                " critical section and an update may have been lost. Raise"
                " RedisLocks(lease=...) above the longest write request.",
                self.key,
                self._owner.lease,
            )


class PostgresAdvisoryLocks:
    """Locks that hold across hosts, as PostgreSQL transaction-level advisory
    locks.

    Choose it when the application's hosts share a PostgreSQL server, which
    is then the only service the locks need. Unlike :class:`RedisLocks` there
    is no lease: a lock lasts exactly as long as its request, and when a
    worker dies its connection ends and PostgreSQL releases its lock at once.

    Each acquisition checks a connection out of the engine's pool, begins a
    transaction, sets ``lock_timeout`` for it and calls
    ``pg_advisory_xact_lock`` (``pg_try_advisory_xact_lock`` when
    ``timeout`` is 0); release rolls the transaction back, which ends the
    lock, and returns the connection. The connection stays checked out while
    the request runs, so the pool must have a connection for every request
    that can hold a lock at once in a process, and the wait for a free one is
    the pool's own timeout, not ``timeout``. Use a URL or an engine of its
    own, not the application's: locks and queries drawing on one pool can
    starve each other.

    The advisory lock number of a key is the first 8 bytes of the SHA-256 of
    its UTF-8 encoding, read as a big-endian signed 64-bit integer
    (:meth:`lock_id`): the same on every host, and unlikely to meet the
    application's own advisory lock numbers.

    :param engine_or_url: a SQLAlchemy :class:`~sqlalchemy.engine.Engine` on
        PostgreSQL, or a URL for :func:`sqlalchemy.create_engine` (created
        with ``pool_pre_ping=True``, so that a connection the server closed
        is replaced instead of failing a request). A plain ``postgresql://``
        URL uses psycopg2 if installed, else psycopg 3.
    :raises ImportError: SQLAlchemy is not installed; install
        ``flask-preconditions[postgresql]``.
    :raises ValueError: the engine is not on PostgreSQL.

    .. versionadded:: 0.2
    """

    def __init__(self, engine_or_url: sqlalchemy.Engine | str) -> None:
        try:
            import sqlalchemy
        except ImportError as error:
            raise ImportError(
                "PostgresAdvisoryLocks needs SQLAlchemy and a PostgreSQL driver:"
                " install 'flask-preconditions[postgresql]'"
            ) from error
        if isinstance(engine_or_url, str):
            url = sqlalchemy.make_url(engine_or_url)
            if (
                url.drivername == "postgresql"
                and importlib.util.find_spec("psycopg2") is None
                and importlib.util.find_spec("psycopg") is not None
            ):
                # SQLAlchemy's default driver is psycopg2; the extra installs
                # psycopg 3.
                url = url.set(drivername="postgresql+psycopg")
            engine_or_url = sqlalchemy.create_engine(url, pool_pre_ping=True)
        if engine_or_url.dialect.name != "postgresql":
            raise ValueError(
                "PostgresAdvisoryLocks needs a PostgreSQL engine, not"
                f" {engine_or_url.dialect.name!r}"
            )
        #: The engine whose pool lends the locks' connections.
        self.engine: sqlalchemy.Engine = engine_or_url
        self._text = sqlalchemy.text
        self._database_error = sqlalchemy.exc.DBAPIError

    @staticmethod
    def lock_id(key: str) -> int:
        """The advisory lock number of ``key``: a signed 64-bit integer.

        .. versionadded:: 0.2
        """
        return int.from_bytes(key_digest(key)[:8], "big", signed=True)

    def acquire(self, key: str, timeout: float) -> HeldLock:
        """Take the lock on ``key``; see :meth:`LockBackend.acquire`.

        .. versionadded:: 0.2
        """
        check_timeout(timeout)
        parameters = {"lock_id": self.lock_id(key)}
        connection = self.engine.connect()
        try:
            connection.begin()
            if timeout == 0:
                # lock_timeout = 0 would mean "wait forever".
                acquired = connection.execute(
                    self._text("SELECT pg_try_advisory_xact_lock(:lock_id)"), parameters
                ).scalar_one()
            else:
                milliseconds = max(1, math.ceil(timeout * 1000))
                # SET takes no bind parameters; the value is an int we made.
                connection.execute(
                    self._text(f"SET LOCAL lock_timeout = '{milliseconds}ms'")
                )
                connection.execute(
                    self._text("SELECT pg_advisory_xact_lock(:lock_id)"), parameters
                )
                acquired = True
        except self._database_error as error:
            _end(connection)
            if _sqlstate(error) == _LOCK_NOT_AVAILABLE:
                raise LockTimeout(key, timeout) from None
            raise
        except BaseException:
            _end(connection)
            raise
        if not acquired:
            _end(connection)
            raise LockTimeout(key, timeout)
        return _PostgresHold(key, self, connection)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.engine!r})"


def _sqlstate(error: BaseException) -> str | None:
    original = getattr(error, "orig", None)
    # psycopg 3 says sqlstate, psycopg2 pgcode.
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code if isinstance(code, str) else None


def _end(connection: sqlalchemy.Connection) -> None:
    try:
        connection.rollback()
    finally:
        connection.close()


class _PostgresHold(Hold):
    def __init__(
        self, key: str, owner: PostgresAdvisoryLocks, connection: sqlalchemy.Connection
    ) -> None:
        super().__init__(key)
        self._owner = owner
        self._connection = connection

    def _release(self) -> None:
        try:
            _end(self._connection)
        except self._owner._database_error:
            # A connection that failed has ended its session, and the session
            # took the lock with it; the pool discards the connection.
            logger.warning(
                "The PostgreSQL connection holding the lock on %r failed before"
                " the lock was released; PostgreSQL released it when the"
                " session ended.",
                self.key,
                exc_info=True,
            )
