"""Prompt files: the starters parse, and a file that does not fit names its line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.campaigns.prompt_files import PromptFileError, parse_duration, parse_prompt_file
from bot.texts import sms_segments

PROMPTS = sorted((Path(__file__).parent.parent / "prompts").glob("*.yaml"))


@pytest.mark.parametrize("path", PROMPTS, ids=[p.stem for p in PROMPTS])
def test_every_starter_campaign_parses_and_fits_in_two_sms_segments(path):
    spec = parse_prompt_file(path.read_text(encoding="utf-8"), str(path))
    assert spec.slug == path.stem
    texts = [t for p in spec.prompts for t in p.text.values()]
    texts += list((spec.nudge_text or {}).values()) + list((spec.thanks or {}).values())
    for text in texts:
        segments, _ = sms_segments(text)
        assert segments <= 2, text


def test_the_contract_example_parses():
    spec = parse_prompt_file(
        (Path(__file__).parent.parent / "prompts" / "festival-ideas.yaml").read_text()
    )
    assert spec.prompts[-1].text["gd"].startswith("Am bu toigh")
    assert spec.nudge_after_seconds == 2 * 86400 and spec.nudge_max == 2


BAD = {
    "not yaml": ("slug: a\nprompts: [\n", "line 3", "not valid YAML"),
    "missing prompts": ("slug: a\ntitle: T\n", "line 1", "missing 'prompts'"),
    "empty prompt text": (
        "slug: a\ntitle: T\nprompts:\n  - id: x\n    text: ''\n",
        "line 5",
        "empty",
    ),
    "duplicate id": (
        "slug: a\ntitle: T\nprompts:\n  - id: x\n    text: hi\n  - id: x\n    text: yo\n",
        "line 6",
        "used twice",
    ),
    "bad duration": (
        "slug: a\ntitle: T\nprompts:\n  - id: x\n    text: hi\nnudge:\n  after: soon\n  text: t\n",
        "line 7",
        "duration",
    ),
    "unknown key": ("slug: a\ntitle: T\nprompt:\n  - id: x\n", "line 3", "unknown key 'prompt'"),
    "bad language": (
        "slug: a\ntitle: T\nprompts:\n  - id: x\n    text:\n      English: hi\n",
        "line 6",
        "language code",
    ),
    "bad slug": (
        "slug: Big Ideas\ntitle: T\nprompts:\n  - id: x\n    text: hi\n",
        "line 1",
        "slug",
    ),
}


@pytest.mark.parametrize(("source", "line", "reason"), BAD.values(), ids=BAD.keys())
def test_a_file_that_does_not_fit_is_refused_with_line_and_reason(source, line, reason):
    with pytest.raises(PromptFileError) as caught:
        parse_prompt_file(source, "x.yaml")
    message = str(caught.value)
    assert message.startswith(f"x.yaml, {line}:"), message
    assert reason in message


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("12h", 43200), ("2d", 172800)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
