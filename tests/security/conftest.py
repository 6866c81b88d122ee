"""Fixtures for the security suite: each test replays an attack on the real binaries.

The suite shares the integration suite's fixtures (servers on fresh homes, vic-machine on
the local target, the local registry with busybox); they are loaded from
tests/integration/conftest.py under a module name of their own, so that both suites can
also run in one pytest process.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/security
"""

import importlib.util
import sys
from pathlib import Path

_INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(_INTEGRATION) not in sys.path:
    sys.path.insert(0, str(_INTEGRATION))

_spec = importlib.util.spec_from_file_location("vic_integration_conftest",
                                               _INTEGRATION / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
sys.modules["vic_integration_conftest"] = _shared
_spec.loader.exec_module(_shared)

# fixtures and hooks, re-exported so that pytest finds them in this conftest
from vic_integration_conftest import *  # noqa: E402,F401,F403
from vic_integration_conftest import (  # noqa: E402,F401
    _binary_exists, pytest_runtest_makereport, pytest_runtest_setup)
