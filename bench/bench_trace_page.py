"""The admin trace page (printed, not asserted): server time and queries for 500 and 10,000 steps.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aos_bench_tp .venv/bin/python bench/bench_trace_page.py
    env -u DATABASE_URL .venv/bin/python bench/bench_trace_page.py --sqlite   # temporary SQLite file

Same run, same traces, same middleware, through Django's test client as a superuser:
- "before": the page as it was until issue 19 (every step inline, a TabularInline with pretty
  JSON), rebuilt here on a second admin site mounted at /old-admin/;
- "after": today's page (header, one page of at most 100 steps as a timeline), its first page
  and the page holding step 9,950.
Server time is the median of `--repeat` requests (the old 10,000-step page: one request, it takes
minutes otherwise); the HTML size is the response body. The database named in DATABASE_URL is
created when missing; the bench's tenant is recreated each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sdk" / "python"))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite database instead of DATABASE_URL")
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--sizes", default="500,10000", help="step counts, comma-separated")
parser.add_argument("--skip-old-above", type=int, default=10_000, help="do not time the old page above this size")
args = parser.parse_args()

if args.sqlite:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
else:
    from bench.common import ensure_database

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aos_bench_tp")
    ensure_database(os.environ["DATABASE_URL"])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
os.environ["RATELIMIT_ENABLE"] = "0"
os.environ.pop("REDIS_URL", None)
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.admin.utils import flatten_fieldsets  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from accounts.models import Tenant  # noqa: E402
from tests.traces.tracebuild import bulk_trace  # noqa: E402
from traces.admin import TraceAdmin  # noqa: E402
from traces.models import Trace, TraceStep  # noqa: E402


# --- the page before issue 19 (traces/admin.py at 16ab6b6), on its own admin site ---------------
def _pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; max-height: 24em; overflow: auto; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


def _short_hash(value: str) -> str:
    return format_html('<code title="{}">{}…</code>', value, value[:12]) if value else "—"


class OldTraceStepInline(admin.TabularInline):
    model = TraceStep
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    fields = [
        "index",
        "skill_id",
        "skill_version",
        "status",
        "error_code",
        "hashes",
        "cost_cents",
        "duration_ms",
        "retry_count",
        "params_pretty",
        "output_pretty",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="hashes")
    def hashes(self, step):
        return format_html(
            "in {}<br>out {}<br>step {}",
            _short_hash(step.input_hash),
            _short_hash(step.output_hash),
            _short_hash(step.step_hash),
        )

    @admin.display(description="params")
    def params_pretty(self, step):
        return _pretty_json(step.params)

    @admin.display(description="output")
    def output_pretty(self, step):
        return _pretty_json(step.output)


class OldTraceAdmin(admin.ModelAdmin):
    inlines = [OldTraceStepInline]
    change_form_template = "admin/change_form.html"  # the old template only added "Compare with…"
    fieldsets = [
        (None, {"fields": ["trace_id", "run_id", "tenant", "source", "replay_of", "agent_id", "status"]}),
        ("Hashes", {"fields": ["plan_hash", "seed", "frozen_timestamp", "root_hash"]}),
        ("Totals", {"fields": ["total_steps", "total_cost_cents", "total_duration_ms", "budget_cents"]}),
        ("Content", {"fields": ["plan_pretty", "input_pretty", "metadata_pretty"]}),
        ("Times", {"fields": ["created_at", "updated_at", "finished_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets)

    def has_change_permission(self, request, obj=None):
        return False

    plan_pretty = TraceAdmin.plan_pretty
    input_pretty = TraceAdmin.input_pretty
    metadata_pretty = TraceAdmin.metadata_pretty


old_site = admin.AdminSite(name="old_admin")
old_site.register(Trace, OldTraceAdmin)
urlpatterns = [path("old-admin/", old_site.urls), path("", include(settings.ROOT_URLCONF))]


# --- measuring ----------------------------------------------------------------------------------
def timed(client: Client, url: str, repeat: int) -> tuple[float, int, int]:
    """(median seconds, queries, bytes) of GET url."""
    times, queries, size = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        queries, size = len(ctx.captured_queries), len(response.content)
    return statistics.median(times), queries, size


def main() -> None:
    call_command("migrate", verbosity=0)
    Tenant.objects.filter(slug="bench-page").delete()
    tenant = Tenant.objects.create(slug="bench-page", name="Bench page", tier="unlimited")
    user_model = get_user_model()
    root = user_model.objects.filter(username="bench-root").first() or user_model.objects.create_superuser(
        "bench-root", "root@example.com", "pw"
    )
    client = Client()
    client.force_login(root)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"admin trace page on {connection.vendor}, median of {args.repeat} (old page above 500 steps: 1 run)")
    print(f"{'steps':>7} | {'page':<28} | {'server ms':>9} | {'queries':>7} | {'HTML KiB':>8}")
    with override_settings(ROOT_URLCONF=__name__):
        for size in sizes:
            started = time.perf_counter()
            trace = bulk_trace(tenant, trace_id=f"bench-{size}", steps=size)
            built = time.perf_counter() - started
            rows = []
            if size <= args.skip_old_above:
                repeat = args.repeat if size <= 500 else 1
                rows.append(("before: every step inline", f"/old-admin/traces/trace/{trace.pk}/change/", repeat))
            rows.append(("after: first page", f"/admin/traces/trace/{trace.pk}/change/", args.repeat))
            last = max(size - 50, 0)
            rows.append((f"after: ?step={last}", f"/admin/traces/trace/{trace.pk}/change/?step={last}", args.repeat))
            for label, url, repeat in rows:
                client.get(url)  # warm: templates compiled, connection open
                seconds, queries, size_bytes = timed(client, url, repeat)
                print(f"{size:>7,} | {label:<28} | {seconds * 1000:>9.1f} | {queries:>7} | {size_bytes / 1024:>8.0f}")
            print(f"{'':>7} | (trace stored with bulk_create in {built:.1f} s)")
    Tenant.objects.filter(slug="bench-page").delete()


if __name__ == "__main__":
    main()
