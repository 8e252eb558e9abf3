"""Admin for the city's allowance table (``AllowanceClass``), edited by the programme
manager. Every write goes through :mod:`reports.services.allowance` (checked and
audited); the form checks what the service would refuse, so a refusal shows on the
form."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from config.roles import Role, has_role
from reports.allowance import AllowanceRow, allowance_row_errors
from reports.models import AllowanceClass
from reports.services.allowance import (
    ALLOWANCE_FIELDS,
    allowance_class_create,
    allowance_class_delete,
    allowance_class_update,
)


class AllowanceClassForm(forms.ModelForm):
    class Meta:
        model = AllowanceClass
        fields = ALLOWANCE_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        row = AllowanceRow(
            data["position"], str(data["name"]).strip(), data["grade_from"], data["grade_to"], Decimal(data["percent"])
        )
        others = AllowanceClass.objects.exclude(pk=self.instance.pk) if self.instance.pk else AllowanceClass.objects
        errors = allowance_row_errors(
            row,
            [AllowanceRow(o.position, o.name, o.grade_from, o.grade_to, Decimal(o.percent)) for o in others.all()],
        )
        for field, messages in errors.items():
            self.add_error(field if field in self.fields else None, messages)
        return data


def _manager(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and (user.is_superuser or has_role(user, Role.MANAGER)))


@admin.register(AllowanceClass)
class AllowanceClassAdmin(admin.ModelAdmin):
    """The allowance classes (penyisihan dana bergulir tidak tertagih): lancar 0.5%,
    kurang lancar 10%, diragukan 50%, macet 100% by default; the region's own classes
    and percents are set here. Apart from the banks' provision tables."""

    form = AllowanceClassForm
    list_display = ("position", "name", "grade_from", "grade_to", "percent")
    ordering = ("position",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _manager(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _manager(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _manager(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _manager(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _manager(request) or super().has_module_permission(request)

    def save_model(self, request: HttpRequest, obj: AllowanceClass, form: Any, change: bool) -> None:
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in ALLOWANCE_FIELDS}
            saved = allowance_class_update(actor=request.user, allowance_class=obj, **fields)
        else:
            saved = allowance_class_create(
                actor=request.user,
                position=obj.position,
                name=obj.name,
                grade_from=obj.grade_from,
                grade_to=obj.grade_to,
                percent=obj.percent,
            )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: AllowanceClass) -> None:
        allowance_class_delete(actor=request.user, allowance_class=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            allowance_class_delete(actor=request.user, allowance_class=obj)
