"""`voices serve`: what it tells the developer at start-up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage import users
from tests.test_make_run import free_port

ROOT = Path(__file__).parent.parent


def start_up_lines(tmp_path: Path) -> str:
    """Start `voices serve`, return what it printed up to the health-check line, stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "webhooks.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if not line or line.startswith("Health check"):
                break
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    return "".join(lines)


def test_serve_shows_the_demo_login_only_where_that_user_exists(cli_env, tmp_path):
    login = tmp_path / "instance" / "demo_login.txt"
    login.parent.mkdir(exist_ok=True)
    login.write_text("demo@example.org s3cret-demo\n")

    elsewhere = start_up_lines(tmp_path)
    assert "Health check" in elsewhere
    assert "demo@example.org" not in elsewhere
    assert "voices user add EMAIL --role admin" in elsewhere

    with cli_env.session_scope() as session:
        users.create_user(session, "demo@example.org", "s3cret-demo", "admin", [])
    here = start_up_lines(tmp_path)
    assert "log in as demo@example.org, password s3cret-demo" in here
