"""The migrations build exactly the schema the code expects, on SQLite and on PostgreSQL.

Every case starts from an EMPTY database (a new SQLite file, or a new PostgreSQL schema made here and
dropped afterwards), so nothing left by another test or by the session fixtures can hide a gap.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Index, UniqueConstraint, create_engine, inspect, text

from paymentkit.server.db.engine import Database, DatabaseURL
from paymentkit.server.db.migrate import alembic_config, current, upgrade
from paymentkit.server.db.schema import (
    CUSTOMER_INDEXES,
    SEARCH_INDEX_POSTGRESQL,
    SEARCH_TABLES_SQLITE,
    metadata,
)
from tests.conftest import new_postgres_schema


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it."""
    if request.param == "sqlite":
        path = tmp_path / "paymentkit.db"
        assert not path.exists()
        yield f"sqlite:///{path}"
        return
    with new_postgres_schema("pk_mig") as url:
        yield url


def _where(options: dict[str, Any]) -> str | None:
    """A partial index's predicate, normalised: `(deleted_at IS NULL)` → `deleted_at is null`
    (parentheses and casts dropped)."""
    for key in ("sqlite_where", "postgresql_where"):
        value = options.get(key)
        if value is not None:
            raw = value if isinstance(value, str) else str(getattr(value, "text", value))
            # PostgreSQL answers `((status)::text = 'pending'::text)` for `status = 'pending'`
            raw = re.sub(r"::\w+", "", raw).replace("(", "").replace(")", "")
            return re.sub(r"\s+", " ", raw.strip()).lower()
    return None


def _expected_indexes(dialect: str) -> dict[str, dict[str, tuple[Any, ...]]]:
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for table in metadata.sorted_tables:
        entries: dict[str, tuple[Any, ...]] = {}
        for index in table.indexes:
            assert isinstance(index, Index)
            where = _where({f"{dialect}_where": index.dialect_options[dialect]["where"]})
            entries[str(index.name)] = (
                tuple(c.name for c in index.columns),
                bool(index.unique),
                where,
            )
        out[table.name] = entries
    return out


def _expected_uniques() -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for table in metadata.sorted_tables:
        out[table.name] = {
            str(c.name): tuple(col.name for col in c.columns)
            for c in table.constraints
            if isinstance(c, UniqueConstraint)
        }
    return out


def _reflected(url: str) -> dict[str, Any]:
    """Everything about the live schema that the code depends on, in comparable form."""
    engine = create_engine(DatabaseURL.parse(url).sqlalchemy_url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            tables = sorted(insp.get_table_names())
            out: dict[str, Any] = {"tables": tables}
            for name in tables:
                indexes = {
                    ix["name"]: (
                        tuple(ix["column_names"]),
                        bool(ix["unique"]),
                        _where(ix.get("dialect_options", {})),
                    )
                    for ix in insp.get_indexes(name)
                    # PostgreSQL also lists the index behind each UNIQUE constraint.
                    if "duplicates_constraint" not in ix
                }
                out[name] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in insp.get_columns(name)
                    ],
                    "pk": (
                        insp.get_pk_constraint(name)["name"],
                        tuple(insp.get_pk_constraint(name)["constrained_columns"]),
                    ),
                    "fks": sorted(
                        (
                            fk["name"],
                            tuple(fk["constrained_columns"]),
                            fk["referred_table"],
                            tuple(fk["referred_columns"]),
                            fk.get("options", {}).get("ondelete"),
                        )
                        for fk in insp.get_foreign_keys(name)
                    ),
                    "indexes": indexes,
                    "uniques": {
                        uq["name"]: tuple(uq["column_names"])
                        for uq in insp.get_unique_constraints(name)
                    },
                }
            return out
    finally:
        engine.dispose()


def _is_search_object(diff: Any) -> bool:
    """The dialect-specific objects of migrations 0005 and 0006, which the models leave out."""
    if diff[0] == "remove_table":
        return bool(diff[1].name in SEARCH_TABLES_SQLITE)
    if diff[0] == "remove_index":
        return bool(diff[1].name == SEARCH_INDEX_POSTGRESQL or diff[1].name in CUSTOMER_INDEXES)
    return False


def _index_definitions(url: str, names: list[str]) -> dict[str, str]:
    """The column part of each named index's CREATE statement, as the database keeps it."""
    engine = create_engine(DatabaseURL.parse(url).sqlalchemy_url)
    out = {}
    try:
        with engine.connect() as conn:
            for name in names:
                if engine.dialect.name == "sqlite":
                    sql = conn.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
                    ).scalar()
                else:
                    sql = conn.exec_driver_sql(
                        "SELECT pg_get_indexdef(%s::regclass)", (name,)
                    ).scalar()
                assert sql is not None, name
                assert " WHERE " in sql and "deleted_at IS NULL" in sql, sql
                columns = re.search(r"ON (?:\S+\.)?customers(?: USING btree)? (\(.*\)) WHERE", sql)
                assert columns is not None, sql
                # PostgreSQL shows lower(id) over a varchar as lower((id)::text)
                out[name] = re.sub(r"\((\w+)\)::text", r"\1", columns.group(1))
    finally:
        engine.dispose()
    return out


