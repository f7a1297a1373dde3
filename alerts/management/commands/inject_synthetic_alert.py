"""manage.py inject_synthetic_alert --type T [...] | --list | --resolve --fingerprint F (PRODUCT.md §11)"""

from __future__ import annotations

import json
from argparse import RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter
from django.utils import timezone

from alerts.alertmanager import ActiveAlert, AlertmanagerClient, AlertmanagerError, PostableAlert
from alerts.synthetic import ALERT_TYPES, DEFAULT_DURATION, SEVERITIES, SyntheticAlertError, synthetic_alert

EPILOG = """\
modes:
  --type T         inject one synthetic alert (prints its fingerprint); the same labels
                   again while it fires update that alert and notify nobody (warning)
  --list           active alerts: alertname, severity, tenant, fingerprint, state
  --resolve --fingerprint F
                   re-post that injected alert's exact labels with endsAt=now

exit codes:
  0  success
  1  Alertmanager unreachable (network or TLS), timed out, refused or redirected the request;
     ALERTMANAGER_TIMEOUT not above 0; unknown fingerprint, or (--resolve) an alert not injected
  2  bad usage (unknown option or --type, bad --duration/--severity/--name, --resolve without --fingerprint)

Alertmanager: settings.ALERTMANAGER_URL (env ALERTMANAGER_URL), timeout ALERTMANAGER_TIMEOUT seconds.
"""

