"""Backups (ops/backup, ops/restore) proven on PostgreSQL: a small programme (a loan paid
out, serviced and repaid, its receipt made and stored) is backed up, restored into a
fresh database and a fresh documents folder, and the restore's own proof holds (the
ledger's checksums and every document's SHA-256 equal). A document changed in the
restored folder, an archive changed after the backup and a ledger table that does not
match are each found and named.

pg_dump sees committed rows only, hence a transactional test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection

from config.clock import business_date_fixed
from loans.models import Loan
from loans.selectors.ledger import LEDGER_MODELS, ledger_checksums
from loans.services.repayments import RepaymentRequest, repayment_post
from reports.models import Report
from reports.services.reports import ReportRequest, report_make, report_request
from tests.factories import bank_user, funded_bank, serviced_loan
from tests.processes import ROOT
from tests.workers import child_environment, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = date(2026, 3, 2)
SCRIPT_SECONDS = 300


@pytest.fixture
def documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The documents folder of this test: Report.file's storage is chosen when the model
    loads (reports.models.reports_storage), so the field's storage is pointed here."""
    folder = tmp_path / "documents"
    monkeypatch.setattr(Report._meta.get_field("file"), "storage", FileSystemStorage(location=str(folder)))
    return folder


def _server(dbname: str) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=dbname,
        autocommit=True,
    )


@pytest.fixture
def fresh_database() -> Iterator[Any]:
    """Makes new, empty databases beside the test database (each dropped at the end) and
    returns each one's URL."""
    made: list[str] = []

    def make() -> str:
        name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
        with _server("postgres") as server:
            server.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return database_url().rsplit("/", 1)[0] + f"/{name}"

    yield make
    with _server("postgres") as server:
        for name in made:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _run(tmp_path: Path, *command: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = child_environment(broker="embedded", embedded_dir=tmp_path / "celery", **env)
    return subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SCRIPT_SECONDS,
        check=False,
    )


def _programme() -> Report:
    """A loan paid out on 31 January, its first installment paid on 28 February, and that
    repayment's receipt made and stored."""
    with business_date_fixed(TODAY):
        bank = funded_bank("PASAR", 100_000_000)
        staff = bank_user(bank, username="pasar-teller")
        loan = serviced_loan(bank=bank, principal=1_200_000, tenor_months=6)
        repayment, _replayed = repayment_post(
            actor=staff,
            loan_id=loan.pk,
            request=RepaymentRequest(amount=203_000, paid_on=date(2026, 2, 28), channel="teller", reference="R-1"),
        )
        report, _created = report_request(actor=staff, request=ReportRequest(kind="receipt", repayment=repayment.pk))
        report_make(report_id=report.pk)  # already made after commit when tasks run eagerly
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    assert Loan.objects.get(pk=loan.pk).repayments.count() == 1
    return report


def test_backup_restores_into_a_fresh_database_with_equal_checksums(
    tmp_path: Path, documents: Path, fresh_database: Any
) -> None:
    report = _programme()
    stored = str(report.file.name)
    backups = tmp_path / "backups"

    made = _run(tmp_path, ROOT / "ops" / "backup", backups, REPORTS_ROOT=str(documents))

    assert made.returncode == 0, made.stderr
    manifests = list(backups.glob("manifest-*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["ledger"] == ledger_checksums()
    assert set(manifest["ledger"]) == {model._meta.db_table for model in LEDGER_MODELS}
    assert manifest["ledger"]["loans_repayment"]["rows"] == 1
    assert manifest["ledger"]["reports_report"]["rows"] == 1
    assert manifest["app_version"]
    for part in ("database", "documents"):
        assert f"wrote {backups / manifest[part]['file']}" in made.stdout

    # Restored into a fresh database and folder: the script's proof holds.
    target, restored = fresh_database(), tmp_path / "restored"
    done = _run(tmp_path, ROOT / "ops" / "restore", manifests[0], target, restored)

    assert done.returncode == 0, done.stderr
    assert "ledger checksums equal the manifest's (13 tables)" in done.stdout
    assert "1 documents present with their SHA-256." in done.stdout
    assert (restored / stored).read_bytes() == (documents / stored).read_bytes()

    # The same database again is refused: it is no longer empty.
    again = _run(tmp_path, ROOT / "ops" / "restore", backups, target, tmp_path / "again")
    assert again.returncode != 0
    assert "has" in again.stderr
    assert "restore into a new, empty database" in again.stderr

    # A document changed in the restored folder is named by the check.
    (restored / stored).write_bytes(b"not the receipt")
    verify = _run(
        tmp_path, sys.executable, "manage.py", "documents_verify", DATABASE_URL=target, REPORTS_ROOT=str(restored)
    )
    assert verify.returncode == 1
    assert f"report {report.pk}: file {stored} has sha256" in verify.stderr

    # An archive changed after the backup: named, and nothing is restored.
    archive = backups / manifest["documents"]["file"]
    archive.write_bytes(archive.read_bytes() + b"\0")
    untouched = fresh_database()
    refused = _run(tmp_path, ROOT / "ops" / "restore", manifests[0], untouched, tmp_path / "refused")
    assert refused.returncode != 0
    assert f"archive {archive.name} has sha256" in refused.stderr
    assert _tables(untouched) == 0
    assert not (tmp_path / "refused").exists()


def test_restore_names_a_ledger_table_that_differs(tmp_path: Path, documents: Path, fresh_database: Any) -> None:
    _programme()
    backups = tmp_path / "backups"
    made = _run(tmp_path, ROOT / "ops" / "backup", backups, REPORTS_ROOT=str(documents))
    assert made.returncode == 0, made.stderr
    # A manifest that says one more repayment than the dump holds.
    (manifest_path,) = backups.glob("manifest-*.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["ledger"]["loans_repayment"]["rows"] += 1
    manifest_path.write_text(json.dumps(manifest))

    done = _run(tmp_path, ROOT / "ops" / "restore", manifest_path, fresh_database(), tmp_path / "restored")

    assert done.returncode != 0
    assert "ledger table loans_repayment differs" in done.stderr
    assert "ledger table loans_loan" not in done.stderr
    assert "the restore differs from the backup" in done.stderr
    shutil.rmtree(tmp_path / "restored")
