"""Queries the ORM writes once per process and the database then runs many times.

Building a queryset and compiling it to SQL costs Django more CPU (0.3 to 0.6 ms a query
here) than PostgreSQL spends running a small indexed query. The API's most frequent
requests (the token look-up, a loan read) run the same few queries with new values each
time, so for them :class:`Prepared` asks the ORM for the SQL once per database and shape,
with marker values in the place of the request's own, and swaps the request's values in
at each run. The ORM still writes every query (the models stay its one source) and still
turns the columns into Python values (its converters: dates on SQLite, say).

A marker must reach the SQL as a parameter exactly as given (``pk=loan_id``,
``due_date__lte=on``): compiling checks that each named value was found among the
parameters and refuses the query otherwise (``ImproperlyConfigured``), so a value the ORM
folded into the SQL text (a slice's bounds, say) is caught the first time it runs.

On PostgreSQL these statements bind their parameters on the server, so psycopg makes them
prepared statements once a connection has run one ``prepare_threshold`` times
(``DATABASE_PREPARE_THRESHOLD``): PostgreSQL then stops parsing and planning them, most of
its work for such queries. Integer values are sent as plain ints, sized by their own value
(the ORM's column-sized wrappers would cut a value past the column's size short).

:class:`Prepared` reads (model rows, value rows, dictionaries, a page of them, a count);
:class:`PreparedUpdate` runs an UPDATE. Twins in the tests hold each use equal to the ORM's
own queryset (tests/config/test_prepared.py, tests/loans/test_loan_answer.py,
tests/loans/test_application_list.py).

:func:`prepared_insert` and :func:`prepared_update` write model rows as ``save()`` does
(a booking's rows, every audit row): the ORM writes the statement once, with the first
rows it is given, and each call sends its own rows' values made by the fields themselves
(``pre_save``, ``get_db_prep_save``: a value is sized by its own column, which it must fit
anyway). tests/config/test_prepared.py holds the rows equal to ``save()``'s and
``bulk_create``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery, UpdateQuery

#: Marker values, by the type of the value they stand for: unusual enough not to be one
#: of a query's own constants, and inside every integer column's range (an out-of-range
#: integer would make the ORM drop the condition, which the check would then catch).
_INT_MARKERS = (31_337, 31_391, 31_397, 31_469, 31_477, 31_481, 31_489, 31_511)
_DATE_MARKERS = tuple(date(1901, 2, day) for day in range(3, 11))
_STR_MARKERS = tuple(f"wibawa-marker-{n}" for n in range(8))


def _markers(values: dict[str, Any]) -> dict[str, Any]:
    counters = {int: iter(_INT_MARKERS), date: iter(_DATE_MARKERS), str: iter(_STR_MARKERS)}
    markers = {}
    for name, value in values.items():
        if value is None:
            continue
        kind = type(value)
        if kind not in counters:
            raise ImproperlyConfigured(f"{name}: a prepared query takes int, date or str values, not {kind.__name__}")
        markers[name] = next(counters[kind])
    return markers


#: Where a named value goes among a statement's parameters: (position, name, what the ORM
#: made of the value: an ISO string for SQLite's dates; None: the value as it is).
Slot = tuple[int, str, Callable[[Any], Any] | None]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: tuple[Any, ...]
    slots: tuple[Slot, ...]
    #: (column position, the backend's and field's converters, the column's expression)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    #: For model rows: the model, its columns' range and attribute names, the annotations.
    model: type[Model] | None
    fields: slice
    attnames: tuple[str, ...]
    annotations: tuple[tuple[str, int], ...]
    #: The ORM's builders of the rows ``select_related`` joins in.
    related: tuple[Any, ...]
    #: The column names of a values() query, in their order.
    names: tuple[str, ...]
    #: Whether the query has LIMIT or OFFSET of its own (a slice).
    sliced: bool

    def params(self, values: dict[str, Any]) -> list[Any]:
        return _filled(self.constants, self.slots, values)


def _filled(constants: Sequence[Any], slots: Sequence[Slot], values: dict[str, Any]) -> list[Any]:
    """A statement's parameters: its constants, with the named values in their slots."""
    params = list(constants)
    for position, name, adapt in slots:
        value = values[name]
        params[position] = value if adapt is None else adapt(value)
    return params


