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


class Waterfall(models.TextChoices):
    """How a repayment is split over what is due."""

    #: Penalties of every due installment (oldest first), then their interest, then
    #: their principal; what is left goes to the next installments in order.
    COMPONENTS = "components", _("Denda, lalu bunga, lalu pokok")
    #: Each installment whole (penalty, interest, principal) before the next one.
    INSTALLMENTS = "installments", _("Angsuran per angsuran")


class Overpayment(models.TextChoices):
    """Where money beyond what is due goes."""

    NEXT = "next", _("Angsuran berikutnya")
    SHORTEN_TENOR = "shorten_tenor", _("Memperpendek tenor")


class PayoffInterest(models.TextChoices):
    """The interest a pay-off includes besides the outstanding principal."""

    #: Unpaid interest of installments due by that date plus the interest of the
    #: installment whose month contains it.
    CURRENT_MONTH = "current_month", _("Bunga bulan berjalan")
    #: Only unpaid interest of installments due by that date.
    DUE_ONLY = "due_only", _("Bunga yang sudah jatuh tempo")


class DeferralCollectibility(models.TextChoices):
    """The collectibility of a loan during an approved deferral."""

    HOLD = "hold", _("Ditahan pada kelas saat disetujui")
    RECOMPUTE = "recompute", _("Dihitung ulang tiap malam")


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
    # Servicing rules (loan servicing reads them through the loan's ``terms``).
    waterfall = models.CharField(
        max_length=16, choices=Waterfall.choices, default=Waterfall.COMPONENTS, db_default=Waterfall.COMPONENTS
    )
    overpayment = models.CharField(
        max_length=16, choices=Overpayment.choices, default=Overpayment.NEXT, db_default=Overpayment.NEXT
    )
    payoff_interest = models.CharField(
        max_length=16,
        choices=PayoffInterest.choices,
        default=PayoffInterest.CURRENT_MONTH,
        db_default=PayoffInterest.CURRENT_MONTH,
    )
    penalty_percent_per_day = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=0,
        db_default=0,
        help_text="Penalty (denda) a day, in percent of the overdue installment amount; 0 means no penalty.",
    )
    penalty_grace_days = models.PositiveSmallIntegerField(default=0, db_default=0)
    penalty_cap_percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Most penalty one installment can carry, in percent of its amount; empty means no cap.",
    )
    deferral_collectibility = models.CharField(
        max_length=10,
        choices=DeferralCollectibility.choices,
        default=DeferralCollectibility.HOLD,
        db_default=DeferralCollectibility.HOLD,
    )
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
    # Kept current at every repayment, reversal, deferral and schedule store: the due
    # date of the oldest installment (current schedule version) whose principal and
    # interest are not fully paid; empty when none is left.
    oldest_unpaid_due = models.DateField(null=True, blank=True)
    # The nightly close's figures, as of ``as_of`` (the last closed business date).
    as_of = models.DateField(null=True, blank=True)
    days_past_due = models.PositiveIntegerField(default=0, db_default=0)
    arrears_principal = models.BigIntegerField(default=0, db_default=0)
    arrears_interest = models.BigIntegerField(default=0, db_default=0)
    arrears_penalty = models.BigIntegerField(default=0, db_default=0)
    collectibility = models.PositiveSmallIntegerField(default=1, db_default=1)
    # An approved deferral may hold the class (product setting) until ``hold_until``.
    collectibility_hold = models.PositiveSmallIntegerField(null=True, blank=True)
    hold_until = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)
    written_off_principal = models.BigIntegerField(default=0, db_default=0)
    write_off_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["bank", "status"]), models.Index(fields=["schedule_status"])]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(tenor_months__gt=0), name="loan_tenor_positive"),
            models.CheckConstraint(
                condition=Q(collectibility__gte=1) & Q(collectibility__lte=5), name="loan_collectibility_range"
            ),
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
    #: Interest forgiven by a pay-off (the months after the pay-off date).
    interest_waived = models.BigIntegerField(default=0, db_default=0)
    #: The date the principal and interest were fully paid (or waived); empty while
    #: any is owed. Unpaid penalties do not keep an installment open.
    paid_on = models.DateField(null=True, blank=True)
    #: The last business date the nightly close charged a penalty for.
    penalty_through = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "schedule_version", "number"]
        indexes = [
            # The nightly close reads only installments still open.
            models.Index(fields=["due_date", "loan"], condition=Q(paid_on__isnull=True), name="installment_open_due"),
            models.Index(fields=["paid_on"], condition=Q(paid_on__isnull=False), name="installment_paid_on"),
        ]
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
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0)
                & Q(principal_paid__lte=F("principal"))
                & Q(interest_paid__gte=0)
                & Q(interest_waived__gte=0)
                & Q(interest_paid__lte=F("interest") - F("interest_waived"))
                & Q(penalty__gte=0)
                & Q(penalty_paid__gte=0)
                & Q(penalty_paid__lte=F("penalty")),
                name="installment_paid_within_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} #{self.number} v{self.schedule_version}"


