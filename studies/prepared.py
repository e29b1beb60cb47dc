"""Querysets compiled to SQL once per process, then run with each request's values.

Django compiles a queryset to SQL every time it runs it. For the two lookups every API and
DICOMweb request makes (its token, then the addressed instance with the visibility rule) that
took 0.4-0.5 ms of CPU each, several times what PostgreSQL then needs to answer them; a viewer
makes 140 such requests to show a CT series. A ``PreparedQuery`` builds its queryset once per
*shape* with stand-in values, finds each stand-in among the SQL parameters, and later runs the
same SQL with the real values in their place. The queryset is built by the usual selectors, so
the SQL is exactly what they would have run.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: dict[int, str]  # parameter position -> value name
    compiler: object  # the compiler that made ``sql``: it knows the columns' converters


class PreparedQuery:
    """``build(shape, **stand_ins)`` returns a ``values_list`` queryset. Each value must reach the
    SQL only as parameters equal to its stand-in (a filter value), never change the SQL's text;
    what does change it (e.g. the person's role) goes in ``shape``. ``slots`` names the values
    and their types (str or int)."""

    def __init__(self, build: Callable[..., QuerySet], **slots: type):
        self._build = build
        self._stand_ins = {name: _stand_in(name, kind, n) for n, (name, kind) in enumerate(slots.items())}
        self._compiled: dict[Hashable, _Compiled] = {}

    def rows(self, shape: Hashable = None, /, **values) -> list[tuple]:
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = self._compile(shape)
        params = list(compiled.params)
        for position, name in compiled.slots.items():
            params[position] = values[name]
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return list(compiled.compiler.results_iter(results=[fetched], tuple_expected=True))

    def _compile(self, shape: Hashable) -> _Compiled:
        queryset = self._build(shape, **self._stand_ins)
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        slots = {}
        for name, stand_in in self._stand_ins.items():
            if str(stand_in) in sql:
                raise ValueError(f"{name!r} is written into the SQL, not passed as a parameter: it cannot be prepared")
            # Absent from some shapes (e.g. the person's id where the role sees every study).
            slots.update(dict.fromkeys((i for i, p in enumerate(params) if type(p) is type(stand_in) and p == stand_in), name))
        return _Compiled(sql, tuple(params), slots, compiler)


def _stand_in(name: str, kind: type, n: int):
    # Values no request can send: a NUL cannot be in a URL (pacs.middleware) nor an id negative.
    if kind is str:
        return f"\x00prepared:{name}"
    if kind is int:
        return -(10**12) - n
    raise TypeError(f"a prepared value is a str or an int, not {kind.__name__}")