def _slots(params: Sequence[Any], markers: dict[str, Any], model: type[Model]) -> tuple[list[Any], list[Slot]]:
    """The parameters that are constants (None where a value goes) and where each named
    value goes, in what form; refuses a value found nowhere."""
    constants = list(params)
    slots: list[Slot] = []
    for position, param in enumerate(params):
        for name, marker in markers.items():
            if type(param) is type(marker) and param == marker:
                slots.append((position, name, None))
            elif isinstance(marker, int) and isinstance(param, int) and int(param) == marker:
                # The ORM wrapped it in the column's size (psycopg's Int2, Int4): a plain
                # int is sent instead, sized by its own value, so that a value beyond
                # that size is neither refused nor cut short.
                slots.append((position, name, None))
            elif isinstance(marker, date) and param == marker.isoformat():
                slots.append((position, name, date.isoformat))
            else:
                continue
            constants[position] = None
            break
    missing = set(markers) - {name for _, name, _ in slots}
    if missing:
        raise ImproperlyConfigured(
            f"prepared query on {model.__name__}: {sorted(missing)} not among its parameters {params!r}"
        )
    return constants, slots


def _compile(queryset: QuerySet[Any], markers: dict[str, Any]) -> _Compiled:
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    constants, slots = _slots(params, markers, queryset.model)
    expressions = [column[0] for column in compiler.select]
    converters = tuple(
        (position, tuple(convs), expression)
        for position, (convs, expression) in compiler.get_converters(expressions).items()
    )
    query = queryset.query
    # As Django's ValuesIterable names a values() row's columns.
    names = (
        tuple(query.selected)
        if query.selected
        else (*query.extra_select, *query.values_select, *query.annotation_select)
    )
    klass_info = compiler.klass_info
    if klass_info is None or queryset._fields is not None:  # type: ignore[attr-defined]  # values() or values_list()
        return _Compiled(
            sql, tuple(constants), tuple(slots), converters, None, slice(0), (), (), (), names, query.is_sliced
        )
    select_fields = klass_info["select_fields"]
    fields = slice(select_fields[0], select_fields[-1] + 1)
    attnames = tuple(column[0].target.attname for column in compiler.select[fields])
    return _Compiled(
        sql,
        tuple(constants),
        tuple(slots),
        converters,
        klass_info["model"],
        fields,
        attnames,
        tuple(compiler.annotation_col_map.items()),
        tuple(get_related_populators(klass_info, compiler.select, queryset.db)),  # type: ignore[call-arg]
        names,
        query.is_sliced,
    )


def _cursor(connection: Any, *, times: bool = True) -> Any:
    """A cursor for a prepared query: on PostgreSQL one that binds its parameters on the
    server, so that psycopg prepares the statement once the connection has run it
    ``prepare_threshold`` times (the database's OPTIONS; Django's own cursors bind on the
    client and are never prepared), reading timestamps with psycopg's C loader unless
    ``times`` is False (a write, which reads back no time); elsewhere the connection's
    usual cursor."""
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    cursor: Any = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
    fast = _c_timestamptz_loader() if times else None
    if fast is not None and connection.timezone_name == "UTC":
        cursor.adapters.register_loader("timestamptz", fast)
    return connection._prepare_cursor(cursor)


@cache
def _c_timestamptz_loader() -> type | None:
    """psycopg's own timestamptz loader when it is the C one (psycopg[binary]), else None.

    Django loads timestamptz through a Python subclass of psycopg's loader that sets each
    value's tzinfo to the connection's zone; parsing in Python costs about 5 µs a value
    (a page of 50 applications has 250). With the session in UTC, as Django sets it, the
    C loader answers the same values with the same tzinfo (``datetime.timezone.utc``)."""
    import psycopg
    from psycopg import pq

    loader = psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, pq.Format.TEXT)
    return loader if loader is not None and loader.__module__.startswith("psycopg_binary") else None


