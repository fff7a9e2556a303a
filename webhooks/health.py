"""GET /healthz: is the app up and can it reach its database."""

from __future__ import annotations

from flask import Blueprint, jsonify

from webhooks.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 with status ok when the database answers, 503 otherwise."""
    if services().db.ping():
        return jsonify(status="ok", database="ok")
    return jsonify(status="degraded", database="unreachable"), 503
