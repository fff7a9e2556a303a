"""Hostile input at the door: oversized webhook bodies 413, malformed forms 400, NUL bytes 400.

Flask's MAX_CONTENT_LENGTH refuses a body whose Content-Length is too big, but a chunked body has
no Content-Length and is silently cut short; here it is read up to the limit and refused beyond.
"""

from __future__ import annotations

import io

from flask import Flask, abort, current_app, request

WEBHOOK_PREFIX = "/webhooks/"
TWILIO_PREFIX = "/webhooks/twilio/"
FORM_TYPE = "application/x-www-form-urlencoded"


def _limit_body() -> None:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None:
        if length > limit:
            abort(413)
        return
    environ = request.environ
    data = environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        abort(413)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def _twilio_form_or_400() -> None:
    # Twilio posts application/x-www-form-urlencoded UTF-8; anything else is not from Twilio.
    if request.mimetype != FORM_TYPE:
        abort(400, "Twilio webhooks take a form-encoded body")
    try:
        request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "the form body is not UTF-8")


NUL_REFUSED = "The request contains a NUL character, which no page accepts."
FORM_TYPES = frozenset({FORM_TYPE, "multipart/form-data"})


def _has_nul(pairs: object) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)  # type: ignore[attr-defined]


# Residents' words keep NUL as U+FFFD instead (the conversation store); Twilio's call steps and
# callbacks never carry it, and its ids would reach PostgreSQL.
WORDS_KEPT = frozenset({"/webhooks/twilio/sms", "/webhooks/telegram"})


def refuse_nul() -> None:
    """Refuse NUL in an address or form: PostgreSQL text cannot hold it, and no one types it."""
    if request.path in WORDS_KEPT:
        return
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        abort(400, NUL_REFUSED)
    posted = request.method == "POST" and request.mimetype in FORM_TYPES
    if posted and _has_nul(request.form.items(multi=True)):
        abort(400, NUL_REFUSED)


def guard_webhooks() -> None:
    """Refuse oversized or malformed webhook bodies before any handler reads them."""
    if not request.path.startswith(WEBHOOK_PREFIX) or request.method != "POST":
        return
    _limit_body()
    if request.path.startswith(TWILIO_PREFIX):
        _twilio_form_or_400()


def init_app(app: Flask) -> None:
    """Install the guards."""
    app.before_request(guard_webhooks)
    app.before_request(refuse_nul)
