"""`make run` on an empty database: migrates, loads the demo, serves, and /healthz answers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_in(port: int, email: str, password: str) -> str:
    """Log in through the real form (with its CSRF token); return the first community listed."""
    import http.cookiejar
    import re
    import urllib.parse

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    base = f"http://127.0.0.1:{port}/admin"
    page = opener.open(f"{base}/login", timeout=5).read().decode()
    field, token = re.search(r'name="(\w*csrf\w*)"[^>]*value="([^"]+)"', page).groups()
    form = urllib.parse.urlencode({field: token, "email": email, "password": password}).encode()
    home = opener.open(f"{base}/login", data=form, timeout=5).read().decode()
    return re.search(r"Demo Town", home).group(0)


@pytest.mark.slow
def test_make_run_serves_the_demo_and_healthz(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'voices.db'}",
        VOICES_INSTANCE_PATH=str(tmp_path / "instance"),
        VOICES_ENV="development",
    )
    env.pop("SECRET_KEY", None)
    env.pop("VOICES_DATA_KEY", None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
                    break
            except OSError:
                time.sleep(0.3)
        assert health == {"status": "ok", "database": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/simulator", timeout=5) as r:
            assert b"DEMO" in r.read()
        assert (tmp_path / "instance" / "data_key").exists()
        email, password = (tmp_path / "instance" / "demo_login.txt").read_text().split()
        assert log_in(port, email, password) == "Demo Town"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert "demo: loaded community 'demo'" in output
    assert "/simulator" in output
    assert f"log in as {email}, password {password}" in output
    assert "SMS/WhatsApp: off" in output
