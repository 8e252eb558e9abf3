"""The bank monthly report of one bank with N loans on PostgreSQL, from the database to
the stored file, in PDF, XLSX and CSV (default 10,000 loans).

The portfolio (not timed) is the close benchmark's (benchmarks/close.py: flat 3% loans
of Rp1-50 million over 36 months disbursed in the three years before D, written with
COPY, about 13% of them behind, repayments of the last 31 days), all of it at one bank
(a BPR), with D the last day of last month. The close then runs (not timed) for the
last day of the month before (the report's opening) and for D, so both snapshots and
fund days exist.

Timed: ``report_make`` (reports/services/reports.py) of a queued bank monthly report
for D's month, as a worker runs it: build (the selector's query and the layout), render
and store the file with its SHA-256. Each format ``--runs`` times; the figures printed
are each run's seconds, the file's size and pages (PDF), and the report's rows.

    .venv/bin/python benchmarks/reports.py [--loans 10000] [--formats pdf,xlsx,csv]
        [--runs 2] [--reuse] [--profile FORMAT]
        [--database postgres://postgres@127.0.0.1:5432/wibawa_bench_reports]

``--all-monthly N``: instead, what beat does on the 1st (``reports_monthly``: every
bank's monthly report and the city's books of the month, in PDF and XLSX, one task
each) made by a real Celery worker of N processes on the Redis at REDIS_URL (default
redis://127.0.0.1:6379/0, a queue of the benchmark's own), timed from the request to the
last document done, with each document's own time.

The database named by --database is dropped and created again (unless --reuse finds a
portfolio of the same size there): never point it at real data. The files are stored
under a temporary REPORTS_ROOT, removed at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import close as close_bench  # noqa: E402
from benchmarks.common import recreate_database  # noqa: E402

#: The one bank of the portfolio (code, name, kind, share of the loans).
BANK = ("PASAR", "BPR Bank Pasar Kota Semarang", "bpr", 1.0)
SEED = 20261206


def month_end_before(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


def setup(loans: int, end: date) -> None:
    """The close benchmark's portfolio at one bank for D = ``end``, closed at the month
    end before and at D."""
    close_bench.BANKS = (BANK,)  # type: ignore[assignment] # the close benchmark's banks, here one
    started = time.perf_counter()
    print(f"setting up {loans:,} loans at one bank for the month ending {end} ...", flush=True)
    close_bench.setup(loans, end, SEED, None, 31, None)
    close_bench.vacuum(list(close_bench.PORTFOLIO_TABLES))
    print(f"  written in {time.perf_counter() - started:.0f} s; closing {month_end_before(end)} and {end}", flush=True)
    for day in (month_end_before(end), end):
        close_bench.close_in_process(day)
    close_bench.vacuum(["loans_loansnapshot", "loans_fundday", "loans_loan"])
    print(f"  set up in {time.perf_counter() - started:.0f} s", flush=True)


def queued_report(bank_id: int, period: str, format: str) -> int:
    """A queued bank monthly report, as ``report_request`` makes one (without sending
    its task: the benchmark runs it)."""
    from django.utils import timezone

    from reports.models import Report

    now = timezone.now()
    report = Report.objects.create(
        kind="bank_monthly",
        format=format,
        language="id",
        bank_id=bank_id,
        period=period,
        request_key=f"bench|{format}|{now.timestamp()}",
        verify_code=f"bench-{now.timestamp()}",
        issuer=BANK[1],
        created_at=now,
        heartbeat_at=now,
    )
    Report.objects.filter(pk=report.pk).update(number=f"WBW/BM/{now.year}/{report.pk:06d}")
    return int(report.pk)


def pdf_page_count(path: str) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def all_monthly(period: str, workers: int, loans: int) -> None:
    """Beat's documents of ``period`` made by a worker of ``workers`` processes: the time
    from asking to the last one done, and each one's."""
    from benchmarks.common import celery_worker
    from reports.models import Report
    from reports.services.reports import reports_monthly

    print(f"\nbeat's monthly documents for {period}, {loans:,} loans, a worker of {workers} processes")
    with celery_worker(workers):
        started = time.perf_counter()
        asked = [report.pk for report in reports_monthly(month=period)]
        pending = Report.objects.filter(pk__in=asked).exclude(status__in=[Report.Status.DONE, Report.Status.FAILED])
        while pending.exists():
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    for report in Report.objects.filter(pk__in=asked).order_by("pk"):
        took = 0.0
        if report.started_at and report.finished_at:
            took = (report.finished_at - report.started_at).total_seconds()
        print(
            f"  {report.kind:<13} {report.bank.code if report.bank else 'all':<7} {report.format:<4} {report.status}: "
            f"{took:6.2f} s ({(report.size or 0) / 1e6:.1f} MB) {report.error}",
            flush=True,
        )
    print(f"  all {len(asked)} documents in {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--formats", default="pdf,xlsx,csv")
    parser.add_argument("--runs", type=int, default=2, help="Make each format this many times.")
    parser.add_argument("--reuse", action="store_true", help="Keep the portfolio if the database has one of --loans.")
    parser.add_argument("--profile", default="", help="Profile one more run of this format (cProfile, top 25).")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/wibawa_bench_reports")
    parser.add_argument(
        "--all-monthly", type=int, default=0, metavar="WORKERS", help="Beat's monthly documents by WORKERS processes."
    )
    args = parser.parse_args()

    storage = tempfile.mkdtemp(prefix="wibawa-bench-reports-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only",
            "DATABASE_URL": args.database,
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "0" if args.all_monthly else "1",
            "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CELERY_QUEUE": f"wibawa-bench-reports-{os.getpid()}",
            "REPORTS_ROOT": storage,
        }
    )
    import django

    reused = False
    if args.reuse:
        import psycopg

        try:
            with psycopg.connect(args.database) as probe:
                row = probe.execute("SELECT loans FROM bench_meta").fetchone()
                reused = row is not None and row[0] == args.loans
        except psycopg.Error:
            reused = False
    if not reused:
        recreate_database(args.database)
    django.setup()
    from banks.models import Bank
    from config.clock import business_yesterday
    from loans.models import FundDay
    from reports.models import Report
    from reports.services.reports import report_make

    if not reused:
        setup(args.loans, month_end_before(business_yesterday() + timedelta(days=1)))
    end = FundDay.objects.order_by("-business_date").values_list("business_date", flat=True).first()
    if end is None:
        raise SystemExit("no closed day: run without --reuse")
    bank = Bank.objects.get(code=BANK[0])
    period = f"{end:%Y-%m}"
    if args.all_monthly:
        try:
            all_monthly(period, args.all_monthly, args.loans)
        finally:
            shutil.rmtree(storage, ignore_errors=True)
        return
    print(f"\nbank monthly report of {bank.code} for {period}, {args.loans:,} loans in the portfolio")
    try:
        for format in [name.strip() for name in args.formats.split(",") if name.strip()]:
            for run in range(1, args.runs + 1):
                report_id = queued_report(bank.pk, period, format)
                started = time.perf_counter()
                report_make(report_id=report_id)
                seconds = time.perf_counter() - started
                report = Report.objects.get(pk=report_id)
                if report.status != Report.Status.DONE:
                    raise SystemExit(f"report {report_id} {report.status}: {report.error}")
                pages = f", {pdf_page_count(report.file.path):,} pages" if format == "pdf" else ""
                print(
                    f"  {format:<4} run {run}: {seconds:6.2f} s  ({(report.size or 0) / 1e6:.1f} MB{pages}, "
                    f"{report.progress_total:,} rows)",
                    flush=True,
                )
        if args.profile:
            report_id = queued_report(bank.pk, period, args.profile)
            profiler = cProfile.Profile()
            profiler.enable()
            report_make(report_id=report_id)
            profiler.disable()
            stats: Any = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(25)
    finally:
        shutil.rmtree(storage, ignore_errors=True)


if __name__ == "__main__":
    main()
