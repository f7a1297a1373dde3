"""IdempotencyRecord moves to aosproject (the shared API layer): state only, the table stays (decision 0031)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('runtime', '0002_idempotencyrecord_run_id'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(
                    name='IdempotencyRecord',
                ),
            ],
        ),
    ]
