"""The "ceiling": a bare Flask route that stores one row, served like the real app."""

from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

from storage.db import make_engine

metadata = MetaData()
ceiling_rows = Table(
    "bench_ceiling", metadata, Column("id", Integer, primary_key=True), Column("body", Text)
)


def create_app() -> Flask:
    """A Flask app with one route doing one INSERT, on the engine settings the app uses."""
    engine = make_engine(os.environ["DATABASE_URL"])
    app = Flask(__name__)

    @app.post("/ingest")
    def ingest() -> tuple[str, int]:
        with engine.begin() as connection:
            connection.execute(insert(ceiling_rows).values(body=request.form.get("Body", "")))
        return "ok", 200

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return app
