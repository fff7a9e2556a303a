"""Whether the browser tests can run: skipped on a laptop without chromium, failed in CI."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    """CI services set CI=true; there a missing browser is a broken run, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_browser(chromium: Path = CHROMIUM) -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not chromium.exists():
        return f"no {chromium} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e .[test])"
    return None


def skip_without_browser() -> pytest.MarkDecorator:
    """Skip when there is no browser, except in CI, where the tests then fail."""
    reason = missing_browser()
    return pytest.mark.skipif(reason is not None and not in_ci(), reason=reason or "")
