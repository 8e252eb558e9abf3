"""The audit trail: one append-only row per change, whatever was changed."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEntry(models.Model):
    """One change: who (``actor``; none for a system job), when, what (``action``), to
    which subject (``subject_type`` and ``subject_id``, with a readable label), the
    changed fields before and after (personal numbers masked, passwords never), a note
    and the rupiah amounts involved. Workflow changes also say the state moved from and
    to, and anything about an application or its loan links to them, so a loan's or
    an application's history is one indexed query.

    Append-only: no API writes it, the admin shows it read-only, and on PostgreSQL a
    trigger refuses UPDATE and DELETE. Written only by :func:`audit.services.audit_record`
    in the changing service's transaction."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    action = models.CharField(max_length=48)
    subject_type = models.CharField(max_length=32, help_text="What was changed: bank, borrower, loan, user...")
    subject_id = models.CharField(max_length=64)
    subject_label = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Changed fields before.")
    after = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Changed fields after.")
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    note = models.TextField(blank=True, default="")
    amounts = models.JSONField(default=dict, blank=True, help_text="Rupiah amounts involved, by name.")
    application = models.ForeignKey(
        "loans.Application", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["at"], name="audit_at"),
            models.Index(fields=["subject_type", "subject_id", "at"], name="audit_subject_at"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["application", "at"], name="audit_application_at"),
            models.Index(fields=["loan", "at"], name="audit_loan_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject_type} {self.subject_id}"
