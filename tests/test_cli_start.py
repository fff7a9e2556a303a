"""`voices` starts at once: the heavy libraries load only inside the commands that need them."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.cli.commands import EXPORT_FORMATS
from bot.cli.users import ROLES
from storage import users
from storage.exports import FORMATS

HEAVY = (
    "sklearn",
    "numpy",
    "scipy",
    "twilio",
    "telegram",
    "flask",
    "sqlalchemy",
    "xlsxwriter",
    "fpdf",
    "segno",
    "argon2",
    "psycopg",
    "apscheduler",
)
LOADED = (
    "import json, sys\n"
    "from webhooks.cli import main\n"
    "main(['--help'])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_voices_help_loads_none_of_the_heavy_libraries():
    shown = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "export" in shown and "serve" in shown
    loaded = json.loads(shown.splitlines()[-1])
    heavy = sorted({name.split(".")[0] for name in loaded} & set(HEAVY))
    assert heavy == []


def test_the_choices_on_the_command_line_are_the_ones_the_code_accepts():
    assert EXPORT_FORMATS == FORMATS
    assert ROLES == users.ROLES
