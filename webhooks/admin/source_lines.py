"""Which campaign form field wrote each line of the prompt file the form makes.

The prompt file checker names a line; this finds the field to show its sentence beside.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.conversation.choices import ANY_ANSWER
from webhooks.admin.forms import CampaignForm
from webhooks.admin.question_rows import Written

Node = yaml.Node
WHERE = re.compile(r"^.*?, line (\d+): (.*)$", re.S)


def complaint(message: str) -> tuple[int | None, str]:
    """The line a checker's complaint names (None for the whole file) and its sentence."""
    found = WHERE.match(message)
    line, reason = (int(found.group(1)), found.group(2)) if found else (None, message)
    reason = re.sub(r"^[^:]*?, top: ", "", reason)
    return line, reason[:1].upper() + reason[1:].rstrip(".") + "."


def fields_by_line(source: str, form: CampaignForm, written: list[Written]) -> dict[int, Any]:
    """Each line of `source` (1-based) and the field that wrote it, the most specific one."""
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    spots: dict[int, Any] = {}

    def mark(node: Node, field: Any) -> None:
        spots[node.start_mark.line + 1] = field

    top = _pairs(root)
    for name in ("slug", "title", "language", "thanks"):
        if name in top:
            _mark_all(top[name], getattr(form, name), mark)
    nudge = _pairs(top["nudge"][1]) if "nudge" in top else {}
    for name, field in (("after", form.nudge_after), ("max", form.nudge_max)):
        if name in nudge:
            _mark_all(nudge[name], field, mark)
    if "text" in nudge:
        _mark_all(nudge["text"], form.nudge_text, mark)
    prompts = top.get("prompts", (None, None))[1]
    if isinstance(prompts, yaml.SequenceNode):
        for item, place in zip(prompts.value, written, strict=False):
            _mark_prompt(item, place, mark)
    return spots


def _pairs(node: Node) -> dict[str, tuple[Node, Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): (key, value) for key, value in node.value}


def _nodes(node: Node) -> list[Node]:
    """A node and every node inside it, outermost first."""
    found = [node]
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _nodes(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found += [*_nodes(key), *_nodes(value)]
    return found


def _mark_all(pair: tuple[Node, Node], field: Any, mark: Any) -> None:
    for node in (pair[0], *_nodes(pair[1])):
        mark(node, field)


def _mark_prompt(item: Node, place: Written, mark: Any) -> None:
    """A prompt's lines: its text and id beside the question, then each part beside its field."""
    row, fields = place.row, _pairs(item)
    for node in _nodes(item):
        mark(node, row.text)
    if "choices" in fields:
        choices = fields["choices"][1]
        for choice, text_field in zip(choices.value, place.choices, strict=False):
            for node in _nodes(choice):
                mark(node, text_field)
    if "scale" in fields:
        _mark_all(fields["scale"], row.scale_low, mark)
        ends = fields["scale"][1].value
        for node, end_field in zip(ends, (row.scale_low, row.scale_high), strict=False):
            mark(node, end_field)
    if "labels" in fields:
        for key, value in fields["labels"][1].value:
            low = str(row.scale_low.data)
            target = row.low_label if key.value == low else row.high_label
            mark(key, target)
            mark(value, target)
    if "next" in fields:
        _mark_next(fields["next"], place, mark)


def _mark_next(pair: tuple[Node, Node], place: Written, mark: Any) -> None:
    """A next: the open question's "then go to", or each answer's beside that answer."""
    key_node, value = pair
    if isinstance(value, yaml.ScalarNode):
        field = place.next_fields.get(ANY_ANSWER) or place.row.next
        mark(key_node, field)
        mark(value, field)
        return
    first = None
    for answer, target in value.value:
        field = place.next_fields.get(str(answer.value))
        if field is None:
            continue
        first = first or field
        mark(answer, field)
        mark(target, field)
    if first is not None:
        mark(key_node, first)
        mark(value, first)
