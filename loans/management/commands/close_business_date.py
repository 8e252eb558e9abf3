"""``python manage.py close_business_date [--until DATE]``: the nightly close's catch-up
run in this process (no worker needed): every business date after the last closed one
up to ``--until`` (default: yesterday in Asia/Jakarta), one after the other; only that
date when nothing was ever closed. Prints each date closed and, for a date of more than
one chunk, each chunk as it is done (with the loans closed so far and the time taken)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.clock import business_yesterday
from config.errors import ApplicationError
from loans.services.close import (
    CloseRunning,
    business_date_last_closed,
    close_business_date,
    close_dates_due,
)


class Command(BaseCommand):
    help = "Close every business date not closed yet, up to --until (default: yesterday in Asia/Jakarta)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until", type=date.fromisoformat, help="The last date to close (YYYY-MM-DD).")

    def handle(self, *args: Any, until: date | None = None, **options: Any) -> None:
        until = until or business_yesterday()
        dates = close_dates_due(until=until)
        if not dates:
            last = business_date_last_closed()
            self.stdout.write(f"Nothing to close: the last closed business date is {last}.")
            return
        for day in dates:
            started = time.monotonic()

            def progress(done: int, chunks: int, loans: int, day: date = day, started: float = started) -> None:
                if chunks > 1:
                    self.stdout.write(
                        f"  {day}: chunk {done}/{chunks}, {loans:,} loans closed, {time.monotonic() - started:.1f} s"
                    )

            try:
                run = close_business_date(business_date=day, progress=progress)
            except (CloseRunning, ApplicationError) as exc:
                raise CommandError(exc.message) from exc
            seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
            self.stdout.write(f"Closed {day}: {run.loans} loans in {run.chunks} chunks, {seconds:.2f} s.")
