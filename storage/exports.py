"""Exports of responses: CSV and JSON Lines streamed, Excel in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import IO, Any

import psycopg
from sqlalchemy import DateTime, String, bindparam, case, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from storage.asked_prompts import AskedPrompts
from storage.export_copy import copy_csv
from storage.export_read_ahead import read_ahead
from storage.models import (
    Assignment,
    Campaign,
    Community,
    Prompt,
    Resident,
    Response,
    UTCDateTime,
)
from storage.redact import redact

COLUMNS = (
    "response_id",
    "community",
    "campaign",
    "prompt_id",
    "prompt",
    "resident",
    "channel",
    "language",
    "received_at",
    "text",
    "choice",
)
FORMATS = ("csv", "jsonl", "xlsx")
_RECEIVED_AT = COLUMNS.index("received_at")
_TEXT = COLUMNS.index("text")
BATCH = 2000


@dataclass(frozen=True)
class ExportFilter:
    """Which responses an export holds."""

    community_id: int
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    redact: bool = False
    # Messages that matched a safeguarding phrase are left out unless asked for.
    include_safeguarding: bool = False


def rows(session: Session, spec: ExportFilter) -> Iterator[tuple[Any, ...]]:
    """Yield export rows in the contract's column order, oldest first, in batches."""
    if session.get_bind().dialect.name == "sqlite":
        yield from _records(session, spec)
        return
    # PostgreSQL computes every column itself, and works in a process of its own: a thread
    # fetches the next batch while this one is written out, instead of taking turns with it.
    batches = read_ahead(_postgresql_batches(session, spec))
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


def _filtered(query: Any, spec: ExportFilter) -> Any:
    """The responses `spec` asks for, oldest first."""
    query = query.where(Response.community_id == spec.community_id).order_by(
        Response.received_at, Response.id
    )
    if not spec.include_safeguarding:
        query = query.where(Response.safeguarding.is_(False))
    if spec.campaign_id is not None:
        query = query.where(Response.campaign_id == spec.campaign_id)
    # As naive UTC, the columns' own form, with no type of their own to convert them: on
    # PostgreSQL the rows are read through psycopg directly, and an aware datetime sent as such
    # would be compared in the database session's time zone.
    if spec.since is not None:
        query = query.where(Response.received_at >= _naive_utc(spec.since))
    if spec.until is not None:
        query = query.where(Response.received_at < _naive_utc(spec.until))
    return query


def _naive_utc(moment: datetime) -> Any:
    return bindparam(None, UTCDateTime().process_bind_param(moment, None), type_=DateTime())


def _answered(query: Any) -> Any:
    """Join each response to the assignment it answered, which holds the language asked in."""
    return query.outerjoin(
        Assignment,
        (Assignment.resident_id == Response.resident_id)
        & (Assignment.prompt_id == Response.prompt_id),
    )


