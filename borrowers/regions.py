"""Loading the region master data (Kemendagri codes) from a CSV file with the columns
``code,name,level,parent``: Kota Semarang's 16 kecamatan and 177 kelurahan ship in
``borrowers/data/semarang-regions.csv``."""

import csv
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "semarang-regions.csv"
LEVELS = ("regency", "district", "village")


def read_regions(path: Path = DEFAULT_FILE) -> list[dict[str, str]]:
    """The rows of a region file, parents before children. Raises ValueError for a row
    with an unknown level or a parent that is not in the file (except the top one)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{key: (value or "").strip() for key, value in row.items()} for row in csv.DictReader(handle)]
    codes = {row["code"] for row in rows}
    for row in rows:
        if row["level"] not in LEVELS:
            raise ValueError(f"region {row['code']}: unknown level {row['level']!r}")
        if row["level"] != "regency" and row["parent"] not in codes:
            raise ValueError(f"region {row['code']}: parent {row['parent']!r} is not in the file")
    return sorted(rows, key=lambda row: (LEVELS.index(row["level"]), row["code"]))


def load_regions(region_model: Any, rows: list[dict[str, str]]) -> int:
    """Insert or update ``rows`` into ``region_model`` (the Region model, or its
    historical version in a migration); returns how many rows were written. Regions
    missing from the file are kept: borrowers' addresses may still point at them."""
    for row in rows:
        parent = row["parent"] if row["level"] != "regency" else None
        region_model.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "level": row["level"], "parent_id": parent}
        )
    return len(rows)