class Prepared:
    """A query written by ``build`` (a function of the named values, and of the shape
    when one is given, returning a queryset), compiled once per database, shape and kind
    of values (a value given as None is passed to ``build`` as None and is part of the
    shape), then run with each call's values.

    ``rows(...)`` answers tuples (``build`` returns ``values_list()``), ``dicts(...)``
    dictionaries (``values()``; ``page=`` a slice of them), ``count(...)`` how many rows,
    ``objects(...)`` and ``first(...)`` model instances with their annotations and
    ``select_related`` rows (``build`` returns a plain queryset)."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *, using: str = DEFAULT_DB_ALIAS) -> None:
        self.build = build
        self.using = using
        self._compiled: dict[Hashable, _Compiled] = {}

    def compiled(self, shape: Hashable, values: dict[str, Any]) -> _Compiled:
        key = (connections[self.using].alias, shape, tuple((name, type(value)) for name, value in values.items()))
        found = self._compiled.get(key)
        if found is None:
            markers = _markers(values)
            stand_ins = {name: markers.get(name) for name in values}
            queryset = self.build(shape, **stand_ins) if shape is not None else self.build(**stand_ins)
            found = self._compiled[key] = _compile(queryset.using(self.using), markers)
        return found

    def _run(
        self, compiled: _Compiled, values: dict[str, Any], *, sql: str | None = None, more: tuple[Any, ...] = ()
    ) -> list[list[Any]]:
        """The rows of ``compiled``, or of ``sql`` written around it with the parameters
        ``more`` after its own, as the database gives them."""
        with _cursor(connections[self.using]) as cursor:
            cursor.execute(sql or compiled.sql, [*compiled.params(values), *more])
            return [list(row) for row in cursor.fetchall()]

    def _converted(self, compiled: _Compiled, rows: list[list[Any]]) -> list[list[Any]]:
        """``rows`` with the ORM's converters applied to their columns."""
        connection = connections[self.using]
        for row in rows:
            for position, convs, expression in compiled.converters:
                value = row[position]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[position] = value
        return rows

    def rows(self, shape: Hashable = None, **values: Any) -> list[tuple[Any, ...]]:
        compiled = self.compiled(shape, values)
        return [tuple(row) for row in self._converted(compiled, self._run(compiled, values))]

    def objects(self, shape: Hashable = None, **values: Any) -> list[Any]:
        compiled = self.compiled(shape, values)
        if compiled.model is None:
            raise ImproperlyConfigured("objects() needs a query of model rows, not values()")
        alias = connections[self.using].alias
        found = []
        for row in self._converted(compiled, self._run(compiled, values)):
            instance = compiled.model.from_db(alias, compiled.attnames, row[compiled.fields])
            for populator in compiled.related:
                populator.populate(row, instance)
            for name, position in compiled.annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    def dicts(self, shape: Hashable = None, *, page: slice | None = None, **values: Any) -> list[dict[str, Any]]:
        """The rows of a values() query as dictionaries. ``page`` (a slice with a stop,
        as Django's paginator asks) reads only those rows: LIMIT and OFFSET are sent as
        parameters, so every page is the same statement."""
        compiled = self.compiled(shape, values)
        if page is None:
            rows = self._converted(compiled, self._run(compiled, values))
        else:
            if compiled.sliced or page.stop is None or page.step is not None:
                raise ImproperlyConfigured("a page is a slice with a stop, of a query that has no slice of its own")
            start = page.start or 0
            sql = f"{compiled.sql} LIMIT %s OFFSET %s"
            rows = self._converted(compiled, self._run(compiled, values, sql=sql, more=(page.stop - start, start)))
        return [dict(zip(compiled.names, row, strict=True)) for row in rows]

    def count(self, shape: Hashable = None, **values: Any) -> int:
        """How many rows the query answers (``SELECT COUNT(*)`` around it)."""
        compiled = self.compiled(shape, values)
        counting = f"SELECT COUNT(*) FROM ({compiled.sql}) counted"  # noqa: S608 (the ORM's SQL; values are parameters)
        rows = self._run(compiled, values, sql=counting)
        return int(rows[0][0])

    def first(self, shape: Hashable = None, **values: Any) -> Any | None:
        found = self.objects(shape, **values)
        return found[0] if found else None


