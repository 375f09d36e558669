"""Put a fixture's raw rows (``snapshot.py``) back into a database at the fixture's schema.

Vendor-neutral: each value is adapted to the column it goes into, as the live table
describes it (``connection.introspection``), with the backend's own adapters. So a fixture
dumped from PostgreSQL loads into SQLite too: datetimes are written the way Django writes
them there, not as the ISO strings of the file (SQLite compares them as text).
"""

import base64
import datetime as dt
import decimal
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time


def _adapter(connection, kind: str | None):
    ops = connection.ops

    def as_datetime(value):
        parsed = parse_datetime(value) if isinstance(value, str) else value
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, dt.UTC)  # naive ones were stored in UTC
        return ops.adapt_datetimefield_value(parsed)

    def as_date(value):
        return ops.adapt_datefield_value(parse_date(value) if isinstance(value, str) else value)

    def as_time(value):
        return ops.adapt_timefield_value(parse_time(value) if isinstance(value, str) else value)

    def as_decimal(value):
        return ops.adapt_decimalfield_value(decimal.Decimal(str(value)))

    return {
        "DateTimeField": as_datetime,
        "DateField": as_date,
        "TimeField": as_time,
        "DecimalField": as_decimal,
    }.get(kind or "")


def _special(connection, value):
    """The fixture's only objects: bytes and durations."""
    if "base64" in value:
        return base64.b64decode(value["base64"])
    if "microseconds" in value:
        if connection.features.has_native_duration_field:
            return dt.timedelta(microseconds=value["microseconds"])
        return value["microseconds"]
    raise ValueError(f"unknown value in fixture: {value!r}")


def _column_kinds(connection, cursor, table: str) -> dict[str, str | None]:
    kinds = {}
    for description in connection.introspection.get_table_description(cursor, table):
        try:
            kinds[description.name] = connection.introspection.get_field_type(
                description.type_code, description
            )
        except KeyError:
            kinds[description.name] = None
    return kinds


def _insert(connection, cursor, table: str, dumped: dict) -> int:
    kinds = _column_kinds(connection, cursor, table)
    columns = dumped["columns"]
    if missing := [c for c in columns if c not in kinds]:
        raise LookupError(
            f"{table} has no column {', '.join(missing)}: the database is not at the fixture's schema"
        )
    adapters = [_adapter(connection, kinds[c]) for c in columns]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 - introspected names
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    rows = []
    for row in dumped["rows"]:
        values = []
        for value, adapt in zip(row, adapters, strict=True):
            if isinstance(value, dict):
                value = _special(connection, value)
            elif value is not None and adapt is not None:
                value = adapt(value)
            values.append(value)
        rows.append(values)
    if rows:
        cursor.executemany(sql, rows)
    return len(rows)


def _reset_sequences(connection, cursor, tables: Iterable[str]) -> None:
    """After explicit ids, the next id PostgreSQL hands out must be past them.

    (SQLite needs nothing: an AUTOINCREMENT table remembers the largest id ever inserted.)
    """
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    for table in tables:
        for sequence in connection.introspection.get_sequences(cursor, table):
            column = quote(sequence["column"])
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({column}), 1), "  # noqa: S608
                f"MAX({column}) IS NOT NULL) FROM {quote(table)}",
                [quote(table), sequence["column"]],
            )


def load_rows(connection, data: dict, table_renames: dict[str, str] | None = None) -> dict[str, int]:
    """Insert every row of ``data`` (a fixture) as it was dumped, with its ids.

    A table goes into ``table_renames.get(name, name)``; its columns must be the dumped ones
    (the database is at the fixture's schema). Foreign keys are checked once every row is in:
    deferred to the commit on PostgreSQL, checked explicitly on SQLite (and other backends
    that can switch them off). Then PostgreSQL's sequences are moved past the loaded ids.
    Return the rows inserted per target table.
    """
    renames = table_renames or {}
    targets = {table: renames.get(table, table) for table in data["tables"]}
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    if absent := sorted(f"{t} (as {n})" if t != n else t for t, n in targets.items() if n not in existing):
        raise LookupError(f"no such tables to load into: {', '.join(absent)}")
    counts: dict[str, int] = {}

    def insert_all(cursor) -> None:
        for table, dumped in data["tables"].items():
            counts[targets[table]] = _insert(connection, cursor, targets[table], dumped)

    if connection.vendor == "postgresql":
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            # Django's foreign keys are DEFERRABLE: every one is checked at the commit.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            insert_all(cursor)
            _reset_sequences(connection, cursor, counts)
    else:
        # SQLite: PRAGMA foreign_keys can only change outside a transaction.
        if connection.in_atomic_block:
            raise RuntimeError("load_rows needs autocommit on this backend (a transaction=True test)")
        with (
            connection.constraint_checks_disabled(),
            transaction.atomic(using=connection.alias),
            connection.cursor() as cursor,
        ):
            insert_all(cursor)
        connection.check_constraints(table_names=list(counts))
    return counts
