"""Closed questions: a prompt's choices or scale, how it is asked, and which answer a reply means.

Pure: the engine, the campaign files, the pages and the tallies all read a QuestionForm from a
prompt's `form` column, so a choice is matched, numbered and counted the same way everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot import texts
from storage.languages import pick_text

# Any answer at all leads here in a prompt's branches (a `next:` given as one prompt id or end).
ANY_ANSWER = "*"
END = "end"
MAX_CHOICES = 9
MAX_SCALE_STEPS = 11
_NUMBER = re.compile(r"^\(?(\d{1,3})\s*[.):]?(?:\s+(.*))?$")
_LETTER = re.compile(r"^\(?([a-z])\s*[.):]?$")
_OUT_OF = re.compile(r"^(\d{1,3})\s*(?:/|out of|of)\s*\d{1,3}$")
_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


def normalise(words: str) -> str:
    """Lower case without accents, outer punctuation or repeated spaces: how replies compare."""
    decomposed = unicodedata.normalize("NFKD", words.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.strip(" \t\r\n.,!?;:'\"()[]").split())


def _distance(a: str, b: str, most: int) -> int:
    """Levenshtein distance, giving up (most + 1) once it must exceed `most`."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        if min(current) > most:
            return most + 1
        previous = current
    return previous[-1]


def _typos_allowed(words: str) -> int:
    """Small slips only: none in short words, one in 4+ letters, one more per 8 letters."""
    return 0 if len(words) < 4 else 1 + len(words) // 8


def closest(words: str, options: list[tuple[str, list[str]]]) -> str | None:
    """The key whose names match `words` exactly or with small typos, when only one is closest."""
    wanted = normalise(words)
    if not wanted:
        return None
    best: dict[str, int] = {}
    most = _typos_allowed(wanted)
    for key, names in options:
        for name in names:
            distance = _distance(wanted, normalise(name), most)
            if distance <= most and distance < best.get(key, most + 1):
                best[key] = distance
    if not best:
        return None
    nearest = min(best.values())
    winners = [key for key, distance in best.items() if distance == nearest]
    return winners[0] if len(winners) == 1 else None


@dataclass(frozen=True)
class Asked:
    """A closed question as the resident sees it: the words, and the buttons where there are."""

    text: str
    buttons: tuple[str, ...]


