"""Admin for loans: products (name and active flag; terms only through the API, as new
versions), and read-only views of term versions, applications, loans and their
schedules. Every other write goes through the services, which check state, role and
rules and write the audit row (audit.admin shows the trail); the admin never bypasses
them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from loans.models import Application, Installment, Loan, Product, ProductTerms
from loans.services.products import PRODUCT_UPDATABLE_FIELDS, product_update

TERMS_FIELDS = (
    "version",
    "annual_rate",
    "method",
    "ceiling_without_collateral",
    "ceiling_with_collateral",
    "allowed_tenors",
    "grace_months",
    "rounding",
    "interest_rounding",
    "installment_rounding",
    "business_days",
    "min_business_age_months",
    "min_age_years",
    "repeat_multiplier",
    "region_code",
    "valid_from",
    "valid_to",
    "created_by",
    "created_at",
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows, never adds, changes or deletes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProductTermsInline(admin.TabularInline):
    model = ProductTerms
    fields = TERMS_FIELDS
    readonly_fields = TERMS_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """A product's name and active flag may change here (through ``product_update``,
    audited); new products and new term versions come from the API (POST products/ and products/{code}/terms/), which
    checks them with the schedule engine."""

    list_display = ("code", "name", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("code", "name")
    fields = ("code", "name", "active", "created_at")
    readonly_fields = ("code", "created_at")
    inlines = (ProductTermsInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        fields = {name: getattr(obj, name) for name in form.changed_data if name in PRODUCT_UPDATABLE_FIELDS}
        product_update(actor=request.user, product=obj, **fields)


@admin.register(ProductTerms)
class ProductTermsAdmin(ReadOnlyAdmin):
    list_display = ("product", "version", "annual_rate", "method", "valid_from", "valid_to")
    list_filter = ("product", "method")
    fields = ("product", *TERMS_FIELDS)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("id", "borrower", "bank", "principal", "tenor_months", "state", "state_changed_at")
    list_filter = ("state", "bank")
    search_fields = ("borrower__name", "borrower__nik", "contract_number")
    list_select_related = ("borrower", "bank")
    date_hierarchy = "created_at"


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "contract_number",
        "bank",
        "borrower",
        "principal",
        "outstanding_principal",
        "status",
        "schedule_status",
        "disbursed_on",
    )
    list_filter = ("status", "schedule_status", "bank")
    search_fields = ("contract_number", "borrower__name", "borrower__nik")
    list_select_related = ("borrower", "bank")


@admin.register(Installment)
class InstallmentAdmin(ReadOnlyAdmin):
    list_display = ("loan", "schedule_version", "number", "due_date", "principal", "interest", "installment", "balance")
    list_filter = ("schedule_version",)
    search_fields = ("loan__contract_number",)
    list_select_related = ("loan",)
    show_full_result_count = False
