"""Documents and reports (:class:`Report`), and the city's allowance table for the
revolving fund (:class:`AllowanceClass`, apart from the banks' provision tables)."""

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def reports_storage() -> Storage:
    """The storage the documents are kept in (``STORAGES["reports"]``: the filesystem by
    default, any django-storages backend by setting)."""
    return storages["reports"]


class Report(models.Model):
    """One document or report: asked for over the API (or by beat, or after a repayment),
    made by a Celery worker, kept in the reports storage with its SHA-256."""

    class Kind(models.TextChoices):
        BANK_MONTHLY = "bank_monthly", _("Laporan bulanan bank")
        CITY_BOOKS = "city_books", _("Laporan pembukuan kota")
        BORROWER_STATEMENT = "borrower_statement", _("Kartu angsuran")
        RECEIPT = "receipt", _("Kwitansi")
        SETTLEMENT_LETTER = "settlement_letter", _("Surat keterangan lunas")
        PROGRAMME = "programme", _("Laporan program")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Menunggu")
        RUNNING = "running", _("Dibuat")
        DONE = "done", _("Selesai")
        FAILED = "failed", _("Gagal")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Language(models.TextChoices):
        ID = "id", "Bahasa Indonesia"
        EN = "en", "English"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.PDF)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ID)
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    #: The borrower whose paper this is (statement, receipt, settlement letter).
    borrower = models.ForeignKey(
        "borrowers.Borrower", on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    repayment = models.ForeignKey(
        "loans.Repayment", on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    period = models.CharField(max_length=7, blank=True, default="")
    as_of = models.DateField(null=True, blank=True)
    #: The parameters that make two requests identical (kind, format, language and the
    #: kind's fields), so an identical request finds a finished report.
    request_key = models.CharField(max_length=200, db_index=True)
    number = models.CharField(max_length=40, unique=True, null=True, blank=True)
    #: The unguessable code printed on the document and in its QR.
    verify_code = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=300, blank=True, default="")
    period_label = models.CharField(max_length=100, blank=True, default="")
    issuer = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(storage=reports_storage, upload_to="reports/%Y/%m/", blank=True, default="", max_length=300)
    file_name = models.CharField(max_length=200, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    #: Last sign of life of the worker making it (a running report whose heartbeat is
    #: older than REPORT_STALE_SECONDS is taken to have lost its worker).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: When the document says it was made.
    made_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["kind", "period"]),
            models.Index(fields=["bank", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_done__lte=F("progress_total")) | Q(progress_total=0),
                name="report_progress_within_total",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | (~Q(sha256="") & Q(size__isnull=False)),
                name="report_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or self.pk} {self.kind} {self.status}"


class AllowanceClass(models.Model):
    """One class of the city's allowance for uncollectible revolving-fund amounts
    (penyisihan dana bergulir tidak tertagih): loans of collectibility ``grade_from`` to
    ``grade_to`` are allowed for at ``percent`` of their outstanding principal. Regions
    set these differently, so the manager edits them; they are apart from the banks'
    own provision tables (:class:`loans.models.CollectibilityClass`). Default (a
    migration): lancar 0.5% (1), kurang lancar 10% (2-3), diragukan 50% (4), macet 100% (5)."""

    position = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=60)
    grade_from = models.PositiveSmallIntegerField()
    grade_to = models.PositiveSmallIntegerField()
    percent = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade_from__gte=1) & Q(grade_to__lte=5) & Q(grade_from__lte=F("grade_to")),
                name="allowance_class_grades",
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="allowance_class_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.grade_from}-{self.grade_to}): {self.percent}%"
