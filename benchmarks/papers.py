"""The borrower's papers on PostgreSQL: a borrower statement (installment card) and a
receipt, from the database to the stored file, on one process (what one worker does).

Set up (not timed), through the services in a scratch database: one loan of
Rp36.000.000 over 36 months at 3% flat with a penalty rule, 22 installments paid by
22 repayments on their due dates and a 23rd paid in part, one repayment reversed. The
clock is fixed at 30 November 2026.

Timed: :func:`reports.services.reports.report_make` of a queued report (claim, read,
build, render, store the file with its SHA-256, finish), ``--runs`` times per paper
and format; the fastest, the median, the 95th percentile and the slowest are printed
(on a shared machine the fastest shows the work, the others the neighbours too), and
the median CPU time of this process (the worker's own work, without PostgreSQL's).

    .venv/bin/python benchmarks/papers.py [--runs 50]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_papers]

The database named by --database is dropped and created again: never point it at real
data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import recreate_database  # noqa: E402

TODAY = date(2026, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="print where the statement PDF's time goes")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (cumulative, tottime)")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_papers")
    args = parser.parse_args()

    recreate_database(args.database)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "LOG_LEVEL": "WARNING",
            # Tasks are not sent here (the reports are made in this process), but the
            # settings want a broker or the eager mode asked for explicitly with DEBUG off.
            "CELERY_TASK_ALWAYS_EAGER": "1",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    storage = tempfile.mkdtemp(prefix="wibawa-papers-")
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": storage}},
    }
    settings.REPORTS_AUTO_PAPERS = False
    call_command("migrate", verbosity=0)

    from decimal import Decimal

    from config.clock import business_date_fixed
    from loans.models import Repayment
    from loans.services.repayments import RepaymentRequest, repayment_post, repayment_reverse
    from reports.services import reports as service
    from tests.factories import ProductTermsFactory, bank_user, restore_reference_data, serviced_loan

    service._send = lambda report_id: None  # made here, not by a worker

    with business_date_fixed(TODAY):
        restore_reference_data()
        terms = ProductTermsFactory.create(version=9, penalty_percent_per_day=Decimal("0.05"))
        loan = serviced_loan(terms=terms, principal=36_000_000, tenor_months=36, disbursed_on=date(2024, 12, 31))
        staff = bank_user(loan.bank, username="teller")
        second = bank_user(loan.bank, username="supervisor")
        rows = list(loan.installments.order_by("number"))
        last = None
        for number, row in enumerate(rows[:22], start=1):
            last, _ = repayment_post(
                actor=staff,
                loan_id=loan.pk,
                request=RepaymentRequest(row.installment, row.due_date, "teller", f"R-{number}"),
            )
        wrong, _ = repayment_post(
            actor=staff,
            loan_id=loan.pk,
            request=RepaymentRequest(500_000, rows[22].due_date, "transfer", "R-23"),
        )
        repayment_reverse(actor=second, repayment_id=wrong.pk, reason="Salah rekening")
        repayment_post(
            actor=staff, loan_id=loan.pk, request=RepaymentRequest(600_000, rows[22].due_date, "teller", "R-24")
        )
        if last is None:
            raise SystemExit("no repayment was booked")
        print(
            f"loan {loan.contract_number}: {len(rows)} installments, "
            f"{Repayment.objects.filter(loan=loan).count()} repayments; {args.runs} runs each"
        )
        cases = [
            ("borrower_statement", dict(loan=loan.pk)),
            ("receipt", dict(repayment=last.pk)),
            ("receipt (reversed)", dict(repayment=wrong.pk)),
        ]
        if args.profile:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            for _run in range(args.runs):
                request = service.ReportRequest(kind="borrower_statement", loan=loan.pk, refresh=True)
                report, _created = service.report_request(actor=service._SYSTEM, request=request)
                profile.enable()
                service.report_make(report_id=report.pk)
                profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(40)
            return
        print(f"{'paper':<22}{'format':<8}{'best':>10}{'median':>10}{'p95':>10}{'max':>10}{'cpu':>10}{'size':>10}")
        for name, fields in cases:
            kind = name.split(" ")[0]
            for format in ("pdf", "csv", "xlsx"):
                times, cpu, size = [], [], 0
                for _run in range(args.runs + 1):
                    request = service.ReportRequest(kind=kind, format=format, refresh=True, **fields)  # type: ignore[arg-type]
                    report, _created = service.report_request(actor=service._SYSTEM, request=request)
                    started, started_cpu = time.perf_counter(), time.process_time()
                    made = service.report_make(report_id=report.pk)
                    elapsed = time.perf_counter() - started
                    cpu.append(time.process_time() - started_cpu)
                    if made is None or made.status != "done":
                        raise SystemExit(f"{name} {format} not made: {made and made.error}")
                    size = made.size or 0
                    times.append(elapsed)
                times, cpu = times[1:], cpu[1:]  # the first run warms the imports
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(
                    f"{name:<22}{format:<8}{times[0] * 1000:>8.1f}ms"
                    f"{statistics.median(times) * 1000:>8.1f}ms{p95 * 1000:>8.1f}ms"
                    f"{times[-1] * 1000:>8.1f}ms{statistics.median(cpu) * 1000:>8.1f}ms{size:>10,}"
                )


if __name__ == "__main__":
    main()
