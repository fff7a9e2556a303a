"""Reading a YAML node tree so that every complaint about a prompt file names its line."""

from __future__ import annotations

import re

import yaml

MAX_TEXT = 1600
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class PromptFileError(ValueError):
    """A prompt file that does not fit; the message names the line and the reason."""


class YamlReader:
    """Walks a composed YAML node tree so every complaint can name its line."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, node: yaml.Node | None, reason: str) -> PromptFileError:
        line = f"line {node.start_mark.line + 1}" if node is not None else "top"
        return PromptFileError(f"{self.name}, {line}: {reason}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, "a key")
            if key in out:
                raise self.fail(key_node, f"{key!r} appears twice")
            out[key] = (key_node, value_node)
        return out

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be plain text")
        return str(node.value)

    def text(self, node: yaml.Node, what: str, default_language: str) -> dict[str, str]:
        if isinstance(node, yaml.ScalarNode):
            value = node.value.strip()
            if not value:
                raise self.fail(node, f"{what} is empty")
            if len(value) > MAX_TEXT:
                raise self.fail(node, f"{what} is longer than {MAX_TEXT} characters")
            return {default_language: value}
        entries = self.mapping(node, f"{what} (a text, or a map of language to text)")
        texts: dict[str, str] = {}
        for language, (key_node, value_node) in entries.items():
            if not LANG_RE.match(language):
                raise self.fail(key_node, f"{language!r} is not a language code like en or gd")
            value = self.scalar(value_node, f"{what} in {language}").strip()
            if not value:
                raise self.fail(value_node, f"{what} in {language} is empty")
            if len(value) > MAX_TEXT:
                raise self.fail(value_node, f"{what} is longer than {MAX_TEXT} characters")
            texts[language] = value
        if not texts:
            raise self.fail(node, f"{what} has no text")
        return texts