class PreparedUpdate:
    """An UPDATE the ORM writes once per database and kind of values: ``build`` (a
    function of the named values) returns ``(queryset, changes)``, what
    ``queryset.update(**changes)`` would run; calling it runs the statement with the
    call's values and answers how many rows changed."""

    def __init__(self, build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]]) -> None:
        self.build = build
        self._compiled: dict[Hashable, tuple[str, tuple[Any, ...], tuple[Slot, ...]]] = {}

    def __call__(self, **values: Any) -> int:
        connection = connections[DEFAULT_DB_ALIAS]
        key = (connection.alias, tuple((name, type(value)) for name, value in values.items()))
        found = self._compiled.get(key)
        if found is None:
            markers = _markers(values)
            queryset, changes = self.build(**{name: markers.get(name) for name in values})
            query: Any = queryset.query.chain(UpdateQuery)
            query.add_update_values(changes)
            if query.related_updates:
                raise ImproperlyConfigured("a prepared update changes one table")
            sql, params = query.get_compiler(connection.alias).as_sql()
            constants, slots = _slots(params, markers, queryset.model)
            found = self._compiled[key] = (sql, tuple(constants), tuple(slots))
        with _cursor(connection, times=False) as cursor:
            cursor.execute(found[0], _filled(found[1], found[2], values))
            return int(cursor.rowcount)


# --- writing model rows --------------------------------------------------------------


@dataclass(frozen=True)
class _Write:
    """A statement of :func:`prepared_insert` or :func:`prepared_update`."""

    sql: str
    #: The columns an insert returns, and the ORM's converters of those.
    returning: tuple[Field[Any, Any], ...] = ()
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...] = ()
    #: Whether the parameters are one array a column (many rows on PostgreSQL: UNNEST).
    columns_as_arrays: bool = False


#: The statements of :func:`prepared_insert` and :func:`prepared_update`, by database,
#: model and what varies their SQL.
_WRITES: dict[Hashable, _Write] = {}
#: The columns an insert writes, by model: every concrete one but the automatic key.
_INSERTED: dict[type[Model], tuple[Field[Any, Any], ...]] = {}


def _plain(values: Sequence[Any], model: type[Model]) -> None:
    """Refuses an expression among a row's values: its SQL would be part of the statement."""
    for value in values:
        if hasattr(value, "resolve_expression"):
            raise ImproperlyConfigured(f"a prepared write of {model.__name__} takes plain values, not {value!r}")


#: More rows than this go through ``bulk_create`` (one statement per count is kept).
PREPARED_INSERT_ROWS = 8


