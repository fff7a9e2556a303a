"""The Excel export opens ready to sort and filter, with real dates."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import UTC, datetime

from openpyxl import load_workbook

from storage.exports import COLUMNS
from tests.test_cli import ROOT, answered, env, run  # noqa: F401

EXCEL_TO_STDOUT = ("export", "--community", "cumnock", "--format", "xlsx")


def test_the_workbook_has_dates_a_frozen_header_and_filters(answered, tmp_path):  # noqa: F811
    out = tmp_path / "responses.xlsx"
    code, _ = run("export", "--community", "cumnock", "--format", "xlsx", "--output", str(out))
    assert code == 0
    sheet = load_workbook(out).active
    received = sheet.cell(row=2, column=COLUMNS.index("received_at") + 1)
    assert isinstance(received.value, datetime)
    assert received.is_date
    assert abs((datetime.now(UTC).replace(tzinfo=None) - received.value).total_seconds()) < 600
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:K{sheet.max_row}"  # every column, choice last
    assert sheet.max_row == 3  # the header and two answers


def test_excel_to_a_terminal_is_refused_in_one_sentence(answered):  # noqa: F811
    terminal, other_end = pty.openpty()
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "webhooks.cli", *EXCEL_TO_STDOUT],
            stdout=other_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(other_end)
        os.close(terminal)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        "voices: an Excel file would fill the terminal with binary: add --output responses.xlsx"
    ]
