"""deploy/docker-compose.yml, checked as `docker compose config` would, without Docker.

Neither a Compose v2 plugin nor a Docker daemon is on this machine (Debian 12 ships only the
end-of-life Python docker-compose 1.29): the file is interpolated like compose does
(tests/deploy/deployfiles.py), parsed by compose-spec (the Compose Specification's Rust parser),
then checked for what that parser leaves open: references between services, volumes, secrets,
files, the settings' environment, the Prometheus and Alertmanager configuration it mounts.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest
import yaml
from compose_spec import PyCompose

from tests.deploy.deployfiles import (
    COMPOSE_ENV_EXAMPLE,
    COMPOSE_FILE,
    DEPLOY,
    ROOT,
    InterpolationError,
    compose_config,
    compose_raw,
    dockerfile,
    example_env,
    required_variables,
    settings_variables,
)

PRODUCTION_SHAPE = {"web", "worker", "beat", "migrate", "postgres", "redis", "alertmanager", "prometheus", "grafana"}
APP_SERVICES = {"web", "worker", "beat", "migrate"}


@pytest.fixture(scope="module")
def config() -> dict:
    return compose_config()


def _parse(config: dict) -> PyCompose:
    # Through YAML so that its errors name the path (services.web.healthcheck.interval).
    compose = PyCompose.from_yaml(yaml.safe_dump(config, sort_keys=False))
    compose.validate()
    return compose


def test_it_is_valid_for_the_compose_specification(config):
    compose = _parse(config)
    assert set(compose.service_names()) >= PRODUCTION_SHAPE


def test_it_is_checked_by_a_parser_that_refuses_mistakes(config):
    """The parser is strict: a misspelt key, a bad duration, an unknown condition are refused."""
    broken = copy.deepcopy(config)
    broken["services"]["web"]["healthchek"] = broken["services"]["web"].pop("healthcheck")
    with pytest.raises(ValueError, match="healthchek"):
        _parse(broken)
    broken = copy.deepcopy(config)
    broken["services"]["web"]["healthcheck"]["interval"] = "often"
    with pytest.raises(ValueError, match="interval"):
        _parse(broken)
    broken = copy.deepcopy(config)
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    with pytest.raises(ValueError, match="condition"):
        _parse(broken)


def test_it_refuses_to_start_without_the_required_secrets():
    required = required_variables(json.dumps(compose_raw()))  # values only, not the comments
    assert {"SECRET_KEY", "AOS_SECRETS_KEYS", "POSTGRES_PASSWORD", "METRICS_BEARER_TOKEN"} <= required
    example = COMPOSE_ENV_EXAMPLE.read_text()
    for name in required:
        assert f"\n{name}=\n" in f"\n{example}", (
            f"{name} is required but not listed (empty) in {COMPOSE_ENV_EXAMPLE.name}"
        )
    env = example_env()
    del env["SECRET_KEY"]
    with pytest.raises(InterpolationError, match="SECRET_KEY"):
        compose_config(env)


def test_it_gives_every_service_an_image_and_builds_the_app_from_the_dockerfile(config):
    for name, service in config["services"].items():
        assert service.get("image"), f"{name} has no image"
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: pin the tag ({image})"
    for name in APP_SERVICES:
        build = config["services"][name]["build"]
        assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_it_runs_the_web_with_the_images_gunicorn_command(config):
    web = config["services"]["web"]
    assert "command" not in web, "the web runs the Dockerfile's CMD"
    assert json.loads(dockerfile().cmd) == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi"]
    assert config["services"]["worker"]["command"][:4] == ["celery", "-A", "aosproject", "worker"]
    assert config["services"]["beat"]["command"][:4] == ["celery", "-A", "aosproject", "beat"]
    assert config["services"]["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_it_orders_start_up_with_healthchecks(config):
    services = config["services"]
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            condition = dependency["condition"]
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check and not check.get("disable"), f"{name} waits for {target} to be healthy; it has no check"
            if condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-shot; it must not restart"
    web = services["web"]["depends_on"]
    assert web["migrate"]["condition"] == "service_completed_successfully"
    assert web["postgres"]["condition"] == web["redis"]["condition"] == "service_healthy"
    assert "/ready" in " ".join(services["web"]["healthcheck"]["test"])
    assert (
        services["alertmanager"]["depends_on"]["alertmanager-config"]["condition"] == "service_completed_successfully"
    )


def test_it_runs_exactly_one_beat(config):
    beat = config["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1 and beat.get("scale", 1) == 1


def test_it_declares_every_volume_and_mounts_files_that_exist(config):
    declared = set(config.get("volumes", {}))
    used = set()
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared, f"{name} uses volume {source}, not declared"
                used.add(source)
        for secret in service.get("secrets", []):
            assert secret["source"] in config["secrets"], f"{name} uses secret {secret['source']}, not declared"
    assert used == declared, f"declared but unused: {declared - used}"
    for secret in config["secrets"].values():
        assert secret.get("environment") or secret.get("file")


def test_it_sets_the_settings_the_application_needs(config):
    known = settings_variables()
    for name in APP_SERVICES:
        environment = config["services"][name]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name}: no setting reads {sorted(unknown)} (a typo?)"
        assert environment["DEBUG"] == "0"
        for required in ("SECRET_KEY", "AOS_SECRETS_KEYS", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
            assert environment.get(required), f"{name}: {required} is not set"
        assert (
            environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
        )
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert "web" in environment["ALLOWED_HOSTS"].split(","), "Alertmanager posts to http://web:8000"
    worker = config["services"]["worker"]["environment"]
    assert worker["AOS_WORKER_METRICS_PORT"] == "9808" and worker["AOS_WORKER_METRICS_ADDR"] == "0.0.0.0"
    # The token Prometheus sends is the web's METRICS_BEARER_TOKEN; Alertmanager's is ALERTS_WEBHOOK_TOKEN.
    secrets = config["secrets"]
    assert secrets["aos_metrics_token"]["environment"] == "METRICS_BEARER_TOKEN"
    assert secrets["aos_webhook_token"]["environment"] == "ALERTS_WEBHOOK_TOKEN"


def test_it_keeps_redis_persistent_for_the_broker(config):
    command = config["services"]["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2]))
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction", "an evicting broker drops queued tasks"
    assert any(v.endswith(":/data") for v in config["services"]["redis"]["volumes"])


def test_it_scrapes_the_compose_services_with_the_production_scrape_config(config, tmp_path):
    """deploy/compose/prometheus.yml = deploy/prometheus/scrape.yml with other targets only."""
    compose_prom = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    production = yaml.safe_load((DEPLOY / "prometheus" / "scrape.yml").read_text())
    targets = {job["job_name"]: job.pop("static_configs") for job in compose_prom["scrape_configs"]}
    for job in production["scrape_configs"]:
        job.pop("static_configs")
    assert compose_prom == production, "the two files drifted apart beyond their targets"
    hosts = {job: [t.split(":")[0] for c in configs for t in c["targets"]] for job, configs in targets.items()}
    assert hosts == {"aos-web": ["web"], "aos-worker": ["worker"], "aos-pushgateway": ["pushgateway"]}
    assert set(hosts["aos-web"] + hosts["aos-worker"] + hosts["aos-pushgateway"]) <= set(config["services"])
    # Mounted where the file says: the rules next to it, the token where credentials_file points.
    prometheus = config["services"]["prometheus"]
    mounts = dict(v.split(":")[:2][::-1] for v in prometheus["volumes"] if v.startswith("."))
    assert mounts["/etc/prometheus/prometheus.yml"] == "./compose/prometheus.yml"
    assert mounts["/etc/prometheus/aos_rules.yml"] == "./prometheus/aos_rules.yml"
    token_path = compose_prom["scrape_configs"][0]["authorization"]["credentials_file"]
    assert token_path in {s["target"] for s in prometheus["secrets"]}
    # promtool accepts it (rules included), with the token file where the container has it.
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (.ci/run installs it)")
    token = tmp_path / "aos_metrics_token"
    token.write_text("t")
    compose_prom = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    compose_prom["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(compose_prom))
    shutil.copy(DEPLOY / "prometheus" / "aos_rules.yml", tmp_path / "aos_rules.yml")
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rules found" in done.stdout or "rules found" in done.stdout


def test_it_renders_the_alertmanager_config_as_its_header_documents(config, tmp_path):
    """The alertmanager-config one-shot's own script, run here with its output directory swapped."""
    service = config["services"]["alertmanager-config"]
    assert service["command"][:2] == ["sh", "-ec"]
    script = service["command"][2]
    assert "envsubst '$AOS_BASE_URL $DEADMANS_SWITCH_URL' < deploy/alertmanager/alertmanager.yml" in script
    env = {"PATH": "/usr/bin:/bin", **service["environment"]}
    if shutil.which("envsubst") is None:
        pytest.skip("envsubst is not installed (.ci/run installs gettext-base)")
    subprocess.run(["sh", "-ec", script.replace("/rendered", str(tmp_path))], cwd=ROOT, env=env, check=True)
    rendered = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    urls = [hook["url"] for receiver in rendered["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert "http://web:8000/api/v1/alerts/webhook" in urls
    assert env["DEADMANS_SWITCH_URL"] in urls
    # Alertmanager reads that file, its template and its two secret files where the config says.
    alertmanager = config["services"]["alertmanager"]
    assert "--config.file=/etc/alertmanager/rendered/alertmanager.yml" in alertmanager["command"]
    assert "alertmanager-config:/etc/alertmanager/rendered:ro" in alertmanager["volumes"]
    assert rendered["templates"] == ["/etc/alertmanager/templates/*.tmpl"]
    assert "./alertmanager/aos.tmpl:/etc/alertmanager/templates/aos.tmpl:ro" in alertmanager["volumes"]
    secret_files = {s["target"] for s in alertmanager["secrets"]}
    text = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    for path in ("/etc/alertmanager/secrets/slack_webhook_url", "/etc/alertmanager/secrets/aos_webhook_token"):
        assert path in text and path in secret_files
    amtool = shutil.which("amtool")
    if amtool:
        done = subprocess.run(
            [amtool, "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True
        )
        assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_it_provisions_grafana_with_the_dashboard(config):
    grafana = config["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith(".")}
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "aos.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    dashboard_mount = next(target for target in mounts if target.startswith(dashboards_dir + "/"))
    assert mounts[dashboard_mount] == "./grafana/aos-control-plane.json"
    dashboard = json.loads((DEPLOY / "grafana" / "aos-control-plane.json").read_text())
    assert dashboard["uid"] == "aos-control-plane"
    datasources = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    source = datasources["datasources"][0]
    variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
    assert source["type"] == variable["query"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and "prometheus" in config["services"]
    assert mounts["/etc/grafana/provisioning/dashboards"] == "./grafana/provisioning/dashboards"
    assert mounts["/etc/grafana/provisioning/datasources"] == "./grafana/provisioning/datasources"


def test_it_publishes_ports_on_loopback_only(config):
    for name, service in config["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_it_keeps_the_application_containers_locked_down(config):
    raw = compose_raw()
    for name in APP_SERVICES:
        service = config["services"][name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "/tmp" in service["tmpfs"]
    assert raw["x-aos-image"]["read_only"] is True