def prepared_insert(objs: Sequence[Model]) -> None:
    """What ``obj.save()`` does for new rows ``objs`` of one model (``force_insert``): one
    INSERT of every concrete column, the primary key (and any other column the database
    returns) set from its answer. The ORM writes the statement once per database, model
    and number of rows, with the first rows it is given; each call sends its rows' values,
    made as the ORM makes them (each field's ``pre_save`` and ``get_db_prep_save``).
    More than :data:`PREPARED_INSERT_ROWS` rows are the ORM's ``bulk_create``.

    Unlike ``save()``, it sends no ``pre_save``/``post_save`` signal (no Wibawa model has
    a receiver) and takes no expression as a value."""
    if not objs:
        return
    model = type(objs[0])
    if len(objs) > PREPARED_INSERT_ROWS:
        model._base_manager.bulk_create(objs)
        return
    meta = model._meta
    connection = connections[DEFAULT_DB_ALIAS]
    key = ("insert", connection.alias, model, len(objs))
    fields = _INSERTED.get(model)
    if fields is None:
        fields = _INSERTED[model] = tuple(
            f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated
        )
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    rows_of_values = [[field.pre_save(obj, True) for field in fields] for obj in objs]
    for values in rows_of_values:
        _plain(values, model)
    found = _WRITES.get(key)
    if found is None:
        returning = tuple(meta.db_returning_fields)
        if not connection.features.can_return_rows_from_bulk_insert and len(objs) > 1:
            raise ImproperlyConfigured(f"{connection.vendor} returns no keys from a many-row insert")
        query = InsertQuery(model)
        query.insert_values(fields, list(objs))
        compiler: Any = query.get_compiler(connection=connection)
        compiler.returning_fields = list(returning)
        statements = compiler.as_sql()
        sql, params = statements[0]
        # One parameter a value, row after row; or, for many rows on PostgreSQL (UNNEST),
        # one array a column.
        columns_as_arrays = len(objs) > 1 and len(params) == len(fields)
        if len(statements) != 1 or not (columns_as_arrays or len(params) == len(fields) * len(objs)):
            raise ImproperlyConfigured(f"the ORM's insert of {model.__name__} is not one statement of its values")
        columns = [field.get_col(meta.db_table) for field in returning]
        converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(columns).items()
        )
        found = _WRITES[key] = _Write(sql, returning, converters, columns_as_arrays)
    for values in rows_of_values:
        values[:] = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    if found.columns_as_arrays:
        sent: list[Any] = [list(column) for column in zip(*rows_of_values, strict=True)]
    else:
        sent = [value for values in rows_of_values for value in values]
    with _cursor(connection, times=False) as cursor:
        cursor.execute(found.sql, sent)
        rows = [list(row) for row in cursor.fetchall()] if found.returning else []
    for obj, row in zip(objs, rows, strict=True):
        for position, convs, expression in found.converters:
            for convert in convs:
                row[position] = convert(row[position], expression, connection)
        for field, value in zip(found.returning, row, strict=True):
            setattr(obj, field.attname, value)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def prepared_update(obj: Model, fields: Sequence[str]) -> int:
    """What ``obj.save(update_fields=fields)`` does: one UPDATE of those columns of
    ``obj``'s row, by its primary key; answers how many rows it changed (1, or 0 for a
    row that is gone). The ORM writes the statement once per database, model, fields
    and which of the values are None (it writes those as NULL); each call sends the
    values as the ORM makes them (``get_db_prep_save``). No signal is sent."""
    model = type(obj)
    meta = model._meta
    connection = connections[DEFAULT_DB_ALIAS]
    targets: tuple[Any, ...] = tuple(meta.get_field(name) for name in fields)
    values = [field.pre_save(obj, False) for field in targets]
    _plain(values, model)
    nulls = tuple(value is None for value in values)
    key = ("update", connection.alias, model, tuple(fields), nulls)
    found = _WRITES.get(key)
    if found is None:
        query = UpdateQuery(model)
        query.add_update_fields([(field, None, value) for field, value in zip(targets, values, strict=True)])
        query.add_filter("pk", obj.pk)  # type: ignore[arg-type]  # Django's (name, value) form, as update() uses
        sql, params = query.get_compiler(connection=connection).as_sql()
        if len(params) != nulls.count(False) + 1:
            raise ImproperlyConfigured(f"the ORM's update of {model.__name__} is not one statement of its values")
        found = _WRITES[key] = _Write(sql)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(targets, values, strict=True)
        if value is not None
    ]
    params.append(meta.pk.get_db_prep_value(obj.pk, connection))
    with _cursor(connection, times=False) as cursor:
        cursor.execute(found.sql, params)
        return int(cursor.rowcount)
