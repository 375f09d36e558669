"""Dump every table of a database, raw, as the upgrade test's fixture (``rows_<sha>.json``).

Generic: it imports no app and reads tables, not models, so it works on any commit and
keeps what models no longer describe. Run it from the root of a checkout of the commit
being captured, against a database migrated (and filled) by that commit (the settings
module is the checkout's, from its ``pyproject.toml``, unless ``DJANGO_SETTINGS_MODULE``
says otherwise)::

    DATABASE_URL=postgres://... python -m tests.upgrade.snapshot \\
        tests/upgrade/rows_<shortsha>.json [--commit <sha>]

The file says which commit made it, which migrations were applied (per app, in the order
they were applied) and, per table (every one but ``django_migrations``), its columns, the
kind of each column as Django's introspection names it, and its rows ordered by primary
key. Values are kept so that ``rows.load_rows`` can insert them again through
``cursor.execute`` parameters on PostgreSQL or SQLite: datetimes, dates and times as ISO
strings, decimals as strings, JSON columns as their JSON text, UUIDs and IP addresses as
strings, booleans as booleans, bytes as ``{"base64": ...}`` and durations as
``{"microseconds": ...}`` (the only objects in a row).

How ``rows_9cb8247.json`` was made (commit 9cb8247d5db9f618a98b416aefa4d86e852b72d8)::

    git -C /work/main worktree add /tmp/upgrade-src 9cb8247d5db9f618a98b416aefa4d86e852b72d8
    cd /tmp/upgrade-src
    createdb -h 127.0.0.1 -U postgres upgradesrc
    export DJANGO_SETTINGS_MODULE=grouport.settings
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/upgradesrc
    python manage.py migrate
    python manage.py seed_demo
    python -m tests.upgrade.make_rows      # that commit's services: see its docstring
    python -m tests.upgrade.snapshot tests/upgrade/rows_9cb8247.json
    dropdb -h 127.0.0.1 -U postgres upgradesrc

``make_rows.py`` puts at least one row in every table (and every status of reservations,
waitlist entries, reminders, payments, refunds, outbox messages, attendance flags), through
the commit's own services. It belongs to that commit's code: a later fixture needs its own.
"""

import argparse
import base64
import datetime as dt
import decimal
import ipaddress
import json
import os
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

SKIP = {"django_migrations"}


def encode(value):
    """A value as the fixture keeps it (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return {"microseconds": (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds}
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value.ip)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"no fixture encoding for {type(value).__name__}")


def field_type(connection, description) -> str | None:
    try:
        return connection.introspection.get_field_type(description.type_code, description)
    except KeyError:
        return None


def dump_table(connection, cursor, table: str) -> dict:
    quote = connection.ops.quote_name
    description = connection.introspection.get_table_description(cursor, table)
    columns = [d.name for d in description]
    types = [field_type(connection, d) for d in description]
    select = []
    for column, kind in zip(columns, types, strict=True):
        # The JSON text itself (PostgreSQL's driver would parse it, and lose "null" vs NULL).
        if kind == "JSONField" and connection.vendor == "postgresql":
            select.append(f"{quote(column)}::text")
        else:
            select.append(quote(column))
    # PostgreSQL and SQLite both name a table's key; a table without one is ordered by all.
    order = connection.introspection.get_primary_key_columns(cursor, table) or columns
    cursor.execute(
        f"SELECT {', '.join(select)} FROM {quote(table)} "  # noqa: S608 - names from introspection
        f"ORDER BY {', '.join(quote(c) for c in order)}"
    )
    rows = [[encode(v) for v in row] for row in cursor.fetchall()]
    return {"columns": columns, "types": types, "rows": rows}


def snapshot(connection, commit: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations: dict[str, list[str]] = {}
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
        tables = {
            table: dump_table(connection, cursor, table)
            for table in sorted(connection.introspection.table_names(cursor))
            if table not in SKIP
        }
    return {"commit": commit, "vendor": connection.vendor, "migrations": migrations, "tables": tables}


def write(data: dict, path: Path) -> None:
    """JSON with one row a line: small, and a diff between two fixtures reads well."""
    out = ["{"]
    out.append(f'"commit": {json.dumps(data["commit"])},')
    out.append(f'"vendor": {json.dumps(data["vendor"])},')
    out.append(f'"migrations": {json.dumps(data["migrations"], indent=1)},')
    out.append('"tables": {')
    tables = list(data["tables"].items())
    for index, (table, dumped) in enumerate(tables):
        out.append(f"{json.dumps(table)}: {{")
        out.append(f'"columns": {json.dumps(dumped["columns"])},')
        out.append(f'"types": {json.dumps(dumped["types"])},')
        rows = dumped["rows"]
        out.append('"rows": [' + ("" if rows else "]"))
        for n, row in enumerate(rows):
            out.append(json.dumps(row, ensure_ascii=False) + ("," if n < len(rows) - 1 else "]"))
        out.append("}" + ("," if index < len(tables) - 1 else ""))
    out.append("}")
    out.append("}")
    text = "\n".join(out) + "\n"
    json.loads(text)  # the layout above is still JSON
    path.write_text(text, encoding="utf-8")


def settings_module(pyproject: Path = Path("pyproject.toml")) -> str:
    """The checkout's own settings (they moved once: ``grouport.settings``, ``config.settings``)."""
    with pyproject.open("rb") as f:
        return tomllib.load(f)["tool"]["pytest"]["ini_options"]["DJANGO_SETTINGS_MODULE"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--commit", help="the commit whose schema this is (default: HEAD of the checkout)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
    import django

    django.setup()
    from django.db import connection

    commit = args.commit or subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
    data = snapshot(connection, commit)
    write(data, args.path)
    total = sum(len(t["rows"]) for t in data["tables"].values())
    empty = [name for name, t in data["tables"].items() if not t["rows"]]
    print(f"{args.path}: {len(data['tables'])} tables, {total} rows, {args.path.stat().st_size} bytes")
    if empty:
        print("empty tables:", ", ".join(empty), file=sys.stderr)


if __name__ == "__main__":
    main()
