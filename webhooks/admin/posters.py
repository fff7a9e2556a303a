"""Posters for noticeboards and school letters: the SMS keyword and number, a Telegram QR code,
and once the community publishes its results page, a second QR code to that page."""

from __future__ import annotations

import io
import os
import re

import segno
from flask import Response, current_app, render_template
from fpdf import FPDF

from storage.models import Community
from storage.publishing import results_link
from webhooks.admin.access import community_or_404
from webhooks.admin.blueprint import bp
from webhooks.services import services

BOT_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
PHONE_RE = re.compile(r"^\+\d{6,15}$")


def bot_username() -> str | None:
    """The Telegram bot's username, from TELEGRAM_BOT_USERNAME (without the @)."""
    value = current_app.config.get("TELEGRAM_BOT_USERNAME") or os.environ.get(
        "TELEGRAM_BOT_USERNAME", ""
    )
    value = value.strip().lstrip("@")
    return value if BOT_USERNAME_RE.match(value) else None


def telegram_link(community: Community) -> str | None:
    """The deep link that opens the bot and joins this community."""
    username = bot_username()
    return f"https://t.me/{username}?start={community.slug}" if username else None


def sms_number(community: Community) -> str | None:
    """The number residents text: the community's own, else the app's Twilio number."""
    if community.sms_number:
        return community.sms_number
    sender = services().settings.twilio_from
    return sender if PHONE_RE.match(sender or "") else None


def results_qr_link(community: Community) -> str | None:
    """The public results page's link when the community has published it."""
    if not community.results_published:
        return None
    return results_link(services().settings.public_base_url, community.slug)


def qr_png(link: str, scale: int = 10) -> bytes:
    """A QR code of `link` as PNG, dark on white with a quiet zone."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def _latin1(text: str) -> str:
    """PDF core fonts hold Latin-1 only; anything else becomes a question mark."""
    return text.encode("latin-1", "replace").decode("latin-1")


def poster_pdf(
    community: Community, number: str | None, link: str | None, results: str | None = None
) -> bytes:
    """An A4 poster: the community's name, how to join by SMS, the Telegram QR code, and the
    results page's QR code when it is published."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{community.name} Voices"))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 34)
    pdf.multi_cell(0, 16, _latin1(f"{community.name} Voices"), align="C")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 18)
    pdf.multi_cell(0, 9, "Tell us what you think about life here, in your own words.", align="C")
    pdf.ln(8)
    pdf.set_font("Helvetica", "B", 24)
    if number:
        pdf.multi_cell(0, 12, _latin1(f"Text {community.keyword} to {number}"), align="C")
    if link:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 18)
        scan = "Scan this with your phone to chat on Telegram:"
        pdf.multi_cell(0, 9, f"or {scan[0].lower()}{scan[1:]}" if number else scan, align="C")
        size = 70 if results else 90  # room below for the results page's code
        pdf.image(io.BytesIO(qr_png(link)), x=(210 - size) / 2, y=pdf.get_y() + 4, w=size)
        pdf.set_y(pdf.get_y() + size + 8)
        pdf.set_font("Helvetica", "", 12)
        pdf.multi_cell(0, 6, _latin1(link), align="C")
    if results:
        _results_block(pdf, results)
    pdf.set_y(250)
    pdf.set_font("Helvetica", "", 13)
    pdf.multi_cell(
        0,
        7,
        "Your number is kept private and never shown with your words. "
        "Text STOP to stop, HELP for help, DELETE to erase what you told us.",
        align="C",
    )
    return bytes(pdf.output())


def _results_block(pdf: FPDF, results: str) -> None:
    """What residents said and what changed: a smaller QR code above the footer."""
    size = 36
    pdf.set_y(max(pdf.get_y() + 4, 196))
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, "See what we heard and what changed:", align="C")
    pdf.image(io.BytesIO(qr_png(results)), x=(210 - size) / 2, y=pdf.get_y() + 1, w=size)
    pdf.set_y(pdf.get_y() + size + 2)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5, _latin1(results), align="C")


@bp.get("/communities/<slug>/poster")
def poster(slug: str) -> str:
    """The poster on screen, with links to print-ready PNG and PDF."""
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        return render_template(
            "admin/poster.html",
            community=community,
            number=sms_number(community),
            link=telegram_link(community),
            results=results_qr_link(community),
        )


@bp.get("/communities/<slug>/poster.png")
def poster_png(slug: str) -> Response:
    """The Telegram QR code as a PNG to paste into letters and newsletters."""
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        link = telegram_link(community)
    if link is None:
        return Response("Set TELEGRAM_BOT_USERNAME to make a Telegram QR code.\n", 404)
    return Response(
        qr_png(link),
        mimetype="image/png",
        headers={"Content-Disposition": f'inline; filename="{slug}-telegram-qr.png"'},
    )


@bp.get("/communities/<slug>/results-qr.png")
def results_qr_png(slug: str) -> Response:
    """The results page's QR code as a PNG; 404 while the page is not published."""
    with services().db.session_scope() as session:
        link = results_qr_link(community_or_404(session, slug))
    if link is None:
        return Response("Publish the results page first (on the community page).\n", 404)
    return Response(
        qr_png(link),
        mimetype="image/png",
        headers={"Content-Disposition": f'inline; filename="{slug}-results-qr.png"'},
    )


@bp.get("/communities/<slug>/poster.pdf")
def poster_pdf_download(slug: str) -> Response:
    """The printable A4 poster."""
    with services().db.session_scope() as session:
        community = community_or_404(session, slug)
        body = poster_pdf(
            community,
            sms_number(community),
            telegram_link(community),
            results_qr_link(community),
        )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{slug}-poster.pdf"'},
    )
