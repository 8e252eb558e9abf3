"""Leave half of each page of ``loans_loan`` free (PostgreSQL only).

The nightly close changes every open loan's ``as_of`` each night. With room on the page
PostgreSQL writes the new row version beside the old one (a HOT update) and touches none
of the table's indexes; on full pages every update writes into all of them. Measured on
100,000 loans: the close of one date drops from about 3.0 s to 1.8-2.0 s
(benchmarks/RESULTS.md). Existing rows move only as they are rewritten.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE loans_loan SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE loans_loan RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("loans", "0004_collectibility_defaults")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
