"""The five role groups, and on PostgreSQL a trigger that keeps the audit trail
append-only (UPDATE and DELETE on loans_loanevent raise)."""

from django.db import migrations

ROLES = ("officer", "bank_staff", "borrower", "auditor", "manager")

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION wibawa_loanevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loans_loanevent is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loanevent_append_only BEFORE UPDATE OR DELETE ON loans_loanevent
    FOR EACH ROW EXECUTE FUNCTION wibawa_loanevent_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS loanevent_append_only ON loans_loanevent;
DROP FUNCTION IF EXISTS wibawa_loanevent_append_only();
"""


def create_groups(apps, schema_editor):  # type: ignore[no-untyped-def]
    group_model = apps.get_model("auth", "Group")
    for name in ROLES:
        group_model.objects.get_or_create(name=name)


def guard(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def unguard(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("loans", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(create_groups, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
