"""The `voices` command line: set up, run, launch campaigns, export."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError

from webhooks import (  # noqa: F401  (they register the sub-commands)
    cli_commands,
    cli_reach,
    cli_run,
    cli_safety,
    cli_sending,
    cli_themes,
    cli_users,
)
from webhooks.cli_base import EXIT_USER_ERROR, UserError, cli


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
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        click.echo(f"voices: the database cannot be reached ({reason})", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
