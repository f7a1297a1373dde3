"""deploy/k8s: every manifest against the Kubernetes API schemas, then what schemas cannot see.

kubernetes-validate ships the OpenAPI-derived JSON schemas of each Kubernetes release, so it
validates offline (strict: unknown fields are errors). No kubectl/kustomize binary or cluster
here: kustomization.yaml is checked by reading it.
"""

from __future__ import annotations

import copy
import json

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deployfiles import K8S, compose_raw, dockerfile, k8s_documents, k8s_objects, pod_specs

KUBERNETES_VERSION = "1.33.0"  # the oldest release we support; timeZone on CronJobs needs 1.27+
IMAGE_REPOSITORY = "registry.example.com/aos-control-plane"


def _containers() -> dict[str, dict]:
    return {f"{where}/{c['name']}": c for where, spec in pod_specs().items() for c in spec["containers"]}


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.utils.latest_version()])
def test_it_validates_every_manifest_against_the_kubernetes_schemas(version):
    documents = k8s_documents()
    assert len(documents) >= 10
    for path, document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_it_is_checked_strictly():
    """A misspelt field is an error, not silently ignored."""
    deployment = copy.deepcopy(k8s_objects("Deployment")["aos-web"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_it_lists_every_manifest_in_the_kustomization():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["images"] == [{"name": IMAGE_REPOSITORY, "newTag": kustomization["images"][0]["newTag"]}]


def test_it_pins_one_image_tag_everywhere_including_the_cronjob():
    tag = yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"][0]["newTag"]
    assert tag and tag != "latest"
    for name, container in _containers().items():
        repository, _, image_tag = container["image"].rpartition(":")
        assert repository == IMAGE_REPOSITORY, name
        assert image_tag == tag, f"{name} runs {container['image']}, not the pinned {tag}"
    cron = k8s_objects("CronJob")["aos-prune-traces"]
    image = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert not image.endswith(":latest") and image.count(":") == 1


def test_it_probes_the_web_on_ready_and_health():
    web = k8s_objects("Deployment")["aos-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert web["livenessProbe"]["httpGet"]["path"] == "/health"
    allowed = k8s_objects("ConfigMap")["aos-config"]["data"]["ALLOWED_HOSTS"].split(",")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        headers = {h["name"]: h["value"] for h in web[probe]["httpGet"].get("httpHeaders", [])}
        assert headers.get("Host") in allowed, f"{probe}: the pod IP as Host would be a 400 (ALLOWED_HOSTS)"
    assert web["args"] == json.loads(dockerfile().cmd)
    worker = k8s_objects("Deployment")["aos-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["livenessProbe"]["exec"]["command"][-1].startswith("celery -A aosproject inspect ping")


def test_it_gives_every_container_resources_and_a_locked_down_context():
    user = next(i["value"] for i in reversed(dockerfile().structure) if i["instruction"] == "USER")
    uid = int(user.split(":")[0])
    for where, spec in pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == uid, f"{where}: the image's USER is {uid}"
        assert spec["automountServiceAccountToken"] is False, where
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in spec["containers"]:
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"] and resources["limits"]["memory"]
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: a read-only root needs a writable /tmp"


def test_it_autoscales_the_web_deployment():
    hpa = k8s_objects("HorizontalPodAutoscaler")["aos-web"]["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "aos-web")
    assert "aos-web" in k8s_objects("Deployment")
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in k8s_objects("HorizontalPodAutoscaler").values()}
    assert "aos-beat" not in targets


def test_it_runs_exactly_one_beat():
    beat = k8s_objects("Deployment")["aos-beat"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"]["type"] == "Recreate", "a rolling update would run two beats for a while"
    assert beat["template"]["spec"]["containers"][0]["args"][:4] == ["celery", "-A", "aosproject", "beat"]


def test_it_runs_migrations_as_a_job_and_retention_as_a_cronjob():
    job = k8s_objects("Job")["aos-migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["restartPolicy"] == "Never"
    cron = k8s_objects("CronJob")["aos-prune-traces"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][:3] == [
        "python",
        "manage.py",
        "prune_traces",
    ]


def test_it_keeps_a_web_pod_through_disruptions():
    pdb = k8s_objects("PodDisruptionBudget")["aos-web"]["spec"]
    selector = pdb["selector"]["matchLabels"]
    deployments = k8s_objects("Deployment")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selected = all(labels.get(k) == v for k, v in selector.items())
        assert selected == (name == "aos-web"), f"the PDB {'misses' if name == 'aos-web' else 'selects'} {name}"
    assert pdb["minAvailable"] < k8s_objects("HorizontalPodAutoscaler")["aos-web"]["spec"]["minReplicas"]


def test_it_routes_the_services_to_their_pods():
    deployments = k8s_objects("Deployment")
    for name, service in k8s_objects("Service").items():
        selector = service["spec"]["selector"]
        matched = [
            d
            for d, dep in deployments.items()
            if all(dep["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
        ]
        assert len(matched) == 1, f"Service {name} selects {matched}"
        ports = {
            p["name"] for c in deployments[matched[0]]["spec"]["template"]["spec"]["containers"] for p in c["ports"]
        }
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_it_defines_every_secret_and_configmap_it_references():
    secrets, config_maps = k8s_objects("Secret"), k8s_objects("ConfigMap")
    for where, spec in pod_specs().items():
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, where
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, where
    # No secret in git: the committed Secret is a form to fill in.
    assert all(value == "" for value in secrets["aos-secrets"]["stringData"].values())


def test_it_sets_the_same_settings_as_the_compose_file():
    data = k8s_objects("ConfigMap")["aos-config"]["data"]
    secret = k8s_objects("Secret")["aos-secrets"]["stringData"]
    assert not set(data) & set(secret), "a key in both the ConfigMap and the Secret"
    assert set(data) | set(secret) == set(compose_raw()["x-aos-env"])
    assert data["DEBUG"] == "0"
    assert {"SECRET_KEY", "AOS_SECRETS_KEYS", "DATABASE_URL", "REDIS_URL", "METRICS_BEARER_TOKEN"} <= set(secret)
    compose_worker = compose_raw()["services"]["worker"]["environment"]
    worker = k8s_objects("Deployment")["aos-worker"]["spec"]["template"]["spec"]["containers"][0]
    extra = {e["name"]: e["value"] for e in worker["env"]}
    shared = compose_raw()["x-aos-env"]
    assert extra == {k: v for k, v in compose_worker.items() if k not in shared}
