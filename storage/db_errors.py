"""Database errors in logs without the values: no SQL parameters, no PostgreSQL DETAIL line.

hide_parameters (storage/db.py) keeps the bound values out of SQLAlchemy's message, but the
server's own text still names them: `DETAIL: Key (email)=(who@example.org) already exists.`,
`invalid input syntax for type integer: "..."`. Logs get the error's kind and where it hit.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

from sqlalchemy.exc import DBAPIError, StatementError

_DRIVERS = ("psycopg", "sqlite3")


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, StatementError) or type(exc).__module__.split(".")[0] in _DRIVERS


def _chain(exc: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def describe(exc: BaseException) -> str:
    """One line naming a database error's kind, code and constraint, never a value."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    name = type(exc).__name__
    code = getattr(orig, "sqlstate", None)
    if code:  # the server's error: only the fields that name the schema, not the data
        diag = orig.diag  # type: ignore[attr-defined]
        where = [
            f"{label} {value}"
            for label, value in (
                ("constraint", diag.constraint_name),
                ("table", diag.table_name),
                ("column", diag.column_name),
            )
            if value
        ]
        return f"{name}: {', '.join([type(orig).__name__, code, *where])}"
    # SQLite's and the driver's own messages name columns and types, not values.
    text = str(orig).strip()
    return f"{name}: {text.splitlines()[0]}" if text else name


def safe_traceback(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str | None:
    """The traceback with every database error's text replaced; None if none is involved."""
    chain = _chain(exc)
    if not any(_is_database_error(link) for link in chain):
        return None
    stack = "".join(traceback.format_tb(tb)).rstrip()
    wrapped = {id(getattr(link, "orig", None)) for link in chain}
    causes = [
        describe(link) if _is_database_error(link) else type(link).__name__
        for link in chain
        if id(link) not in wrapped
    ]
    # An error raised from a database error may repeat its text: name its kind only.
    head = describe(exc) if _is_database_error(exc) else kind.__name__
    lines = ["Traceback (most recent call last):", stack, head]
    lines += [f"  caused by {cause}" for cause in causes[1:]]
    return "\n".join(lines)


class HideDatabaseValues(logging.Filter):
    """Log database errors (as arguments or with exc_info) by kind only, never with values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                describe(arg) if isinstance(arg, BaseException) and _is_database_error(arg) else arg
                for arg in record.args
            )
        if record.exc_info and record.exc_info[1] is not None:
            kind, exc, tb = record.exc_info
            safe = safe_traceback(kind, exc, tb)  # type: ignore[arg-type]
            if safe is not None:
                record.exc_text = safe
        return True


def keep_values_out_of_logs(*loggers: logging.Logger) -> None:
    """Filter `loggers` and every handler of the root logger (what basicConfig set up)."""
    for target in [*loggers, *logging.getLogger().handlers]:
        if not any(isinstance(f, HideDatabaseValues) for f in target.filters):
            target.addFilter(HideDatabaseValues())
