"""Exporting residents' responses, every export recorded: who asked, in which format, filtered how.

The web downloads and `voices export` both call export(); storage.exports keeps the writers.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from storage import exports
from storage.db import Database
from storage.models import ExportRecord

XLSX_CHUNK = 64 * 1024
# Who a command-line export is recorded as when the operating system cannot name its user.
CLI_FALLBACK = "cli"


@dataclass(frozen=True)
class Exporter:
    """Who asked for an export: a web user (by e-mail and id) or the operating-system user."""

    name: str
    user_id: int | None = None

    @classmethod
    def command_line(cls) -> Exporter:
        """The operating-system user running `voices export`, or "cli" when there is none."""
        try:
            return cls(getpass.getuser() or CLI_FALLBACK)
        except (KeyError, OSError):
            # A container user with no passwd entry and no LOGNAME/USER variables.
            return cls(CLI_FALLBACK)


def recorded_filters(
    campaign: str | None = None,
    since: str | None = None,
    until: str | None = None,
    redact: bool = False,
    include_safeguarding: bool = False,
) -> dict[str, str]:
    """The filters as the user gave them, for the record; the ones not used are left out."""
    given = {
        "campaign": campaign or "",
        "since": since or "",
        "until": until or "",
        "redact": "1" if redact else "",
        "include_safeguarding": "1" if include_safeguarding else "",
    }
    return {key: value for key, value in given.items() if value}


def export(
    db: Database,
    spec: exports.ExportFilter,
    fmt: str,
    by: Exporter,
    filters: dict[str, str],
) -> Iterator[bytes]:
    """Record the export, then return its bytes, read from the database as they are consumed."""
    if fmt not in exports.FORMATS:
        raise ValueError(f"{fmt!r} is not one of {', '.join(exports.FORMATS)}")
    with db.session_scope() as session:
        session.add(
            ExportRecord(
                user_id=by.user_id,
                user_email=by.name,
                community_id=spec.community_id,
                format=fmt,
                filters=filters,
            )
        )
    if fmt == "xlsx":
        return _xlsx_chunks(db, spec)
    if fmt == "csv":
        return _csv_chunks(db, spec)
    return (chunk.encode("utf-8") for chunk in exports.jsonl_chunks(_records(db, spec)))


def _records(db: Database, spec: exports.ExportFilter) -> Iterator[tuple[object, ...]]:
    """Export rows read in a session that lives as long as the download."""
    with db.session_scope() as session:
        yield from exports.rows(session, spec)


def _csv_chunks(db: Database, spec: exports.ExportFilter) -> Iterator[bytes]:
    """The CSV export written in a session that lives as long as the download."""
    with db.session_scope() as session:
        yield from exports.csv_export(session, spec)


def _xlsx_chunks(db: Database, spec: exports.ExportFilter) -> Iterator[bytes]:
    """Write the workbook in constant memory to a temporary file, then stream it out."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        exports.write_xlsx(_records(db, spec), path)
        with open(path, "rb") as data:
            while chunk := data.read(XLSX_CHUNK):
                yield chunk
    finally:
        os.unlink(path)
