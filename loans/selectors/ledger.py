"""The ledger's checksums: for each money-bearing and audit table, its row count and the
SHA-256 of its rows in primary-key order, so two databases (the live one and a backup
restored into a fresh one) can be proven to hold the same books (ops/backup, ops/restore).

Each table is read with ``COPY (SELECT * ... ORDER BY pk) TO STDOUT`` and hashed as it
streams: nothing is held in memory, however many snapshot rows there are. The text
rendering of dates, times and numbers is fixed for the transaction (UTC, ISO dates), so
the checksum depends only on the rows. PostgreSQL only."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.db import connection, models, transaction
from psycopg import sql

from audit.models import AuditEntry
from banks.models import Allocation, Bank
from loans.models import (
    Application,
    CloseRun,
    Deferral,
    FundDay,
    Installment,
    Loan,
    LoanSnapshot,
    Repayment,
    RepaymentAllocation,
)
from reports.models import Report

#: The tables whose rows are the books: the banks' fund counters and the city's
#: allocations, applications and loans, their schedules, repayments and how each was
#: split, deferrals, the nightly close's runs, snapshots and fund days, the documents
#: (with their files' SHA-256) and the audit trail.
LEDGER_MODELS: tuple[type[models.Model], ...] = (
    Bank,
    Allocation,
    Application,
    Loan,
    Installment,
    Repayment,
    RepaymentAllocation,
    Deferral,
    CloseRun,
    LoanSnapshot,
    FundDay,
    Report,
    AuditEntry,
)

#: A snapshot id as pg_export_snapshot() writes it (e.g. 00000003-0000001B-1).
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")

#: The rendering every checksum is taken under, whatever the server's defaults.
_RENDERING = (
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)


class LedgerUnavailable(Exception):
    """The checksums cannot be taken here (not PostgreSQL, or a malformed snapshot id)."""


def _table_checksum(cursor: Any, model: type[models.Model]) -> dict[str, Any]:
    digest = hashlib.sha256()
    rows = 0
    pk = model._meta.pk
    query = sql.SQL("COPY (SELECT * FROM {table} ORDER BY {pk}) TO STDOUT").format(
        table=sql.Identifier(model._meta.db_table), pk=sql.Identifier(pk.column or pk.attname)
    )
    with cursor.copy(query) as copy:
        for block in copy:
            data = bytes(block)
            digest.update(data)
            # COPY's text format ends every row with one newline (a newline inside a
            # value is written as \n), so the newlines count the rows.
            rows += data.count(b"\n")
    return {"rows": rows, "sha256": digest.hexdigest()}


def ledger_checksums(*, snapshot: str | None = None) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": hex}}`` for every table of :data:`LEDGER_MODELS`,
    all read in one repeatable-read transaction; with ``snapshot`` (an id exported by
    ``pg_export_snapshot()`` in a transaction still open, as ops/backup does for
    pg_dump), in that snapshot, so the checksums describe exactly what the dump holds.

    Raises LedgerUnavailable on a database other than PostgreSQL or for a malformed
    snapshot id; psycopg's error if the snapshot is no longer exported."""
    if connection.vendor != "postgresql":
        raise LedgerUnavailable(f"ledger checksums need PostgreSQL, not {connection.vendor}")
    if snapshot is not None and not SNAPSHOT_ID.match(snapshot):
        raise LedgerUnavailable(f"not a snapshot id: {snapshot!r}")
    checksums: dict[str, dict[str, Any]] = {}
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor, for COPY
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if snapshot is not None:
            cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        for statement in _RENDERING:
            cursor.execute(statement)
        for model in LEDGER_MODELS:
            checksums[model._meta.db_table] = _table_checksum(cursor, model)
    return checksums
