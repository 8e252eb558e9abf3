"""``python manage.py documents_verify``: reads back every finished document from the
reports storage (REPORTS_ROOT, or the bucket configured) and checks its file is there
with the SHA-256 its row says. Prints each one missing or differing and a summary;
exits 1 if any is. ops/restore runs it on the restored folder."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from reports.selectors.files import documents_differing


class Command(BaseCommand):
    help = "Check every finished document's file is present and its SHA-256 matches its row; exit 1 otherwise."

    def handle(self, *args: Any, **options: Any) -> None:
        checked = 0
        problems = []
        for _report, problem in documents_differing():
            checked += 1
            if problem is not None:
                problems.append(problem)
                self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} of {checked} documents missing or differing")
        self.stdout.write(f"{checked} documents present with their SHA-256.")
