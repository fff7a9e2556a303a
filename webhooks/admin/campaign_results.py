"""What a campaign shows on the public results page: "you said, we did" updates and approved
quotes, from the campaign page; and publishing the page, from the community page."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response

from bot.campaigns import quotes, updates
from storage.models import Campaign
from storage.publishing import set_published
from webhooks.admin.access import community_or_404, me, organisers_only
from webhooks.admin.blueprint import bp
from webhooks.admin.campaigns import _campaign_or_404, _campaign_page
from webhooks.admin.forms import PublishForm, UpdateForm
from webhooks.results import forget_results
from webhooks.services import services

CAMPAIGN = "/communities/<slug>/campaigns/<campaign_slug>"


@bp.post("/communities/<slug>/publish")
@organisers_only
def publish(slug: str) -> Response:
    """Publish the community's results page, or take it down (an unticked box)."""
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    with services().db.session_scope() as session:
        found = community_or_404(session, slug)
        set_published(session, found.id, bool(form.publish.data))
    forget_results(slug)
    if form.publish.data:
        flash(f"Published. Anyone can now see /results/{slug}.")
    else:
        flash("Taken down. The results page now answers “not found”.")
    return redirect(url_for("admin.community", slug=slug) + "#results-page")


def _back(slug: str, campaign_slug: str, anchor: str) -> Response:
    forget_results(slug)
    return redirect(url_for("admin.campaign", slug=slug, campaign_slug=campaign_slug) + anchor)


def _draft(form: UpdateForm) -> updates.UpdateDraft:
    return updates.UpdateDraft(form.text.data or "", form.happened_on.data, form.status.data)


def _with_campaign(slug: str, campaign_slug: str, change) -> None:  # type: ignore[no-untyped-def]
    """Run `change(session, campaign)` in one transaction; 404 for what is not there."""
    with services().db.session_scope() as session:
        campaign: Campaign = _campaign_or_404(
            session, community_or_404(session, slug).id, campaign_slug
        )
        try:
            change(session, campaign)
        except LookupError:
            abort(404)
        except updates.UpdateError:
            abort(400)  # the form's own checks refuse these first, in the organiser's words


@bp.post(CAMPAIGN + "/updates")
@organisers_only
def add_update(slug: str, campaign_slug: str) -> Response | str:
    """Add a "you said, we did" update to the public page; errors keep what was typed."""
    form = UpdateForm()
    if not form.validate_on_submit():
        return _campaign_page(slug, campaign_slug, update_form=form)
    author = me().id
    _with_campaign(slug, campaign_slug, lambda s, c: updates.add_update(s, c, _draft(form), author))
    flash("Update added to the results page.")
    return _back(slug, campaign_slug, "#updates")


@bp.post(CAMPAIGN + "/updates/<int:update_id>")
@organisers_only
def edit_update(slug: str, campaign_slug: str, update_id: int) -> Response:
    """Change an update's text, date or status."""
    form = UpdateForm()
    if not form.validate_on_submit():
        flash("Not saved: " + " ".join(e for errors in form.errors.values() for e in errors))
        return _back(slug, campaign_slug, "#updates")
    _with_campaign(
        slug, campaign_slug, lambda s, c: updates.edit_update(s, c, update_id, _draft(form))
    )
    flash("Update saved.")
    return _back(slug, campaign_slug, "#updates")


@bp.post(CAMPAIGN + "/updates/<int:update_id>/delete")
@organisers_only
def delete_update(slug: str, campaign_slug: str, update_id: int) -> Response:
    """Remove an update from the public page."""
    _with_campaign(slug, campaign_slug, lambda s, c: updates.delete_update(s, c, update_id))
    flash("Update removed from the results page.")
    return _back(slug, campaign_slug, "#updates")


@bp.post(CAMPAIGN + "/quotes/<int:response_id>/approve")
@organisers_only
def approve_quote(slug: str, campaign_slug: str, response_id: int) -> Response:
    """Show this answer, redacted, on the public page."""
    user = me().id
    _with_campaign(slug, campaign_slug, lambda s, c: quotes.approve(s, c, response_id, user))
    flash("Quote approved: it shows on the results page.")
    return _back(slug, campaign_slug, "#quotes")


@bp.post(CAMPAIGN + "/quotes/<int:response_id>/hide")
@organisers_only
def hide_quote(slug: str, campaign_slug: str, response_id: int) -> Response:
    """Take this answer off the public page."""
    _with_campaign(slug, campaign_slug, lambda s, c: quotes.hide(s, c, response_id))
    flash("Quote hidden: it no longer shows on the results page.")
    return _back(slug, campaign_slug, "#quotes")
