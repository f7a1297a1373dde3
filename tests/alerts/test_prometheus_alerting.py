"""A real Prometheus on the committed scrape.yml sends alerts with `environment` to a real Alertmanager.

Finding 5: rule alerts reached Slack without `environment`. The rules never set it; the Prometheus
`external_labels` of deploy/prometheus/scrape.yml add it to every alert it sends.
"""

from __future__ import annotations

import pytest
import requests
import yaml

from tests.alerts.alertmanager_proc import alertmanager_missing, running_alertmanager
from tests.procs import PROMETHEUS_BIN, ROOT, free_port, ready, running, wait_for

SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "scrape.yml"

pytestmark = [
    pytest.mark.skipif(PROMETHEUS_BIN is None, reason="needs Debian's prometheus (CI installs it)"),
    pytest.mark.skipif(alertmanager_missing(), reason="needs prometheus-alertmanager"),
]


def test_it_labels_every_alert_with_the_environment_of_the_external_labels(tmp_path):
    am_config = "route: {receiver: blackhole, group_wait: 1h}\nreceivers: [{name: blackhole}]\n"
    with running_alertmanager(config_text=am_config, workdir=tmp_path / "am") as am:
        config = yaml.safe_load(SCRAPE_CONFIG.read_text())
        assert config["global"]["external_labels"] == {"environment": "production"}
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [am.url.removeprefix("http://")]}]
        # The committed rules, plus one that fires at once (AOSWatchdog waits a minute).
        probe = {"groups": [{"name": "probe", "rules": [{"alert": "AOSTestProbe", "expr": "vector(1)"}]}]}
        (tmp_path / "probe.yml").write_text(yaml.safe_dump(probe))
        config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "aos_rules.yml"), str(tmp_path / "probe.yml")]
        config["scrape_configs"] = []
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        args = [
            PROMETHEUS_BIN,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'db'}",
        ]
        args += [f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
        # An alert firing before Alertmanager is discovered is dropped, then re-sent after this delay (1m by default).
        args += ["--rules.alert.resend-delay=1s"]
        with running(args, log_path=tmp_path / "prometheus.log") as prometheus:
            wait_for(lambda: ready(f"http://127.0.0.1:{port}/-/ready"), timeout=30, what="Prometheus")

            def probe_alerts() -> list[dict]:
                response = requests.get(
                    f"{am.url}/api/v2/alerts", params={"filter": 'alertname="AOSTestProbe"'}, timeout=5
                )
                return response.json()

            [alert] = wait_for(probe_alerts, timeout=30, what="the alert in Alertmanager", log=prometheus.log_path)
    assert alert["labels"] == {"alertname": "AOSTestProbe", "environment": "production"}
