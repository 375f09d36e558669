"""Upgrades keep every row: a database migrated and filled by an earlier commit upgrades to
this code with ``migrate`` alone, and every row of every table is still there.

Each ``rows_<sha>.json`` here is such a database, dumped raw by ``snapshot.py`` (how it was
filled: ``make_rows.py``). For each, the test database is migrated back to that commit's
schema (the last migration it had applied, app by app; apps it did not have go to zero),
emptied, filled with the fixture's rows, migrated forward to today's leaf migrations, and
every table counted: the same number of rows, under the same ids. On PostgreSQL every
table's next id must also be past the ids it holds (rows copied into a new table keep
their ids; its sequence must follow).

When a change renames a table (a model moved to another app, a new ``db_table``), say so in
``TABLE_RENAMES``. A table the new code drops on purpose goes in ``DROPPED`` with the reason;
any other table that is gone fails the test. A migration that changes ids on purpose (a
merge of rows) goes in ``IDS_MAY_CHANGE``; its row count is still checked.

New migrations must be reversible (``RunPython(forward, RunPython.noop)`` at least): the test
migrates back through them to reach the fixture's schema.
"""

import json
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.upgrade.rows import load_rows

HERE = Path(__file__).parent
FIXTURES = sorted(HERE.glob("rows_*.json"))

# Old table name -> its name after the upgrade (a model moved between apps keeps its rows).
TABLE_RENAMES: dict[str, str] = {}
# Old table name -> why the new code no longer has it (its rows are gone on purpose).
DROPPED: dict[str, str] = {}
# Table (old name) -> why an upgrade may give its rows other ids (the count still holds).
IDS_MAY_CHANGE: dict[str, str] = {}


def _executor() -> MigrationExecutor:
    return MigrationExecutor(connection)


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = _executor()
    plan = executor.migration_plan(targets)
    if plan:
        executor.migrate(targets, plan=plan)


def _latest() -> list[tuple[str, str]]:
    return sorted(_executor().loader.graph.leaf_nodes())


def _at_latest() -> bool:
    return not _executor().migration_plan(_latest())


def fixture_targets(data: dict) -> list[tuple[str, str | None]]:
    """Where each app was in the fixture: its last applied migration, or zero if it had none."""
    loader = _executor().loader
    graph = loader.graph
    replaced_by = {old: new for new, migration in loader.replacements.items() for old in migration.replaces}
    targets: list[tuple[str, str | None]] = []
    for app in sorted(loader.migrated_apps):
        applied = []
        for name in data["migrations"].get(app, []):
            key = (app, name)
            if key not in graph.nodes and key in replaced_by:
                squash = replaced_by[key]
                if loader.replacements[squash].replaces[-1] != key:
                    raise AssertionError(
                        f"the fixture stops inside the squashed {squash}: keep its replaced migrations"
                    )
                key = squash
            if key not in graph.nodes:
                raise AssertionError(f"the fixture's migration {app}.{name} is no longer in the code")
            applied.append(key)
        if applied:
            # The last one applied: the one whose history holds all the others.
            targets.append(max(applied, key=lambda key: len(graph.forwards_plan(key))))
        else:
            targets.append((app, None))
    return targets


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor)) - {"django_migrations"}


def _empty_every_table() -> None:
    tables = sorted(_tables())
    if not tables:
        return
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    with connection.constraint_checks_disabled():
        connection.ops.execute_sql_flush(statements)


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return cursor.fetchone()[0]


