"""The campaign form's questions as a prompt file's prompts (choices, scale, next), and back.

The form writes the same structures a prompt file holds, so the one checker in
bot.campaigns.prompt_files judges both; each prompt remembers which fields it came from, so a
complaint about a line can be shown beside the field that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.campaigns.prompt_files import PromptSpec
from bot.conversation.choices import ANY_ANSWER, END
from webhooks.admin.forms import CHOICE_SLOTS, CampaignForm, PromptRow


@dataclass
class Written:
    """One prompt the form wrote, and the fields behind its parts."""

    row: PromptRow
    choices: list[Any] = field(default_factory=list)
    # Where each answer's "then go to" was chosen, by the answer as the file keys it.
    next_fields: dict[str, Any] = field(default_factory=dict)


def row_keys(form: CampaignForm) -> list[str]:
    """Each row's prompt id: its short name, or q1, q2... by position when left empty."""
    return [
        (row.form.key.data or "").strip() or f"q{number}"
        for number, row in enumerate(form.prompts.entries, start=1)
    ]


def kept(extra: Any, name: str) -> dict:
    """One part of the translations the page carries along; anything else counts as none."""
    found = extra.get(name) if isinstance(extra, dict) else None
    return found if isinstance(found, dict) else {}


def with_translations(text: str, others: Any, language: str) -> Any:
    """A text as a file writes it: a string, or a language map when translations ride along."""
    others = {
        k: v for k, v in (others if isinstance(others, dict) else {}).items() if k != language
    }
    return {language: text, **others} if others else text


def _target(value: str | None, keys: list[str]) -> str | None:
    """A "then go to" choice as a file's next: a question's number becomes its id."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= len(keys):
        return keys[int(value) - 1]
    return value  # "end", or anything else the checker refuses by name


def written_prompts(
    form: CampaignForm, language: str, extra: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Written]]:
    """The prompts the form describes, as a file's list, and the fields behind each."""
    keys = row_keys(form)
    entries: list[dict[str, Any]] = []
    written: list[Written] = []
    for key, entry in zip(keys, form.prompts.entries, strict=True):
        row: PromptRow = entry.form
        text = (row.text.data or "").strip()
        if not text:
            continue
        prompt: dict[str, Any] = {
            "id": key,
            "text": with_translations(text, kept(extra, "prompts").get(key), language),
        }
        place = Written(row)
        if row.kind.data == "choices":
            branches = _choices(prompt, place, keys, language, kept(extra, "choices"))
        elif row.kind.data == "scale":
            branches = _scale(prompt, place, keys, language, kept(extra, "labels"))
        else:
            branches = _target(row.next.data, keys)
            place.next_fields[ANY_ANSWER] = row.next
        if branches:
            prompt["next"] = branches
        entries.append(prompt)
        written.append(place)
    return entries, written


def _choices(
    prompt: dict[str, Any], place: Written, keys: list[str], language: str, extra: dict
) -> dict[str, str]:
    others = kept(extra, prompt["id"])
    prompt["choices"], branches = [], {}
    for entry in place.row.choices.entries:
        words = (entry.form.text.data or "").strip()
        if not words:
            continue
        prompt["choices"].append(with_translations(words, others.get(words), language))
        place.choices.append(entry.form.text)
        place.next_fields[words] = entry.form.next
        if target := _target(entry.form.next.data, keys):
            branches[words] = target
    return branches


def _scale(
    prompt: dict[str, Any], place: Written, keys: list[str], language: str, extra: dict
) -> dict[int, str]:
    row, others = place.row, kept(extra, prompt["id"])
    low, high = row.scale_low.data, row.scale_high.data
    prompt["scale"] = [low, high]
    labels = {}
    for value, words in ((low, row.low_label.data), (high, row.high_label.data)):
        if (words or "").strip() and value is not None:
            labels[value] = with_translations(words.strip(), others.get(str(value)), language)
    if labels:
        prompt["labels"] = labels
    branches: dict[int, str] = {}
    if low is None or high is None:
        return branches
    for offset, entry in enumerate(row.scale_next.entries):
        if low + offset > high:
            break
        place.next_fields[str(low + offset)] = entry
        if target := _target(entry.data, keys):
            branches[low + offset] = target
    return branches


def fill_questions(form: CampaignForm, prompts: tuple[PromptSpec, ...], language: str) -> dict:
    """Put a file's prompts into the form's rows; return the other languages kept aside."""
    numbers = {prompt.key: str(number) for number, prompt in enumerate(prompts, start=1)}
    numbers[END] = END
    aside: dict[str, dict] = {"prompts": {}, "choices": {}, "labels": {}}
    for entry, prompt in zip(form.prompts.entries, prompts, strict=False):
        row: PromptRow = entry.form
        row.key.data = prompt.key
        row.text.data, others = split_texts(prompt.text, language)
        if others:
            aside["prompts"][prompt.key] = others
        branches = {k: numbers.get(v, v) for k, v in (prompt.branches or {}).items()}
        stored = prompt.form or {}
        if "choices" in stored:
            row.kind.data = "choices"
            aside["choices"][prompt.key] = _fill_choices(row, stored["choices"], language, branches)
        elif "scale" in stored:
            row.kind.data = "scale"
            aside["labels"][prompt.key] = _fill_scale(row, stored, language, branches)
        else:
            row.next.data = branches.get(ANY_ANSWER, "")
    return aside


def split_texts(texts: dict[str, str] | None, language: str) -> tuple[str, dict[str, str]]:
    """The text in the default language, and the other languages kept aside."""
    texts = dict(texts or {})
    return texts.pop(language, ""), texts


def _fill_choices(row: PromptRow, choices: list, language: str, branches: dict) -> dict:
    while len(row.choices.entries) < max(len(choices), CHOICE_SLOTS):
        row.choices.append_entry()
    aside = {}
    for entry, texts in zip(row.choices.entries, choices, strict=False):
        words, others = split_texts(texts, language)
        entry.form.text.data = words
        entry.form.next.data = branches.get(words, branches.get(ANY_ANSWER, ""))
        if others:
            aside[words] = others
    return aside


def _fill_scale(row: PromptRow, stored: dict, language: str, branches: dict) -> dict:
    low, high = (int(end) for end in stored["scale"])
    row.scale_low.data, row.scale_high.data = low, high
    labels = stored.get("labels") or {}
    aside = {}
    for value, target in ((low, row.low_label), (high, row.high_label)):
        target.data, others = split_texts(labels.get(str(value)), language)
        if others:
            aside[str(value)] = others
    for value in range(low, high + 1):
        row.scale_next.append_entry(branches.get(str(value), branches.get(ANY_ANSWER, "")))
    return aside


def blank_targets(form: CampaignForm, written: list[Written]) -> list[tuple[Any, str]]:
    """Each "then go to" that names a question left empty on the form, with what to do."""
    empty = {
        str(number)
        for number, entry in enumerate(form.prompts.entries, start=1)
        if not (entry.form.text.data or "").strip()
    }
    return [
        (field, f"Question {field.data.strip()} is empty: write it, or choose another place.")
        for place in written
        for field in place.next_fields.values()
        if (field.data or "").strip() in empty
    ]
