"""Prompt files become campaigns: parse and check a file, launch it in a community."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.campaigns import question_files
from bot.campaigns.yaml_reader import LANG_RE, PromptFileError, YamlReader
from storage.models import Campaign, Community, Prompt, utcnow
from storage.statuses import CampaignStatus

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PROMPT_KEYS = ("id", "text", "choices", "scale", "labels", "next")


@dataclass(frozen=True)
class PromptSpec:
    key: str
    text: dict[str, str]
    # A closed question's choices or scale, as its prompt row keeps them (None: open).
    form: dict[str, Any] | None = None
    # Where answers lead: {choice or value: prompt id or "end"}, "*" for every answer.
    branches: dict[str, str] | None = None


@dataclass(frozen=True)
class CampaignSpec:
    """A checked prompt file."""

    slug: str
    title: str
    language: str
    prompts: tuple[PromptSpec, ...]
    nudge_after_seconds: int | None
    nudge_max: int
    nudge_text: dict[str, str] | None
    thanks: dict[str, str] | None
    source: str


def parse_duration(value: str) -> int:
    """Turn '45s', '30m', '12h' or '2d' into seconds."""
    match = DURATION_RE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration like 45s, 30m, 12h or 2d")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_prompt_file(source: str, name: str = "prompt file") -> CampaignSpec:
    """Check a prompt file's text and return its campaign, or raise PromptFileError."""
    reader = YamlReader(name)
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "top"
        raise PromptFileError(f"{name}, {where}: not valid YAML ({exc.problem})") from exc
    if root is None:
        raise PromptFileError(f"{name}: the file is empty")
    top = _top_level(reader, root)
    slug, title, language = _heading(reader, top)
    prompts = _prompts(reader, top["prompts"][1], language)
    nudge_after, nudge_max, nudge_text = None, 0, None
    if "nudge" in top:
        nudge_after, nudge_max, nudge_text = _nudge(reader, top["nudge"][1], language)
    thanks = reader.text(top["thanks"][1], "thanks", language) if "thanks" in top else None
    return CampaignSpec(
        slug=slug,
        title=title,
        language=language,
        prompts=tuple(prompts),
        nudge_after_seconds=nudge_after,
        nudge_max=nudge_max,
        nudge_text=nudge_text,
        thanks=thanks,
        source=source,
    )


