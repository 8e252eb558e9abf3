"""Disbursement end to end: N approved loans of 36 months (default 10,000) disbursed
through the service layer on PostgreSQL, one transaction each (fund drawn under the
bank's row lock, loan created, audit event written, schedule task enqueued after
commit), with real Celery workers consuming from Redis and storing the schedules.

With ``--batch B`` (default 500) the bank disburses in batches of B applications, one
transaction per batch (``applications_disburse``: every application checked, one fund
draw per batch under the bank's row lock, bulk inserts, one schedule task per batch);
``--batch 1`` calls ``application_disburse`` once per application, one transaction
each, as the single ``POST applications/{id}/disburse/`` does.

The clock starts at the first disbursement and stops when the last of the N x 36
installments is stored and every loan is ``ready``. Setting up the approved
applications (bulk inserts) is not timed.

    .venv/bin/python benchmarks/disburse.py [--loans 10000] [--batch 500] [--workers 1]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench] [--redis redis://127.0.0.1:6379/0]

The database named by --database is dropped and created again: never point it at real data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import celery_worker, recreate_database  # noqa: E402

TENOR = 36


def setup(loans: int) -> tuple[list[int], object]:
    """Approved applications ready to disburse, created in bulk (not timed)."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from banks.models import Allocation, Bank, BankStaff
    from borrowers.models import Borrower, Business
    from loans.models import Application, Product, ProductTerms

    call_command("migrate", verbosity=0)
    now = timezone.now()
    today = timezone.localdate()
    staff = User.objects.create_user(username="bench-teller", password=None)
    staff.groups.add(Group.objects.get(name="bank_staff"))
    officer = User.objects.create_user(username="bench-officer", password=None)
    bank = Bank.objects.create(code="PASAR", name="BPR Bank Pasar", kind=Bank.Kind.BPR, allocated=10**15)
    Allocation.objects.create(bank=bank, year=today.year, amount=10**15)
    BankStaff.objects.create(user=staff, bank=bank)
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
    )
    borrowers = Borrower.objects.bulk_create(
        Borrower(
            nik=f"3374{1 + index // 10000:02d}170885{index % 10000:04d}",  # valid up to 160,000
            name=f"Peminjam {index}",
            birth_date=date(1985, 8, 17),
            sex="M",
            phone=f"+62812{index:08d}",
            address="Jl. Pemuda",
            kelurahan_id="33.74.01.1001",
        )
        for index in range(loans)
    )
    businesses = Business.objects.bulk_create(
        Business(
            borrower=borrower,
            name=f"Usaha {borrower.pk}",
            sector="trade",
            nib=f"{9_120_000_000_000 + borrower.pk}",
            started_on=date(2015, 1, 1),
            monthly_revenue=10_000_000,
        )
        for borrower in borrowers
    )
    approved = Application.objects.bulk_create(
        Application(
            borrower=business.borrower,
            business=business,
            bank=bank,
            product=product,
            terms=terms,
            principal=1_000_000 + (index * 7_919) % 49_000_000,
            tenor_months=TENOR,
            collateral=True,
            state=Application.State.APPROVED,
            state_changed_at=now - timedelta(hours=1),
            created_by=officer,
            approved_at=now - timedelta(hours=1),
            contract_number=f"PASAR/KW/{index + 1:06d}",
        )
        for index, business in enumerate(businesses)
    )
    return [application.pk for application in approved], staff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="Applications per disbursement transaction.")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (prefork concurrency).")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    queue = f"wibawa-bench-{os.getpid()}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "CELERY_BROKER_URL": args.redis,
            "CELERY_RESULT_BACKEND": args.redis,
            "CELERY_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
        }
    )
    recreate_database(args.database)

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from loans.models import Installment, Loan
    from loans.services.applications import Disbursement, application_disburse, applications_disburse

    application_ids, staff = setup(args.loans)
    with celery_worker(args.workers) as worker:
        today = timezone.localdate()

        started = time.perf_counter()
        if args.batch == 1:
            for application_id in application_ids:
                application_disburse(actor=staff, application_id=application_id, disbursed_on=today)
        else:
            for start in range(0, len(application_ids), args.batch):
                applications_disburse(
                    actor=staff,
                    disbursements=[
                        Disbursement(application_id, today)
                        for application_id in application_ids[start : start + args.batch]
                    ],
                )
        disbursed = time.perf_counter() - started
        expected = args.loans * TENOR
        while True:
            pending = Loan.objects.filter(schedule_status=Loan.ScheduleStatus.PENDING).count()
            if pending == 0:
                break
            if worker.poll() is not None:
                raise SystemExit("the Celery worker died")
            time.sleep(0.05)
        total = time.perf_counter() - started
        stored = Installment.objects.count()
        if stored != expected:
            raise SystemExit(f"stored {stored} installments, expected {expected}")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM loans_loan l WHERE principal <> "
                "(SELECT sum(principal) FROM loans_installment i WHERE i.loan_id = l.id)"
            )
            wrong = cursor.fetchone()[0]
        if wrong:
            raise SystemExit(f"{wrong} loans whose installments do not sum to their principal")

    print(f"loans disbursed:            {args.loans:,} x {TENOR} months ({expected:,} installments)")
    print(f"per transaction:            {args.batch} application(s)")
    print(f"worker processes:           {args.workers}")
    print(f"disbursement (services):    {disbursed:6.2f} s  {args.loans / disbursed:8,.0f} loans/s")
    print(f"end to end (last stored):   {total:6.2f} s  {args.loans / total:8,.0f} loans/s")
    print("every loan's installments sum to its principal")


if __name__ == "__main__":
    main()
