"""The exceptions `make audit` allows (audit-exceptions.txt): each names an advisory, the
date it expires and why; an expired one fails here, so it is looked at anew."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"(?P<advisory>[A-Z][A-Z0-9]*-[\w-]+)\s+(?P<until>\d{4}-\d{2}-\d{2})\s+(?P<why>\S.*)")


def test_every_exception_is_dated_explained_and_not_expired() -> None:
    entries = [
        line.strip()
        for line in (ROOT / "audit-exceptions.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    for entry in entries:
        found = LINE.fullmatch(entry)
        assert found, f"not 'ADVISORY YYYY-MM-DD why': {entry!r}"
        today = datetime.now(tz=UTC).date()
        assert date.fromisoformat(found["until"]) >= today, f"expired, look at it again: {entry!r}"


def test_make_audit_checks_both_lock_files_strictly_with_the_exceptions() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\naudit:") :].split("\n\n", 1)[0]
    assert "--strict" in recipe
    assert "-r requirements.txt -r requirements-dev.txt" in recipe
    assert "audit-exceptions.txt" in recipe
    assert "pip-audit==" in (ROOT / "requirements-audit.txt").read_text().replace("pip_audit==", "pip-audit==")
