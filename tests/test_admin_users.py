"""`voices user add`: organisers and staff get web logins from the command line."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage import users
from storage.models import User, UserCommunity
from tests.admin_support import PASSWORD
from tests.helpers import add_community
from webhooks.cli import cli, main


@pytest.fixture
def env(monkeypatch, database_url, db, services, tmp_path):  # type: ignore[no-untyped-def]
    from tests.conftest import DATA_KEY

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    add_community(services, "cumnock", "Cumnock")
    return services


def run(*args: str, stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


def test_a_staff_login_reads_its_password_from_standard_input(env):
    code, out = run(
        "user", "add", "Ann@Example.org", "--role", "staff", "--community", "cumnock",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, out
    assert "created staff ann@example.org for cumnock" in out
    with env.db.session_scope() as session:
        user = session.scalar(select(User))
        assert user.password_hash.startswith("$argon2")
        assert PASSWORD not in user.password_hash
        assert session.scalar(select(UserCommunity.community_id)) is not None
        assert users.check_password(session, "ann@example.org", PASSWORD) is not None
        assert users.check_password(session, "ann@example.org", "wrong password") is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--role", "staff"), PASSWORD, "needs at least one --community"),
        (("--role", "staff", "--community", "nowhere"), PASSWORD, "no community 'nowhere'"),
        (("--role", "admin"), "short\n", "at least 10 characters"),
        (("--role", "admin"), "", "no password given"),
    ],
    ids=["no-community", "unknown-community", "short-password", "no-password"],
)
def test_user_mistakes_are_one_clear_line(env, monkeypatch, capsys, args, stdin, message):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["user", "add", "bob@example.org", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    with env.db.session_scope() as session:
        assert session.scalar(select(User)) is None


def test_the_same_email_cannot_be_added_twice(env):
    assert run("user", "add", "a@example.org", "--role", "admin", stdin=PASSWORD)[0] == 0
    code, out = run("user", "add", "A@example.org", "--role", "admin", stdin=PASSWORD)
    assert code != 0 and "already exists" in out


def _read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    import os
    import select as selectors
    import time

    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = selectors.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
    return seen


@pytest.mark.slow
def test_on_a_terminal_the_password_is_asked_twice_and_not_shown(env, database_url, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import DATA_KEY

    voices = Path(sys.executable).with_name("voices")
    leader, follower = os.openpty()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VOICES_DATA_KEY": DATA_KEY,
        "SECRET_KEY": "x",
        "VOICES_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    process = subprocess.Popen(
        [str(voices), "user", "add", "t@example.org", "--role", "admin"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environ,
        cwd=tmp_path,
    )
    os.close(follower)
    try:
        assert b"Password" in _read_until(leader, b"Password")
        os.write(leader, PASSWORD.encode() + b"\n")
        assert b"confirmation" in _read_until(leader, b"confirmation")
        os.write(leader, PASSWORD.encode() + b"\n")
        rest = _read_until(leader, b"log in at /admin/")
        assert process.wait(20) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    assert b"created admin t@example.org" in rest
    assert PASSWORD.encode() not in rest
    with env.db.session_scope() as session:
        assert users.check_password(session, "t@example.org", PASSWORD) is not None
