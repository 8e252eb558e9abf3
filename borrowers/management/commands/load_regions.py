from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from borrowers.models import Region
from borrowers.regions import DEFAULT_FILE, load_regions, read_regions


class Command(BaseCommand):
    help = "Load (insert or update) region master data from a CSV file: code,name,level,parent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = read_regions(Path(options["file"]))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            count = load_regions(Region, rows)
        self.stdout.write(f"{count} regions loaded")
