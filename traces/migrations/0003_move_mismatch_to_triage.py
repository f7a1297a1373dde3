"""Mismatch and WebhookDelivery move to the triage app: state only, the tables stay (decision 0030)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('traces', '0002_webhookdelivery'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='mismatch',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='mismatch',
                    name='trace',
                ),
                migrations.DeleteModel(
                    name='WebhookDelivery',
                ),
                migrations.DeleteModel(
                    name='Mismatch',
                ),
            ],
        ),
    ]
