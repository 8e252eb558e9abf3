"""Activation codes in the back office: read-only (only a hash is kept; codes are
issued on the pages or through the API, which audit them)."""

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import ActivationCode


@admin.register(ActivationCode)
class ActivationCodeAdmin(admin.ModelAdmin):
    list_display = ("user", "issued_by", "issued_at", "expires_at", "used_at")
    search_fields = ("user__username",)
    exclude = ("code_digest",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ActivationCode | None = None) -> bool:
        return False
