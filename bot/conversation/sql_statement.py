"""A data-modifying WITH statement and its parameters, built together, its text once per shape."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import Column, bindparam, text
from sqlalchemy.dialects import postgresql

_DIALECT = postgresql.dialect()
_TYPE_SQL: dict[Any, str] = {}
_PREPARED: dict[str, Any] = {}
# Shapes are few (effects, reply counts, columns set); a bound all the same.
MAX_SHAPES = 1000


class Statement:
    """The WITH statement of one decision and its parameters, built together.

    The shape names everything the text depends on; values are parameters only.
    """

    def __init__(self, shape: Hashable) -> None:
        self.shape = shape
        # A shape seen before has its statement: only the parameters are gathered.
        self.known = _PREPARED.get(shape)
        self.parts: list[str] = []
        self.params: dict[str, Any] = {}
        self.types: dict[str, Any] = {}

    def cast(self, name: str, column: Column[Any]) -> str:
        """A parameter cast to its column's type (a bare NULL in a SELECT list has none)."""
        self.types[name] = column.type
        type_sql = _TYPE_SQL.get(column)
        if type_sql is None:
            type_sql = _TYPE_SQL[column] = column.type.compile(dialect=_DIALECT)
        return f"CAST(:{name} AS {type_sql})"

    def cte(self, name: str, sql: str) -> None:
        self.parts.append(f"{name} AS (\n{sql}\n)")

    def sql(self, final: str) -> Any:
        """The text() of the statement, built once per shape so SQLAlchemy's cache finds it."""
        if self.known is not None:
            return self.known
        statement = "WITH " + ",\n".join(self.parts) + "\n" + final
        if len(_PREPARED) >= MAX_SHAPES:
            _PREPARED.clear()
        binds = [bindparam(name, type_=type_) for name, type_ in self.types.items()]
        found = _PREPARED[self.shape] = text(statement).bindparams(*binds)
        return found