def _top_level(reader: YamlReader, root: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The file's keys, checked: only known ones, and the required ones present."""
    top = reader.mapping(root, "the file")
    allowed = {"slug", "title", "language", "prompts", "nudge", "thanks", "description"}
    for key, (key_node, _) in top.items():
        if key not in allowed:
            raise reader.fail(key_node, f"unknown key {key!r} (expected one of {sorted(allowed)})")
    for required in ("slug", "title", "prompts"):
        if required not in top:
            raise reader.fail(root, f"missing {required!r}")
    return top


def _heading(
    reader: YamlReader, top: dict[str, tuple[yaml.Node, yaml.Node]]
) -> tuple[str, str, str]:
    """The campaign's slug, title and default language (en when not given)."""
    slug_node = top["slug"][1]
    slug = reader.scalar(slug_node, "slug").strip()
    if not SLUG_RE.match(slug):
        raise reader.fail(slug_node, "slug must be lower-case letters, digits and dashes")
    title = reader.scalar(top["title"][1], "title").strip()
    if not title:
        raise reader.fail(top["title"][1], "title is empty")
    language = "en"
    if "language" in top:
        language = reader.scalar(top["language"][1], "language").strip()
        if not LANG_RE.match(language):
            raise reader.fail(top["language"][1], f"{language!r} is not a language code")
    return slug, title, language


def _prompts(reader: YamlReader, prompts_node: yaml.Node, language: str) -> list[PromptSpec]:
    """The prompts, in order, each with a unique id, its text per language, and any choices."""
    if not isinstance(prompts_node, yaml.SequenceNode) or not prompts_node.value:
        raise reader.fail(prompts_node, "prompts must be a list with at least one prompt")
    prompts: list[PromptSpec] = []
    routes: list = []
    for item in prompts_node.value:
        fields = reader.mapping(item, "each prompt")
        for key, (key_node, _) in fields.items():
            if key not in PROMPT_KEYS:
                raise reader.fail(
                    key_node, f"unknown prompt key {key!r} (expected {', '.join(PROMPT_KEYS)})"
                )
        if "id" not in fields or "text" not in fields:
            raise reader.fail(item, "each prompt needs an id and a text")
        key = reader.scalar(fields["id"][1], "prompt id").strip()
        if not SLUG_RE.match(key.lower()) or len(key) > 64 or key == question_files.END:
            raise reader.fail(fields["id"][1], "prompt id must be letters, digits and dashes")
        if any(p.key == key for p in prompts):
            raise reader.fail(fields["id"][1], f"prompt id {key!r} is used twice")
        form = question_files.read_form(reader, fields, language, key)
        branches = question_files.read_next(reader, fields, form, key)
        routes.append((key, fields.get("next", (item, item))[1], form, branches))
        text = reader.text(fields["text"][1], f"prompt {key!r}", language)
        prompts.append(PromptSpec(key, text, form.stored() if form else None, branches))
    question_files.check_routes(reader, routes)
    return prompts


def _nudge(
    reader: YamlReader, nudge_node: yaml.Node, language: str
) -> tuple[int, int, dict[str, str]]:
    """The nudge section: seconds to wait, most nudges per prompt (1 unless given), its text."""
    nudge = reader.mapping(nudge_node, "nudge")
    for key, (key_node, _) in nudge.items():
        if key not in {"after", "max", "text"}:
            raise reader.fail(key_node, f"unknown nudge key {key!r} (expected after, max, text)")
    if "after" not in nudge or "text" not in nudge:
        raise reader.fail(nudge_node, "nudge needs after and text")
    try:
        nudge_after = parse_duration(reader.scalar(nudge["after"][1], "nudge after"))
    except ValueError as exc:
        raise reader.fail(nudge["after"][1], str(exc)) from exc
    if nudge_after <= 0:
        raise reader.fail(nudge["after"][1], "nudge after must be more than zero")
    nudge_max = 1
    if "max" in nudge:
        raw_max = reader.scalar(nudge["max"][1], "nudge max")
        if not raw_max.isdigit() or not 0 <= int(raw_max) <= 10:
            raise reader.fail(nudge["max"][1], "nudge max must be a whole number from 0 to 10")
        nudge_max = int(raw_max)
    return nudge_after, nudge_max, reader.text(nudge["text"][1], "nudge text", language)


def load_prompt_file(path: Path) -> CampaignSpec:
    """Read and check a prompt file from disk."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise PromptFileError(f"{path}: not UTF-8 text") from exc
    except OSError as exc:
        raise PromptFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_prompt_file(source, name=str(path))


class LaunchError(ValueError):
    """A campaign that cannot be launched; the message says why in one sentence."""


def launch(
    session: Session,
    community: Community,
    spec: CampaignSpec,
    starts_at: datetime | None = None,
    fan_out_now: bool = True,
) -> Campaign:
    """Create a campaign from a checked prompt file, running now or from `starts_at`.

    A campaign running now is fanned out in this transaction, unless `fan_out_now` is False:
    then the caller commits it and calls bot.campaigns.fanout.activate_due, which can queue a large
    launch in parts (the scheduler's job would do it within a minute otherwise)."""
    existing = session.scalar(
        select(Campaign).where(Campaign.community_id == community.id, Campaign.slug == spec.slug)
    )
    if existing is not None:
        raise LaunchError(
            f"campaign {spec.slug!r} was already launched in {community.slug}; "
            "give the file a new slug to run it again"
        )
    now = utcnow()
    start = starts_at or now
    campaign = Campaign(
        community_id=community.id,
        slug=spec.slug,
        title=spec.title,
        language=spec.language,
        status=CampaignStatus.ACTIVE if start <= now else CampaignStatus.SCHEDULED,
        starts_at=start,
        nudge_after_seconds=spec.nudge_after_seconds,
        nudge_max=spec.nudge_max,
        nudge_text=spec.nudge_text,
        thanks=spec.thanks,
        source=spec.source,
    )
    campaign.prompts = [
        Prompt(position=index, key=p.key, text=dict(p.text), form=p.form, branches=p.branches)
        for index, p in enumerate(spec.prompts)
    ]
    session.add(campaign)
    session.flush()
    if campaign.status == CampaignStatus.ACTIVE and fan_out_now:
        from bot.campaigns.fanout import fan_out

        fan_out(session, campaign, now)
    return campaign
