"""The public results page, GET /results/SLUG: no login, served from the in-process cache."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Flask, current_app, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from bot.insights.results import QuestionResults, ResultsPage, results_page
from storage.languages import pick_text
from storage.models import Community
from storage.publishing import PageState, page_state
from storage.small_groups import FEWER_THAN, SMALL_GROUP
from webhooks.charts import tally_chart
from webhooks.results_cache import CHECK_SECONDS, Entry, ResultsCache
from webhooks.services import services

bp = Blueprint("results", __name__)
CACHE_KEY = "voices_results_cache"
# Browsers and proxies may keep a page as long as a worker trusts its own copy; no third parties.
CACHE_CONTROL = f"public, max-age={int(CHECK_SECONDS) * 6}"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# Names of languages in themselves, for the switcher; other codes are shown as they are.
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Cymraeg",
    "gd": "Gàidhlig",
    "ga": "Gaeilge",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "pl": "Polski",
    "ur": "اردو",
    "pa": "ਪੰਜਾਬੀ",
    "ar": "العربية",
    "uk": "Українська",
}
STATUS_WORDS = {"planned": "Planned", "doing": "Under way", "done": "Done"}


def init_app(app: Flask, cache: ResultsCache | None = None) -> None:
    """Register the page with its own cache (tests pass one with a fake clock)."""
    app.extensions[CACHE_KEY] = cache or ResultsCache()
    app.register_blueprint(bp)


def results_cache() -> ResultsCache:
    return current_app.extensions[CACHE_KEY]  # type: ignore[no-any-return]


def forget_results(slug: str) -> None:
    """Show an organiser's change on this worker's next view at once."""
    results_cache().forget(slug)


def _read_state(slug: str) -> PageState | None:
    with services().db.session_scope() as session:
        return page_state(session, slug)


def _build(state: PageState) -> ResultsPage:
    with services().db.session_scope() as session:
        community = session.get(Community, state.community_id)
        assert community is not None
        return results_page(session, community)


def choose_language(page: ResultsPage) -> str:
    """?lang= when the page has it, else the best of Accept-Language, else the first."""
    asked = request.args.get("lang", "")
    if asked in page.languages:
        return asked
    # Accept-Language comes sorted by preference; "gd-GB" is served "gd" before "en;q=0.5".
    offered = {code.lower(): code for code in page.languages}
    for wanted, _quality in request.accept_languages:
        for candidate in (wanted.lower(), wanted.split("-")[0].lower()):
            if candidate in offered:
                return offered[candidate]
    return page.languages[0] if page.languages else "en"


@bp.get("/results/<slug>")
def results(slug: str) -> Response:
    """A published community's results; 404, the same page, for unpublished and unknown ones."""
    entry = results_cache().get(slug, _read_state, _build)
    if entry.page is None:
        response = Response(_render("results/not_found.html", small_group=SMALL_GROUP), 404)
        response.headers["Cache-Control"] = "no-cache"
        return _headers(response)
    language = choose_language(entry.page)
    html, etag = _rendered(entry, entry.page, language)
    response = Response(html, mimetype="text/html")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Accept-Language"
    response.content_language.add(language)
    return _headers(response.make_conditional(request))


def _rendered(entry: Entry, page: ResultsPage, language: str) -> tuple[str, str]:
    """The page in one language, rendered once per cache entry."""
    found = entry.rendered.get(language)
    if found is None:
        html = _render(
            "results/page.html",
            page=page,
            language=language,
            language_names=LANGUAGE_NAMES,
            status_words=STATUS_WORDS,
            pick_text=pick_text,
            fewer_than=FEWER_THAN,
            small_group=SMALL_GROUP,
            chart=_chart,
        )
        found = (html, hashlib.sha256(html.encode()).hexdigest()[:20])
        entry.rendered[language] = found
    return found


def _chart(question: QuestionResults, language: str) -> Markup:
    """A closed question's shown answers as the server-drawn bar chart (its table follows)."""
    assert question.form is not None
    rows = [
        (question.form.label(choice.key, language), choice.count, choice.percent)
        for choice in question.choices
    ]
    return tally_chart(rows, f"Answers of {question.answered} residents")


def _render(name: str, **context: Any) -> str:
    """Render without the app's context processors: they would read the login cookie (and the
    database for a logged-in organiser), and the page is the same for everyone."""
    return current_app.jinja_env.get_template(name).render(**context)


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
