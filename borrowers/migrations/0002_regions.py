from django.db import migrations

from borrowers.regions import DEFAULT_FILE, load_regions, read_regions


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    load_regions(apps.get_model("borrowers", "Region"), read_regions(DEFAULT_FILE))


class Migration(migrations.Migration):
    dependencies = [("borrowers", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
