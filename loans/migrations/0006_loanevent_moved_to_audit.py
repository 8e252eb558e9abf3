"""The application and loan events now live in the audit trail (``audit_auditentry``,
copied there by audit 0001): drop ``loans_loanevent`` and its append-only trigger.

Going back recreates the table and restores the events from the audit rows that link
an application (the only rows it could hold), with the trigger again.
"""

from django.db import migrations

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS loanevent_append_only ON loans_loanevent;
DROP FUNCTION IF EXISTS wibawa_loanevent_append_only();
"""
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION wibawa_loanevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loans_loanevent is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loanevent_append_only BEFORE UPDATE OR DELETE ON loans_loanevent
    FOR EACH ROW EXECUTE FUNCTION wibawa_loanevent_append_only();
"""


def unguard(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY)


def restore_and_guard(apps, schema_editor):  # type: ignore[no-untyped-def]
    loan_event = apps.get_model("loans", "LoanEvent")
    audit_entry = apps.get_model("audit", "AuditEntry")
    loan_event.objects.bulk_create(
        loan_event(
            application_id=entry.application_id,
            loan_id=entry.loan_id,
            action=entry.action[:32],
            actor_id=entry.actor_id,
            at=entry.at,
            from_state=entry.from_state,
            to_state=entry.to_state,
            note=entry.note,
            amounts=entry.amounts,
        )
        for entry in audit_entry.objects.filter(application_id__isnull=False).order_by("at", "id").iterator()
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("loans", "0005_loan_fillfactor"), ("audit", "0001_audit_trail")]

    operations = [
        migrations.RunPython(unguard, restore_and_guard),
        migrations.DeleteModel(name="LoanEvent"),
    ]
