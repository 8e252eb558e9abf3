"""The nightly close of one business date D over a whole portfolio on PostgreSQL:
N active loans of 36 months (default 100,000 loans, 3,600,000 installments).

The portfolio (not timed) is flat 3% loans of Rp1-50 million disbursed over the 36
months before D at three banks (two BPRs, one commercial bank), written with COPY
(installments in PostgreSQL's binary format from numpy arrays, their indexes and
foreign keys built after the load). Installments due before D are paid, mostly a few
days early; about 10% of the loans are 1-3 installments behind and about 3% are 4-24
behind, 30% of those with a partial payment on the oldest; some behind loans paid
their oldest installment on D+1 and 1% of the others paid their next one early on D+1
(the close adds those back). Repayment rows are written for the last ``--history-days``
days before D and for D+1 (the close reads repayments only by date through indexes;
older ones only make the table bigger). The loans start as the close of D-1 left
them. Then ``VACUUM ANALYZE``.

Timed: the close of D, in this process chunk by chunk (the default), or with
``--workers K`` through a real Celery worker (K prefork processes) on Redis: the
catch-up task, its chord of chunk tasks and the finish. ``--runs R`` closes D R
times, restoring the loans, snapshots and penalties between runs (not timed; a
CHECKPOINT and VACUUM ANALYZE before each). After each run the result is checked
against what the generator made: loans overdue, days past due, arrears, outstanding
principal, classes, snapshots and fund days (and penalties with ``--penalty``).

    .venv/bin/python benchmarks/close.py [--loans 100000] [--runs 1] [--workers 0]
        [--chunk 25000] [--penalty PERCENT_A_DAY] [--history-days 31] [--reuse]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_close]
        [--redis redis://127.0.0.1:6379/0]

The database named by --database is dropped and created again (unless --reuse finds
the same portfolio there): never point it at real data. About 1.5 GB of disk per
100,000 loans.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import struct
import sys
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import celery_worker, recreate_database  # noqa: E402

TENOR = 36
RATE_UNITS = 30_000  # 3% a year in 1/10,000 percent
LOAN_BLOCK = 100_000  # loans generated and written at a time
BANKS = (
    ("PASAR", "BPR Bank Pasar Kota Semarang", "bpr", 0.50),
    ("JATENG", "Bank Jateng", "commercial", 0.35),
    ("ARTHA", "BPR Artha Semarang", "bpr", 0.15),
)
#: The tables the portfolio is written into, parents first.
PORTFOLIO_TABLES = (
    "borrowers_borrower",
    "borrowers_business",
    "loans_application",
    "loans_loan",
    "loans_installment",
    "loans_repayment",
    "loans_repaymentallocation",
)
PENALTY_GRACE_DAYS = 7
PENALTY_CAP_PERCENT = "10"
PG_EPOCH = np.datetime64("2000-01-01", "D")
DAY = np.timedelta64(1, "D")
Int64Array = npt.NDArray[np.int64]


# --- writing rows --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _text_column(values: Any, count: int) -> Iterable[str]:
    if not isinstance(values, np.ndarray):
        return itertools.repeat(_text(values), count)
    if values.dtype.kind == "M":
        text = values.astype("datetime64[D]").astype(str)
        return np.where(np.isnat(values), "\\N", text).tolist()
    if values.dtype.kind == "b":
        return np.where(values, "t", "f").tolist()
    return values.astype(str).tolist()


def model_columns(model: Any, given: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Every column of ``model`` to write: ``given`` (by column name), else the field's
    Python default (a database default or NULL is left to the database)."""
    columns: dict[str, Any] = {}
    for field_ in model._meta.concrete_fields:
        column = field_.column
        if column in given:
            columns[column] = given[column]
        elif field_.primary_key or field_.null or field_.has_db_default():
            continue
        elif getattr(field_, "auto_now", False) or getattr(field_, "auto_now_add", False):
            columns[column] = now
        elif field_.has_default():
            columns[column] = field_.get_default()
        else:
            raise SystemExit(f"{model.__name__}.{field_.name} needs a value")
    unknown = set(given) - set(columns)
    if unknown:
        raise SystemExit(f"{model.__name__} has no columns {sorted(unknown)}")
    return columns


def copy_text(cursor: Any, model: Any, given: dict[str, Any], count: int, now: datetime) -> None:
    """COPY ``count`` rows of ``model`` (text format); each value an array or a scalar."""
    columns = model_columns(model, given, now)
    texts = [_text_column(values, count) for values in columns.values()]
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        rows = zip(*texts, strict=False)
        while block := list(itertools.islice(rows, 50_000)):
            copy.write("".join("\t".join(row) + "\n" for row in block))


