"""Mismatch and WebhookDelivery, moved from traces without touching their tables (decision 0030).

State only: the models keep `db_table` traces_mismatch / traces_webhookdelivery, so rows,
indexes and constraints stay as they are. Their content types move too, so permissions and
admin log entries follow the models instead of being recreated under a new id.
"""

import django.db.models.deletion
import uuid
from django.db import migrations, models


MOVED = ("mismatch", "webhookdelivery")


def content_types_follow(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label="triage", model=model).exists():
            content_type.objects.filter(app_label="traces", model=model).update(app_label="triage")


def content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label="traces", model=model).exists():
            content_type.objects.filter(app_label="triage", model=model).update(app_label="traces")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_tenant_max_concurrent'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('traces', '0003_move_mismatch_to_triage'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('delivery_id', models.CharField(blank=True, max_length=100, null=True, unique=True)),
                        ('body_sha256', models.CharField(max_length=64, unique=True)),
                        ('event', models.CharField(blank=True, max_length=100)),
                        ('received_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ],
                    options={
                        'db_table': 'traces_webhookdelivery',
                        'ordering': ['-received_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Mismatch',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('reported_by', models.CharField(max_length=200)),
                        ('step_index', models.PositiveIntegerField()),
                        ('skill_id', models.CharField(blank=True, default='', max_length=100)),
                        ('reason', models.CharField(choices=[('output_mismatch', 'Output Mismatch'), ('input_mismatch', 'Input Mismatch'), ('status_mismatch', 'Status Mismatch'), ('skill_mismatch', 'Skill Mismatch'), ('step_count_mismatch', 'Step Count Mismatch')], max_length=32)),
                        ('expected_hash', models.CharField(blank=True, default='', max_length=64)),
                        ('actual_hash', models.CharField(blank=True, default='', max_length=64)),
                        ('details', models.JSONField(blank=True, default=dict)),
                        ('fingerprint', models.CharField(db_index=True, max_length=64)),
                        ('notification_state', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('notification_channel', models.CharField(choices=[('github', 'Github'), ('slack', 'Slack'), ('none', 'None')], default='none', max_length=16)),
                        ('notification_attempts', models.PositiveIntegerField(default=0)),
                        ('notification_last_error', models.TextField(blank=True, default='')),
                        ('notification_next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('issue_url', models.URLField(blank=True, default='', max_length=500)),
                        ('issue_number', models.PositiveIntegerField(blank=True, null=True)),
                        ('resolved', models.BooleanField(default=False)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_by', models.CharField(blank=True, default='', max_length=200)),
                        ('resolution_note', models.TextField(blank=True, default='')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='mismatches', to='accounts.tenant')),
                        ('trace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='mismatches', to='traces.trace')),
                    ],
                    options={
                        'verbose_name_plural': 'mismatches',
                        'db_table': 'traces_mismatch',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['tenant', 'resolved', '-created_at'], name='mismatch_tenant_resolved'), models.Index(fields=['notification_state', 'notification_next_attempt_at'], name='mismatch_notify')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
