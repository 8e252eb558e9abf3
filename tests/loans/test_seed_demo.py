"""The demo programme `make run` seeds: two years of history, every step through the
services, the nightly close run as it would have been.

One test runs the real default (24 months) and checks the programme against figures
computed here from the ledger; the others use a short history (``--months 2``)."""

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Sum
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from banks.models import Bank
from config.clock import business_date_of, business_today
from loans.dates import add_months
from loans.management.demo_history import plan_history
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

pytestmark = pytest.mark.django_db

SHORT = ("--months", "2")
#: The collectibility tables of DOMAIN.md, written out here: (fewest days, class) from the worst.
CLASSES = {
    "commercial": ((181, 5), (121, 4), (91, 3), (1, 2), (0, 1)),
    "bpr": ((181, 5), (121, 4), (91, 3), (31, 2), (0, 1)),
}


def grade(kind: str, days_past_due: int) -> int:
    return next(grade for fewest, grade in CLASSES[kind] if days_past_due >= fewest)


def month_ends(first: date, last: date) -> list[date]:
    ends = []
    day = first
    while day <= last:
        if (day + timedelta(days=1)).day == 1:
            ends.append(day)
        day += timedelta(days=1)
    return ends


def assert_programme_ledger_consistent() -> None:
    """Every repayment is split into allocations that add up to it; every loan's
    outstanding principal is its principal less the principal allocated, which its
    current installments hold; every bank's counters are the sums of its loans'."""
    allocated = defaultdict(int)
    for repayment_id, total in (
        RepaymentAllocation.objects.filter(undone_at=None).values_list("repayment").annotate(total=Sum("amount"))
    ):
        allocated[repayment_id] = total
    for repayment in Repayment.objects.all():
        assert allocated[repayment.pk] == repayment.amount, repayment.pk
    principal_back = dict(
        RepaymentAllocation.objects.filter(undone_at=None, component="principal")
        .values_list("repayment__loan")
        .annotate(total=Sum("amount"))
    )
    for loan in Loan.objects.all():
        repaid = principal_back.get(loan.pk, 0)
        assert loan.outstanding_principal == loan.principal - repaid, loan.pk
        rows = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
        assert rows.aggregate(paid=Sum("principal_paid"))["paid"] == repaid, loan.pk
        assert rows.aggregate(principal=Sum("principal"))["principal"] == loan.principal, loan.pk
        if loan.status == Loan.Status.PAID_OFF:
            assert loan.outstanding_principal == 0
            assert not rows.filter(paid_on=None).exists()
    for bank in Bank.objects.all():
        assert bank.disbursed == Loan.objects.filter(bank=bank).aggregate(total=Sum("principal"))["total"]
        by_component = dict(
            RepaymentAllocation.objects.filter(undone_at=None, repayment__bank=bank)
            .values_list("component")
            .annotate(total=Sum("amount"))
        )
        assert bank.principal_repaid == by_component.get("principal", 0)
        assert bank.interest_collected == by_component.get("interest", 0)
        assert bank.allocated - bank.disbursed + bank.principal_repaid >= 0


