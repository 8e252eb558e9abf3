"""Admin for banks. Every write goes through banks.services, so the fund counters are
only ever moved under the bank's row lock (a plain admin save of a stale Bank would
overwrite them). The forms check what the services would refuse, so a refusal shows on
the form."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from banks.models import Allocation, Bank, BankStaff
from banks.services import (
    BANK_UPDATABLE_FIELDS,
    allocation_create,
    bank_code_errors,
    bank_create,
    bank_staff_add,
    bank_update,
)

FUND_FIELDS = ("allocated", "disbursed", "principal_repaid", "available")


class BankForm(forms.ModelForm):
    class Meta:
        model = Bank
        fields = ("code", "name", "kind", "servicing_fee_percent", "active")

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip().upper()
        if errors := bank_code_errors(code):
            raise forms.ValidationError(errors["code"])
        return code


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    form = BankForm
    list_display = ("code", "name", "kind", "servicing_fee_percent", "active", *FUND_FIELDS)
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    readonly_fields = (*FUND_FIELDS, "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Bank | None = None) -> Any:
        return ("code", *self.readonly_fields) if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Bank | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Bank, form: Any, change: bool) -> None:
        if change:
            fields = {name: getattr(obj, name) for name in form.changed_data if name in BANK_UPDATABLE_FIELDS}
            saved = bank_update(actor=request.user, bank=obj, **fields)
        else:
            saved = bank_create(
                actor=request.user,
                code=obj.code,
                name=obj.name,
                kind=obj.kind,
                servicing_fee_percent=obj.servicing_fee_percent,
                active=obj.active,
            )
        obj.pk = saved.pk
        for name in ("allocated", "disbursed", "principal_repaid", "created_at"):
            setattr(obj, name, getattr(saved, name))


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    """Allocations are added (through the service, which moves the bank's counter),
    never changed or deleted: a correction is a new tranche."""

    list_display = ("bank", "year", "amount", "note", "created_by", "created_at")
    list_filter = ("bank", "year")
    fields = ("bank", "year", "amount", "note")

    def has_change_permission(self, request: HttpRequest, obj: Allocation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Allocation | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Allocation, form: Any, change: bool) -> None:
        saved = allocation_create(actor=request.user, bank=obj.bank, year=obj.year, amount=obj.amount, note=obj.note)
        obj.pk = saved.pk
        obj.created_at = saved.created_at


@admin.register(BankStaff)
class BankStaffAdmin(admin.ModelAdmin):
    """Adding staff puts the user in the ``bank_staff`` group too. A user works for
    one bank (the form refuses a second). Moving staff to another bank, or ending their
    work for a bank, is the manager's reassign (the staff page or ``users/{id}/reassign/``,
    audited): here a row is never changed or deleted."""

    list_display = ("user", "bank")
    list_filter = ("bank",)
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)

    def has_change_permission(self, request: HttpRequest, obj: BankStaff | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: BankStaff | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BankStaff, form: Any, change: bool) -> None:
        obj.pk = bank_staff_add(bank=obj.bank, user=obj.user, actor=request.user).pk
