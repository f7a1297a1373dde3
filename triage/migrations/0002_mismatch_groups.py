"""Mismatch groups (PRODUCT.md §15) and their timeline; each mismatch links its group and says where it came from."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_tenant_max_concurrent'),
        ('triage', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='mismatch',
            name='source',
            field=models.CharField(choices=[('replay', 'Replay'), ('api', 'Api')], default='replay', max_length=8),
        ),
        migrations.CreateModel(
            name='MismatchGroup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('fingerprint', models.CharField(max_length=64)),
                ('plan_hash', models.CharField(blank=True, default='', max_length=64)),
                ('step_index', models.PositiveIntegerField()),
                ('skill_id', models.CharField(blank=True, default='', max_length=100)),
                ('reason', models.CharField(choices=[('output_mismatch', 'Output Mismatch'), ('input_mismatch', 'Input Mismatch'), ('status_mismatch', 'Status Mismatch'), ('skill_mismatch', 'Skill Mismatch'), ('step_count_mismatch', 'Step Count Mismatch')], max_length=32)),
                ('agent_id', models.CharField(blank=True, default='', help_text="The last mismatch's agent.", max_length=200)),
                ('status', models.CharField(choices=[('unresolved', 'Unresolved'), ('resolved', 'Resolved'), ('regressed', 'Regressed')], default='unresolved', max_length=16)),
                ('count', models.PositiveIntegerField(default=0)),
                ('affected_traces', models.PositiveIntegerField(default=0)),
                ('first_seen', models.DateTimeField()),
                ('last_seen', models.DateTimeField(db_index=True)),
                ('issue_url', models.URLField(blank=True, default='', max_length=500)),
                ('issue_number', models.PositiveIntegerField(blank=True, null=True)),
                ('issue_lease_until', models.DateTimeField(blank=True, null=True)),
                ('resolution_kind', models.CharField(blank=True, choices=[('fixed', 'Fixed'), ('accepted_nondeterminism', 'Accepted non-determinism'), ('flaky_skill', 'Flaky skill'), ('infrastructure', 'Infrastructure'), ('duplicate', 'Duplicate')], default='', max_length=32)),
                ('resolution_note', models.TextField(blank=True, default='')),
                ('resolved_by', models.CharField(blank=True, default='', max_length=200)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('last_mismatch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='triage.mismatch')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='mismatch_groups', to='accounts.tenant')),
            ],
            options={
                'ordering': ['-last_seen', '-id'],
            },
        ),
        migrations.AddField(
            model_name='mismatch',
            name='group',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='mismatches', to='triage.mismatchgroup'),
        ),
        migrations.CreateModel(
            name='MismatchGroupEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('reported', 'Reported'), ('notified', 'Notified'), ('commented', 'Commented'), ('resolved', 'Resolved'), ('reopened', 'Reopened')], max_length=16)),
                ('actor', models.CharField(blank=True, default='', max_length=200)),
                ('message', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='triage.mismatchgroup')),
                ('mismatch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='triage.mismatch')),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='mismatchgroup',
            index=models.Index(fields=['tenant', 'status', '-last_seen'], name='mismatchgroup_tenant_status'),
        ),
        migrations.AddConstraint(
            model_name='mismatchgroup',
            constraint=models.UniqueConstraint(fields=('tenant', 'fingerprint'), name='mismatchgroup_tenant_fingerprint_unique'),
        ),
        migrations.AddIndex(
            model_name='mismatchgroupevent',
            index=models.Index(fields=['group', 'created_at'], name='mismatchgroupevent_group'),
        ),
    ]