def _ids(table: str) -> list | None:
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
        if "id" not in columns:
            return None
        cursor.execute(f"SELECT id FROM {connection.ops.quote_name(table)} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def lost_rows(data: dict) -> list[str]:
    """What the upgrade lost, table by table (empty: nothing)."""
    now = _tables()
    problems = []
    for table, dumped in data["tables"].items():
        if table in DROPPED:
            if table in now:
                problems.append(f"{table}: listed in DROPPED but still there")
            continue
        new = TABLE_RENAMES.get(table, table)
        if new not in now and new != table:
            problems.append(
                f"{table}: TABLE_RENAMES says it became {new}, but there is no {new} after the upgrade"
            )
            continue
        if new not in now:
            problems.append(
                f"{table}: gone after the upgrade, with its {len(dumped['rows'])} rows "
                "(a rename goes in TABLE_RENAMES, a table dropped on purpose in DROPPED)"
            )
            continue
        name = table if new == table else f"{table} (now {new})"
        count, expected = _count(new), len(dumped["rows"])
        if count != expected:
            problems.append(f"{name}: {count} rows after the upgrade, {expected} before")
            continue
        if table not in IDS_MAY_CHANGE and "id" in dumped["columns"]:
            before = sorted(row[dumped["columns"].index("id")] for row in dumped["rows"])
            after = _ids(new)
            if after is not None and after != before:
                problems.append(f"{name}: the same number of rows, but not the same ids")
    return problems


def sequences_behind() -> list[str]:
    """PostgreSQL: tables whose next id is one they already hold (rows copied, with their ids,
    into a table whose sequence was not moved past them: the next insert would fail)."""
    if connection.vendor != "postgresql":
        return []  # SQLite's AUTOINCREMENT follows the largest id ever inserted by itself
    quote = connection.ops.quote_name
    problems = []
    with connection.cursor() as cursor:
        for table in sorted(_tables()):
            for sequence in connection.introspection.get_sequences(cursor, table):
                column = quote(sequence["column"])
                cursor.execute(
                    f"SELECT MAX({column}), pg_get_serial_sequence(%s, %s) FROM {quote(table)}",  # noqa: S608
                    [quote(table), sequence["column"]],
                )
                top, name = cursor.fetchone()
                if top is None or name is None:
                    continue
                cursor.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608 - from the catalog
                last, called = cursor.fetchone()
                following = last + 1 if called else last
                if following <= top:
                    problems.append(
                        f"{table}: its next id would be {following}, but it holds ids up to {top}"
                    )
    return problems


def labels_that_point_nowhere() -> list[str]:
    """Rows that name a model or a handler by a label, after the upgrade: each must still find
    it. A model that moved to another app keeps its content type (the same id, so its
    permissions and admin history follow), the audit trail names its type as it is called
    now, and a queued outbox message finds its handler."""
    from django.apps import apps
    from django.contrib.auth.models import Permission

    from grouport.models import AuditEntry, OutboxMessage
    from grouport.outbox import HANDLERS
    from tests.project import APPS

    ContentType.objects.clear_cache()
    problems = [
        f"content type {ct.app_label}.{ct.model} ({ct.pk}) has no model"
        for ct in ContentType.objects.filter(app_label__in=APPS)
        if ct.model_class() is None
    ]
    duplicates = {}
    for model in apps.get_models():
        if model._meta.app_label in APPS:
            duplicates[model._meta.label_lower] = Permission.objects.filter(
                content_type__app_label=model._meta.app_label,
                content_type__model=model._meta.model_name,
                codename=f"view_{model._meta.model_name}",
            ).count()
    problems += [f"{label}: {n} view permissions" for label, n in duplicates.items() if n > 1]
    labels = {m._meta.label_lower for m in apps.get_models()}
    problems += [
        f"audit entries name {kind}, which is no model"
        for kind in AuditEntry.objects.values_list("object_type", flat=True).distinct()
        if "." in kind and kind not in labels
    ]
    problems += [
        f"outbox messages of kind {kind} have no handler"
        for kind in OutboxMessage.objects.values_list("kind", flat=True).distinct()
        if kind not in HANDLERS
    ]
    return problems


def test_the_upgrade_settings_name_real_tables():
    """A typo in the lists would hide a lost table; every name must come from a fixture."""
    dumped = set().union(*(json.loads(f.read_text())["tables"] for f in FIXTURES))
    for name, listed in (
        ("TABLE_RENAMES", TABLE_RENAMES),
        ("DROPPED", DROPPED),
        ("IDS_MAY_CHANGE", IDS_MAY_CHANGE),
    ):
        assert not set(listed) - dumped, f"{name} names tables no fixture has: {set(listed) - dumped}"
    assert not set(TABLE_RENAMES) & set(DROPPED), "a table is either renamed or dropped"
    assert len(set(TABLE_RENAMES.values())) == len(TABLE_RENAMES), "two old tables cannot become one"
    assert all(reason.strip() for reason in (*DROPPED.values(), *IDS_MAY_CHANGE.values())), "say why"


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_an_upgrade_keeps_every_row(fixture):
    data = json.loads(fixture.read_text())
    assert data["tables"], "an empty fixture proves nothing"
    latest = _latest()
    try:
        _migrate(fixture_targets(data))
        _empty_every_table()
        # At the old schema the tables have their old names, unless history itself was
        # rewritten (the old migrations now create the new name): then the rename applies.
        old_tables = _tables()
        renames = {t: n for t, n in TABLE_RENAMES.items() if t not in old_tables and n in old_tables}
        loadable = {t: d for t, d in data["tables"].items() if not (t in DROPPED and t not in old_tables)}
        counts = load_rows(connection, {**data, "tables": loadable}, renames)
        assert sum(counts.values()) == sum(len(d["rows"]) for d in loadable.values())

        _migrate(latest)
        assert _at_latest()
        problems = lost_rows(data) + sequences_behind()
        assert not problems, f"the upgrade from {data['commit'][:7]} lost rows:\n" + "\n".join(problems)
        # Then `migrate` runs the post_migrate handlers (content types, permissions, the roles,
        # the questionnaires): they must run on the upgraded rows too.
        emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
        assert not labels_that_point_nowhere(), labels_that_point_nowhere()
    finally:
        if not _at_latest():
            # Whatever failed, the rest of the suite needs today's schema: empty tables
            # migrate anywhere.
            _empty_every_table()
            _migrate(latest)
        ContentType.objects.clear_cache()  # the fixture's content types leave with the flush
