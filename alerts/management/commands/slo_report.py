import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from alerts import slo, slo_inputs


class Command(BaseCommand):
    help = (
        "Check a load test's results against the SLOs (simulate p95 < 500 ms critical, p99 < 1000 ms warning, "
        "error rate < 1 % critical, availability > 99.5 % critical, parity failures < 0.1 % warning). "
        "FILE: k6 --out json NDJSON (or .gz), k6 --summary-export JSON, k6 handleSummary JSON, or a locust --csv "
        "stats file (or its prefix). An SLO with no data to judge it counts as not passing. "
        "Exit codes: 0 report printed (no failing SLO, or no --strict); 1 an SLO failed under --strict; "
        "2 unreadable or malformed input, an input without samples, an unwritable --output, "
        "or --critical-only without --strict."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--format", choices=slo_inputs.FORMATS, help="Skip auto-detection.")
        parser.add_argument("--strict", action="store_true", help="Exit 1 when an SLO is breached or has no data.")
        parser.add_argument(
            "--critical-only",
            action="store_true",
            help="With --strict: only critical SLOs make it exit 1 (without --strict: an error, exit 2).",
        )
        parser.add_argument("--json", action="store_true", help="Machine-readable report on stdout.")
        parser.add_argument("--output", metavar="F", help="Also write the report to F (JSON if F ends .json).")

    def handle(self, *args, file, format, strict, critical_only, output, **options):
        if critical_only and not strict:
            # Alone it would change nothing, and a CI step relying on it would never fail.
            raise CommandError("--critical-only only applies with --strict", returncode=2)
        try:
            measurements = slo_inputs.load(Path(file), format)
        except slo.SloInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        report = slo.evaluate(measurements, source=file)
        as_json = json.dumps(slo.report_json(report), indent=2)
        text = slo.report_text(report)
        self.stdout.write(as_json if options["json"] else text, ending="\n" if options["json"] else "")
        if output:
            try:
                written = as_json + "\n" if options["json"] or output.endswith(".json") else text
                Path(output).write_text(written, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror or exc}", returncode=2) from None
        failing = report.failing(critical_only=critical_only)
        if strict and failing:
            names = ", ".join(f"{r.name} ({r.severity}, {r.status})" for r in failing)
            raise CommandError(f"SLO check failed: {names}", returncode=1)
