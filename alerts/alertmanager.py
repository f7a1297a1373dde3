"""Alertmanager API v2 client: the only place that speaks Alertmanager's HTTP shapes (PRODUCT.md §11)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from django.conf import settings


class AlertmanagerError(Exception):
    """A failed Alertmanager call. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class PostableAlert:
    """What we send: one alert for `POST /api/v2/alerts`."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | str  # a str is an Alertmanager timestamp sent back unchanged (resolve)
    ends_at: datetime | str
    generator_url: str = ""

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": _rfc3339(self.starts_at),
            "endsAt": _rfc3339(self.ends_at),
        }
        if self.generator_url:
            payload["generatorURL"] = self.generator_url
        return payload


@dataclass(frozen=True)
class ActiveAlert:
    """What Alertmanager holds: one alert from `GET /api/v2/alerts`."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: str = ""
    ends_at: str = ""
    generator_url: str = ""
    state: str = ""  # active | suppressed | unprocessed
    receivers: tuple[str, ...] = ()
    silenced_by: tuple[str, ...] = ()  # ids of the silences that match: nobody is notified

    @classmethod
    def from_payload(cls, item: Mapping[str, Any]) -> ActiveAlert:
        status = item.get("status") or {}
        return cls(
            fingerprint=str(item["fingerprint"]),
            labels={str(k): str(v) for k, v in (item.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
            starts_at=str(item.get("startsAt") or ""),
            ends_at=str(item.get("endsAt") or ""),
            generator_url=str(item.get("generatorURL") or ""),
            state=str(status.get("state") or ""),
            receivers=tuple(str(r.get("name", "")) for r in item.get("receivers") or ()),
            silenced_by=tuple(str(silence) for silence in status.get("silencedBy") or ()),
        )


# FNV-1a 64, as Prometheus' `model.LabelSet.Fingerprint` hashes a label set.
_FNV_OFFSET, _FNV_PRIME, _LABEL_SEPARATOR = 0xCBF29CE484222325, 0x100000001B3, b"\xff"


def alertmanager_fingerprint(labels: dict[str, str]) -> str:
    """The fingerprint Alertmanager gives these labels (old Alertmanagers send none in the webhook)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + _LABEL_SEPARATOR + labels[name].encode() + _LABEL_SEPARATOR:
            digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def _rfc3339(moment: datetime | str) -> str:
    if isinstance(moment, str):
        return moment
    # Milliseconds, as Alertmanager itself renders times.
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def matcher(name: str, value: str) -> str:
    """An exact-match filter `name="value"`, escaped the way Alertmanager's matcher parser unescapes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{escaped}"'


class AlertmanagerClient:
    """Alertmanager API v2 at `base_url` (default `settings.ALERTMANAGER_URL`), every call with a timeout."""

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None):
        self.base_url = (base_url or settings.ALERTMANAGER_URL).rstrip("/")
        self.timeout = settings.ALERTMANAGER_TIMEOUT if timeout is None else timeout
        if not self.timeout > 0:  # requests would raise a bare ValueError on the first call
            raise AlertmanagerError(
                f"ALERTMANAGER_TIMEOUT must be above 0 seconds, not {self.timeout:g}", retryable=False
            )

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            # No redirects: behind a sign-in proxy a 302 would turn our POST into a GET of a login page
            # that answers 200, and an alert never sent would look accepted.
            response = requests.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} did not answer within {self.timeout:g}s", retryable=True
            ) from exc
        except requests.exceptions.SSLError as exc:
            # A subclass of ConnectionError, but a certificate or protocol mismatch does not heal by retrying.
            raise AlertmanagerError(f"TLS with Alertmanager at {self.base_url} failed: {exc}", retryable=False) from exc
        except requests.ConnectionError as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} is unreachable (connection failed)", retryable=True
            ) from exc
        except requests.RequestException as exc:
            raise AlertmanagerError(
                f"Alertmanager request failed: {type(exc).__name__}: {exc}", retryable=False
            ) from exc
        if not 200 <= response.status_code < 300:
            body = " ".join(response.text.split())[:200]
            # 4xx means our payload or filter is wrong: repeating it won't help; 5xx and 429 may pass.
            retryable = response.status_code >= 500 or response.status_code == 429
            raise AlertmanagerError(
                f"Alertmanager {method} {path} answered {response.status_code}: {body or response.reason}",
                retryable=retryable,
            )
        return response

    def post_alerts(self, alerts: list[PostableAlert]) -> None:
        """Creates or updates alerts (Alertmanager answers 200 with no body, so no fingerprint here)."""
        self._request("POST", "/api/v2/alerts", json=[alert.to_payload() for alert in alerts])

    def post_alert(self, alert: PostableAlert, *, lookup_within: float | None = None) -> ActiveAlert:
        """Posts one alert and returns it as Alertmanager holds it, fingerprint included."""
        self.post_alerts([alert])
        # The POST returns no fingerprint, so we ask for the alert by its exact labels: that also proves
        # Alertmanager holds it. Polled briefly: behind a load balancer the next request may reach a
        # replica that has not received the alert yet.
        deadline = time.monotonic() + (self.timeout if lookup_within is None else lookup_within)
        while (held := self.find_by_labels(alert.labels)) is None:
            if time.monotonic() >= deadline:
                raise AlertmanagerError(
                    f"Alertmanager at {self.base_url} accepted the alert but does not list it", retryable=True
                )
            time.sleep(0.2)
        return held

    def list_alerts(self, *, filters: Mapping[str, str] | None = None) -> list[ActiveAlert]:
        """Alerts Alertmanager holds that are not yet resolved, optionally only exact label matches."""
        params: list[tuple[str, str]] = [("filter", matcher(name, value)) for name, value in (filters or {}).items()]
        params.append(("active", "true"))
        response = self._request("GET", "/api/v2/alerts", params=params)
        try:
            items = response.json()
            return [ActiveAlert.from_payload(item) for item in items]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} returned an unexpected alert list", retryable=False
            ) from exc

    def find_alert(self, fingerprint: str) -> ActiveAlert | None:
        """The unresolved alert with this fingerprint, or None (the API has no lookup by fingerprint)."""
        wanted = fingerprint.strip().lower()
        return next((alert for alert in self.list_alerts() if alert.fingerprint == wanted), None)

    def find_by_labels(self, labels: Mapping[str, str]) -> ActiveAlert | None:
        """The unresolved alert with exactly these labels (the filter alone also matches supersets)."""
        wanted = dict(labels)
        return next((alert for alert in self.list_alerts(filters=wanted) if alert.labels == wanted), None)
