"""The admin shows borrowers, businesses, regions and the read log read-only: every write
goes through the services (which check NIK, phone, region and business rules), and the
read log is evidence nobody may edit. Opening a borrower here is a full read: it is logged
like one through the API."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from borrowers.identity import mask_nik
from borrowers.models import Borrower, BorrowerReadLog, Business, Region
from borrowers.services import borrower_read_log


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


class BusinessInline(admin.TabularInline):
    model = Business
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "name",
        "sector",
        "kind",
        "nib",
        "licence_number",
        "started_on",
        "monthly_revenue",
        "workers",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Borrower)
class BorrowerAdmin(ReadOnlyAdmin):
    list_display = ["id", "masked_nik", "name", "kelurahan", "phone", "created_at"]
    list_select_related = ["kelurahan"]
    search_fields = ["=nik", "name"]
    inlines = [BusinessInline]
    raw_id_fields = ["user", "created_by"]

    @admin.display(description="NIK")
    def masked_nik(self, borrower: Borrower) -> str:
        return mask_nik(borrower.nik)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        borrower = Borrower.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if borrower is not None and response.status_code == 200:
            borrower_read_log(borrower=borrower, user=request.user, path=request.get_full_path())
        return response


@admin.register(Business)
class BusinessAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "borrower", "sector", "kind", "nib", "started_on"]
    list_filter = ["sector", "kind"]
    search_fields = ["name", "nib", "licence_number"]
    raw_id_fields = ["borrower"]


@admin.register(BorrowerReadLog)
class BorrowerReadLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "borrower", "path"]
    list_select_related = ["user", "borrower"]
    search_fields = ["user__username", "=borrower__nik", "borrower__name"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[BorrowerReadLog]:
        return super().get_queryset(request).select_related("user", "borrower")
