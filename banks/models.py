"""Partner banks, their staff and the city fund's allocations to them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from banks.fund import fund_available


class Bank(models.Model):
    """A partner (executing) bank. ``kind`` decides its collectibility table.

    The fund counters are kept under the bank's row lock by the services:
    ``allocated`` (the sum of its allocations), ``disbursed`` (principal lent out) and
    ``principal_repaid`` (principal that came back). The fund revolves, so the bank may
    lend ``allocated + principal_repaid - disbursed`` more; a constraint keeps that
    from going below zero.
    """

    class Kind(models.TextChoices):
        COMMERCIAL = "commercial", _("Bank umum")
        BPR = "bpr", _("Bank Perekonomian Rakyat (BPR)")

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    servicing_fee_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="The bank's share of interest collected, in percent."
    )
    active = models.BooleanField(default=True)
    allocated = models.BigIntegerField(default=0)
    disbursed = models.BigIntegerField(default=0)
    principal_repaid = models.BigIntegerField(default=0)
    #: Interest collected on the bank's loans (its servicing fee is a percent of it).
    interest_collected = models.BigIntegerField(default=0, db_default=0)
    #: How many days before the last closed business date a repayment may be dated.
    backdate_limit_days = models.PositiveSmallIntegerField(default=31, db_default=31)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(servicing_fee_percent__gte=0) & Q(servicing_fee_percent__lte=100),
                name="bank_fee_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(disbursed__lte=F("allocated") + F("principal_repaid")), name="bank_fund_not_overdrawn"
            ),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="bank_allocated_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def available(self) -> int:
        """Rupiah the bank may still disburse (as of the last read of this row)."""
        return fund_available(
            allocated=self.allocated, principal_repaid=self.principal_repaid, disbursed=self.disbursed
        )


class BankStaff(models.Model):
    """A user who works for one bank (a person or a bank system's service account)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bank_staff")
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="staff")

    def __str__(self) -> str:
        return f"{self.user} @ {self.bank}"


class Allocation(models.Model):
    """City fund money placed with a bank for a programme year (one row per tranche)."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="allocations")
    year = models.PositiveSmallIntegerField()
    amount = models.BigIntegerField()
    note = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank", "year", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(condition=Q(year__gte=2017) & Q(year__lte=2200), name="allocation_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id} {self.year}: {self.amount}"