@dataclass(frozen=True)
class QuestionForm:
    """A closed question's answers: choices (texts by language) or a scale from low to high."""

    language: str
    choices: tuple[dict[str, str], ...] = ()
    scale: tuple[int, int] | None = None
    labels: dict[int, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, stored: dict[str, Any] | None, language: str) -> QuestionForm | None:
        """The form kept in a prompt's `form` column (None for an open question)."""
        if not stored:
            return None
        if "scale" in stored:
            low, high = stored["scale"]
            labels = {int(k): dict(v) for k, v in (stored.get("labels") or {}).items()}
            return cls(language, scale=(int(low), int(high)), labels=labels)
        return cls(language, choices=tuple(dict(c) for c in stored["choices"]))

    def stored(self) -> dict[str, Any]:
        """What the prompt's `form` column keeps."""
        if self.scale is not None:
            labels = {str(value): texts for value, texts in self.labels.items()}
            return {"scale": list(self.scale), "labels": labels}
        return {"choices": [dict(choice) for choice in self.choices]}

    def answers(self) -> list[str]:
        """Each answer as it is stored and counted: a choice in the default language, a value."""
        if self.scale is not None:
            return [str(value) for value in range(self.scale[0], self.scale[1] + 1)]
        return [self._default(choice) for choice in self.choices]

    def label(self, key: str, language: str | None = None) -> str:
        """How an answer reads: the choice in `language`, or a value with its label."""
        if self.scale is not None:
            named = self.labels.get(int(key))
            words = pick_text(named, language, self.language) if named else None
            return f"{key} ({words})" if words else key
        choice = self.choices[self.answers().index(key)]
        return pick_text(choice, language, self.language) or key

    def _default(self, choice: dict[str, str]) -> str:
        return choice.get(self.language) or next(iter(choice.values()))

    def match(self, words: str) -> str | None:
        """The answer `words` gives (a key), or None when it matches no choice or value."""
        cleaned = normalise(words)
        if self.scale is not None:
            return self._match_scale(cleaned)
        keys = self.answers()
        numbered = _NUMBER.match(cleaned)
        if numbered and 1 <= int(numbered.group(1)) <= len(keys):
            key = keys[int(numbered.group(1)) - 1]
            rest = numbered.group(2)
            # "2 quite safe" copied from the list means 2; "2 ... something else" means nothing.
            if not rest or closest(rest, self._options()[int(numbered.group(1)) - 1 :][:1]):
                return key
            return None
        lettered = _LETTER.match(cleaned)
        if lettered and ord(lettered.group(1)) - ord("a") < len(keys):
            return keys[ord(lettered.group(1)) - ord("a")]
        return closest(cleaned, self._options())

    def _options(self) -> list[tuple[str, list[str]]]:
        pairs = zip(self.answers(), self.choices, strict=True)
        return [(key, list(choice.values())) for key, choice in pairs]

    def _match_scale(self, cleaned: str) -> str | None:
        assert self.scale is not None
        low, high = self.scale
        found = _NUMBER.match(cleaned) or _OUT_OF.match(cleaned)
        value: int | None = None
        if found and (found.lastindex == 1 or not found.group(2)):
            value = int(found.group(1))
        elif cleaned in _NUMBER_WORDS:
            value = _NUMBER_WORDS[cleaned]
        else:
            named = [(str(k), list(v.values())) for k, v in self.labels.items()]
            key = closest(cleaned, named)
            value = int(key) if key is not None else None
        return str(value) if value is not None and low <= value <= high else None

    def spoken(self, question: str, language: str | None) -> str:
        """The question as a call says it: each choice with the key to press for it."""
        if self.scale is not None:
            low, high = self.scale
            hint = texts.text(
                "voice_scale",
                low=self.label(str(low), language),
                high=self.label(str(high), language),
            )
            return f"{question} {hint}"
        keys = " ".join(
            texts.text("voice_choice", choice=self.label(key, language), key=str(number))
            for number, key in enumerate(self.answers(), 1)
        )
        return f"{question} {keys} {texts.text('voice_choice_or_say')}"

    def asked(self, question: str, language: str | None) -> Asked:
        """The question with its choices numbered below it (SMS) and as buttons (Telegram)."""
        if self.scale is not None:
            low, high = self.scale
            hint = texts.text(
                "scale_reply",
                low=self.label(str(low), language),
                high=self.label(str(high), language),
            )
            return Asked(f"{question}\n{hint}", tuple(self.answers()))
        names = [self.label(key, language) for key in self.answers()]
        lines = "\n".join(f"{number}) {name}" for number, name in enumerate(names, 1))
        numbers = [str(number) for number in range(1, len(names) + 1)]
        hint = texts.text("choices_reply", numbers=", ".join(numbers[:-1]), last=numbers[-1])
        return Asked(f"{question}\n{lines}\n{hint}", tuple(names))


def branch(branches: dict[str, str] | None, answer: str | None) -> str | None:
    """Where an answer leads: a prompt key, END, or None to go on in file order."""
    if not branches:
        return None
    if answer is not None and answer in branches:
        return branches[answer]
    return branches.get(ANY_ANSWER)


def ask(
    texts: dict[str, Any] | str | None,
    form: QuestionForm | None,
    language: str | None,
    default: str,
    *,
    spoken: bool = False,
) -> Asked:
    """A prompt as it is sent in `language`: its text, and a closed question's choices (with
    the keys to press for them when `spoken`, on a call)."""
    by_language = texts if isinstance(texts, dict) else {default: texts or ""}
    body = pick_text(by_language, language, default) or ""
    if form is None:
        return Asked(body, ())
    if spoken:
        return Asked(form.spoken(body, language), ())
    return form.asked(body, language)
