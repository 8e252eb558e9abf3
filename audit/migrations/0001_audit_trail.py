"""The audit trail for every subject (``audit_auditentry``), append-only on PostgreSQL
(a trigger refuses UPDATE and DELETE), and the application and loan events of
``loans_loanevent`` copied into it (loans 0006 then drops that table).

A copied event keeps its time, actor, action, states, note and amounts; its subject is
the loan when it names one, else the application, and its state move is also its
``before``/``after`` (``state`` for an application, ``status`` for a loan).
"""

import django.core.serializers.json
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION wibawa_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditentry is append-only: %% refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION wibawa_audit_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS wibawa_audit_append_only();
"""
COPY_BATCH = 5000


def guard(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def unguard(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY)


def copy_loan_events(apps, schema_editor):  # type: ignore[no-untyped-def]
    loan_event = apps.get_model("loans", "LoanEvent")
    audit_entry = apps.get_model("audit", "AuditEntry")
    last_id = 0
    while True:
        events = list(loan_event.objects.filter(pk__gt=last_id).order_by("pk")[:COPY_BATCH])
        if not events:
            return
        entries = []
        for event in events:
            if event.loan_id is not None:
                subject_type, subject_id, key = "loan", event.loan_id, "status"
            else:
                subject_type, subject_id, key = "application", event.application_id, "state"
            moved = event.to_state and event.to_state != event.from_state
            entries.append(
                audit_entry(
                    at=event.at,
                    actor_id=event.actor_id,
                    action=event.action,
                    subject_type=subject_type,
                    subject_id=str(subject_id),
                    subject_label=f"{subject_type} {subject_id}",
                    before={key: event.from_state} if moved and event.from_state else {},
                    after={key: event.to_state} if moved else {},
                    from_state=event.from_state,
                    to_state=event.to_state,
                    note=event.note,
                    amounts=event.amounts,
                    application_id=event.application_id,
                    loan_id=event.loan_id,
                )
            )
        audit_entry.objects.bulk_create(entries)
        last_id = events[-1].pk


def drop_copies(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Going back, loans 0006's reverse restores the events from the audit rows; the
    table itself is dropped with this migration's model."""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('loans', '0005_loan_fillfactor'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('action', models.CharField(max_length=48)),
                ('subject_type', models.CharField(help_text='What was changed: bank, borrower, loan, user...', max_length=32)),
                ('subject_id', models.CharField(max_length=64)),
                ('subject_label', models.CharField(blank=True, default='', max_length=200)),
                ('before', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, help_text='Changed fields before.')),
                ('after', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, help_text='Changed fields after.')),
                ('from_state', models.CharField(blank=True, default='', max_length=16)),
                ('to_state', models.CharField(blank=True, default='', max_length=16)),
                ('note', models.TextField(blank=True, default='')),
                ('amounts', models.JSONField(blank=True, default=dict, help_text='Rupiah amounts involved, by name.')),
                ('actor', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('application', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loans.application')),
                ('loan', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loans.loan')),
            ],
            options={
                'verbose_name_plural': 'audit entries',
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['at'], name='audit_at'), models.Index(fields=['subject_type', 'subject_id', 'at'], name='audit_subject_at'), models.Index(fields=['actor', 'at'], name='audit_actor_at'), models.Index(fields=['application', 'at'], name='audit_application_at'), models.Index(fields=['loan', 'at'], name='audit_loan_at')],
            },
        ),
        migrations.RunPython(guard, unguard),
        migrations.RunPython(copy_loan_events, drop_copies),
    ]