def test_the_default_demo_is_a_two_year_programme_as_the_close_left_it() -> None:
    out = StringIO()
    call_command("seed_demo", "--allow-production", stdout=out)
    printed = out.getvalue()
    yesterday = business_today() - timedelta(days=1)

    # Progress: a line a month, then the total.
    assert "month 1/25" in printed
    assert "month 25/25" in printed
    assert "Seeded:" in printed

    # About 24 months of loans at both banks, disbursed month by month.
    first = Loan.objects.aggregate(first=Min("disbursed_on"))["first"]
    assert (yesterday - first).days > 670
    for bank in Bank.objects.all():
        months = {
            (day.year, day.month) for day in Loan.objects.filter(bank=bank).values_list("disbursed_on", flat=True)
        }
        assert len(months) >= 15, bank.code
    assert {kind for kind in Bank.objects.values_list("kind", flat=True)} == {"commercial", "bpr"}
    assert set(Application.objects.values_list("state", flat=True)) == set(Application.State.values)
    # Moments follow the business date: each disbursement's audit row is dated its day.
    for entry in AuditEntry.objects.filter(action="disburse").select_related("loan")[:50]:
        assert entry.loan is not None
        assert business_date_of(entry.at) == entry.loan.disbursed_on

    # The close ran for every month end and every day of the last months, each leaving
    # a fund day per bank and a snapshot per loan open that day.
    closed = set(CloseRun.objects.filter(status=CloseRun.Status.DONE).values_list("business_date", flat=True))
    assert max(closed) == yesterday
    start = first.replace(day=1)
    assert set(month_ends(start, yesterday)) <= closed
    last_daily = add_months(business_today().replace(day=1), -3)  # the last 3 months: every day
    assert {last_daily + timedelta(days=n) for n in range((yesterday - last_daily).days + 1)} <= closed
    fund_days = Counter(FundDay.objects.values_list("business_date", flat=True))
    assert all(fund_days[day] == 2 for day in closed)
    snapshots = Counter(LoanSnapshot.objects.values_list("business_date", flat=True))
    for day in [*sorted(month_ends(start, yesterday))[::3], yesterday]:
        open_then = Loan.objects.filter(disbursed_on__lte=day).exclude(closed_on__lte=day)
        open_then = open_then.exclude(written_off_on__lte=day)
        assert snapshots[day] == open_then.count(), day
        for bank in Bank.objects.all():
            outstanding = LoanSnapshot.objects.filter(business_date=day, bank_id=bank.pk).aggregate(
                total=Sum("outstanding_principal")
            )["total"]
            assert FundDay.objects.get(bank=bank, business_date=day).outstanding_principal == (outstanding or 0)

    # Yesterday's figures, computed here from the installments and repayments.
    kinds = dict(Bank.objects.values_list("pk", "kind"))
    held = set(Deferral.objects.filter(state="approved").values_list("loan_id", flat=True))
    final = {s.loan_id: s for s in LoanSnapshot.objects.filter(business_date=yesterday)}
    classes: dict[str, set[int]] = defaultdict(set)
    for loan in Loan.objects.filter(pk__in=final):
        snapshot = final[loan.pk]
        oldest = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version, paid_on=None).aggregate(
            oldest=Min("due_date")
        )["oldest"]
        days = max((yesterday - oldest).days, 0) if oldest else 0
        assert snapshot.days_past_due == days, loan.pk
        assert snapshot.outstanding_principal == loan.outstanding_principal
        if loan.pk not in held:
            assert snapshot.collectibility == grade(kinds[loan.bank_id], days), loan.pk
        classes[kinds[loan.bank_id]].add(snapshot.collectibility)
    # Every class at both banks, and the same lateness classed by each bank's own table.
    assert classes == {"commercial": {1, 2, 3, 4, 5}, "bpr": {1, 2, 3, 4, 5}}
    outstanding = sum(s.outstanding_principal for s in final.values())
    par30 = sum(s.outstanding_principal for s in final.values() if s.days_past_due > 30)
    npl = sum(s.outstanding_principal for s in final.values() if s.collectibility >= 3)
    assert 0 < npl <= par30 < outstanding

    # A month end of the first year, closed that night: its figures from the ledger too.
    day = month_ends(start, yesterday)[10]
    for snapshot in LoanSnapshot.objects.filter(business_date=day).exclude(loan__in=held).select_related("loan"):
        loan = snapshot.loan
        due_then = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version, due_date__lt=day)
        oldest = due_then.exclude(paid_on__lte=day).aggregate(oldest=Min("due_date"))["oldest"]
        days = (day - oldest).days if oldest else 0
        assert snapshot.days_past_due == days, (day, loan.pk)
        assert snapshot.collectibility == grade(kinds[loan.bank_id], days)
        repaid = RepaymentAllocation.objects.filter(
            repayment__loan=loan, repayment__paid_on__lte=day, component="principal", undone_at=None
        ).aggregate(total=Sum("amount"))["total"]
        assert snapshot.outstanding_principal == loan.principal - (repaid or 0)

    # Paid off early, repaid on time, a deferral, a write-off with a recovery, repeat borrowers.
    paid_off = Loan.objects.filter(status=Loan.Status.PAID_OFF)
    last_due = dict(
        Installment.objects.filter(loan__in=paid_off, schedule_version=1)
        .values_list("loan")
        .annotate(last=Max("due_date"))
    )
    early = [loan for loan in paid_off if loan.closed_on < last_due[loan.pk] - timedelta(days=40)]
    assert len(early) >= 3
    assert Repayment.objects.filter(payoff=True).count() >= 3
    assert paid_off.filter(max_days_past_due=0).count() > 20
    deferral = Deferral.objects.get(state="approved")
    assert deferral.loan.schedule_version == 2
    assert deferral.loan.status in Loan.OPEN_STATUSES
    written_off = Loan.objects.get(status=Loan.Status.WRITTEN_OFF)
    assert written_off.written_off_principal > 0
    recoveries = Repayment.objects.filter(loan=written_off, paid_on__gt=written_off.written_off_on)
    assert recoveries.count() == 1
    repeat = Loan.objects.values("borrower").annotate(loans=Count("id")).filter(loans__gte=2).values_list("borrower")
    assert repeat.count() >= 3
    for borrower in repeat[:5]:
        first_loan, second = Loan.objects.filter(borrower=borrower[0]).order_by("disbursed_on")[:2]
        assert first_loan.closed_on is not None
        assert second.disbursed_on > first_loan.closed_on

    # Everything went through the services: audited, and the books agree.
    assert AuditEntry.objects.filter(action="repayment_posted").count() == Repayment.objects.count() > 500
    assert AuditEntry.objects.filter(action="close_finish").count() == len(closed)
    assert_programme_ledger_consistent()

    # A second `make run` leaves it as it is.
    counts = (Loan.objects.count(), Repayment.objects.count(), CloseRun.objects.count(), AuditEntry.objects.count())
    again = StringIO()
    call_command("seed_demo", "--allow-production", "--if-empty", stdout=again)
    assert "not seeded" in again.getvalue()
    assert counts == (
        Loan.objects.count(),
        Repayment.objects.count(),
        CloseRun.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_short_history_is_closed_every_day_and_at_both_banks() -> None:
    call_command("seed_demo", "--allow-production", *SHORT, stdout=StringIO())
    yesterday = business_today() - timedelta(days=1)
    closed = sorted(CloseRun.objects.values_list("business_date", flat=True))
    assert closed == [closed[0] + timedelta(days=n) for n in range((yesterday - closed[0]).days + 1)]
    assert {code for code in Loan.objects.values_list("bank__code", flat=True)} == {"JATENG", "PASAR"}
    assert not Loan.objects.filter(schedule_status="pending").exists()
    assert User.objects.get(username="borrower").borrower.loans.filter(bank__code="PASAR").exists()
    # The moments followed the business date only while seeding.
    assert abs((timezone.now() - datetime.now(UTC)).total_seconds()) < 5
    assert_programme_ledger_consistent()


def test_the_plan_is_the_same_for_the_same_seed() -> None:
    def plan(seed: int) -> list[tuple[object, ...]]:
        history = plan_history(random.Random(seed), months=24, end=date(2026, 6, 30), per_month=5, daily_months=3)
        return [
            (p.borrower, p.bank, p.principal, p.tenor, p.steps, p.behaviour, p.stop_due, p.repeat_of)
            for p in history.plans
        ]

    assert plan(2017) == plan(2017)
    assert plan(2017) != plan(2018)


def test_seed_demo_refuses_a_database_that_holds_a_programme() -> None:
    call_command("seed_demo", "--allow-production", *SHORT, stdout=StringIO())
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_demo", "--allow-production", *SHORT, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--allow-production", "--if-empty", stdout=out)
    assert "not seeded" in out.getvalue()


def test_the_demo_manager_opens_the_back_office() -> None:
    call_command("seed_demo", "--allow-production", *SHORT, stdout=StringIO())
    manager = Client()
    assert manager.login(username="manager", password="wibawa-demo")
    assert manager.get("/admin/").status_code == 200
    for page in ("auth/user/", "banks/bank/", "banks/bankstaff/", "banks/bankstaff/add/", "loans/product/"):
        assert manager.get(f"/admin/{page}").status_code == 200, page
    assert manager.get("/admin/audit/auditentry/").status_code == 200
    assert manager.get("/admin/audit/auditentry/add/").status_code == 403  # the audit trail stays read-only
    user = User.objects.get(username="manager")
    assert user.is_staff
    assert not user.is_superuser
    officer = Client()
    assert officer.login(username="officer", password="wibawa-demo")
    assert officer.get("/admin/").status_code == 302  # not staff: sent to the admin's login page
