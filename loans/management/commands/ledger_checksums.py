"""``python manage.py ledger_checksums [--snapshot ID]``: prints, as JSON, each
money-bearing and audit table's row count and the SHA-256 of its rows in primary-key
order (loans/selectors/ledger.py), e.g. ``{"loans_loan": {"rows": 3, "sha256": "..."}}``.
ops/backup keeps them in the backup's manifest and ops/restore compares the restored
database's against them. PostgreSQL only."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loans.selectors.ledger import LedgerUnavailable, ledger_checksums


class Command(BaseCommand):
    help = "Print each ledger and audit table's row count and SHA-256 (primary-key order) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--snapshot",
            help="Read in this exported snapshot (pg_export_snapshot() of a transaction still open).",
        )

    def handle(self, *args: Any, snapshot: str | None = None, **options: Any) -> None:
        try:
            checksums = ledger_checksums(snapshot=snapshot)
        except LedgerUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(checksums, indent=2, sort_keys=True))
