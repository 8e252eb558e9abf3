"""Products and their versioned terms, applications, loans, their schedules and the
append-only audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loans import money
from loans.schedule import ANNUITY, EQUAL_PRINCIPAL, FLAT


class Product(models.Model):
    """A loan product (the programme's is ``WIBAWA``). Its terms are versioned."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=150)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Method(models.TextChoices):
    FLAT = FLAT, _("Bunga flat")
    ANNUITY = ANNUITY, _("Anuitas")
    EQUAL_PRINCIPAL = EQUAL_PRINCIPAL, _("Efektif (pokok tetap)")


class InterestRounding(models.TextChoices):
    HALF_UP = money.HALF_UP, "half_up"
    HALF_EVEN = money.HALF_EVEN, "half_even"


class InstallmentRounding(models.TextChoices):
    UP = money.UP, "up"
    HALF_UP = money.HALF_UP, "half_up"
    HALF_EVEN = money.HALF_EVEN, "half_even"


class ProductTerms(models.Model):
    """One version of a product's terms, valid from ``valid_from`` to ``valid_to``
    (inclusive; open-ended when empty). Never edited once an application uses it: a
    change is a new version. A loan keeps the version it was approved under."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="terms")
    version = models.PositiveIntegerField()
    annual_rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent a year.")
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.FLAT)
    ceiling_without_collateral = models.BigIntegerField(help_text="Rupiah.")
    ceiling_with_collateral = models.BigIntegerField(help_text="Rupiah.")
    allowed_tenors = models.JSONField(help_text="Tenors in months, e.g. [6, 12, 18, 24, 36].")
    grace_months = models.PositiveSmallIntegerField(default=0)
    rounding = models.PositiveIntegerField(default=1, help_text="Installment rounding unit in rupiah.")
    interest_rounding = models.CharField(max_length=9, choices=InterestRounding.choices, default=money.HALF_UP)
    installment_rounding = models.CharField(max_length=9, choices=InstallmentRounding.choices, default=money.UP)
    business_days = models.BooleanField(default=False)
    min_business_age_months = models.PositiveSmallIntegerField(default=24)
    min_age_years = models.PositiveSmallIntegerField(default=17)
    repeat_multiplier = models.PositiveSmallIntegerField(default=2)
    region_code = models.CharField(max_length=13, default="33.74", help_text="The programme's region (KTP address).")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="product_terms_version_unique"),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0) & Q(annual_rate__lte=100), name="product_terms_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(ceiling_without_collateral__gt=0)
                & Q(ceiling_with_collateral__gte=F("ceiling_without_collateral")),
                name="product_terms_ceilings",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="product_terms_validity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} v{self.version}"


class Application(models.Model):
    """A loan application on its way from the city office to the bank."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draf")
        SUBMITTED = "submitted", _("Diajukan")
        FIELD_VERIFIED = "field_verified", _("Diverifikasi lapangan")
        FORWARDED = "forwarded", _("Diteruskan ke bank")
        CREDIT_CHECKED = "credit_checked", _("Dicek SLIK")
        APPROVED = "approved", _("Disetujui")
        DISBURSED = "disbursed", _("Dicairkan")
        REJECTED = "rejected", _("Ditolak")
        WITHDRAWN = "withdrawn", _("Dibatalkan")

    class CreditResult(models.TextChoices):
        CLEAN = "clean", _("Bersih")
        ARREARS = "arrears", _("Ada tunggakan di tempat lain")

    borrower = models.ForeignKey("borrowers.Borrower", on_delete=models.PROTECT, related_name="applications")
    business = models.ForeignKey("borrowers.Business", on_delete=models.PROTECT, related_name="applications")
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="applications")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="applications")
    terms = models.ForeignKey(ProductTerms, on_delete=models.PROTECT, related_name="applications")
    principal = models.BigIntegerField(help_text="Rupiah asked for (the approved amount after approval).")
    tenor_months = models.PositiveSmallIntegerField()
    collateral = models.BooleanField(default=False)
    purpose = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    state_changed_at = models.DateTimeField()
    checks = models.JSONField(default=list, blank=True)
    checks_run_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Field visit by the city office.
    visited_on = models.DateField(null=True, blank=True)
    visit_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit_notes = models.TextField(blank=True, default="")
    visit_photo = models.FileField(upload_to="visits/%Y/%m/", blank=True, default="")
    visit_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    visit_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    forwarded_at = models.DateTimeField(null=True, blank=True)
    # The bank's credit-bureau (SLIK) check.
    credit_result = models.CharField(max_length=8, choices=CreditResult.choices, blank=True, default="")
    credit_notes = models.TextField(blank=True, default="")
    credit_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Approval and disbursement by the bank.
    contract_number = models.CharField(max_length=64, blank=True, default="")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    disbursed_on = models.DateField(null=True, blank=True)
    # How it ended, when it did not end in a loan.
    end_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            models.Index(fields=["bank", "state"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="application_principal_positive"),
            models.CheckConstraint(condition=Q(tenor_months__gt=0), name="application_tenor_positive"),
            models.UniqueConstraint(
                fields=["bank", "contract_number"],
                condition=~Q(contract_number=""),
                name="application_contract_number_unique_per_bank",
            ),
        ]

    def __str__(self) -> str:
        return f"application {self.pk} ({self.state})"


