"""Dedupe keys: each names what a message is for, so a repeated launch or job queues it once.

Where a key is built inside an INSERT ... SELECT, its `*_sql` twin builds the same text in SQL.
"""

from __future__ import annotations

import operator
from datetime import date
from functools import reduce

from sqlalchemy import String, cast, literal
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

# A column of a table or an ORM attribute: what a key is built from inside a statement.
SQLColumn = ColumnElement | InstrumentedAttribute


def _sql_key(*parts: int | str | SQLColumn) -> ColumnElement[str]:
    """Join the parts with ':' in SQL, constants merged into one literal between columns."""
    pieces: list[str | SQLColumn] = []
    for index, part in enumerate(parts):
        separator = ":" if index else ""
        if not isinstance(part, int | str):
            if separator:
                pieces.append(separator)
            pieces.append(part)
        else:
            pieces.append(separator + str(part))
    merged: list[str | SQLColumn] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return reduce(
        operator.add,
        [literal(p, String) if isinstance(p, str) else cast(p, String) for p in merged],
    )


def prompt_key(resident_id: int, prompt_id: int, attempt: int = 1) -> str:
    """The dedupe key of a campaign prompt sent to a resident."""
    return f"prompt:{resident_id}:{prompt_id}:{attempt}"


def prompt_key_sql(
    resident_id: SQLColumn | int, prompt_id: SQLColumn | int, attempt: int = 1
) -> ColumnElement[str]:
    """`prompt_key` as a SQL expression over columns (or constants)."""
    return _sql_key("prompt", resident_id, prompt_id, attempt)


def reply_key(inbound_id: int, number: int) -> str:
    """The dedupe key of reply number `number` (counting from 0) to an inbound message."""
    return f"reply:{inbound_id}:{number}"


def reply_key_sql(inbound_id: SQLColumn | int, number: SQLColumn | int) -> ColumnElement[str]:
    """`reply_key` as a SQL expression."""
    return _sql_key("reply", inbound_id, number)


def nudge_key(resident_id: int, prompt_id: int, number: int) -> str:
    """The dedupe key of the `number`th nudge (from 1) about a prompt."""
    return f"nudge:{resident_id}:{prompt_id}:{number}"


def checkin_key(resident_id: int, day: date) -> str:
    """The dedupe key of a resident's check-in on a day of the community's calendar."""
    return f"checkin:{resident_id}:{day.isoformat()}"


def quotes_key(resident_id: int, inbound_id: int) -> str:
    """The dedupe key of the question whether a resident's words may be quoted, asked after the
    message `inbound_id` (asked again after a restart, even within the same second)."""
    return f"quotes:{resident_id}:{inbound_id}"


def safeguarding_key(alert_id: int) -> str:
    """The dedupe key of the message telling the safeguarding lead about an alert."""
    return f"safeguarding:{alert_id}"


def report_back_key(campaign_id: int, version: str, resident_id: int) -> str:
    """The dedupe key of a "you said, we did" text (`version` fingerprints it) to a resident."""
    return f"report_back:{campaign_id}:{version}:{resident_id}"


def report_back_key_sql(
    campaign_id: int, version: str, resident_id: SQLColumn | int
) -> ColumnElement[str]:
    """`report_back_key` as a SQL expression over the resident id column."""
    return _sql_key("report_back", campaign_id, version, resident_id)