_BINARY_TYPES = {"i2": ">i2", "i4": ">i4", "i8": ">i8", "date": ">i4"}


def binary_rows(columns: list[tuple[str, str, Any]]) -> bytes:
    """Rows in PostgreSQL's binary COPY format from equal-length numpy arrays (no
    header): ``(name, type, values)`` with type i2/i4/i8/date, or ``null`` (values
    ignored) for a column that is NULL on every row."""
    count = next(len(values) for _, kind, values in columns if kind != "null")
    fields: list[tuple[str, str]] = [("fields", ">i2")]
    for name, kind, _values in columns:
        fields.append((f"{name}__length", ">i4"))
        if kind != "null":
            fields.append((name, _BINARY_TYPES[kind]))
    rows = np.empty(count, dtype=np.dtype(fields))
    rows["fields"] = len(columns)
    for name, kind, values in columns:
        if kind == "null":
            rows[f"{name}__length"] = -1
            continue
        rows[f"{name}__length"] = np.dtype(_BINARY_TYPES[kind]).itemsize
        rows[name] = (values - PG_EPOCH).astype(np.int64) if kind == "date" else values
    return rows.tobytes()


BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)


def without_indexes(cursor: Any, table: str) -> list[str]:
    """Drop ``table``'s indexes, unique/primary keys and foreign keys; return the SQL that
    builds them again (keys first, foreign keys last)."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype DESC",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
        [table],
    )
    indexes = cursor.fetchall()
    # Foreign keys of other tables that point at this one's primary key go too.
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    referencing = cursor.fetchall()
    for other, name, _ in referencing:
        cursor.execute(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"')
    for name, kind, _ in constraints:
        if kind == "f":
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, kind, _ in constraints:
        if kind != "f":
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    rebuild = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, kind, definition in constraints
        if kind != "f"
    ]
    rebuild += [definition for _, definition in indexes]
    rebuild += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, kind, definition in constraints
        if kind == "f"
    ]
    rebuild += [f'ALTER TABLE {other} ADD CONSTRAINT "{name}" {definition}' for other, name, definition in referencing]
    return rebuild


# --- the portfolio -----------------------------------------------------------------------------


@dataclass
class Expected:
    """What the close of D must find, summed over the portfolio."""

    loans: int = 0
    installments: int = 0
    overdue: int = 0
    days_past_due: int = 0
    arrears_principal: int = 0
    arrears_interest: int = 0
    penalty: int = 0
    outstanding: int = 0
    by_class: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("1", "2", "3", "4", "5"), 0))
    repaid_on_d: int = 0
    repayments: int = 0
    allocations: int = 0
    repaid_later_loans: int = 0


def grades(days: Int64Array, kind: str) -> Int64Array:
    from loans.collectibility import DEFAULT_TABLES

    result = np.ones(days.shape, dtype=np.int64)
    for row in DEFAULT_TABLES[kind]:
        result[days >= row.min_days] = row.grade
    return result


@dataclass
class Block:
    """One block of loans: their terms, schedules and payment state."""

    ids: Int64Array
    bank_index: Int64Array
    principal: Int64Array
    disbursed: npt.NDArray[np.datetime64]
    due: npt.NDArray[np.datetime64]  # loans x 36
    inst_principal: Int64Array
    inst_interest: Int64Array
    inst_installment: Int64Array
    inst_balance: Int64Array
    paid_on: npt.NDArray[np.datetime64]  # NaT when open
    principal_paid: Int64Array
    interest_paid: Int64Array
    penalty: Int64Array
    penalty_through: npt.NDArray[np.datetime64]
    partial_on: npt.NDArray[np.datetime64]  # the date of a partial payment (NaT: none)
    behind: Int64Array


def make_block(rng: np.random.Generator, first_id: int, count: int, day: np.datetime64, penalty_units: int) -> Block:
    from loans.schedule_batch import build_schedules

    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    bank_index = rng.choice(len(BANKS), size=count, p=[share for *_, share in BANKS])
    principal = rng.integers(10, 501, size=count, dtype=np.int64) * 100_000
    disbursed = day - rng.integers(1, 1090, size=count).astype("timedelta64[D]")
    batch = build_schedules(principal, RATE_UNITS, TENOR, disbursed)
    due = batch.due_date
    past = (due < day).sum(axis=1)
    roll = rng.random(count)
    behind = np.zeros(count, dtype=np.int64)
    near = roll < 0.10
    far = (roll >= 0.10) & (roll < 0.13)
    behind[near] = rng.integers(1, 4, size=int(near.sum()))
    behind[far] = rng.integers(4, 25, size=int(far.sum()))
    behind = np.minimum(behind, past)
    paid_count = past - behind
    column = np.arange(TENOR)[None, :]
    paid = column < paid_count[:, None]
    early = rng.integers(0, 6, size=(count, TENOR)).astype("timedelta64[D]")
    paid_on = np.where(paid, due - early, np.datetime64("NaT"))
    principal_paid = np.where(paid, batch.principal, 0)
    interest_paid = np.where(paid, batch.interest, 0)
    oldest = np.minimum(paid_count, TENOR - 1)
    rows = np.arange(count)
    # Behind loans: 30% paid part of the oldest, 5% paid all of it on D+1.
    kind = rng.random(count)
    partial = (behind > 0) & (kind < 0.30)
    next_day = (behind > 0) & (kind >= 0.30) & (kind < 0.35)
    partial_on = np.full(count, np.datetime64("NaT"), dtype="datetime64[D]")
    part = rng.integers(1, 10, size=count) * batch.principal[rows, oldest] // 10
    principal_paid[rows[partial], oldest[partial]] = part[partial]
    interest_paid[rows[partial], oldest[partial]] = batch.interest[rows[partial], oldest[partial]]
    partial_on[partial] = np.minimum(due[rows, oldest][partial] + 2 * DAY, day - DAY)
    # 1% of the loans up to date paid their next installment early, on D+1.
    early_next = (behind == 0) & (past < TENOR) & (kind >= 0.99)
    tomorrow = next_day | early_next
    paid_on[rows[tomorrow], oldest[tomorrow]] = day + DAY
    principal_paid[rows[tomorrow], oldest[tomorrow]] = batch.principal[rows[tomorrow], oldest[tomorrow]]
    interest_paid[rows[tomorrow], oldest[tomorrow]] = batch.interest[rows[tomorrow], oldest[tomorrow]]
    penalty = np.zeros((count, TENOR), dtype=np.int64)
    penalty_through = np.full((count, TENOR), np.datetime64("NaT"), dtype="datetime64[D]")
    if penalty_units:
        # As the close of D-1 left them: charged through D-1.
        charged_through = day - DAY
        chargeable = np.isnat(paid_on) & (due + PENALTY_GRACE_DAYS * DAY < charged_through)
        days = (charged_through - (due + PENALTY_GRACE_DAYS * DAY)).astype(np.int64)
        base = batch.installment - principal_paid - interest_paid
        charge = (penalty_units * base * days + 500_000) // 1_000_000
        cap = (int(Decimal(PENALTY_CAP_PERCENT) * 10_000) * batch.installment) // 1_000_000
        penalty = np.where(chargeable, np.minimum(charge, cap), 0)
        penalty_through = np.where(chargeable, charged_through, penalty_through)
    return Block(
        ids=ids,
        bank_index=bank_index,
        principal=principal,
        disbursed=disbursed,
        due=due,
        inst_principal=batch.principal,
        inst_interest=batch.interest,
        inst_installment=batch.installment,
        inst_balance=batch.balance,
        paid_on=paid_on,
        principal_paid=principal_paid,
        interest_paid=interest_paid,
        penalty=penalty,
        penalty_through=penalty_through,
        partial_on=partial_on,
        behind=behind,
    )


def expect(block: Block, day: np.datetime64, expected: Expected, penalty_units: int) -> None:
    """Add what the close of D must find for ``block`` to ``expected``."""
    count = len(block.ids)
    after = block.paid_on > day  # NaT compares False
    open_at_d = np.isnat(block.paid_on) | after
    principal_paid_at_d = np.where(after, 0, block.principal_paid)
    interest_paid_at_d = np.where(after, 0, block.interest_paid)
    due_by_d = block.due <= day
    late = open_at_d & (block.due < day)
    oldest_late = np.where(late, block.due, np.datetime64("9999-12-31")).min(axis=1)
    dpd = np.where(late.any(axis=1), (day - oldest_late).astype(np.int64), 0)
    in_arrears = open_at_d & due_by_d
    penalty = block.penalty.copy()
    if penalty_units:
        chargeable = np.isnat(block.paid_on) & (block.due + PENALTY_GRACE_DAYS * DAY < day)
        start = np.where(np.isnat(block.penalty_through), block.due + PENALTY_GRACE_DAYS * DAY, block.penalty_through)
        days = (day - start).astype(np.int64)
        base = block.inst_installment - block.principal_paid - block.interest_paid
        charge = (penalty_units * base * days + 500_000) // 1_000_000
        cap = (int(Decimal(PENALTY_CAP_PERCENT) * 10_000) * block.inst_installment) // 1_000_000
        penalty = np.where(
            chargeable, np.maximum(block.penalty, np.minimum(block.penalty + charge, cap)), block.penalty
        )
    outstanding = block.principal - principal_paid_at_d.sum(axis=1)
    expected.loans += count
    expected.installments += count * TENOR
    expected.overdue += int((dpd > 0).sum())
    expected.days_past_due += int(dpd.sum())
    expected.arrears_principal += int(np.where(in_arrears, block.inst_principal - principal_paid_at_d, 0).sum())
    expected.arrears_interest += int(np.where(in_arrears, block.inst_interest - interest_paid_at_d, 0).sum())
    expected.penalty += int(np.where(in_arrears, penalty, 0).sum())
    expected.outstanding += int(outstanding.sum())
    for index, (_, _, kind, _) in enumerate(BANKS):
        mine = block.bank_index == index
        classes = grades(dpd[mine], kind)
        for grade in range(1, 6):
            expected.by_class[str(grade)] += int(outstanding[mine][classes == grade].sum())
    expected.repaid_on_d += int(np.where(block.paid_on == day, block.principal_paid, 0).sum())
    expected.repaid_later_loans += int(after.any(axis=1).sum())


def write_block(
    cursor: Any,
    block: Block,
    context: dict[str, Any],
    day: np.datetime64,
    history_days: int,
    counters: dict[str, int],
    expected: Expected,
) -> None:
    from borrowers.models import Borrower, Business
    from loans.models import Application, Loan, Repayment, RepaymentAllocation

    now = context["now"]
    count = len(block.ids)
    ids = block.ids
    bank_ids = np.array(context["bank_ids"], dtype=np.int64)[block.bank_index]
    codes = np.array([code for code, *_ in BANKS])[block.bank_index]
    copy_text(
        cursor,
        Borrower,
        {
            "id": ids,
            "nik": np.char.add("3374", np.char.zfill(ids.astype(str), 12)),
            "name": np.char.add("Peminjam ", ids.astype(str)),
            "birth_date": date(1980, 5, 17),
            "sex": "F",
            "phone": np.char.add("+62812", np.char.zfill(ids.astype(str), 8)),
            "address": "Jl. Pemuda",
            "kelurahan_id": "33.74.01.1001",
        },
        count,
        now,
    )
    copy_text(
        cursor,
        Business,
        {
            "id": ids,
            "borrower_id": ids,
            "name": np.char.add("Usaha ", ids.astype(str)),
            "sector": "trade",
            "nib": (9_120_000_000_000 + ids),
            "started_on": date(2015, 1, 1),
            "monthly_revenue": 10_000_000,
        },
        count,
        now,
    )
    contract = np.char.add(np.char.add(codes, "/KW/"), np.char.zfill(ids.astype(str), 8))
    copy_text(
        cursor,
        Application,
        {
            "id": ids,
            "borrower_id": ids,
            "business_id": ids,
            "bank_id": bank_ids,
            "product_id": context["product_id"],
            "terms_id": context["terms_id"],
            "principal": block.principal,
            "tenor_months": TENOR,
            "collateral": True,
            "state": "disbursed",
            "state_changed_at": now,
            "created_by_id": context["user_id"],
            "contract_number": contract,
            "disbursed_on": block.disbursed,
        },
        count,
        now,
    )
    open_now = np.isnat(block.paid_on)
    never = np.datetime64("9999-12-31")
    oldest = np.where(open_now, block.due, never).min(axis=1)
    oldest_open = np.where(oldest == never, np.datetime64("NaT"), oldest)
    # As the close of D-1 left them (roughly: every figure moves at D anyway).
    yesterday = day - DAY
    late_yesterday = open_now & (block.due < yesterday)
    dpd_yesterday = np.where(
        late_yesterday.any(axis=1),
        (yesterday - np.where(late_yesterday, block.due, np.datetime64("9999-12-31")).min(axis=1)).astype(np.int64),
        0,
    )
    copy_text(
        cursor,
        Loan,
        {
            "id": ids,
            "application_id": ids,
            "borrower_id": ids,
            "bank_id": bank_ids,
            "terms_id": context["terms_id"],
            "contract_number": contract,
            "principal": block.principal,
            "annual_rate": "3",
            "method": "flat",
            "tenor_months": TENOR,
            "interest_rounding": "half_up",
            "installment_rounding": "up",
            "disbursed_on": block.disbursed,
            "status": np.where(dpd_yesterday > 0, "overdue", "active"),
            "outstanding_principal": block.principal - block.principal_paid.sum(axis=1),
            "schedule_status": "ready",
            "schedule_version": 1,
            "max_days_past_due": dpd_yesterday,
            "oldest_unpaid_due": oldest_open,
            "as_of": yesterday.astype(object),
            "days_past_due": dpd_yesterday,
            "arrears_penalty": block.penalty.sum(axis=1),
            "collectibility": 1,
        },
        count,
        now,
    )
    # Installments, binary: rows still open and rows paid need different layouts.
    flat_ids = (ids[:, None] * TENOR + np.arange(TENOR)[None, :]).ravel()
    loan_ids = np.repeat(ids, TENOR)
    numbers = np.tile(np.arange(1, TENOR + 1, dtype=np.int64), count)
    flat = {
        "id": flat_ids,
        "loan_id": loan_ids,
        "number": numbers,
        "due_date": block.due.ravel(),
        "principal": block.inst_principal.ravel(),
        "interest": block.inst_interest.ravel(),
        "installment": block.inst_installment.ravel(),
        "balance": block.inst_balance.ravel(),
        "principal_paid": block.principal_paid.ravel(),
        "interest_paid": block.interest_paid.ravel(),
        "penalty": block.penalty.ravel(),
        "paid_on": block.paid_on.ravel(),
        "penalty_through": block.penalty_through.ravel(),
    }
    payload = bytearray(BINARY_HEADER)
    paid_flat = ~np.isnat(flat["paid_on"])
    charged_flat = ~np.isnat(flat["penalty_through"])
    for mask, paid_kind, through_kind in (
        (paid_flat, "date", "null"),
        (~paid_flat & ~charged_flat, "null", "null"),
        (~paid_flat & charged_flat, "null", "date"),
    ):
        if not mask.any():
            continue
        part = {name: values[mask] for name, values in flat.items()}
        payload += binary_rows(
            [
                ("id", "i8", part["id"]),
                ("loan_id", "i8", part["loan_id"]),
                ("schedule_version", "i2", np.ones(int(mask.sum()), dtype=np.int64)),
                ("number", "i2", part["number"]),
                ("due_date", "date", part["due_date"]),
                ("principal", "i8", part["principal"]),
                ("interest", "i8", part["interest"]),
                ("installment", "i8", part["installment"]),
                ("balance", "i8", part["balance"]),
                ("principal_paid", "i8", part["principal_paid"]),
                ("interest_paid", "i8", part["interest_paid"]),
                ("penalty", "i8", part["penalty"]),
                ("penalty_paid", "i8", np.zeros(int(mask.sum()), dtype=np.int64)),
                ("interest_waived", "i8", np.zeros(int(mask.sum()), dtype=np.int64)),
                ("paid_on", paid_kind, part["paid_on"]),
                ("penalty_through", through_kind, part["penalty_through"]),
            ]
        )
    payload += BINARY_TRAILER
    columns = (
        "id, loan_id, schedule_version, number, due_date, principal, interest, installment, balance, "
        "principal_paid, interest_paid, penalty, penalty_paid, interest_waived, paid_on, penalty_through"
    )
    with cursor.copy(f"COPY loans_installment ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        view = memoryview(payload)
        for start in range(0, len(view), 8 << 20):
            copy.write(view[start : start + (8 << 20)])
    # Repayments of the last days (one per installment paid, or partly paid, then).
    since = day - history_days * DAY
    paid_date = np.where(np.isnat(block.paid_on), block.partial_on[:, None], block.paid_on)
    recent = ~np.isnat(paid_date) & (paid_date >= since) & (block.principal_paid + block.interest_paid > 0)
    loan_index, column = np.nonzero(recent)
    repayments = len(loan_index)
    if repayments:
        first = counters["repayment"]
        repayment_ids = np.arange(first, first + repayments, dtype=np.int64)
        counters["repayment"] += repayments
        principal = block.principal_paid[loan_index, column]
        interest = block.interest_paid[loan_index, column]
        paid = paid_date[loan_index, column]
        copy_text(
            cursor,
            Repayment,
            {
                "id": repayment_ids,
                "loan_id": ids[loan_index],
                "bank_id": bank_ids[loan_index],
                "amount": principal + interest,
                "paid_on": paid,
                "channel": "teller",
                "reference": np.char.add("R", repayment_ids.astype(str)),
                "request_hash": "0" * 64,
                "status": "booked",
                "schedule_version": 1,
                "created_by_id": context["user_id"],
                "created_at": np.char.add(paid.astype(str), " 10:00:00+07"),
            },
            repayments,
            now,
        )
        installment_ids = ids[loan_index] * TENOR + column
        alloc_repayment = np.concatenate([repayment_ids, repayment_ids])
        alloc_installment = np.concatenate([installment_ids, installment_ids])
        alloc_component = np.concatenate([np.full(repayments, "interest"), np.full(repayments, "principal")])
        alloc_amount = np.concatenate([interest, principal])
        keep = alloc_amount > 0
        allocations = int(keep.sum())
        first = counters["allocation"]
        counters["allocation"] += allocations
        copy_text(
            cursor,
            RepaymentAllocation,
            {
                "id": np.arange(first, first + allocations, dtype=np.int64),
                "repayment_id": alloc_repayment[keep],
                "installment_id": alloc_installment[keep],
                "component": alloc_component[keep],
                "amount": alloc_amount[keep],
            },
            allocations,
            now,
        )
        expected.repayments += repayments
        expected.allocations += allocations
    for index in range(len(BANKS)):
        mine = block.bank_index == index
        context["lent"][index] += int(block.principal[mine].sum())
        context["repaid"][index] += int(block.principal_paid[mine].sum())
        context["interest"][index] += int(block.interest_paid[mine].sum())


def setup(loans: int, day: date, seed: int, penalty: str | None, history_days: int, fillfactor: int | None) -> Expected:
    """Migrate and write the portfolio; return what the close of ``day`` must find."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from banks.models import Allocation, Bank
    from loans.models import Product, ProductTerms

    call_command("migrate", verbosity=0)
    if fillfactor:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE loans_loan SET (fillfactor = {int(fillfactor)})")
    now = timezone.now()
    user = User.objects.create_user(username="bench-close", password=None)
    product = Product.objects.create(code="WIBAWA", name="Kredit Wibawa")
    terms = ProductTerms.objects.create(
        product=product,
        version=1,
        annual_rate="3",
        method="flat",
        ceiling_without_collateral=5_000_000,
        ceiling_with_collateral=50_000_000,
        allowed_tenors=[6, 12, 18, 24, 36],
        valid_from=date(2017, 1, 1),
        penalty_percent_per_day=Decimal(penalty or "0"),
        penalty_grace_days=PENALTY_GRACE_DAYS if penalty else 0,
        penalty_cap_percent=Decimal(PENALTY_CAP_PERCENT) if penalty else None,
    )
    banks = [Bank.objects.create(code=code, name=name, kind=kind) for code, name, kind, _ in BANKS]
    penalty_units = int(Decimal(penalty) * 10_000) if penalty else 0
    context: dict[str, Any] = {
        "now": now,
        "user_id": user.pk,
        "product_id": product.pk,
        "terms_id": terms.pk,
        "bank_ids": [bank.pk for bank in banks],
        "lent": [0] * len(BANKS),
        "repaid": [0] * len(BANKS),
        "interest": [0] * len(BANKS),
    }
    expected = Expected()
    counters = {"repayment": 1, "allocation": 1}
    rng = np.random.default_rng(seed)
    target = np.datetime64(day, "D")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        rebuild: list[str] = []
        for table in reversed(PORTFOLIO_TABLES):
            rebuild = without_indexes(cursor, table) + rebuild
        for first in range(0, loans, LOAN_BLOCK):
            count = min(LOAN_BLOCK, loans - first)
            block = make_block(rng, first + 1, count, target, penalty_units)
            write_block(cursor.cursor, block, context, target, history_days, counters, expected)
            expect(block, target, expected, penalty_units)
            print(f"  wrote loans {first + 1:,}-{first + count:,}", flush=True)
        print("  building indexes and foreign keys", flush=True)
        for statement in rebuild:
            cursor.execute(statement)
        for table in PORTFOLIO_TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    for index, bank in enumerate(banks):
        allocated = context["lent"][index] + 10**12
        Bank.objects.filter(pk=bank.pk).update(
            allocated=allocated,
            disbursed=context["lent"][index],
            principal_repaid=context["repaid"][index],
            interest_collected=context["interest"][index],
        )
        allocation = Allocation.objects.create(bank=bank, year=2020, amount=allocated, created_by=user)
        Allocation.objects.filter(pk=allocation.pk).update(created_at=now - timedelta(days=2000))
    context["expected"] = expected
    with connection.cursor() as cursor:
        # The loans and installments as the close of D-1 left them, restored between runs.
        cursor.execute(
            "CREATE TABLE bench_loan_state AS SELECT id, status, as_of, days_past_due, arrears_principal, "
            "arrears_interest, arrears_penalty, collectibility, max_days_past_due, closed_on FROM loans_loan"
        )
        cursor.execute(
            "CREATE TABLE bench_installment_state AS SELECT id, penalty, penalty_through FROM loans_installment "
            "WHERE penalty_through IS NOT NULL"
        )
        cursor.execute(
            "CREATE TABLE bench_meta (loans int, business_date date, seed int, penalty text, history_days int, "
            "expected jsonb, fillfactor int)"
        )
        cursor.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [loans, day, seed, penalty or "", history_days, json.dumps(expected.__dict__), fillfactor or 0],
        )
    return expected


