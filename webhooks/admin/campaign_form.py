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
from webhooks.admin.question_rows import (
    Written,
    blank_targets,
    fill_questions,
    split_texts,
    with_translations,
    written_prompts,
)
from webhooks.admin.source_lines import complaint, fields_by_line

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


def fill_from_starter(form: CampaignForm, spec: prompt_files.CampaignSpec) -> None:
    """Put a starter file's campaign into the form; other languages ride along unchanged."""
    form.slug.data, form.title.data, form.language.data = spec.slug, spec.title, spec.language
    while len(form.prompts.entries) < min(len(spec.prompts) + 1, form.prompts.max_entries or 10):
        form.prompts.append_entry()
    extra: dict[str, Any] = fill_questions(form, spec.prompts, spec.language)
    form.nudge_after.data = _duration_text(spec.nudge_after_seconds)
    form.nudge_max.data = spec.nudge_max or 1
    form.nudge_text.data, extra["nudge"] = split_texts(spec.nudge_text, spec.language)
    form.thanks.data, extra["thanks"] = split_texts(spec.thanks, spec.language)
    form.translations.data = json.dumps(extra, ensure_ascii=False)


def form_to_source(form: CampaignForm) -> str:
    """The prompt file the form describes, as YAML, so the same checks apply as for files."""
    return _written(form)[0]


def _written(form: CampaignForm) -> tuple[str, list[Written]]:
    """The form's prompt file, and which fields wrote each of its prompts."""
    try:
        extra = json.loads(form.translations.data or "{}")
    except ValueError:
        extra = {}
    extra = extra if isinstance(extra, dict) else {}
    language = (form.language.data or "en").strip()
    prompts, written = written_prompts(form, language, extra)
    data: dict[str, Any] = {
        "slug": form.slug.data,
        "title": form.title.data,
        "language": language,
        "prompts": prompts,
    }
    if (form.nudge_after.data or "").strip() or (form.nudge_text.data or "").strip():
        data["nudge"] = {
            "after": (form.nudge_after.data or "").strip(),
            "max": form.nudge_max.data if form.nudge_max.data is not None else 1,
            "text": with_translations(
                (form.nudge_text.data or "").strip(), extra.get("nudge"), language
            ),
        }
    if (form.thanks.data or "").strip():
        data["thanks"] = with_translations(form.thanks.data.strip(), extra.get("thanks"), language)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), written


def asked_hints() -> dict[str, str]:
    """The lines under a closed question, placeholders kept, for the page's live count."""
    return {
        "choices": texts.text("choices_reply", numbers="{numbers}", last="{last}"),
        "scale": texts.text("scale_reply", low="{low}", high="{high}"),
    }


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


def check(form: CampaignForm, session: Session, community: Community) -> bool:
    """Validate the form, the prompt file it makes and the launch rules, each beside its field."""
    valid = form.validate()
    found = _errors_by_field(form, session, community)
    for field, message in found:
        field.errors = [*field.errors, message]
    checked, refused = _checked_file(form)
    # The file's complaint only where the form has not already said what is wrong.
    refused = [(field, message) for field, message in refused if not field.errors]
    over = [] if form.allow_long.data else _over_budget(form, checked)
    for field, message in refused + over:
        field.errors = [*field.errors, message]
    return valid and not (found or refused or over)


Checked = tuple[prompt_files.CampaignSpec, list[Written]]


def _checked_file(form: CampaignForm) -> tuple[Checked | None, list[tuple[Any, str]]]:
    """The campaign the form makes, through the prompt file checker, or its one complaint."""
    source, written = _written(form)
    if blank := blank_targets(form, written):
        return None, blank
    try:
        return (prompt_files.parse_prompt_file(source, name="the form"), written), []
    except prompt_files.PromptFileError as exc:
        line, reason = complaint(str(exc))
        spots = fields_by_line(source, form, written)
        return None, [(spots.get(line or 0) or form.prompts.entries[0].form.text, reason)]


def _over_budget(form: CampaignForm, checked: Checked | None) -> list[tuple[Any, str]]:
    """Texts over the SMS segment budget; a closed question counted as asked, choices and all."""
    measured: list[tuple[Any, list[str]]] = []
    if checked is not None:
        spec, written = checked
        for prompt, place in zip(spec.prompts, written, strict=True):
            measured.append((place.row.text, operations.asked_texts(prompt, spec.language)))
    else:
        measured += [(row.form.text, [row.form.text.data or ""]) for row in form.prompts.entries]
    measured += [(form.nudge_text, [form.nudge_text.data or ""])]
    measured += [(form.thanks, [form.thanks.data or ""])]
    budget, found = texts.SEGMENT_BUDGET, []
    for field, bodies in measured:
        count = max(sms_segments(body.strip())[0] for body in bodies)
        if count > budget:
            found.append(
                (
                    field,
                    f"This is {count} SMS segments, over the budget of {budget}; "
                    'shorten it or tick "Allow long texts".',
                )
            )
    return found


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
    return found
