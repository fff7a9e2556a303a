"""Under CI=true the browser tests must run: a missing chromium fails the run, never skips it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_check import in_ci, missing_browser


def test_ci_has_the_browser_the_browser_tests_need():  # type: ignore[no-untyped-def]
    if not in_ci():
        pytest.skip("not in CI (CI=true): browser tests may be skipped here")
    assert missing_browser() is None, f"CI=true but {missing_browser()}"


def test_a_missing_chromium_is_reported(monkeypatch):  # type: ignore[no-untyped-def]
    assert "no /nowhere/chromium" in (missing_browser(Path("/nowhere/chromium")) or "")
    monkeypatch.setenv("CI", "true")
    assert in_ci()
    monkeypatch.setenv("CI", "")
    assert not in_ci()