def restore(day: date, penalty: bool) -> None:
    """Put the loans, snapshots, runs, fund days (and penalties) back as before the close."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM loans_loansnapshot")
        cursor.execute("DELETE FROM loans_fundday")
        cursor.execute("DELETE FROM loans_closerun")
        cursor.execute(
            "UPDATE loans_loan l SET status = s.status, as_of = s.as_of, days_past_due = s.days_past_due, "
            "arrears_principal = s.arrears_principal, arrears_interest = s.arrears_interest, "
            "arrears_penalty = s.arrears_penalty, collectibility = s.collectibility, "
            "max_days_past_due = s.max_days_past_due, closed_on = s.closed_on FROM bench_loan_state s "
            "WHERE l.id = s.id AND (l.as_of IS DISTINCT FROM s.as_of OR l.status <> s.status)"
        )
        if penalty:
            cursor.execute(
                "UPDATE loans_installment i SET penalty = 0, penalty_through = NULL WHERE i.penalty_through = %s "
                "AND NOT EXISTS (SELECT 1 FROM bench_installment_state s WHERE s.id = i.id)",
                [day],
            )
            cursor.execute(
                "UPDATE loans_installment i SET penalty = s.penalty, penalty_through = s.penalty_through "
                "FROM bench_installment_state s WHERE s.id = i.id AND i.penalty_through = %s",
                [day],
            )
    vacuum(
        ["loans_loan", "loans_loansnapshot", "loans_fundday", "loans_closerun"]
        + (["loans_installment"] if penalty else [])
    )


def vacuum(tables: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("CHECKPOINT")


# --- the run -------------------------------------------------------------------------------------


def close_in_process(day: date) -> dict[str, float]:
    from loans.services.close import close_chunk, close_finish, close_rules, close_start

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    plan = close_start(business_date=day)
    seconds["start (chunk ranges)"] = time.perf_counter() - started
    rules = close_rules()
    for low, high in plan.chunks:
        result = close_chunk(run_id=plan.run_id, low=low, high=high, rules=rules)
        for step, value in result.seconds.items():
            seconds[f"chunks: {step}"] = seconds.get(f"chunks: {step}", 0.0) + value
    chunks_done = time.perf_counter()
    seconds["chunks (all)"] = chunks_done - started - seconds["start (chunk ranges)"]
    close_finish(run_id=plan.run_id)
    seconds["finish (fund days)"] = time.perf_counter() - chunks_done
    seconds["total"] = time.perf_counter() - started
    return seconds


def close_with_workers(day: date) -> dict[str, float]:
    from loans.models import CloseRun
    from tasks.close import close_catch_up_task

    started = time.perf_counter()
    close_catch_up_task.delay(day.isoformat())
    while True:
        run = CloseRun.objects.filter(business_date=day).order_by("-id").first()
        if run is not None and run.status != CloseRun.Status.RUNNING:
            break
        time.sleep(0.02)
    total = time.perf_counter() - started
    if run.status != CloseRun.Status.DONE or run.finished_at is None:
        raise SystemExit(f"the close failed: {run.error}")
    return {"run (database clock)": (run.finished_at - run.started_at).total_seconds(), "total": total}


def check(day: date, expected: Expected, penalty: bool) -> list[str]:
    """Compare the close's result with what the generator made; return the mismatches."""
    from django.db import connection

    from loans.models import CloseRun, FundDay

    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'overdue'), coalesce(sum(days_past_due), 0), "
            "coalesce(sum(arrears_principal), 0), coalesce(sum(arrears_interest), 0), "
            "coalesce(sum(arrears_penalty), 0), count(*) FILTER (WHERE as_of = %s) FROM loans_loan",
            [day],
        )
        loans, overdue, dpd, principal, interest, penalty_sum, as_of = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), coalesce(sum(outstanding_principal), 0), count(*) FILTER (WHERE status = 'overdue') "
            "FROM loans_loansnapshot WHERE business_date = %s",
            [day],
        )
        snapshots, outstanding, snapshot_overdue = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM loans_installment")
        installments = cursor.fetchone()[0]
    run = CloseRun.objects.get(business_date=day, status="done")
    by_class = dict.fromkeys(("1", "2", "3", "4", "5"), 0)
    fund_outstanding = 0
    repaid = 0
    for fund_day in FundDay.objects.filter(business_date=day):
        fund_outstanding += fund_day.outstanding_principal
        repaid += fund_day.principal_repaid
        for key, value in fund_day.outstanding_by_class.items():
            by_class[key] += value
    wanted = {
        "loans": (loans, expected.loans),
        "installments": (installments, expected.installments),
        "loans as of D": (as_of, expected.loans),
        "run loans": (run.loans, expected.loans),
        "snapshots": (snapshots, expected.loans),
        "overdue loans": (overdue, expected.overdue),
        "overdue snapshots": (snapshot_overdue, expected.overdue),
        "sum of days past due": (dpd, expected.days_past_due),
        "arrears principal": (principal, expected.arrears_principal),
        "arrears interest": (interest, expected.arrears_interest),
        "arrears penalty": (penalty_sum, expected.penalty if penalty else 0),
        "outstanding at D (snapshots)": (outstanding, expected.outstanding),
        "outstanding at D (fund days)": (fund_outstanding, expected.outstanding),
        "outstanding by class": (by_class, expected.by_class),
        "principal repaid on D": (repaid, expected.repaid_on_d),
    }
    for name, (found, want) in wanted.items():
        if found != want:
            problems.append(f"{name}: found {found}, expected {want}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="Close D this many times (restored in between).")
    parser.add_argument("--workers", type=int, default=0, help="Celery worker processes (0: close in this process).")
    parser.add_argument("--chunk", type=int, default=25_000, help="CLOSE_CHUNK_LOANS.")
    parser.add_argument("--penalty", default=None, help="Penalty percent a day for the product (default: none).")
    parser.add_argument("--history-days", type=int, default=31, help="Days of repayment rows before D.")
    parser.add_argument(
        "--loan-fillfactor",
        type=int,
        default=None,
        help="Set loans_loan's fillfactor before loading (default: as migration loans/0005 leaves it, 50; "
        "100 measures without the free space).",
    )
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--reuse", action="store_true", help="Keep the portfolio if the database has the same one.")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_close")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    queue = f"wibawa-bench-close-{os.getpid()}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "CLOSE_CHUNK_LOANS": str(args.chunk),
            "CELERY_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
        }
    )
    if args.workers:
        os.environ.update({"CELERY_BROKER_URL": args.redis, "CELERY_RESULT_BACKEND": args.redis})
    else:  # the close in this process: eager mode, asked for explicitly since DEBUG is off
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

    import django

    reused = False
    day: date
    expected: Expected
    if args.reuse:
        import psycopg

        try:
            with psycopg.connect(args.database) as probe:
                row = probe.execute(
                    "SELECT loans, business_date, seed, penalty, history_days, expected, fillfactor FROM bench_meta"
                ).fetchone()
        except psycopg.Error:
            row = None
        same = (args.loans, args.seed, args.penalty or "", args.history_days, args.loan_fillfactor or 0)
        if row and tuple(row[:1]) + tuple(row[2:5]) + (row[6],) == same:
            reused = True
            day = row[1]
            expected = Expected(**row[5])
    if not reused:
        free = shutil.disk_usage("/").free
        need = args.loans * 16_000  # about 1.6 GB per 100,000 loans, with room to spare
        if free < need:
            raise SystemExit(f"{args.loans:,} loans need about {need / 1e9:.0f} GB free; {free / 1e9:.0f} GB are")
        recreate_database(args.database)
    django.setup()
    from config.clock import business_yesterday

    if not reused:
        day = business_yesterday()
        print(f"setting up {args.loans:,} loans x {TENOR} months for the close of {day} ...", flush=True)
        started = time.perf_counter()
        expected = setup(args.loans, day, args.seed, args.penalty, args.history_days, args.loan_fillfactor)
        print(f"  written in {time.perf_counter() - started:.0f} s; VACUUM ANALYZE ...", flush=True)
        vacuum([*PORTFOLIO_TABLES, "banks_bank", "banks_allocation"])
        print(f"  set up in {time.perf_counter() - started:.0f} s", flush=True)

    with celery_worker(args.workers) if args.workers else nullcontext() as worker:
        failures = 0
        for number in range(1, args.runs + 1):
            if number > 1 or reused:
                restore(day, bool(args.penalty))
            seconds = close_with_workers(day) if worker is not None else close_in_process(day)
            problems = check(day, expected, bool(args.penalty))
            failures += bool(problems)
            print(
                f"\nrun {number}: close of {day}, {expected.loans:,} loans, {expected.installments:,} installments, "
                f"chunks of {args.chunk:,}, "
                + (f"{args.workers} worker process(es)" if worker else "in process")
                + (f", penalty {args.penalty}% a day" if args.penalty else "")
            )
            for step, value in seconds.items():
                print(f"  {step:<28} {value:7.2f} s")
            print(
                f"  loans overdue at D: {expected.overdue:,}; repayments in the table: {expected.repayments:,} "
                f"({expected.repaid_later_loans:,} loans paid on D+1)"
            )
            print("  check: " + ("every figure as generated" if not problems else "; ".join(problems)))
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
