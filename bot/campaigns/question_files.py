"""The closed-question parts of a prompt file: choices, a scale and its labels, and `next`.

A file is refused, naming the line, when a branch names an unknown prompt or a choice the
question does not have, when the routes go round in a circle, or when no route reaches a prompt.
"""

from __future__ import annotations

import yaml

from bot.campaigns.yaml_reader import YamlReader as _Reader
from bot.conversation.choices import ANY_ANSWER, END, MAX_CHOICES, MAX_SCALE_STEPS, QuestionForm
from bot.conversation.choices import normalise as _normal

Fields = dict[str, tuple[yaml.Node, yaml.Node]]
MAX_CHOICE_LENGTH = 60


def read_form(reader: _Reader, fields: Fields, language: str, key: str) -> QuestionForm | None:
    """The question's choices or scale, checked; None for an open question."""
    if "choices" in fields and "scale" in fields:
        raise reader.fail(fields["scale"][0], f"prompt {key!r} has both choices and a scale")
    if "labels" in fields and "scale" not in fields:
        raise reader.fail(fields["labels"][0], "labels belong to a scale")
    if "choices" in fields:
        return QuestionForm(language, choices=_choices(reader, fields["choices"][1], language))
    if "scale" in fields:
        low, high = _scale(reader, fields["scale"][1])
        labels = (
            _labels(reader, fields["labels"][1], language, (low, high))
            if "labels" in fields
            else {}
        )
        return QuestionForm(language, scale=(low, high), labels=labels)
    return None


def _choices(reader: _Reader, node: yaml.Node, language: str) -> tuple[dict[str, str], ...]:
    if not isinstance(node, yaml.SequenceNode) or not 2 <= len(node.value) <= MAX_CHOICES:
        raise reader.fail(node, f"choices must be a list of 2 to {MAX_CHOICES} choices")
    choices, seen = [], set()
    for item in node.value:
        texts = reader.text(item, "a choice", language)
        if language not in texts:
            raise reader.fail(item, f"each choice needs its {language} text (the file's language)")
        for words in texts.values():
            if len(words) > MAX_CHOICE_LENGTH:
                raise reader.fail(item, f"a choice is longer than {MAX_CHOICE_LENGTH} characters")
            if _normal(words).isdigit():
                raise reader.fail(item, "a choice cannot be a number: residents reply with those")
        if _normal(texts[language]) in seen:
            raise reader.fail(item, f"the choice {texts[language]!r} is there twice")
        seen.add(_normal(texts[language]))
        choices.append(texts)
    return tuple(choices)


def _scale(reader: _Reader, node: yaml.Node) -> tuple[int, int]:
    values = node.value if isinstance(node, yaml.SequenceNode) else []
    numbers = [reader.scalar(value, "a scale end").strip() for value in values]
    if len(numbers) != 2 or not all(n.lstrip("-").isdigit() for n in numbers):
        raise reader.fail(node, "scale must be two whole numbers, like [1, 5]")
    low, high = int(numbers[0]), int(numbers[1])
    if not 0 <= low < high or high - low + 1 > MAX_SCALE_STEPS:
        raise reader.fail(
            node, f"a scale goes up from 0 or more, with 2 to {MAX_SCALE_STEPS} steps"
        )
    return low, high


def _labels(
    reader: _Reader, node: yaml.Node, language: str, scale: tuple[int, int]
) -> dict[int, dict[str, str]]:
    labels: dict[int, dict[str, str]] = {}
    for value, (key_node, text_node) in reader.mapping(node, "labels").items():
        if not value.isdigit() or not scale[0] <= int(value) <= scale[1]:
            raise reader.fail(
                key_node, f"label {value!r} is not a value of the scale {list(scale)}"
            )
        labels[int(value)] = reader.text(text_node, f"label {value}", language)
    return labels


def read_next(
    reader: _Reader, fields: Fields, form: QuestionForm | None, key: str
) -> dict[str, str] | None:
    """Where answers lead, keyed by choice (default language) or value; "*" for any answer."""
    if "next" not in fields:
        return None
    node = fields["next"][1]
    if isinstance(node, yaml.ScalarNode):
        return {ANY_ANSWER: reader.scalar(node, "next").strip()}
    if form is None:
        raise reader.fail(node, f"prompt {key!r} is open: its next is one prompt id or end")
    canonical = {_normal(answer): answer for answer in form.answers()}
    branches: dict[str, str] = {}
    for answer, (key_node, target_node) in reader.mapping(node, "next").items():
        found = canonical.get(_normal(answer))
        if found is None:
            raise reader.fail(
                key_node, f"{answer!r} in next is not one of the answers of prompt {key!r}"
            )
        branches[found] = reader.scalar(target_node, "a next prompt").strip()
    return branches


def check_routes(
    reader: _Reader, routes: list[tuple[str, yaml.Node, QuestionForm | None, dict[str, str] | None]]
) -> None:
    """Every branch names a prompt, no route goes round in a circle, and every prompt is reached."""
    keys = [key for key, _, _, _ in routes]
    following: dict[str, set[str]] = {}
    for index, (key, node, form, branches) in enumerate(routes):
        targets = set((branches or {}).values())
        for target in targets - {END}:
            if target not in keys:
                raise reader.fail(
                    node, f"prompt {key!r} goes next to {target!r}, which is no prompt id"
                )
            if target == key:
                raise reader.fail(node, f"prompt {key!r} goes next to itself")
        covered = branches is not None and (
            ANY_ANSWER in branches or (form is not None and set(form.answers()) <= set(branches))
        )
        if not covered and index + 1 < len(keys):
            targets.add(keys[index + 1])
        following[key] = targets - {END}
    _refuse_circles(reader, routes, following)
    reached, waiting = {keys[0]}, [keys[0]]
    while waiting:
        for target in following[waiting.pop()]:
            if target not in reached:
                reached.add(target)
                waiting.append(target)
    for key, node, _, _ in routes:
        if key not in reached:
            raise reader.fail(
                node, f"no answer leads to prompt {key!r}: residents would never see it"
            )


def _refuse_circles(reader: _Reader, routes: list, following: dict[str, set[str]]) -> None:
    nodes = {key: node for key, node, _, _ in routes}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(key: str, path: list[str]) -> None:
        state[key] = 1
        for target in sorted(following[key]):
            if state.get(target) == 1:
                circle = " -> ".join([*path[path.index(target) :], target])
                raise reader.fail(nodes[target], f"the prompts go round in a circle: {circle}")
            if target not in state:
                visit(target, [*path, target])
        state[key] = 2

    for key in following:
        if key not in state:
            visit(key, [key])
