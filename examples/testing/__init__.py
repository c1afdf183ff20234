"""Apps and tests that show the pytest plugin, ``flask_preconditions.testing``."""
