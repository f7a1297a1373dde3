"""IdempotencyRecord, moved from runtime without touching its table (decision 0031).

State only: the model keeps `db_table` runtime_idempotencyrecord; its content type follows it.
"""

import django.db.models.deletion
from django.db import migrations, models


def content_type_follows(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="aosproject", model="idempotencyrecord").exists():
        content_type.objects.filter(app_label="runtime", model="idempotencyrecord").update(app_label="aosproject")


def content_type_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="runtime", model="idempotencyrecord").exists():
        content_type.objects.filter(app_label="aosproject", model="idempotencyrecord").update(app_label="runtime")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('accounts', '0002_tenant_max_concurrent'),
        ('runtime', '0002_idempotencyrecord_run_id'),  # the table and its last column exist
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('method', models.CharField(max_length=8)),
                        ('path', models.CharField(max_length=500)),
                        ('state', models.CharField(choices=[('in_progress', 'In Progress'), ('completed', 'Completed')], default='in_progress', max_length=16)),
                        ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('response_body', models.JSONField(blank=True, null=True)),
                        ('run_id', models.CharField(blank=True, default='', max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='idempotency_records', to='accounts.tenant')),
                    ],
                    options={
                        'db_table': 'runtime_idempotencyrecord',
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'key'), name='idempotency_tenant_key_unique')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_follows, content_type_back),
    ]