class Repayment(models.Model):
    """Money a borrower paid on a loan, as booked by the bank (by hand or from its
    system). Never deleted: a wrong one is reversed, which undoes its allocations and
    re-runs those of later repayments. A booked repayment's ``amount`` always equals the
    sum of its allocations that are not undone; a reversed one keeps its amount and has
    none left."""

    class Channel(models.TextChoices):
        TELLER = "teller", _("Teller")
        TRANSFER = "transfer", _("Transfer")
        AUTO_DEBIT = "auto_debit", _("Autodebet")

    class Status(models.TextChoices):
        BOOKED = "booked", _("Dibukukan")
        REVERSED = "reversed", _("Dibatalkan")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="repayments")
    amount = models.BigIntegerField(help_text="Rupiah paid.")
    paid_on = models.DateField()
    channel = models.CharField(max_length=12, choices=Channel.choices)
    reference = models.CharField(max_length=64, help_text="The bank's own reference, unique per bank.")
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    #: SHA-256 of the request (loan and body), to tell a retry from a different request.
    request_hash = models.CharField(max_length=64)
    #: The body first answered, replayed to a retry.
    response = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.BOOKED)
    #: True when this repayment paid the loan off (it then carries the interest waived).
    payoff = models.BooleanField(default=False)
    #: Interest the pay-off forgave (installments after the pay-off date).
    interest_waived = models.BigIntegerField(default=0)
    #: The loan's schedule version when booked.
    schedule_version = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["paid_on", "id"]
        indexes = [models.Index(fields=["loan", "paid_on", "id"]), models.Index(fields=["bank", "paid_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive"),
            models.UniqueConstraint(fields=["bank", "reference"], name="repayment_reference_unique_per_bank"),
            models.UniqueConstraint(
                fields=["bank", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="repayment_idempotency_key_unique_per_bank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id}/{self.reference}: {self.amount}"


class RepaymentAllocation(models.Model):
    """How much of a repayment went to one component of one installment. An allocation
    undone by a reversal keeps its row, with ``undone_at`` set."""

    class Component(models.TextChoices):
        PENALTY = "penalty", _("Denda")
        INTEREST = "interest", _("Bunga")
        PRINCIPAL = "principal", _("Pokok")

    repayment = models.ForeignKey(Repayment, on_delete=models.PROTECT, related_name="allocations")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="allocations")
    component = models.CharField(max_length=9, choices=Component.choices)
    amount = models.BigIntegerField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["repayment", "id"]
        indexes = [models.Index(fields=["installment"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_allocation_positive")]

    def __str__(self) -> str:
        return f"{self.repayment_id} -> {self.installment_id} {self.component} {self.amount}"


class CollectibilityClass(models.Model):
    """One row of a collectibility (kolektibilitas) table: the class a loan of a bank of
    ``bank_kind`` is in from ``min_days`` days past due (up to the next class's
    ``min_days``), with its provision rate. Editable by a programme manager; the
    defaults (OJK for commercial banks, the BPR table) are loaded by a migration."""

    bank_kind = models.CharField(max_length=10, choices=[("commercial", "commercial"), ("bpr", "bpr")])
    grade = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)
    min_days = models.PositiveIntegerField()
    provision_percent = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["bank_kind", "grade"]
        constraints = [
            models.UniqueConstraint(fields=["bank_kind", "grade"], name="collectibility_grade_unique"),
            models.CheckConstraint(condition=Q(grade__gte=1) & Q(grade__lte=5), name="collectibility_grade_range"),
            models.CheckConstraint(
                condition=Q(provision_percent__gte=0) & Q(provision_percent__lte=100),
                name="collectibility_provision_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_kind} {self.grade} from {self.min_days}"


class CloseRun(models.Model):
    """One run of the nightly close for a business date. At most one runs at a time
    (a partial unique index); the last ``done`` date is the last closed business date."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Berjalan")
        DONE = "done", _("Selesai")
        FAILED = "failed", _("Gagal")

    business_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    chunks = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    loans = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["business_date", "id"]
        indexes = [models.Index(fields=["status", "business_date"])]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="close_run_one_running"),
        ]

    def __str__(self) -> str:
        return f"close {self.business_date} {self.status}"


class LoanSnapshot(models.Model):
    """A loan's figures at the close of one business date (its daily history)."""

    business_date = models.DateField()
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="snapshots", db_constraint=False)
    bank_id = models.BigIntegerField()
    status = models.CharField(max_length=12)
    outstanding_principal = models.BigIntegerField()
    days_past_due = models.PositiveIntegerField()
    collectibility = models.PositiveSmallIntegerField()
    arrears_principal = models.BigIntegerField()
    arrears_interest = models.BigIntegerField()
    arrears_penalty = models.BigIntegerField()

    class Meta:
        ordering = ["business_date", "loan"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "loan"], name="loan_snapshot_unique_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} @ {self.business_date}"


class FundDay(models.Model):
    """A bank's revolving fund at the close of one business date: the day's flows and
    the balances at its end (the fund's daily series)."""

    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="fund_days")
    business_date = models.DateField()
    disbursed = models.BigIntegerField()
    principal_repaid = models.BigIntegerField()
    interest_collected = models.BigIntegerField()
    penalty_collected = models.BigIntegerField()
    outstanding_principal = models.BigIntegerField()
    #: Outstanding principal by collectibility class: {"1": rupiah, ..., "5": rupiah}.
    outstanding_by_class = models.JSONField(default=dict)
    available = models.BigIntegerField()

    class Meta:
        ordering = ["bank", "business_date"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "business_date"], name="fund_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id} @ {self.business_date}"


class Deferral(models.Model):
    """A deferral (penundaan) of a loan's unpaid installments by ``months``: requested
    by one side (the city office or the bank), approved by the other, and recorded as a
    new schedule version (``to_version``); the old version stays readable. One
    extension (``extension_of``) is allowed."""

    class Mode(models.TextChoices):
        PRINCIPAL_AND_INTEREST = "principal_and_interest", _("Pokok dan bunga")
        PRINCIPAL_ONLY = "principal_only", _("Pokok saja")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Diajukan")
        APPROVED = "approved", _("Disetujui")
        REJECTED = "rejected", _("Ditolak")

    class Side(models.TextChoices):
        CITY = "city", _("Pemerintah kota")
        BANK = "bank", _("Bank")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="deferrals")
    months = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=24, choices=Mode.choices)
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    extension_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="extensions")
    requested_side = models.CharField(max_length=4, choices=Side.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    from_version = models.PositiveSmallIntegerField(null=True, blank=True)
    to_version = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The class held while the deferral runs (product setting), and until when.
    hold_class = models.PositiveSmallIntegerField(null=True, blank=True)
    hold_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(months__gte=1) & Q(months__lte=12), name="deferral_months_range"),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(state="requested"), name="deferral_one_request_per_loan"
            ),
            # One extension per deferral; a rejected request does not use it up.
            models.UniqueConstraint(
                fields=["extension_of"],
                condition=Q(state__in=["requested", "approved"]),
                name="deferral_one_extension",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} +{self.months}m {self.state}"
