"""The audit trail in the admin, read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from loans.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail is append-only: no one adds, changes or deletes it here (on
    PostgreSQL a trigger refuses UPDATE and DELETE as well)."""

    list_display = ("at", "action", "subject_type", "subject_id", "subject_label", "actor")
    list_filter = ("action", "subject_type")
    search_fields = ("subject_id", "subject_label", "note", "actor__username")
    list_select_related = ("actor",)
    date_hierarchy = "at"
    show_full_result_count = False

    def get_actions(self, request: HttpRequest) -> Any:
        return {}  # not even the bulk "delete selected"
