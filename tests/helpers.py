"""Helpers shared by the test modules (never imported from one test module into another)."""

from __future__ import annotations

import sys

# The installed `heishi` command, run by this interpreter.
HEISHI = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
