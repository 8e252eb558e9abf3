from django.db import migrations


def load(apps, schema_editor):
    from reports.allowance import DEFAULT_ALLOWANCE

    AllowanceClass = apps.get_model("reports", "AllowanceClass")
    AllowanceClass.objects.bulk_create(
        AllowanceClass(
            position=row.position, name=row.name, grade_from=row.grade_from, grade_to=row.grade_to, percent=row.percent
        )
        for row in DEFAULT_ALLOWANCE
    )


def unload(apps, schema_editor):
    apps.get_model("reports", "AllowanceClass").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
