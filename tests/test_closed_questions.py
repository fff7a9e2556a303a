"""Closed questions in prompt files: choices, scales and branches, and which reply means what."""

from __future__ import annotations

import pytest

from bot.campaigns.prompt_files import PromptFileError, parse_prompt_file
from bot.conversation.choices import QuestionForm
from tests.helpers import CLOSED_PARK

# A branch names a choice as written in the file's language, whatever its case there.
PARK = CLOSED_PARK.replace("Not at all safe: why", "not at all safe: why")


def _form(index: int = 0) -> QuestionForm:
    spec = parse_prompt_file(PARK)
    form = QuestionForm.of(spec.prompts[index].form, spec.language)
    assert form is not None
    return form


def test_a_file_mixing_choices_a_scale_and_branches_is_read():
    spec = parse_prompt_file(PARK)
    park, often, why = spec.prompts
    assert _form(0).answers() == ["Very safe", "Quite safe", "Not very safe", "Not at all safe"]
    # A branch names the choice as written in the file's language, whatever its case there.
    assert park.branches == {"Not very safe": "why", "Not at all safe": "why"}
    assert often.form == {
        "scale": [1, 5],
        "labels": {"1": {"en": "never"}, "5": {"en": "every day"}},
    }
    assert often.branches is None
    assert why.form is None and why.branches == {"*": "end"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ("next: {Not very safe: why, not at all safe: why}", "next: {Not very safe: nowhere}"),
            "'nowhere', which is no prompt id",
        ),
        (
            ("next: {Not very safe: why, not at all safe: why}", "next: {Unsafe: why}"),
            "'Unsafe' in next is not one of the answers of prompt 'park'",
        ),
        (
            ("    next: end\n", "    next: park\n"),
            "go round in a circle: park -> often -> why -> park",
        ),
        (
            ("next: {Not very safe: why, not at all safe: why}", "next: why"),
            "no answer leads to prompt 'often'",
        ),
        (("scale: [1, 5]", "scale: [5, 1]"), "a scale goes up"),
        (("labels: {1: never, 5: every day}", "labels: {7: never}"), "label '7' is not a value"),
        (("choices: [Very safe,", "choices: [Very safe, Very safe,"), "'Very safe' is there twice"),
        (("choices: [Very safe,", "choices: [7,"), "a choice cannot be a number"),
        (
            ("    scale: [1, 5]\n", "    scale: [1, 5]\n    choices: [a, b]\n"),
            "both choices and a scale",
        ),
        (("    next: end\n", "    next: {yes: end}\n"), "prompt 'why' is open"),
        (("    next: end\n", "    next: why\n"), "prompt 'why' goes next to itself"),
    ],
    ids=[
        "unknown-id",
        "unknown-choice",
        "cycle",
        "unreachable",
        "scale-down",
        "bad-label",
        "twice",
        "number-choice",
        "both",
        "open-map",
        "self",
    ],
)
def test_a_file_with_a_broken_route_or_question_is_refused_with_the_line(change, reason):
    old, new = change
    assert old in PARK
    with pytest.raises(PromptFileError) as refused:
        parse_prompt_file(PARK.replace(old, new, 1), name="park.yaml")
    assert reason in str(refused.value)
    assert str(refused.value).startswith("park.yaml, line ")


@pytest.mark.parametrize(
    ("reply", "choice"),
    [
        ("1", "Very safe"),
        ("4.", "Not at all safe"),
        ("(2)", "Quite safe"),
        ("b", "Quite safe"),
        ("C", "Not very safe"),
        ("not very safe", "Not very safe"),
        ("NOT AT ALL SAFE!", "Not at all safe"),
        ("quiet safe", "Quite safe"),
        ("not at al safe", "Not at all safe"),
        ("chan eil idir", "Not at all safe"),
        ("2 quite safe", "Quite safe"),
        ("2 bananas", None),
        ("5", None),
        ("safe", None),
        ("it's fine I suppose", None),
        ("", None),
    ],
)
def test_a_reply_means_a_choice_by_number_letter_or_words_with_small_typos(reply, choice):
    assert _form(0).match(reply) == choice


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("3", "3"),
        ("5/5", "5"),
        ("four", "4"),
        ("Never", "1"),
        ("every day", "5"),
        ("6", None),
        ("0", None),
        ("often", None),
    ],
)
def test_a_scale_takes_a_value_in_range_a_number_word_or_a_label(reply, value):
    assert _form(1).match(reply) == value


def test_the_question_is_asked_with_its_choices_numbered_and_as_buttons():
    asked = _form(0).asked("How safe does the park feel after dark?", "gd")
    lines = asked.text.splitlines()
    assert lines[1:5] == ["1) Very safe", "2) Quite safe", "3) Not very safe", "4) Chan eil idir"]
    assert lines[-1] == "Reply 1, 2, 3 or 4"
    assert asked.buttons == ("Very safe", "Quite safe", "Not very safe", "Chan eil idir")
    scale = _form(1).asked("How often do you use the park?", "en")
    assert scale.text.endswith("Reply a number from 1 (never) to 5 (every day)")
    assert scale.buttons == ("1", "2", "3", "4", "5")


def test_the_segment_budget_counts_a_closed_question_with_its_choices():
    from bot.campaigns import operations

    long_choices = PARK.replace(
        "choices: [Very safe, Quite safe, Not very safe, {en: Not at all safe, gd: Chan eil idir}]",
        "choices: [" + ", ".join(f"A rather long way of saying choice {n}" for n in range(7)) + "]",
    ).replace("next: {Not very safe: why, not at all safe: why}", "")
    spec = parse_prompt_file(long_choices)
    # The question alone is one segment; with its seven choices it is three.
    assert operations.segments_over_budget(operations.campaign_texts(spec)) == {"prompt 'park'": 3}
    assert operations.segments_over_budget(operations.campaign_texts(parse_prompt_file(PARK))) == {}
