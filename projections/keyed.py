"""Keyed projections: read models whose rows for a key are a pure function of that key's live
events, so live folding, corrections, retractions and replay from zero all run the same code.

A batch is applied in four steps, all on the caller's transaction:

1. decode the batch's events this projection reads (its types, corrections, retractions);
2. load every stored source of the keys the batch touches (ledger.py explains why whole keys);
3. fold the batch into the ledger, then insert the new sources and mark the voided ones;
4. for every dirty key, delete its rows and insert what `rows(key, live events)` gives.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar, cast

import msgspec

from events.catalog import ActivityRetracted, CorrectionRecorded, EventPayload
from events.connection import Connection
from events.entries import LiveEvent, LogEntry, log_entry
from events.envelope import RecordedEvent
from projections.ledger import GOVERNANCE_TYPES, Ledger
from projections.partitions import create_build, drop_build, index_build, swap_in
from projections.sources import load_sources, save_sources, void_sources

DELETE_KEYS = "DELETE FROM {table} WHERE project_id = $1 AND {key_column} = ANY($2::{key_type}[])"
DELETE_PROJECT = "DELETE FROM {table} WHERE project_id = $1"

Row = msgspec.Struct
P = TypeVar("P", bound=EventPayload)


def of_type(events: Sequence[LiveEvent[EventPayload]], kind: type[P]) -> list[LiveEvent[P]]:
    """The events whose payload is a `kind`, in the order given."""
    return [cast(LiveEvent[P], e) for e in events if isinstance(e.payload, kind)]


class DerivedTable(msgspec.Struct, frozen=True, kw_only=True):
    """A read-model table: its rows are `row_type` values (fields = columns after project_id)."""

    name: str
    row_type: type[Row]
    # The column holding the key the rows are derived for.
    key_column: str
    key_type: str = "text"

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns in row order."""
        return ("project_id", *self.row_type.__struct_fields__)


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    """What the rows of one key are derived from."""

    key: str
    # The key's live events as corrected, in log order.
    live: Sequence[LiveEvent[EventPayload]]
    # Its retracted or voided events, as they stood when they went.
    gone: Sequence[LiveEvent[EventPayload]]
    # The live events of the projection's context keys.
    context: Sequence[LiveEvent[EventPayload]]


