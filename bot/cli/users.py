"""`voices user add`: web logins for organisers, staff and admins."""

from __future__ import annotations

import sys

import click

from bot.cli.base import Context, cli, fail, pass_ctx

# storage.users.ROLES, written here so `voices --help` needs no password hashing library.
ROLES = ("admin", "organiser", "staff")


@cli.group()
def user() -> None:
    """Web logins."""


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        fail("no password given on standard input")
    return line.rstrip("\r\n")


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--community", "slugs", multiple=True, help="A community they may see (repeat).")
@pass_ctx
def user_add(ctx: Context, email: str, role: str, slugs: tuple[str, ...]) -> None:
    """Create a web login; the password is asked twice, or read as one line from stdin."""
    from storage import users

    if role != "admin" and not slugs:
        fail(f"a {role} needs at least one --community")
    password = _read_password()
    with ctx.services.db.session_scope() as session:
        try:
            created = users.create_user(session, email, password, role, list(slugs))
        except users.UserError as exc:
            fail(str(exc))
        where = ", ".join(slugs) if slugs else "every community"
        click.echo(f"created {role} {created.email} for {where}; log in at /admin/")
