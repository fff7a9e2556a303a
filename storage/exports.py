"""Exports of responses: CSV and JSON Lines streamed, Excel in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from bot.campaigns import pick_text
from storage.models import Campaign, Community, Prompt, Resident, Response
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
)
FORMATS = ("csv", "jsonl", "xlsx")
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


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(session: Session, spec: ExportFilter) -> Iterator[tuple[Any, ...]]:
    """Yield export rows in the contract's column order, oldest first, in batches."""
    campaign = aliased(Campaign)
    prompt = aliased(Prompt)
    query = (
        select(
            Response.id,
            Community.slug,
            campaign.slug,
            prompt.key,
            prompt.text,
            campaign.language,
            Resident.pseudonym,
            Response.channel,
            Response.language,
            Response.received_at,
            Response.text,
        )
        .join(Community, Response.community_id == Community.id)
        .join(Resident, Response.resident_id == Resident.id)
        .outerjoin(campaign, Response.campaign_id == campaign.id)
        .outerjoin(prompt, Response.prompt_id == prompt.id)
        .where(Response.community_id == spec.community_id)
        .order_by(Response.received_at, Response.id)
    )
    if not spec.include_safeguarding:
        query = query.where(Response.safeguarding.is_(False))
    if spec.campaign_id is not None:
        query = query.where(Response.campaign_id == spec.campaign_id)
    if spec.since is not None:
        query = query.where(Response.received_at >= spec.since)
    if spec.until is not None:
        query = query.where(Response.received_at < spec.until)
    result = session.execute(query.execution_options(yield_per=BATCH))
    for (
        rid,
        community,
        camp,
        prompt_key,
        prompt_text,
        camp_lang,
        pseudonym,
        channel,
        language,
        received_at,
        text,
    ) in result:
        asked = pick_text(prompt_text, language, camp_lang or "en") if prompt_text else ""
        yield (
            rid,
            community,
            camp or "",
            prompt_key or "",
            asked or "",
            pseudonym,
            channel,
            language or "",
            iso_utc(received_at),
            redact(text) if spec.redact else text,
        )


def csv_chunks(records: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """CSV text in chunks, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for count, record in enumerate(records, start=1):
        writer.writerow(record)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_chunks(records: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """JSON Lines in chunks, one object per response with the contract's keys."""
    lines: list[str] = []
    for record in records:
        lines.append(json.dumps(dict(zip(COLUMNS, record, strict=True)), ensure_ascii=False))
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
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name, bold)
    sheet.set_column(9, 9, 80)
    count = 0
    for count, record in enumerate(records, start=1):
        sheet.write_number(count, 0, record[0])
        for col in range(1, len(COLUMNS)):
            sheet.write_string(count, col, str(record[col]))
    workbook.close()
    return count
