"""manage.py e2e_report FILE [--format text|markdown|json] [--github-summary] [--strict] [--slowest N]
[--input-format pytest-json|junit|harness]"""

from __future__ import annotations

import json
import os
from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter

from alerts.e2e import E2EInputError, render_markdown, render_text, summarize, summary_as_dict
from alerts.e2e_inputs import INPUT_FORMATS, read_results

EPILOG = """\
pass rate = passed / (total - skipped); `error` counts as failed, xfailed as skipped, xpassed as passed.

exit codes:
  0  report written (with --strict: at least one test ran and none failed or errored)
  1  --strict and a test failed or errored, or every test was skipped
  2  bad input: missing or unreadable file, malformed XML or JSON, JSON of an unknown shape, harness JSON
     failing its schema, a file with no test results at all, or --github-summary without $GITHUB_STEP_SUMMARY
"""


class _HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, but the epilog keeps its line breaks."""


class Command(BaseCommand):
    help = (
        "Summarise an end-to-end test run (pytest-json-report JSON, JUnit XML or AOS harness JSON, auto-detected): "
        "totals, pass rate, failures, slowest tests and a per-module table."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, epilog=EPILOG, formatter_class=_HelpFormatter, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", type=Path, help="The report to read.")
        parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="Output (text).")
        parser.add_argument(
            "--input-format", choices=INPUT_FORMATS, help="Skip auto-detection and read FILE as this format."
        )
        parser.add_argument(
            "--github-summary",
            action="store_true",
            help="Also append the Markdown report to the file named by $GITHUB_STEP_SUMMARY.",
        )
        parser.add_argument("--strict", action="store_true", help="Exit 1 unless tests ran and none failed.")
        parser.add_argument("--slowest", type=int, default=5, metavar="N", help="Slowest tests to list (5).")

    def handle(self, *args, file: Path, format: str, input_format, github_summary, strict, slowest, **options):
        if slowest < 0:
            raise CommandError("e2e_report: --slowest must be 0 or more.", returncode=2)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY", "")
        if github_summary and not summary_path:
            # Asked for a CI summary outside CI (or a misconfigured step): say so rather than drop it silently.
            raise CommandError("e2e_report: --github-summary needs $GITHUB_STEP_SUMMARY to name a file.", returncode=2)
        try:
            detected, results = read_results(file, input_format=input_format)
        except E2EInputError as exc:
            raise CommandError(f"e2e_report: {exc}", returncode=2)
        if not results:
            raise CommandError(f"e2e_report: no test results in {file}; an empty run is never a pass.", returncode=2)
        summary = summarize(results, source=file.name, input_format=detected, slowest=slowest)

        if hasattr(self.stdout, "reconfigure"):
            # Test names and messages are any Unicode: a console that cannot show a character gets an escape,
            # not a traceback after half a report.
            self.stdout.reconfigure(errors="backslashreplace")
        if format == "json":
            self.stdout.write(json.dumps(summary_as_dict(summary), indent=2))
        else:
            self.stdout.write(render_markdown(summary) if format == "markdown" else render_text(summary), ending="")
        if github_summary:
            try:
                with open(summary_path, "a", encoding="utf-8") as target:
                    target.write(render_markdown(summary) + "\n")
            except OSError as exc:
                raise CommandError(f"e2e_report: cannot append to {summary_path}: {exc.strerror}", returncode=2)

        totals = summary.totals
        if strict and totals.status != "passed":
            reason = "every test was skipped" if totals.status == "nothing_ran" else "tests failed"
            raise CommandError(
                f"e2e_report: --strict: {reason} ({totals.failed} failed, {totals.errors} errors, "
                f"{totals.skipped} skipped of {totals.total}).",
                returncode=1,
            )