class Loan(models.Model):
    """A disbursed loan, with the terms of the product version it was approved under
    copied in (they never change after disbursement)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Aktif")
        OVERDUE = "overdue", _("Menunggak")
        PAID_OFF = "paid_off", _("Lunas")
        WRITTEN_OFF = "written_off", _("Hapus buku")

    class ScheduleStatus(models.TextChoices):
        PENDING = "pending", _("Sedang dihitung")
        READY = "ready", _("Siap")

    #: Statuses of a loan still being repaid: one per borrower at a time.
    OPEN_STATUSES = (Status.ACTIVE, Status.OVERDUE)

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="loan")
    borrower = models.ForeignKey("borrowers.Borrower", on_delete=models.PROTECT, related_name="loans")
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="loans")
    terms = models.ForeignKey(ProductTerms, on_delete=models.PROTECT, related_name="loans")
    contract_number = models.CharField(max_length=64)
    principal = models.BigIntegerField(help_text="Rupiah disbursed.")
    annual_rate = models.DecimalField(max_digits=7, decimal_places=4)
    method = models.CharField(max_length=16, choices=Method.choices)
    tenor_months = models.PositiveSmallIntegerField()
    grace_months = models.PositiveSmallIntegerField(default=0)
    rounding = models.PositiveIntegerField(default=1)
    interest_rounding = models.CharField(max_length=9, choices=InterestRounding.choices)
    installment_rounding = models.CharField(max_length=9, choices=InstallmentRounding.choices)
    business_days = models.BooleanField(default=False)
    disbursed_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    outstanding_principal = models.BigIntegerField()
    schedule_status = models.CharField(max_length=8, choices=ScheduleStatus.choices, default=ScheduleStatus.PENDING)
    schedule_version = models.PositiveSmallIntegerField(default=1)
    #: The worst lateness any installment ever reached (kept by loan servicing); a
    #: borrower with a paid-off loan never more than 30 days late is a repeat borrower
    #: who repaid on time.
    max_days_past_due = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["bank", "status"]), models.Index(fields=["schedule_status"])]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(tenor_months__gt=0), name="loan_tenor_positive"),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0) & Q(outstanding_principal__lte=F("principal")),
                name="loan_outstanding_within_principal",
            ),
            models.UniqueConstraint(fields=["bank", "contract_number"], name="loan_contract_number_unique_per_bank"),
            models.UniqueConstraint(
                fields=["borrower"],
                condition=Q(status__in=["active", "overdue"]),
                name="loan_one_open_loan_per_borrower",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id}/{self.contract_number}"


class Installment(models.Model):
    """One row of a loan's schedule (of one schedule version). Paid amounts are added by
    loan servicing."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="installments")
    schedule_version = models.PositiveSmallIntegerField(default=1)
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    installment = models.BigIntegerField()
    balance = models.BigIntegerField()
    principal_paid = models.BigIntegerField(default=0)
    interest_paid = models.BigIntegerField(default=0)
    penalty = models.BigIntegerField(default=0)
    penalty_paid = models.BigIntegerField(default=0)
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "schedule_version", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "schedule_version", "number"], name="installment_unique_number_per_version"
            ),
            models.CheckConstraint(
                condition=Q(installment=F("principal") + F("interest")), name="installment_is_principal_plus_interest"
            ),
            models.CheckConstraint(
                condition=Q(principal__gte=0) & Q(interest__gte=0) & Q(balance__gte=0),
                name="installment_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} #{self.number} v{self.schedule_version}"


class LoanEvent(models.Model):
    """The audit trail: one row per action on an application or its loan (who, when,
    from which state to which, a note and the amounts involved). Append-only: no API
    edits or deletes it, the admin shows it read-only, and on PostgreSQL a trigger
    refuses UPDATE and DELETE."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField()
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    amounts = models.JSONField(default=dict, blank=True, help_text="Rupiah amounts involved, by name.")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}->{self.to_state}"