class KeyedProjection(abc.ABC):
    """A projection made of a sources table and derived tables rebuilt per dirty key."""

    name: str
    version: int
    sources_table: str
    derived: tuple[DerivedTable, ...]
    # The event types whose payloads `key_of` and `rows` read.
    event_types: frozenset[str]
    # Keys whose live events every `rows` call sees (e.g. the project's registration).
    context_keys: frozenset[str] = frozenset()

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table this projection owns (what a replay rebuilds and swaps)."""
        return (self.sources_table, *(t.name for t in self.derived))

    @abc.abstractmethod
    def key_of(self, entry: LogEntry) -> str | None:
        """The key an event of this projection belongs to: its id or identity fields only."""

    def carried_activity(self, payload: EventPayload) -> str | None:
        """The activity id an event introduces (for voiding its dependents); none by default."""
        return None

    def depends_on(self, payload: EventPayload, activity_id: str) -> bool:
        """Whether the event dies with the last live carrier of `activity_id`; never by default."""
        return False

    @abc.abstractmethod
    def rows(self, view: KeyView) -> list[Row]:
        """The read-model rows of one key (pure)."""

    async def keys_to_derive(self, connection: Connection, project_id: str, dirty: set[str]) -> set[str]:
        """The keys whose rows must be derived again after a batch made `dirty` dirty."""
        return dirty

    def reads(self, event_type: str) -> bool:
        """Whether events of this type matter to the projection (its own, corrections, retractions)."""
        return event_type in self.event_types or event_type in GOVERNANCE_TYPES

    def rows_from_zero(self, entries: Iterable[LogEntry]) -> list[Row]:
        """Every row of the read model folded in memory from a whole log: the reference a
        database-built model must equal (same fold, no batches, no checkpoints)."""
        ledger = Ledger(self)
        for entry in sorted(entries, key=lambda e: e.position):
            if self.reads(entry.type):
                ledger.fold(entry)
        return self._rows(ledger, ledger.keys)

    async def apply(self, connection: Connection, project_id: str, events: Sequence[RecordedEvent]) -> None:
        """Fold a batch of the log (in position order) into the read model."""
        entries = [log_entry(e) for e in events if self.reads(e.type)]
        if not entries:
            return
        keys: set[str] = set(self.context_keys)
        targets: set[uuid.UUID] = set()
        for entry in entries:
            if isinstance(entry.payload, CorrectionRecorded | ActivityRetracted):
                targets.add(entry.payload.target_event_id)
            elif (key := self.key_of(entry)) is not None:
                keys.add(key)
        ledger = Ledger(self, await load_sources(connection, self.sources_table, project_id, keys, targets))
        for entry in entries:
            ledger.fold(entry)
        await save_sources(connection, self.sources_table, project_id, ledger.new_sources())
        await void_sources(connection, self.sources_table, project_id, ledger.voided_sources())
        await self._derive(connection, project_id, ledger)

    async def reset(self, connection: Connection, project_id: str) -> None:
        """Delete every row this projection holds for the project."""
        for table in self.tables:
            await connection.execute(DELETE_PROJECT.format(table=table), project_id)

    async def build_from_zero(
        self, connection: Connection, project_id: str, ledger: Ledger, build_id: str
    ) -> dict[str, str]:
        """New tables of build `build_id` (partitions.py, claimed by the caller) holding the rows
        of a ledger folded from position 0, indexed after they are filled; returns each table's
        build table."""
        builds: dict[str, str] = {}
        try:
            for table in self.tables:
                builds[table] = await create_build(connection, table, build_id)
            await save_sources(connection, builds[self.sources_table], project_id, ledger.new_sources())
            await copy_rows(connection, project_id, self._built(builds), self._rows(ledger, ledger.keys))
            for table, build in builds.items():
                await index_build(connection, table, build)
        except BaseException:
            await self.drop_builds(connection, builds)
            raise
        ledger.mark_stored()
        return builds

    async def build_tail(
        self, connection: Connection, project_id: str, ledger: Ledger, builds: dict[str, str]
    ) -> None:
        """Bring the build tables up to the ledger's events folded since `build_from_zero`.

        In memory every key is at hand: a dirty context key makes every key dirty."""
        await save_sources(connection, builds[self.sources_table], project_id, ledger.new_sources())
        await void_sources(connection, builds[self.sources_table], project_id, ledger.voided_sources())
        dirty = ledger.keys if ledger.dirty & self.context_keys else ledger.dirty
        if dirty:
            await replace_rows(connection, project_id, self._built(builds), dirty, self._rows(ledger, dirty))

    async def swap_in_builds(self, connection: Connection, project_id: str, builds: dict[str, str]) -> None:
        """Make the build tables the project's partitions (in the caller's transaction), in the
        order the live runner writes the tables, so the two never wait for each other in a cycle."""
        for table in self.tables:
            await swap_in(connection, table, builds[table], project_id)

    async def drop_builds(self, connection: Connection, builds: dict[str, str]) -> None:
        """Drop build tables that were not swapped in."""
        for build in builds.values():
            await drop_build(connection, build)

    def _built(self, builds: dict[str, str]) -> tuple[DerivedTable, ...]:
        return tuple(msgspec.structs.replace(t, name=builds[t.name]) for t in self.derived)

    async def _derive(self, connection: Connection, project_id: str, ledger: Ledger) -> None:
        dirty = await self.keys_to_derive(connection, project_id, ledger.dirty)
        if not dirty:
            return
        missing = dirty - ledger.keys
        if missing:
            ledger.add_loaded(await load_sources(connection, self.sources_table, project_id, missing))
        await replace_rows(connection, project_id, self.derived, dirty, self._rows(ledger, dirty))

    def _rows(self, ledger: Ledger, keys: Iterable[str]) -> list[Row]:
        context = [e for key in sorted(self.context_keys) for e in ledger.live_events(key)]
        views = (
            KeyView(key=key, live=ledger.live_events(key), gone=ledger.gone_events(key), context=context)
            for key in sorted(keys)
        )
        return [row for view in views for row in self.rows(view)]


async def replace_rows(
    connection: Connection,
    project_id: str,
    tables: Sequence[DerivedTable],
    keys: Collection[str],
    rows: Sequence[Row],
) -> None:
    """Delete the keys' rows from every table, then COPY the new rows into their tables."""
    for table in tables:
        sql = DELETE_KEYS.format(table=table.name, key_column=table.key_column, key_type=table.key_type)
        await connection.execute(sql, project_id, list(keys))
    await copy_rows(connection, project_id, tables, rows)


async def copy_rows(
    connection: Connection, project_id: str, tables: Sequence[DerivedTable], rows: Sequence[Row]
) -> None:
    """COPY rows into their tables (each row's type names its table)."""
    by_type: dict[type[Row], list[tuple[Any, ...]]] = {table.row_type: [] for table in tables}
    astuple = msgspec.structs.astuple
    try:
        for row in rows:
            by_type[type(row)].append((project_id, *astuple(row)))
    except KeyError as error:
        raise TypeError(f"rows of no table of this projection: {error}") from None
    for table in tables:
        records = by_type[table.row_type]
        if records:
            await connection.copy_records_to_table(table.name, records=records, columns=table.columns)
