"""People's accounts: the activation codes with which a borrower (or a new member of
staff) sets their own password, and the roles the manager gives staff."""

from django.conf import settings
from django.db import models

from config.roles import Role


class StaffRole(models.TextChoices):
    """The roles the manager gives staff (a borrower's login comes from an officer)."""

    OFFICER = Role.OFFICER.value, "officer"
    BANK_STAFF = Role.BANK_STAFF.value, "bank_staff"
    AUDITOR = Role.AUDITOR.value, "auditor"
    MANAGER = Role.MANAGER.value, "manager"


class ActivationCode(models.Model):
    """A one-time code with which ``user`` sets their password, valid until
    ``expires_at``. Only a keyed hash of the code is kept (the code itself is shown once,
    when issued); one code per user: issuing again replaces it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activation_code")
    code_digest = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("issued_at")), name="activation_expires_after_issue"
            )
        ]

    def __str__(self) -> str:
        return f"activation code of user {self.user_id}"
