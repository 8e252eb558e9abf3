"""Load the default collectibility tables and fill the servicing columns of loans
disbursed before loan servicing existed."""

from django.db import migrations
from django.db.models import Min, OuterRef, Subquery

from loans.collectibility import DEFAULT_TABLES


def load_tables(apps, schema_editor):  # type: ignore[no-untyped-def]
    table = apps.get_model("loans", "CollectibilityClass")
    for kind, rows in DEFAULT_TABLES.items():
        for row in rows:
            table.objects.update_or_create(
                bank_kind=kind,
                grade=row.grade,
                defaults={"name": row.name, "min_days": row.min_days, "provision_percent": row.provision_percent},
            )


def fill_oldest_unpaid_due(apps, schema_editor):  # type: ignore[no-untyped-def]
    loan = apps.get_model("loans", "Loan")
    installment = apps.get_model("loans", "Installment")
    oldest = (
        installment.objects.filter(
            loan=OuterRef("pk"), schedule_version=OuterRef("schedule_version"), paid_on__isnull=True
        )
        .values("loan")
        .annotate(oldest=Min("due_date"))
        .values("oldest")
    )
    loan.objects.filter(oldest_unpaid_due__isnull=True).update(oldest_unpaid_due=Subquery(oldest))


class Migration(migrations.Migration):
    dependencies = [("loans", "0003_servicing")]

    operations = [
        migrations.RunPython(load_tables, migrations.RunPython.noop),
        migrations.RunPython(fill_oldest_unpaid_due, migrations.RunPython.noop),
    ]