def _postgresql_query(
    spec: ExportFilter, prompts: AskedPrompts, empty_as_null: bool = False
) -> Any:
    """The export rows as PostgreSQL computes them, whole: the prompt's key and asked text, the
    empty strings and the ISO 8601 timestamp (naive UTC columns) all come from the query.

    With `empty_as_null`, empty texts come back as NULL, which COPY writes as an empty CSV field
    (an empty string it writes as \"\", where Python's csv module writes nothing)."""
    campaign = aliased(Campaign)
    columns = [
        Community.slug,
        func.coalesce(campaign.slug, ""),
        func.coalesce(Prompt.key, ""),
        case(
            (Prompt.id.is_(None), ""),
            else_=prompts.text_sql(
                Response.prompt_id, Prompt.text, Assignment.language, Response.language
            ),
        ),
        Resident.pseudonym,
        Response.channel,
        func.coalesce(Assignment.language, Response.language, ""),
        func.to_char(Response.received_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        Response.text,
        func.coalesce(Response.choice, ""),
    ]
    if empty_as_null:
        columns = [func.nullif(column, "") for column in columns]
    return _filtered(
        _answered(
            select(Response.id, *columns)
            .join(Community, Response.community_id == Community.id)
            .join(Resident, Response.resident_id == Resident.id)
            .outerjoin(campaign, Response.campaign_id == campaign.id)
            .outerjoin(Prompt, Response.prompt_id == Prompt.id)
        ),
        spec,
    )


def _postgresql_batches(session: Session, spec: ExportFilter) -> Generator[list[tuple[Any, ...]]]:
    """The export rows from PostgreSQL a batch at a time; Python only redacts, when asked to."""
    connection = session.connection()
    prompts = AskedPrompts(session, spec.community_id)
    compiled = _postgresql_query(spec, prompts).compile(dialect=connection.dialect)
    # A server-side cursor read a batch at a time: memory stays flat whatever the export's size.
    cursor = connection.connection.driver_connection.cursor(name="voices_export")
    try:
        cursor.execute(str(compiled), compiled.params)
        while batch := cursor.fetchmany(BATCH):
            if spec.redact:
                batch = [(*row[:_TEXT], redact(row[_TEXT]), *row[_TEXT + 1 :]) for row in batch]
            yield batch
    finally:
        cursor.close()


def csv_export(session: Session, spec: ExportFilter) -> Iterator[bytes]:
    """The export as CSV in UTF-8, header first, in chunks of about CSV_CHUNK bytes.

    On PostgreSQL the database writes the CSV itself (COPY), byte for byte what csv_chunks
    writes, unless texts are to be redacted, which only Python knows how to do.
    """
    if session.get_bind().dialect.name == "sqlite" or spec.redact:
        for chunk in csv_chunks(rows(session, spec)):
            yield chunk.encode("utf-8")
        return
    yield from _postgresql_csv(session, spec)


CSV_CHUNK = 256 * 1024
_CSV_HEADER = ",".join(COLUMNS).encode()


def _postgresql_csv(session: Session, spec: ExportFilter) -> Generator[bytes]:
    """The export's CSV written by PostgreSQL (COPY), in chunks of about CSV_CHUNK bytes."""
    driver = session.connection().connection.driver_connection
    prompts = AskedPrompts(session, spec.community_id)
    compiled = _postgresql_query(spec, prompts, empty_as_null=True).compile(
        dialect=session.get_bind().dialect
    )
    # COPY takes no bind parameters: psycopg merges them client-side, quoted as it quotes any.
    query = psycopg.ClientCursor(driver).mogrify(str(compiled), compiled.params)
    yield from copy_csv(driver, query, _CSV_HEADER, CSV_CHUNK)


def _records(session: Session, spec: ExportFilter) -> Generator[tuple[Any, ...]]:
    """The export rows on SQLite, read row by row (faster there than in batches)."""
    campaign = aliased(Campaign)
    # The timestamp is read as its stored text ('YYYY-MM-DD HH:MM:SS[.ffffff]') and cut to
    # ISO 8601 below: parsing it into a datetime and formatting it again would dominate the export.
    query = _filtered(
        select(
            Response.id,
            Community.slug,
            campaign.slug,
            Response.prompt_id,
            Assignment.language,
            Resident.pseudonym,
            Response.channel,
            Response.language,
            type_coerce(Response.received_at, String),
            Response.text,
            Response.choice,
        )
        .join(Community, Response.community_id == Community.id)
        .join(Resident, Response.resident_id == Resident.id)
        .outerjoin(campaign, Response.campaign_id == campaign.id),
        spec,
    )
    query = _answered(query)
    prompts = AskedPrompts(session, spec.community_id)
    # Core rather than ORM execution: plain rows, without the ORM's per-row bookkeeping.
    result = session.connection().execute(query.execution_options(yield_per=BATCH))
    redacting = spec.redact
    for (
        rid,
        community,
        camp,
        prompt_id,
        asked_in,
        pseudonym,
        channel,
        language,
        received_at,
        text,
        choice,
    ) in result:
        prompt_key, asked = prompts.lookup(prompt_id, asked_in, language)
        yield (
            rid,
            community,
            camp or "",
            prompt_key,
            asked,
            pseudonym,
            channel,
            asked_in or language or "",
            _sqlite_iso_utc(received_at),
            redact(text) if redacting else text,
            choice or "",
        )


def _sqlite_iso_utc(value: str) -> str:
    """'2026-11-25 21:14:46.123456' (naive UTC, as SQLite keeps it) -> '2026-11-25T21:14:46Z'."""
    return f"{value[:10]}T{value[11:19]}Z"


def csv_chunks(records: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """CSV text in chunks of 500 rows, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    records = iter(records)
    while True:
        # writerows loops in C; a chunk that comes back no longer than before is the end.
        before = buffer.tell()
        writer.writerows(islice(records, 500))
        if buffer.tell() == before:
            break
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def jsonl_chunks(records: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """JSON Lines in chunks, one object per response with the contract's keys."""
    # One encoder for the whole export; json.dumps(..., ensure_ascii=False) builds one per call.
    encode = json.JSONEncoder(ensure_ascii=False).encode
    lines: list[str] = []
    for record in records:
        lines.append(encode(dict(zip(COLUMNS, record, strict=True))))
        if len(lines) == 500:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def write_xlsx(records: Iterator[tuple[Any, ...]], target: str | IO[bytes]) -> int:
    """Write an Excel workbook, every text cell a string (never a formula); return the rows."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "in_memory": False,
        },
    )
    sheet = workbook.add_worksheet("responses")
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name, bold)
    sheet.set_column(_RECEIVED_AT, _RECEIVED_AT, 19)
    sheet.set_column(_TEXT, _TEXT, 80)
    sheet.freeze_panes(1, 0)
    count = 0
    for count, record in enumerate(records, start=1):
        sheet.write_number(count, 0, record[0])
        for col in range(1, len(COLUMNS)):
            if col == _RECEIVED_AT:
                # Excel has no time zones: the UTC time, as the CSV's trailing Z says.
                moment = datetime.fromisoformat(str(record[col])).replace(tzinfo=None)
                sheet.write_datetime(count, col, moment, when)
            else:
                sheet.write_string(count, col, str(record[col]))
    sheet.autofilter(0, 0, count, len(COLUMNS) - 1)
    workbook.close()
    return count
