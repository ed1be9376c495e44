"""The Kubernetes manifests (deploy/kubernetes): each overlay renders, and what it renders keeps
the properties that matter for security and availability. scripts/check-deploy validates the
same output against the API's schemas and checkov's policies; this suite asserts Hawiya's own
rules, cheaply, in the normal test run. kubectl is a required tool here (it renders Kustomize).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = ("demo", "production")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
APP_ROLES = {"web", "worker", "scheduler", "migrate", "audit-verify"}
# Mount paths inside the containers: an emptyDir at /tmp, the shared media volume.
TMP = "/tmp"  # noqa: S108
MEDIA = "/app/var/media"


@functools.cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not installed: it renders the Kustomize overlays under deploy/kubernetes "
            "(a required tool for this test, locally and in CI)."
        )
    result = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "kubernetes" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(overlay: str, *kinds: str) -> list[dict[str, Any]]:
    return [obj for obj in rendered(overlay) if obj["kind"] in kinds]


def named(overlay: str, kind: str, name: str) -> dict[str, Any]:
    matches = [obj for obj in of_kind(overlay, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"{overlay}: expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def app_workloads(overlay: str) -> list[dict[str, Any]]:
    return [
        obj
        for obj in of_kind(overlay, *WORKLOADS)
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "hawiya"
    ]


def role_of(workload: dict[str, Any]) -> str:
    return str(workload["metadata"]["labels"]["app.kubernetes.io/component"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_in_the_manifests(overlay: str) -> None:
    for secret in of_kind(overlay, "Secret"):
        message = f"{overlay}: Secret {secret['metadata']['name']} carries values (docs/deploy.md)"
        assert not secret.get("data"), message
        assert not secret.get("stringData"), message
    for config in of_kind(overlay, "ConfigMap"):
        for key in config.get("data", {}):
            assert not any(word in key for word in ("SECRET", "TOKEN", "PASSWORD", "API_KEY")), (
                f"{overlay}: {key} looks like a secret in ConfigMap {config['metadata']['name']}"
            )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_locked_down(overlay: str) -> None:
    workloads = of_kind(overlay, *WORKLOADS)
    assert workloads
    for workload in workloads:
        spec = pod_spec(workload)
        where = f"{overlay}: {workload['kind']} {workload['metadata']['name']}"
        assert spec.get("automountServiceAccountToken") is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in containers(workload):
            at = f"{where}, container {container['name']}"
            context = container.get("securityContext", {})
            assert context.get("runAsNonRoot") is True, at
            assert context.get("runAsUser", spec["securityContext"].get("runAsUser", 0)) >= 10000, at
            assert context.get("readOnlyRootFilesystem") is True, at
            assert context.get("allowPrivilegeEscalation") is False, at
            assert context.get("capabilities", {}).get("drop") == ["ALL"], at
            limits = container.get("resources", {}).get("limits", {})
            requests = container.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= limits.keys(), f"{at}: limits {limits}"
            assert {"cpu", "memory"} <= requests.keys(), f"{at}: requests {requests}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_application_runs_as_uid_10001_with_a_writable_tmp_only(overlay: str) -> None:
    for workload in app_workloads(overlay):
        spec = pod_spec(workload)
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in containers(workload):
            assert container["securityContext"]["runAsUser"] == 10001
            mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts[TMP]], f"{overlay}: /tmp of {container['name']}"
            # Anything else writable is the shared media volume, nothing more.
            assert set(mounts) <= {TMP, MEDIA}, f"{overlay}: {container['name']} mounts {mounts}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_and_scheduler_replicas(overlay: str) -> None:
    web = named(overlay, "Deployment", "hawiya-web")
    (container,) = pod_spec(web)["containers"]
    assert container["args"] == ["web"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert pod_spec(web)["topologySpreadConstraints"]
    assert (
        named(overlay, "HorizontalPodAutoscaler", "hawiya-web")["spec"]["scaleTargetRef"]["name"]
        == "hawiya-web"
    )
    assert named(overlay, "PodDisruptionBudget", "hawiya-web")

    scheduler = named(overlay, "Deployment", "hawiya-scheduler")
    assert [c["args"] for c in pod_spec(scheduler)["containers"]] == [["scheduler"]]
    assert scheduler["spec"]["replicas"] > 1
    worker = named(overlay, "Deployment", "hawiya-worker")
    assert [c["args"] for c in pod_spec(worker)["containers"]] == [["worker"]]
    migrate = named(overlay, "Job", "hawiya-migrate")
    assert ["migrate"] in [c.get("args") for c in containers(migrate)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configuration_is_checked_before_migrating(overlay: str) -> None:
    migrate = named(overlay, "Job", "hawiya-migrate")
    (check, *_) = pod_spec(migrate)["initContainers"]
    assert check["args"] == ["check"]
    steps = [container.get("args") for container in containers(migrate)]
    assert ["migrate"] in steps[1:]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_image_for_every_role(overlay: str) -> None:
    workloads = app_workloads(overlay)
    assert {role_of(workload) for workload in workloads} == APP_ROLES
    images = {container["image"] for workload in workloads for container in containers(workload)}
    assert len(images) == 1, f"{overlay}: several images {images}"
    if overlay == "production":
        (image,) = images
        assert "@sha256:" in image, f"production pins the image by digest, not {image}"
        assert all(
            container["imagePullPolicy"] == "Always"
            for workload in workloads
            for container in containers(workload)
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    for workload in app_workloads(overlay):
        for container in containers(workload):
            sources = [
                source["secretRef"]["name"]
                for source in container.get("envFrom", [])
                if "secretRef" in source
            ]
            assert sources == ["hawiya-secrets"], f"{overlay}: {container['name']} envFrom {sources}"
            for variable in container.get("env", []):
                value = variable.get("value", "")
                # Composed from other variables, e.g. postgres://$(DATABASE_USER):$(DATABASE_PASSWORD)@...
                if "://" in value and "@" in value:
                    assert ":$(" in value, f"{overlay}: {variable['name']} holds a credential"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_never_routes_metrics_to_the_pods(overlay: str) -> None:
    web_services = {
        service["metadata"]["name"]
        for service in of_kind(overlay, "Service")
        if service["spec"].get("selector", {}).get("app.kubernetes.io/name") == "hawiya"
    }
    (ingress,) = of_kind(overlay, "Ingress")
    assert ingress["spec"]["tls"], f"{overlay}: the Ingress has no TLS"
    routes = [
        (path["path"], path["pathType"], path["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert ("/", "Prefix", "hawiya-web") in routes
    # The controller picks the longest matching prefix: /metrics must have its own path, and it
    # must lead to no pod of ours.
    metrics = [backend for path, kind, backend in routes if path == "/metrics" and kind == "Prefix"]
    assert metrics, f"{overlay}: /metrics falls through to /"
    for backend in metrics:
        assert backend not in web_services
        (service,) = [s for s in of_kind(overlay, "Service") if s["metadata"]["name"] == backend]
        selector = service["spec"]["selector"]
        assert not any(
            selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
            for workload in of_kind(overlay, "Deployment", "StatefulSet")
        ), f"{overlay}: {backend} selects pods"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default(overlay: str) -> None:
    policies = {policy["metadata"]["name"]: policy["spec"] for policy in of_kind(overlay, "NetworkPolicy")}
    default_deny = [
        name
        for name, spec in policies.items()
        if spec["podSelector"] == {}
        and set(spec["policyTypes"]) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    ]
    assert default_deny, f"{overlay}: no default-deny NetworkPolicy"
    # Only the web pods admit traffic from outside the namespace's own pods, and only on 8000.
    web_ingress = policies["web-from-ingress-controller"]
    assert web_ingress["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert [port["port"] for rule in web_ingress["ingress"] for port in rule["ports"]] == [8000]


def test_production_monitors_and_alerts() -> None:
    (monitor,) = of_kind("production", "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"] == {
        "name": "hawiya-secrets",
        "key": "HAWIYA_METRICS_TOKEN",
    }
    (rule,) = of_kind("production", "PrometheusRule")
    expressions = " ".join(str(r["expr"]) for group in rule["spec"]["groups"] for r in group["rules"])
    for metric in (
        "hawiya_task_oldest_age_seconds",
        "hawiya_http_responses_total",
        "hawiya_sms_failures_total",
        "hawiya_sms_outbox_lag_seconds",
        "hawiya_audit_verify_ok",
        "hawiya_audit_verify_last_run_timestamp_seconds",
    ):
        assert metric in expressions, f"no alert reads {metric}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_database_is_replicated_behind_transaction_poolers(overlay: str) -> None:
    (cluster,) = of_kind(overlay, "Cluster")
    assert cluster["spec"]["instances"] >= (3 if overlay == "production" else 2)
    poolers = {pooler["spec"]["type"]: pooler for pooler in of_kind(overlay, "Pooler")}
    assert set(poolers) == {"rw", "ro"}
    for pooler in poolers.values():
        assert pooler["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    web = named(overlay, "Deployment", "hawiya-web")
    (container,) = pod_spec(web)["containers"]
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    assert f"@{poolers['rw']['metadata']['name']}:" in env["DATABASE_URL"]
    assert f"@{poolers['ro']['metadata']['name']}:" in env["DATABASE_REPLICA_URLS"]
    (config,) = of_kind(overlay, "ConfigMap")
    assert config["data"]["DATABASE_POOLER"] == "transaction"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gunicorn_keeps_idle_connections_longer_than_ingress_nginx(overlay: str) -> None:
    """ingress-nginx keeps idle upstream connections 60 s (upstream-keepalive-timeout): gunicorn
    must not close one first, or a POST sent on it is a 502 (docs/deploy.md)."""
    (config,) = of_kind(overlay, "ConfigMap")
    assert int(config["data"]["WEB_KEEPALIVE"]) > 60


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_audit_log_is_verified_every_day(overlay: str) -> None:
    # The alerts expect a verification at least every 26 hours (HawiyaAuditVerificationStale).
    verify = named(overlay, "CronJob", "hawiya-audit-verify")
    minute, hour, day, month, weekday = verify["spec"]["schedule"].split()
    assert (day, month, weekday) == ("*", "*", "*"), "once a day"
    assert minute.isdigit()
    assert hour.isdigit()
    assert verify["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = pod_spec(verify)["containers"]
    assert container["args"] == ["audit-verify"]
    assert "hawiya-db-pooler-rw" in {v["name"]: v.get("value", "") for v in container["env"]}["DATABASE_URL"]
    expected_pull = "IfNotPresent" if overlay == "demo" else "Always"
    assert container["imagePullPolicy"] == expected_pull


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_without_the_applications_statement_limit(overlay: str) -> None:
    # Migration core 0001 gives the role a 60 s limit; the Job's startup option lifts it for
    # migrations (and the demo's seeding, which runs in the same Job).
    migrate = named(overlay, "Job", "hawiya-migrate")
    for container in pod_spec(migrate)["containers"]:
        env = {variable["name"]: variable.get("value") for variable in container["env"]}
        assert env.get("PGOPTIONS") == "-c statement_timeout=0", container["name"]
        # Straight to the primary: server-side cursors on (the ConfigMap's pooler setting off).
        assert "@hawiya-db-rw:" in env["DATABASE_URL"], container["name"]
        assert env.get("DATABASE_POOLER") == "", container["name"]
