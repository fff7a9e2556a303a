"""The prompt a response answered as the resident was asked it: its key, language and text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, func, select
from sqlalchemy.orm import Session

from storage.languages import asked_language_sql, pick_text
from storage.models import Campaign, Prompt


class AskedPrompts:
    """A community's prompts, read once: each one's key, texts and campaign language."""

    def __init__(self, session: Session, community_id: int) -> None:
        self.session = session
        self.prompts: dict[int, tuple[str, dict[str, Any] | None, str]] = {
            prompt_id: (key, texts, language)
            for prompt_id, key, texts, language in session.execute(
                select(Prompt.id, Prompt.key, Prompt.text, Campaign.language)
                .join(Campaign, Prompt.campaign_id == Campaign.id)
                .where(Campaign.community_id == community_id)
            )
        }
        self.asked: dict[tuple[int, str | None, str | None], tuple[str, str]] = {}

    def lookup(
        self, prompt_id: int | None, stored: str | None, response_language: str | None
    ) -> tuple[str, str]:
        """The prompt's key and the text asked: in the stored language, else as chosen for the
        response's language (answers stored before the language was); empty for open responses."""
        if prompt_id is None:
            return "", ""
        cache_key = (prompt_id, stored, response_language)
        found = self.asked.get(cache_key)
        if found is None:
            key, texts, default = self._prompt(prompt_id)
            if texts and stored in texts:
                asked = str(texts[stored])
            else:
                asked = pick_text(texts, response_language, default) or ""
            found = self.asked[cache_key] = (key, asked)
        return found

    def _prompt(self, prompt_id: int) -> tuple[str, dict[str, Any] | None, str]:
        if prompt_id not in self.prompts:
            prompt = self.session.get(Prompt, prompt_id)
            self.prompts[prompt_id] = (
                (prompt.key, prompt.text, prompt.campaign.language) if prompt else ("", None, "")
            )
        return self.prompts[prompt_id]

    def text_sql(self, prompt_id: Any, texts: Any, stored: Any, response_language: Any) -> Any:
        """`lookup`'s text in SQL: the texts column read in the stored language, else in the one
        chosen for the response's language among these prompts' texts."""
        chosen = {
            number: asked_language_sql(prompt_texts, response_language, default)
            for number, (_, prompt_texts, default) in self.prompts.items()
            if prompt_texts
        }
        language = func.coalesce(stored, case(chosen, value=prompt_id)) if chosen else stored
        return func.coalesce(texts.op("->>", return_type=String)(language), "")
