"""The `voices` command line: set up, run, launch campaigns, export."""

from __future__ import annotations

import sys

import click

from bot.cli import (  # noqa: F401  (they register the sub-commands)
    commands,
    reach,
    results,
    run,
    safety,
    sending,
    themes,
    users,
)
from bot.cli.base import EXIT_USER_ERROR, Context, UserError, cli, pass_ctx
from bot.cli.run import demo_login


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Development server: web pages, webhooks, simulator, scheduler and sender in one process."""
    from bot.cli.sending import build_worker
    from webhooks.app import create_app

    app = create_app(ctx.settings, built=ctx.services)
    base = f"http://{host}:{port}"
    for notice in ctx.settings.notices:
        click.echo(notice)
    for line in ctx.services.channel_lines():
        click.echo(line)
    click.echo(f"Community Voices is running: open {base}/simulator to talk to it as a resident")
    login = demo_login(ctx)
    if login is not None:
        email, password = login
        click.echo(f"Organiser pages: {base}/admin/ (log in as {email}, password {password})")
    else:
        click.echo(
            f"Organiser pages: {base}/admin/ (make a login first: "
            ".venv/bin/voices user add EMAIL --role admin)"
        )
    click.echo(f"Health check: {base}/healthz · stop with Ctrl+C")
    # The in-process scheduler and sender; gunicorn's web workers never start one.
    in_process = build_worker(ctx.services)
    in_process.start()
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        in_process.stop()


def _database_unreachable(exc: Exception) -> bool:
    # Looked up only once SQLAlchemy is loaded: without it no database was tried.
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.OperationalError)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and keep user mistakes to one line on stderr."""
    try:
        cli.main(args=argv, prog_name="voices", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("voices: aborted", err=True)
        return 1
    except UserError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"voices: {exc.format_message()}", err=True)
        return EXIT_USER_ERROR
    except Exception as exc:
        if not _database_unreachable(exc):
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)  # type: ignore[attr-defined]
        click.echo(f"voices: the database cannot be reached ({reason})", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