def _diff(url: str) -> list[Any]:
    engine = create_engine(DatabaseURL.parse(url).sqlalchemy_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return [d for d in compare_metadata(ctx, metadata) if not _is_search_object(d)]
    finally:
        engine.dispose()


def test_upgrade_of_an_empty_database_matches_the_models(empty_url: str) -> None:
    assert current(empty_url) is None

    upgrade(empty_url)

    assert _diff(empty_url) == []
    dialect = DatabaseURL.parse(empty_url).dialect
    live = _reflected(empty_url)
    search_tables = list(SEARCH_TABLES_SQLITE) if dialect == "sqlite" else []
    assert live["tables"] == sorted(
        [t.name for t in metadata.sorted_tables] + ["alembic_version", *search_tables]
    )
    if dialect == "postgresql":
        # pg_trgm is available on the machines this runs on; elsewhere search falls back to a scan.
        trgm = live["customers"]["indexes"].pop(SEARCH_INDEX_POSTGRESQL)
        assert trgm[0] == ("search_text",)
    assert _index_definitions(empty_url, list(CUSTOMER_INDEXES)) == {
        name: sql[0 if dialect == "sqlite" else 1] for name, sql in CUSTOMER_INDEXES.items()
    }
    for name in CUSTOMER_INDEXES:
        live["customers"]["indexes"].pop(name, None)  # reflection skips expression indexes

    expected_indexes = _expected_indexes(dialect)
    expected_uniques = _expected_uniques()
    for table in metadata.sorted_tables:
        reflected = live[table.name]
        assert reflected["indexes"] == expected_indexes[table.name], table.name
        assert reflected["uniques"] == expected_uniques[table.name], table.name
        assert reflected["pk"] == (
            table.primary_key.name,
            tuple(c.name for c in table.primary_key.columns),
        )
        assert [c[0] for c in reflected["columns"]] == [c.name for c in table.columns]
        expected_fks = sorted(
            (
                fk.name,
                tuple(c.name for c in fk.columns),
                fk.referred_table.name,
                tuple(e.column.name for e in fk.elements),
                fk.ondelete,
            )
            for fk in table.foreign_key_constraints
        )
        assert reflected["fks"] == expected_fks, table.name

    # The partial unique index is what lets a deleted customer give its DID back.
    assert live["customers"]["indexes"]["uq_customers_livemode_did"] == (
        ("livemode", "did"),
        True,
        "deleted_at is null",
    )
    assert live["api_keys"]["uniques"] == {"uq_api_keys_secret_hash": ("secret_hash",)}


def test_upgrading_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    before = _reflected(empty_url)
    db = Database(empty_url)
    try:
        db.run_sync(
            lambda tx: tx.execute(
                "INSERT INTO api_keys (id, livemode, name, secret_hash, secret_hint, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ("key_x", False, "kept", "h" * 64, "sk_test_…abcd", 1),
            ),
            write=True,
        )
    finally:
        db.close()

    upgrade(empty_url)

    assert _reflected(empty_url) == before
    assert _diff(empty_url) == []
    assert current(empty_url) == head_revision(empty_url)
    engine = create_engine(DatabaseURL.parse(empty_url).sqlalchemy_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, name FROM api_keys")).all() == [("key_x", "kept")]
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_current_reports_head(empty_url: str) -> None:
    assert current(empty_url) is None
    upgrade(empty_url)
    head = head_revision(empty_url)
    assert current(empty_url) == head
    # Only one head: a branched history would make `upgrade head` ambiguous.
    script = ScriptDirectory.from_config(alembic_config(empty_url))
    assert script.get_heads() == [head]


def _pragmas(db: Database) -> tuple[str, int, int]:
    return db.run_sync(
        lambda tx: (
            str(tx.scalar("PRAGMA journal_mode")).lower(),
            int(tx.scalar("PRAGMA synchronous")),
            int(tx.scalar("PRAGMA foreign_keys")),
        )
    )


def test_sqlite_upgrade_creates_missing_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "paymentkit.db"
    upgrade(f"sqlite:///{path}")
    assert path.is_file()
    assert current(f"sqlite:///{path}") == head_revision(f"sqlite:///{path}")
    assert _diff(f"sqlite:///{path}") == []


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'paymentkit.db'}"
    upgrade(url)
    db = Database(url)
    try:
        assert _pragmas(db) == ("wal", 2, 1)
        # Connections are per thread: every one of them must be set up the same way.
        seen: list[tuple[str, int, int]] = []
        worker = threading.Thread(target=lambda: seen.append(_pragmas(db)))
        worker.start()
        worker.join()
        assert seen == [("wal", 2, 1)]
        # foreign_keys=ON is live, not just reported: an orphan metadata row is refused.
        with pytest.raises(Exception, match="FOREIGN KEY"):
            db.run_sync(
                lambda tx: tx.execute(
                    "INSERT INTO customer_metadata (customer_seq, key, value, livemode, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (424242, "k", "v", False, 0),
                ),
                write=True,
            )
    finally:
        db.close()
