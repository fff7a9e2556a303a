"""The app's long-lived parts, kept on the Flask app for request handlers."""

from __future__ import annotations

from flask import Flask, current_app

from bot.services import Services


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["voices"]


def init_app(app: Flask, built: Services) -> None:
    app.extensions["voices"] = built
