"""config/prepared.py: a query the ORM compiles once, run with new values, answers what
the ORM's own queryset answers (model rows with their annotations and converted columns,
or value rows), on SQLite and on PostgreSQL; a value that does not reach the SQL as a
parameter is refused when the query is first compiled. Rows written by prepared_insert
and prepared_update read back exactly as rows the ORM's save() and bulk_create wrote."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from banks.models import Bank
from borrowers.models import Borrower
from config.prepared import PREPARED_INSERT_ROWS, Prepared, PreparedUpdate, prepared_insert, prepared_update
from loans.models import Installment, Loan, Repayment, RepaymentAllocation
from loans.selectors.applications import loan_read, loan_visible, loan_with_names
from loans.services.common import loan_lock
from tests.factories import UserFactory, bank_user, funded_bank, serviced_loan

pytestmark = pytest.mark.django_db


def fields_of(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_model_rows_are_the_orms_with_new_values_each_run() -> None:
    loans = [serviced_loan(), serviced_loan(principal=7_000_000, tenor_months=6)]
    query = Prepared(
        lambda loan_id, version, on: Installment.objects.filter(
            loan_id=loan_id, schedule_version=version, due_date__gte=on
        ).order_by("number")
    )
    for loan in loans:
        for on in (date(2026, 1, 1), date(2026, 5, 15), date(2030, 1, 1)):
            found = query.objects(loan_id=loan.pk, version=loan.schedule_version, on=on)
            expected = Installment.objects.filter(
                loan=loan, schedule_version=loan.schedule_version, due_date__gte=on
            ).order_by("number")
            assert [fields_of(i) for i in found] == [fields_of(i) for i in expected]
            # Dates come back as dates on both databases (the ORM's converters ran).
            assert all(isinstance(i.due_date, date) for i in found)
            assert all(i._state.adding is False and i._state.db == "default" for i in found)
    assert len(query._compiled) == 1  # compiled once for every run


def test_annotations_and_a_shape_and_a_value_given_as_none() -> None:
    loan = serviced_loan()
    other = serviced_loan()
    manager = UserFactory.create(role="manager")
    staff = bank_user(loan.bank)
    borrower_user = UserFactory.create(role="borrower")
    Borrower.objects.filter(pk=loan.borrower_id).update(user=borrower_user)
    stranger = bank_user(other.bank)
    for user in (manager, staff, borrower_user, stranger):
        for wanted in (loan, other):
            got = loan_read(user=user, loan_id=wanted.pk)
            expected = loan_with_names(loan_visible(user=user)).filter(pk=wanted.pk).first()
            if expected is None:
                assert got is None
                continue
            assert got is not None
            assert fields_of(got) == fields_of(expected)
            for name in ("bank_code", "borrower_name", "product_code", "terms_version"):
                assert getattr(got, name) == getattr(expected, name)
    assert loan_read(user=staff, loan_id=other.pk) is None
    assert loan_read(user=manager, loan_id=other.pk) is not None
    assert loan_read(user=UserFactory.create(), loan_id=loan.pk) is None  # nobody's scope


def test_value_rows_with_sums() -> None:
    loan = serviced_loan()
    query = Prepared(
        lambda loan_id, on: (
            Installment.objects.filter(loan_id=loan_id, due_date__lte=on)
            .order_by()
            .values("loan_id")
            .annotate(total=Sum(F("principal") + F("interest")))
            .values_list("total", flat=False)
        )
    )
    for on in (date(2026, 1, 1), date(2026, 6, 30), date(2028, 1, 1)):
        expected = Installment.objects.filter(loan=loan, due_date__lte=on).aggregate(
            total=Sum(F("principal") + F("interest"))
        )["total"]
        rows = query.rows(loan_id=loan.pk, on=on)
        assert (int(rows[0][0]) if rows else None) == expected


def test_a_value_the_orm_does_not_pass_as_a_parameter_is_refused() -> None:
    # A slice's bound is written into the SQL text, not passed: the prepared query would
    # run with the marker's value for ever, so compiling it fails instead.
    sliced = Prepared(lambda count: Loan.objects.order_by("pk")[:count])
    with pytest.raises(ImproperlyConfigured, match="count"):
        sliced.objects(count=5)
    unknown_kind = Prepared(lambda amount: Loan.objects.filter(principal=amount))
    with pytest.raises(ImproperlyConfigured, match="amount"):
        unknown_kind.objects(amount=1.5)


def test_related_rows_are_the_orms() -> None:
    loan = serviced_loan()
    query = Prepared(lambda loan_id: Loan.objects.select_related("bank", "terms__product").filter(pk=loan_id))
    found = query.first(loan_id=loan.pk)
    assert found is not None
    expected = Loan.objects.select_related("bank", "terms__product").get(pk=loan.pk)
    assert fields_of(found) == fields_of(expected)
    assert fields_of(found.bank) == fields_of(expected.bank)
    assert fields_of(found.terms) == fields_of(expected.terms)
    assert fields_of(found.terms.product) == fields_of(expected.terms.product)
    with CaptureQueriesContext(connection) as queries:
        assert found.terms.product.code == expected.terms.product.code
    assert len(queries) == 0  # joined in, not read again


def test_loan_lock_finds_only_what_the_user_may_see() -> None:
    loan = serviced_loan()
    other = serviced_loan()
    staff = bank_user(loan.bank)
    with transaction.atomic():
        locked = loan_lock(loan.pk, user=staff)
        assert locked.pk == loan.pk
        assert locked.bank.code == loan.bank.code
        with pytest.raises(Loan.DoesNotExist):
            loan_lock(other.pk, user=staff)
        with pytest.raises(Loan.DoesNotExist):
            loan_lock(loan.pk, user=UserFactory.create())
        assert loan_lock(other.pk).pk == other.pk


def test_objects_of_values_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="values"):
        Prepared(lambda loan_id: Loan.objects.filter(pk=loan_id).values_list("pk")).objects(loan_id=1)


def test_a_borrowers_scope_sees_only_their_loans() -> None:
    mine = serviced_loan()
    theirs = serviced_loan()
    user = UserFactory.create(role="borrower")
    Borrower.objects.filter(pk=mine.borrower_id).update(user=user)
    assert theirs.borrower_id != mine.borrower_id
    found = loan_read(user=user, loan_id=mine.pk)
    assert found is not None
    assert found.pk == mine.pk
    assert loan_read(user=user, loan_id=theirs.pk) is None


@pytest.mark.postgres
def test_on_postgresql_a_query_run_often_becomes_a_prepared_statement() -> None:
    # Django's own cursors bind parameters on the client and are never prepared; a
    # prepared query's cursor binds them on the server, and psycopg prepares the
    # statement once the connection has run it prepare_threshold times: PostgreSQL then
    # neither parses nor plans it again.
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold >= 1
    loan = serviced_loan()
    query = Prepared(lambda loan_id: Installment.objects.filter(loan_id=loan_id).order_by("number")[:1])

    def prepared_statements() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    assert not any('"loans_installment"' in sql for sql in prepared_statements())
    for _ in range(threshold + 1):
        found = query.objects(loan_id=loan.pk)
        assert [i.number for i in found] == [1]
    assert any('"loans_installment"' in sql for sql in prepared_statements())

    # So do the prepared writes: an audit row's INSERT and a loan's UPDATE.
    assert not any("audit_auditentry" in sql or 'UPDATE "loans_loan"' in sql for sql in prepared_statements())
    for n in range(threshold + 1):
        prepared_insert([AuditEntry(at=loan.created_at, action="test", subject_type="loan", subject_id=str(n))])
        loan.max_days_past_due = n
        assert prepared_update(loan, ("max_days_past_due",)) == 1
    statements = prepared_statements()
    assert any(sql.startswith('INSERT INTO "audit_auditentry"') for sql in statements)
    assert any(sql.startswith('UPDATE "loans_loan"') for sql in statements)
    assert AuditEntry.objects.filter(action="test").count() == threshold + 1


def test_pages_and_the_count_of_value_rows_are_the_orms() -> None:
    loans = [serviced_loan(tenor_months=tenor) for tenor in (6, 12)]
    query = Prepared(
        lambda loan_id: (
            Installment.objects.filter(loan_id=loan_id)
            .annotate(owed=F("principal") + F("interest"))
            .values("number", "owed", "due_date", "paid_on")
            .order_by("-number")
        )
    )
    counted = Prepared(lambda loan_id: Installment.objects.filter(loan_id=loan_id).values_list("pk"))
    for loan in loans:
        expected = list(
            Installment.objects.filter(loan=loan)
            .annotate(owed=F("principal") + F("interest"))
            .values("number", "owed", "due_date", "paid_on")
            .order_by("-number")
        )
        assert query.dicts(loan_id=loan.pk) == expected
        for page in (slice(0, 5), slice(5, 10), slice(10, 20), slice(None, 3)):
            assert query.dicts(page=page, loan_id=loan.pk) == expected[page]
        assert counted.count(loan_id=loan.pk) == loan.tenor_months
    with pytest.raises(ImproperlyConfigured, match="slice"):
        query.dicts(page=slice(2, None), loan_id=loans[0].pk)
    already_sliced = Prepared(lambda loan_id: Installment.objects.filter(loan_id=loan_id).values("number")[:3])
    with pytest.raises(ImproperlyConfigured, match="slice"):
        already_sliced.dicts(page=slice(0, 2), loan_id=loans[0].pk)


def test_an_update_runs_with_each_calls_values_and_counts_the_rows() -> None:
    bank = funded_bank("UPD")
    before = bank.interest_collected
    add = PreparedUpdate(
        lambda bank_id, amount, at_most: (
            Bank.objects.filter(pk=bank_id, interest_collected__lte=at_most),
            {"interest_collected": F("interest_collected") + amount},
        )
    )
    assert add(bank_id=bank.pk, amount=7, at_most=10**13) == 1
    # Beyond a 32-bit integer (the ORM sizes a marker's parameter by its column: the
    # value is sent sized by itself, never cut short).
    assert add(bank_id=bank.pk, amount=3 * 2**31, at_most=10**13) == 1
    bank.refresh_from_db()
    assert bank.interest_collected == before + 7 + 3 * 2**31
    assert add(bank_id=bank.pk, amount=1, at_most=5) == 0  # the condition holds it back
    assert add(bank_id=bank.pk + 10_000, amount=1, at_most=10**13) == 0
    bank.refresh_from_db()
    assert bank.interest_collected == before + 7 + 3 * 2**31
    assert len(add._compiled) == 1


@pytest.mark.postgres
def test_on_postgresql_times_are_read_by_psycopgs_c_loader_and_equal_the_orms() -> None:
    # Django reads timestamptz through a Python loader; a prepared query's cursor uses
    # psycopg's C loader (psycopg[binary] is pinned), which with the session in UTC gives
    # the same values with the same tzinfo.
    from config.prepared import _c_timestamptz_loader

    assert _c_timestamptz_loader() is not None
    loan = serviced_loan()
    Loan.objects.filter(pk=loan.pk).update(created_at=datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC))
    query = Prepared(lambda loan_id: Loan.objects.filter(pk=loan_id).values_list("created_at", "disbursed_on"))
    expected = Loan.objects.filter(pk=loan.pk).values_list("created_at", "disbursed_on").get()
    for _ in range(3):
        found = query.rows(loan_id=loan.pk)[0]
        assert found == expected
        assert found[0].tzinfo is expected[0].tzinfo is UTC
        assert found[0].isoformat() == expected[0].isoformat() == "2026-03-04T05:06:07.000089+00:00"


# --- prepared writes -----------------------------------------------------------------


def stored(instance: Any, *, but: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """The row of ``instance`` as the database holds it, read by the ORM."""
    fresh = type(instance)._base_manager.get(pk=instance.pk)
    return {name: value for name, value in fields_of(fresh).items() if name not in but}


def repayment_of(loan: Loan, reference: str, **overrides: Any) -> Repayment:
    values: dict[str, Any] = {
        "loan": loan,
        "bank_id": loan.bank_id,
        "amount": 1_234_567_890_123,  # beyond 32 bits
        "paid_on": date(2026, 5, 31),
        "channel": Repayment.Channel.TRANSFER,
        "reference": reference,
        "idempotency_key": f"key-{reference}",
        "request_hash": "ab" * 32,
        "response": {"id": None, "amount": 1_234_567_890_123, "allocations": [{"due_date": "2026-06-10"}], "ok": True},
        "schedule_version": loan.schedule_version,
        "created_by": UserFactory.create(),
        "created_at": datetime(2026, 5, 31, 17, 30, 5, 123456, tzinfo=UTC),
    }
    return Repayment(**{**values, **overrides})


def test_an_inserted_row_reads_back_as_the_orms_and_gets_its_key() -> None:
    loan = serviced_loan()
    by_orm = repayment_of(loan, "ORM-1")
    by_orm.save(force_insert=True)
    mine = repayment_of(loan, "PREP-1", created_by=by_orm.created_by)
    with CaptureQueriesContext(connection) as queries:
        prepared_insert([mine])
    assert len(queries) == 1
    assert mine.pk is not None
    assert mine.pk != by_orm.pk
    assert mine._state.adding is False
    assert mine._state.db == "default"
    expected = stored(by_orm, but=("id", "reference", "idempotency_key"))
    assert stored(mine, but=("id", "reference", "idempotency_key")) == expected
    assert expected["status"] == Repayment.Status.BOOKED
    assert expected["reversed_by_id"] is None
    assert stored(mine)["reference"] == "PREP-1"

    # An audit row: JSON with a custom encoder, nullable keys left empty.
    at = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)
    entries = [
        AuditEntry(
            at=at,
            actor=None,
            action="test",
            subject_type="loan",
            subject_id=str(loan.pk),
            before={"on": date(2026, 6, 1)},
            after={},
            amounts={"amount": 2**40},
            loan_id=loan.pk,
        )
        for _ in range(2)
    ]
    entries[0].save(force_insert=True)
    prepared_insert(entries[1:])
    assert stored(entries[1]) == stored(entries[0])
    assert stored(entries[1])["before"] == {"on": "2026-06-01"}


@pytest.mark.parametrize("count", [1, 2, 3, PREPARED_INSERT_ROWS, PREPARED_INSERT_ROWS + 1])
def test_many_rows_insert_in_one_statement_each_with_its_key(count: int) -> None:
    loan = serviced_loan()
    repayment = repayment_of(loan, f"MANY-{count}")
    prepared_insert([repayment])
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    assert len(rows) >= count

    def allocations() -> list[RepaymentAllocation]:
        return [
            RepaymentAllocation(
                repayment=repayment,
                installment=row,
                component=RepaymentAllocation.Component.INTEREST if n % 2 else RepaymentAllocation.Component.PRINCIPAL,
                amount=1_000 + n,
                undone_at=None if n % 3 else datetime(2026, 6, 2, 3, 4, 5, tzinfo=UTC),
            )
            for n, row in enumerate(rows[:count])
        ]

    mine, by_orm = allocations(), allocations()
    with CaptureQueriesContext(connection) as queries:
        prepared_insert(mine)
    assert len(queries) == 1  # one statement, whether prepared or bulk_create's
    RepaymentAllocation.objects.bulk_create(by_orm)
    assert len({a.pk for a in mine}) == count
    assert None not in {a.pk for a in mine}
    for one, other in zip(mine, by_orm, strict=True):
        assert stored(one) == stored(other)
        assert one.installment_id == stored(one)["installment_id"]  # each row got its own key


def test_an_update_writes_the_fields_given_and_none_as_null() -> None:
    loan = serviced_loan()
    installments = list(Installment.objects.filter(loan=loan).order_by("number")[:2])
    fields = ("principal_paid", "interest_paid", "paid_on")
    mine, by_orm = installments
    for row in (mine, by_orm):
        row.principal_paid, row.interest_paid, row.paid_on = row.principal, 1, date(2026, 6, 10)
    with CaptureQueriesContext(connection) as queries:
        assert prepared_update(mine, fields) == 1
    assert len(queries) == 1
    by_orm.save(update_fields=fields)
    own = ("id", "number", "due_date", "principal", "interest", "principal_paid", "balance")
    assert stored(mine, but=own) == stored(by_orm, but=own)
    assert stored(mine)["principal_paid"] == mine.principal
    # A value set back to None (NULL), and only the fields given are written.
    mine.paid_on, mine.penalty_paid = None, 999
    assert prepared_update(mine, ("paid_on",)) == 1
    assert stored(mine)["paid_on"] is None
    assert stored(mine)["penalty_paid"] == 0
    # A row that is gone changes nothing.
    gone = Installment(pk=10**12, principal_paid=1)
    assert prepared_update(gone, ("principal_paid",)) == 0

    # JSON and integers beyond 32 bits, as save(update_fields=...) writes them.
    repayments = [repayment_of(loan, f"UPD-{n}") for n in range(2)]
    prepared_insert(repayments)
    for repayment in repayments:
        repayment.interest_waived, repayment.response = 3 * 2**31, {"id": repayment.pk, "rows": [1, 2]}
    assert prepared_update(repayments[0], ("interest_waived", "response")) == 1
    repayments[1].save(update_fields=("interest_waived", "response"))
    assert stored(repayments[0])["interest_waived"] == 3 * 2**31
    assert stored(repayments[0])["response"] == {"id": repayments[0].pk, "rows": [1, 2]}
    same = ("id", "reference", "idempotency_key", "response", "created_by_id")
    assert stored(repayments[0], but=same) == stored(repayments[1], but=same)


def test_a_prepared_write_refuses_an_expression() -> None:
    loan = serviced_loan()
    loan.outstanding_principal = F("outstanding_principal") - 1
    with pytest.raises(ImproperlyConfigured):
        prepared_update(loan, ("outstanding_principal",))
    repayment = repayment_of(loan, "EXPR", amount=F("amount"))
    with pytest.raises(ImproperlyConfigured), transaction.atomic():
        prepared_insert([repayment])
