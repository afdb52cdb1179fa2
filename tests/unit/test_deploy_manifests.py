"""The Kubernetes manifests hold together: valid against the API schemas, and every name they
use (settings, secret keys, probe routes, commands, labels, ports) exists where it points."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import msgspec
import pytest
import yaml

from services.settings import Settings
from tests.unit.cli_commands import problems_with

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
README = ROOT / "deploy" / "README.md"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# The oldest Kubernetes the manifests are written for (the Makefile's KUBERNETES_VERSION).
KUBERNETES_VERSION = "1.29.0"
# Names read by Settings.from_environ besides BALKORT_<FIELD>.
CONVENTIONAL_NAMES = frozenset({"DATABASE_URL", "REDIS_URL", "FORWARDED_ALLOW_IPS"})
SECRETS = frozenset({"DATABASE_URL", "REDIS_URL", "BALKORT_JWT_SECRET", "BALKORT_MASTER_KEY"})
POD_KINDS = {"Deployment": ("spec", "template", "spec"), "Job": ("spec", "template", "spec")}

Resource = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(MANIFESTS.rglob("*.yaml"))


def resources() -> list[tuple[Path, Resource]]:
    return [
        (path, document)
        for path in manifest_files()
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def named(path: Path, resource: Resource) -> str:
    return f"{path.relative_to(ROOT)}: {resource['kind']}/{resource['metadata']['name']}"


def pod_specs() -> Iterator[tuple[str, Resource, Resource]]:
    for path, resource in resources():
        if resource["kind"] in POD_KINDS:
            spec = resource
            for key in POD_KINDS[resource["kind"]]:
                spec = spec[key]
            yield named(path, resource), resource, spec


def containers() -> Iterator[tuple[str, Resource, Resource]]:
    for where, _, spec in pod_specs():
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield f"{where} container {container['name']}", spec, container


def settings_names() -> set[str]:
    return {
        f"BALKORT_{field.name.upper()}" for field in msgspec.structs.fields(Settings)
    } | CONVENTIONAL_NAMES


def secret_keys_the_readme_creates() -> set[str]:
    """Keys of `kubectl create secret ... --from-literal=KEY=` and of `kubectl patch secret`'s
    `stringData` in deploy/README.md."""
    text = README.read_text(encoding="utf-8")
    created = re.findall(r"--from-(?:literal|file)=([A-Z_]+)=", text)
    patched = re.findall(r'stringData\\?": \{\\?"([A-Z_]+)\\?"', text)
    return set(created) | set(patched)


def test_there_are_manifests_for_every_process_and_job() -> None:
    kinds = {(r["kind"], r["metadata"]["name"]) for _, r in resources()}
    assert {("Deployment", "balkort-api"), ("Service", "balkort-api"), ("Ingress", "balkort")} <= kinds
    assert {("HorizontalPodAutoscaler", "balkort-api"), ("PodDisruptionBudget", "balkort-api")} <= kinds
    assert ("PodDisruptionBudget", "balkort-projector") in kinds
    jobs = {
        " ".join(c["command"][1:3])
        for _, _, c in containers()
        if c["name"] in {"migrate", "rebuild", "onboard"}
    }
    assert jobs == {"migrate", "projections rebuild", "tenants create"}


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(MANIFESTS)))
def test_every_manifest_is_valid_against_the_kubernetes_api_schemas(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document:
            # Strict: a misspelt field is an error here, not something the cluster ignores.
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_environment_variable_a_manifest_sets_is_a_setting() -> None:
    known = settings_names()
    configured = {
        key: named(path, r) for path, r in resources() if r["kind"] == "ConfigMap" for key in r["data"]
    }
    configured |= {env["name"]: where for where, _, c in containers() for env in c.get("env", [])}
    unknown = {name: where for name, where in configured.items() if name not in known}
    assert not unknown, f"not read by services/settings.py: {unknown}"


def test_every_secret_is_referenced_by_key_and_created_by_the_readmes_instructions() -> None:
    created = secret_keys_the_readme_creates()
    assert created >= SECRETS, f"deploy/README.md does not create {SECRETS - created}"
    for where, _, container in containers():
        assert not [s for s in container.get("envFrom", []) if "secretRef" in s], f"{where}: envFrom a secret"
        for env in container.get("env", []):
            reference = env.get("valueFrom", {}).get("secretKeyRef")
            if env["name"] in SECRETS or "SECRET" in env["name"] or "KEY" in env["name"]:
                assert reference is not None, f"{where}: {env['name']} is inlined, not a secretKeyRef"
            if reference is not None:
                assert reference["name"] == "balkort-secrets", where
                assert reference["key"] in created, f"{where}: no instruction creates {reference['key']}"


def test_every_balkort_process_gets_every_secret_and_the_shared_settings() -> None:
    config_maps = {r["metadata"]["name"] for _, r in resources() if r["kind"] == "ConfigMap"}
    for where, _, container in containers():
        if container["command"][0] != "balkort":
            continue
        from_secrets = {
            env["name"] for env in container.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})
        }
        assert from_secrets >= SECRETS, f"{where} lacks {SECRETS - from_secrets}"
        maps = {s["configMapRef"]["name"] for s in container.get("envFrom", []) if "configMapRef" in s}
        assert maps, f"{where}: no shared settings"
        assert maps <= config_maps, where


def test_every_command_a_manifest_runs_exists_in_the_cli() -> None:
    for where, _, container in containers():
        command = container["command"]
        if command[0] == "balkort":
            assert not problems_with(command[1:]), f"{where}: {problems_with(command[1:])}"


def test_pods_run_as_the_images_unprivileged_user_on_a_read_only_root() -> None:
    user = re.search(r"--uid (\d+)", DOCKERFILE.read_text(encoding="utf-8"))
    assert user, "deploy/Dockerfile creates no user with a fixed uid"
    image_uid = int(user.group(1))
    for where, _, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == image_uid, where
        volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"requests", "limits"} <= container["resources"].keys(), where
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp, f"{where}: no writable /tmp"
            assert tmp[0]["name"] in volumes, where


def test_probes_ask_routes_the_processes_serve_on_ports_they_open(tmp_path: Path) -> None:
    from services.asgi import create_app
    from services.cli import container_for

    settings = Settings(data_dir=tmp_path)
    with container_for(settings) as container:
        api_routes = {route.path for route in create_app(settings, container).routes}
    for where, _, container in containers():
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if kind not in container:
                continue
            probe = container[kind]["httpGet"]
            port = ports.get(probe["port"], probe["port"])
            assert port in ports.values(), f"{where}: {kind} on port {probe['port']} it does not open"
            if container["command"][1] == "serve":
                assert port == Settings().port, where
                assert probe["path"] in api_routes, f"{where}: the app has no route {probe['path']}"
            else:
                assert container["command"][1] == "projector", where
                assert str(port) == env["BALKORT_PROJECTOR_HEALTH_PORT"], where
                # What services/observability/projector_health.py answers on that port.
                assert probe["path"] in {"/healthz", "/readyz"}, where


def test_services_ingress_autoscaler_and_budgets_point_at_what_exists() -> None:
    everything = resources()
    pods = {r["metadata"]["name"]: r for _, r in everything if r["kind"] == "Deployment"}
    labels = [r["spec"]["template"]["metadata"]["labels"] for r in pods.values()]
    services = {r["metadata"]["name"]: r for _, r in everything if r["kind"] == "Service"}

    def selects(selector: dict[str, str]) -> bool:
        return any(selector.items() <= pod_labels.items() for pod_labels in labels)

    for path, resource in everything:
        where = named(path, resource)
        if resource["kind"] == "Service":
            assert selects(resource["spec"]["selector"]), where
        if resource["kind"] == "PodDisruptionBudget":
            assert selects(resource["spec"]["selector"]["matchLabels"]), where
        if resource["kind"] == "HorizontalPodAutoscaler":
            assert resource["spec"]["scaleTargetRef"]["name"] in pods, where
        if resource["kind"] == "Ingress":
            for rule in resource["spec"]["rules"]:
                for route in rule["http"]["paths"]:
                    backend = route["backend"]["service"]
                    ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                    assert backend["port"]["name"] in ports, where


def test_the_projector_partitions_cover_every_tenant_exactly_once() -> None:
    shares = [
        (c["command"][c["command"].index("--partition") + 1], where)
        for where, _, c in containers()
        if c["command"][:2] == ["balkort", "projector"]
    ]
    counts = {int(share.split("/")[1]) for share, _ in shares}
    assert len(counts) == 1, f"every worker must split by the same N: {shares}"
    (count,) = counts
    assert sorted(int(share.split("/")[0]) for share, _ in shares) == list(range(count)), shares
    for share, where in shares:
        index = share.split("/")[0]
        assert f"Deployment/balkort-projector-{index}-of-{count} " in f"{where} ", where


def test_the_shared_settings_are_read_as_they_stand_and_trust_only_the_ingress() -> None:
    (data,) = [r["data"] for _, r in resources() if r["kind"] == "ConfigMap"]

    settings = Settings.from_environ(data)

    assert settings.forwarded_allow_ips == data["BALKORT_FORWARDED_ALLOW_IPS"] != "*"
    assert settings.served_over_https
    assert settings.host == "0.0.0.0"  # noqa: S104 - listening on the pod's interfaces is the point
    # uvicorn's own name is read too, by Settings (uvicorn is handed the value, never the environment).
    assert Settings.from_environ({"FORWARDED_ALLOW_IPS": "10.1.0.0/16"}).forwarded_allow_ips == "10.1.0.0/16"