INJECT_ONLY = ("type", "severity", "tenant", "name", "description", "duration", "dry_run")


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, with the epilog's line breaks kept."""


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Inject, list or resolve synthetic alerts in Alertmanager (API v2) to prove the alert pipeline works."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, epilog=EPILOG, **kwargs)
        parser.formatter_class = HelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", choices=list(ALERT_TYPES), help="Alert type to inject.")
        parser.add_argument("--severity", choices=SEVERITIES, help="severity label (default warning).")
        parser.add_argument("--tenant", help="tenant_id label (default synthetic).")
        parser.add_argument("--name", help="Alertname for --type custom (default AOSCustomAlert).")
        parser.add_argument("--description", help="description annotation (default: per type).")
        parser.add_argument(
            "--duration", help=f"How long the alert fires: 30s, 5m, 1h30m (default {DEFAULT_DURATION})."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the payload; contact nothing.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output on stdout.")
        parser.add_argument("--list", action="store_true", help="List active alerts.")
        parser.add_argument("--resolve", action="store_true", help="Resolve the alert given by --fingerprint.")
        parser.add_argument("--fingerprint", help="Alertmanager fingerprint of the alert to --resolve.")

    def handle(self, *args: Any, **options: Any) -> None:
        modes = [mode for mode in ("type", "list", "resolve") if options[mode]]
        if options["fingerprint"] and not options["resolve"]:
            raise usage_error("--fingerprint is only used with --resolve")
        if len(modes) != 1:
            raise usage_error("choose exactly one of --type, --list or --resolve (see --help)")
        if not options["type"]:
            given = [f"--{name.replace('_', '-')}" for name in INJECT_ONLY if options[name] not in (None, False)]
            if given:
                raise usage_error(f"{', '.join(given)} only apply when injecting with --type")
        if options["resolve"] and not (options["fingerprint"] or "").strip():
            raise usage_error("--resolve needs --fingerprint F (see --list for fingerprints)")

        try:
            if options["list"]:
                self.list_alerts(as_json=options["json"])
            elif options["resolve"]:
                self.resolve(fingerprint=options["fingerprint"].strip(), as_json=options["json"])
            else:
                self.inject(options)
        except AlertmanagerError as exc:
            raise CommandError(f"inject_synthetic_alert: {exc}", returncode=1)

    def inject(self, options: dict[str, Any]) -> None:
        given = {
            key: options[key]
            for key in ("severity", "tenant", "name", "description", "duration")
            if options[key] is not None
        }
        try:
            alert = synthetic_alert(alert_type=options["type"], now=timezone.now(), **given)
        except SyntheticAlertError as exc:
            raise usage_error(str(exc))
        if options["dry_run"]:
            payload = [alert.to_payload()]
            self.stdout.write(
                json.dumps({"dry_run": True, "alerts": payload} if options["json"] else payload, indent=2)
            )
            return
        client = AlertmanagerClient()
        stored = client.post_alert(alert)
        payload = alert.to_payload()
        # Same labels, same fingerprint: Alertmanager merged our alert into one still firing (keeping
        # its earlier startsAt) and, having notified about it already, sends nothing new.
        already_active = stored.starts_at != payload["startsAt"]
        if already_active:
            self.stderr.write(
                f"Warning: {alert.labels['alertname']} with these labels has been active since {stored.starts_at}; "
                "Alertmanager merged this injection into it and sends no new notification. Resolve it first "
                f"(--resolve --fingerprint {stored.fingerprint}) or inject with another --tenant."
            )
        if stored.silenced_by:
            # Alertmanager holds the alert (it shows in --list as suppressed) but sends it nowhere.
            self.stderr.write(
                f"Warning: silenced by {', '.join(stored.silenced_by)}: Alertmanager holds this alert but "
                "notifies nobody (no Slack message, nothing reaches the AOS webhook) until the silence "
                "expires (`amtool silence query`)."
            )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "fingerprint": stored.fingerprint,
                        "alertmanager_url": client.base_url,
                        "already_active": already_active,
                        "silenced_by": list(stored.silenced_by),
                        **payload,
                    }
                )
            )
            return
        labels = alert.labels
        verb = "Injected (silenced: nobody is notified)" if stored.silenced_by else "Injected"
        self.stdout.write(
            f"{verb} {labels['alertname']} (severity={labels['severity']}, tenant_id={labels['tenant_id']}) "
            f"into {client.base_url} until {payload['endsAt']}; fingerprint {stored.fingerprint}"
        )

    def list_alerts(self, *, as_json: bool) -> None:
        alerts = AlertmanagerClient().list_alerts()
        rows = [_row(alert) for alert in alerts]
        if as_json:
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("No active alerts.")
            return
        columns = list(rows[0])
        widths = {column: max(len(column), *(len(row[column]) for row in rows)) for column in columns}
        self.stdout.write("  ".join(column.upper().ljust(widths[column]) for column in columns).rstrip())
        for row in rows:
            self.stdout.write("  ".join(row[column].ljust(widths[column]) for column in columns).rstrip())

    def resolve(self, *, fingerprint: str, as_json: bool) -> None:
        client = AlertmanagerClient()
        alert = client.find_alert(fingerprint)
        if alert is None:
            raise CommandError(
                f"inject_synthetic_alert: no active alert with fingerprint {fingerprint!r} in {client.base_url}",
                returncode=1,
            )
        if alert.labels.get("injected") != "true":
            # A rule's alert would be re-sent by Prometheus within minutes: resolving it here only makes
            # Slack show a false RESOLVED, then FIRING again. Such alerts end when their condition does.
            raise CommandError(
                f"inject_synthetic_alert: alert {alert.fingerprint} ({alert.labels.get('alertname', '?')}) "
                'was not injected (no injected="true" label); only synthetic alerts can be resolved here',
                returncode=1,
            )
        # Same labels (so the same fingerprint) and same startsAt; only endsAt moves to now.
        resolved = PostableAlert(
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=timezone.now(),
            generator_url=alert.generator_url,
        )
        client.post_alerts([resolved])
        if as_json:
            self.stdout.write(json.dumps({"resolved": alert.fingerprint, **resolved.to_payload()}))
            return
        self.stdout.write(
            f"Resolved {alert.labels.get('alertname', '?')} (fingerprint {alert.fingerprint}) in {client.base_url}"
        )


def _row(alert: ActiveAlert) -> dict[str, str]:
    return {
        "alertname": alert.labels.get("alertname", ""),
        "severity": alert.labels.get("severity", ""),
        "tenant": alert.labels.get("tenant_id", ""),
        "fingerprint": alert.fingerprint,
        "state": alert.state,
    }
