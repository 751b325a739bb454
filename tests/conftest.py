"""Settings for the whole test run, applied before any test module is imported."""

from __future__ import annotations

import os

# Ray turns 127.0.0.1 into the machine's outward address unless told this is a
# single-machine setup; it reads this when it is first imported, and any test
# (tests/test_exports.py touches nanoservices.ray) may import it first. Traffic
# must stay on loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

# The package's pytest plugin (start_service, fake_clock...): installing the
# package registers it as an entry point; naming it here also covers a checkout
# run from src/ (loaded once either way: the entry point has the module's name).
pytest_plugins = ["nanoservices.testing.plugin"]
