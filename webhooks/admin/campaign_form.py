"""The campaign form: filled from a starter, every field checked at once, made a prompt file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from bot import texts
from bot.campaigns import operations, prompt_files
from bot.texts import sms_segments
from storage.models import Community
from webhooks.admin.forms import CampaignForm

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


def starters() -> dict[str, Path]:
    """The prompt files organisers can start from, by file name."""
    return {path.stem: path for path in sorted(PROMPTS_DIR.glob("*.yaml"))}


def _duration_text(seconds: int | None) -> str:
    if not seconds:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _split(texts: dict[str, str] | None, language: str) -> tuple[str, dict[str, str]]:
    """The text in the default language, and the other languages kept aside."""
    texts = dict(texts or {})
    return texts.pop(language, ""), texts


def fill_from_starter(form: CampaignForm, spec: prompt_files.CampaignSpec) -> None:
    """Put a starter file's campaign into the form; other languages ride along unchanged."""
    form.slug.data, form.title.data, form.language.data = spec.slug, spec.title, spec.language
    extra: dict[str, Any] = {"prompts": {}}
    while len(form.prompts.entries) < min(len(spec.prompts) + 1, form.prompts.max_entries or 10):
        form.prompts.append_entry()
    for row, prompt in zip(form.prompts.entries, spec.prompts, strict=False):
        row.form.key.data = prompt.key
        row.form.text.data, others = _split(prompt.text, spec.language)
        if others:
            extra["prompts"][prompt.key] = others
    form.nudge_after.data = _duration_text(spec.nudge_after_seconds)
    form.nudge_max.data = spec.nudge_max or 1
    form.nudge_text.data, extra["nudge"] = _split(spec.nudge_text, spec.language)
    form.thanks.data, extra["thanks"] = _split(spec.thanks, spec.language)
    form.translations.data = json.dumps(extra, ensure_ascii=False)


def _with_translations(text: str, others: dict[str, str] | None, language: str) -> Any:
    others = {k: v for k, v in (others or {}).items() if k != language}
    return {language: text, **others} if others else text


def form_to_source(form: CampaignForm) -> str:
    """The prompt file the form describes, as YAML, so the same checks apply as for files."""
    try:
        extra = json.loads(form.translations.data or "{}")
    except ValueError:
        extra = {}
    extra = extra if isinstance(extra, dict) else {}
    language = (form.language.data or "en").strip()
    prompt_extra = extra.get("prompts") or {}
    rows = [
        ((row.form.key.data or "").strip(), (row.form.text.data or "").strip())
        for row in form.prompts.entries
    ]
    data: dict[str, Any] = {
        "slug": form.slug.data,
        "title": form.title.data,
        "language": language,
        "prompts": [
            {
                "id": key or f"q{index}",
                "text": _with_translations(text, prompt_extra.get(key), language),
            }
            for index, (key, text) in enumerate(rows, start=1)
            if text
        ],
    }
    if (form.nudge_after.data or "").strip() or (form.nudge_text.data or "").strip():
        data["nudge"] = {
            "after": (form.nudge_after.data or "").strip(),
            "max": form.nudge_max.data if form.nudge_max.data is not None else 1,
            "text": _with_translations(
                (form.nudge_text.data or "").strip(), extra.get("nudge"), language
            ),
        }
    if (form.thanks.data or "").strip():
        data["thanks"] = _with_translations(form.thanks.data.strip(), extra.get("thanks"), language)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def starter_titles() -> list[tuple[str, str]]:
    """Each starter's file name and the title organisers know it by."""
    found = []
    for name, path in starters().items():
        try:
            found.append((name, prompt_files.load_prompt_file(path).title))
        except prompt_files.PromptFileError:
            continue
    return found


def starts_at(form: CampaignForm, community: Community) -> datetime | None:
    """The start the organiser typed, in the community's time zone, or None for now."""
    if form.start.data is None:
        return None
    return form.start.data.replace(tzinfo=ZoneInfo(community.timezone))


def _texts(form: CampaignForm) -> list[Any]:
    return [row.form.text for row in form.prompts.entries] + [form.nudge_text, form.thanks]


def check(form: CampaignForm, session: Session, community: Community) -> bool:
    """Validate the form and the launch rules together, every error beside its field."""
    valid = form.validate()
    fields = _errors_by_field(form, session, community)
    for field, message in fields:
        field.errors = [*field.errors, message]
    return valid and not fields


def _errors_by_field(
    form: CampaignForm, session: Session, community: Community
) -> list[tuple[Any, str]]:
    """The launch rules an organiser can fix on this page, as (field, sentence)."""
    found: list[tuple[Any, str]] = []
    rows = [row.form for row in form.prompts.entries]
    if not any((row.text.data or "").strip() for row in rows):
        found.append((rows[0].text, "Write at least one question."))
    seen: set[str] = set()
    for row in rows:
        key = (row.key.data or "").strip()
        if key and key in seen:
            found.append((row.key, "Another question already has this short name."))
        seen.add(key)
    if not form.slug.errors and operations.slug_taken(session, community.id, form.slug.data):
        found.append(
            (
                form.slug,
                f"A campaign in {community.name} already has this short name; choose another.",
            )
        )
    after, nudge = (form.nudge_after.data or "").strip(), (form.nudge_text.data or "").strip()
    if after:
        try:
            prompt_files.parse_duration(after)
        except ValueError:
            found.append((form.nudge_after, "Write how long to wait like 2d, 12h or 30m."))
        if not nudge:
            found.append((form.nudge_text, 'Write the nudge, or empty "Nudge after".'))
    elif nudge:
        found.append((form.nudge_after, "Say how long to wait before the nudge, like 2d."))
    if past := operations.past_start(starts_at(form, community), ZoneInfo(community.timezone)):
        found.append((form.start, past[0].upper() + past[1:] + "."))
    if not form.allow_long.data:
        budget = texts.SEGMENT_BUDGET
        for field in _texts(form):
            count = sms_segments((field.data or "").strip())[0]
            if count > budget:
                found.append(
                    (
                        field,
                        f"This is {count} SMS segments, over the budget of {budget}; "
                        'shorten it or tick "Allow long texts".',
                    )
                )
    return found
