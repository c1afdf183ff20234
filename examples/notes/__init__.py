"""A small notes API on SQLAlchemy that cannot lose an update.

``app.create_app()`` is the application; ``naive.create_app()`` is the same API
written the way most servers are (check the version, then write with a plain
``UPDATE``), which the extension's write lock makes safe and which loses
updates with the lock off (``PRECONDITIONS_LOCK=off``); ``modes`` serves one
such app per way of protecting it; ``counters`` is a compare-and-swap on a
Core table. ``server``
runs an application under gunicorn and ``race`` makes concurrent clients edit
one note; ``examples/recipes/retrying_client.py`` is the client to use with it.
"""
