"""Database outages answer 503 fast, so Twilio and Telegram retry instead of losing the message;
any database error is logged without the values it was about."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from storage.db_errors import describe, keep_values_out_of_logs

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def is_unavailable(exc: BaseException) -> bool:
    """True for errors meaning the database cannot be reached right now (not a bug in a query)."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _unavailable(exc: Exception) -> Response | tuple[Response, int]:
    if not is_unavailable(exc):
        raise exc
    log.warning(
        "database unavailable during %s %s: %s", request.method, request.path, describe(exc)
    )
    response = jsonify(status="unavailable", database="unreachable")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    """Map database connection failures to 503 Service Unavailable with Retry-After; log the
    unhandled ones (500) without the values PostgreSQL's DETAIL line repeats."""
    keep_values_out_of_logs(app.logger)
    app.register_error_handler(DBAPIError, _unavailable)
    app.register_error_handler(PoolTimeoutError, _unavailable)
