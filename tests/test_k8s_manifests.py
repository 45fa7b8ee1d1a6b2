"""The Kubernetes manifests in deploy/k8s.

Every document is validated against Kubernetes' own OpenAPI schemas with kubernetes-validate
(the schemas ship inside the package: no cluster, no network), strictly, so an unknown or
misspelt field is an error, for the oldest Kubernetes release the manifests support. Then what
no schema sees: every name one object gives another (ConfigMap, Secret, volume, Service, port,
workload) exists, every command is a reauto command line, every REAUTO_* variable and the
ConfigMap's reauto.toml are settings reauto accepts, the probes ask for routes ``reauto serve``
has, the autoscaler's metric is one reauto exports, the dial workers get the time their drain
takes, and each worker has the public route Twilio needs.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from prometheus_client import Gauge

import reauto.metrics as reauto_metrics
from reauto.campaign import load_campaign
from reauto.config import Settings, TwilioSettings, load_settings
from reauto.dialer.second_listen import DRAIN_S

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
README = K8S / "README.md"
#: The oldest Kubernetes release the manifests are held to (managed clusters still run it).
KUBERNETES_VERSION = "1.30"
#: Shipped as a template for the site's own Secret, which is made outside git: not a resource.
TEMPLATES = {"secret.example.yaml"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
#: Where the image keeps what the Dockerfile copies from the repository.
IMAGE_APP = Path("/app")


# --- reading the manifests -----------------------------------------------------------------------


@functools.cache
def documents(path: Path) -> list[dict[str, Any]]:
    """The documents of a manifest file (read once: callers never change them)."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def kustomization() -> dict[str, Any]:
    [found] = documents(KUSTOMIZATION)
    return found


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p != KUSTOMIZATION)


def resources() -> list[dict[str, Any]]:
    """Every object `kubectl apply -k` creates."""
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def every_document() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path in manifest_files() for doc in documents(path)]


def named(kind: str) -> dict[str, dict[str, Any]]:
    """The resources of ``kind`` by name."""
    return {d["metadata"]["name"]: d for d in resources() if d["kind"] == kind}


def template_example() -> dict[str, Any]:
    [secret] = documents(K8S / "secret.example.yaml")
    return secret


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def workloads() -> Iterator[dict[str, Any]]:
    return (d for d in resources() if d["kind"] in WORKLOADS)


def all_containers() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for workload in workloads():
        for container in containers(pod_template(workload)["spec"]):
            yield workload, container


def pod_name(workload: dict[str, Any], ordinal: int = 0) -> str:
    """A name a pod of ``workload`` gets (a StatefulSet's are ordinals, the others a random suffix)."""
    name = workload["metadata"]["name"]
    return f"{name}-{ordinal}" if workload["kind"] == "StatefulSet" else f"{name}-7c9d5-x2k4q"


def container_env(container: dict[str, Any], pod: str) -> dict[str, str]:
    """The container's variables as the kubelet sets them: ``$(NAME)`` expanded, the pod's name filled in."""
    env: dict[str, str] = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), var["value"])
        elif var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[var["name"]] = pod
    return env


def secret_keys(name: str) -> set[str]:
    """The keys of the Secret ``name``: a resource, or the template the site's Secret is made from."""
    secrets = named("Secret")
    example = template_example()
    if example["metadata"]["name"] == name:
        secrets.setdefault(name, example)
    assert name in secrets, f"no Secret {name} in the resources or in secret.example.yaml"
    return set(secrets[name].get("stringData", {})) | set(secrets[name].get("data", {}))


def configmap_keys(name: str) -> set[str]:
    configmaps = named("ConfigMap")
    assert name in configmaps, f"no ConfigMap {name} in the resources"
    return set(configmaps[name].get("data", {})) | set(configmaps[name].get("binaryData", {}))


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selected_workloads(selector: dict[str, str]) -> list[dict[str, Any]]:
    """Workloads whose pods carry ``selector`` (a StatefulSet's pods also carry their pod name)."""
    found = []
    for workload in workloads():
        labels = dict(pod_template(workload)["metadata"].get("labels", {}))
        if workload["kind"] == "StatefulSet":
            pod = selector.get("statefulset.kubernetes.io/pod-name", "")
            if re.fullmatch(rf"{re.escape(workload['metadata']['name'])}-\d+", pod):
                labels["statefulset.kubernetes.io/pod-name"] = pod
        if selects(selector, labels):
            found.append(workload)
    return found


def port_names(workload: dict[str, Any]) -> set[str]:
    return {p["name"] for c in pod_template(workload)["spec"]["containers"] for p in c.get("ports", []) if "name" in p}


def hpa() -> dict[str, Any]:
    [autoscaler] = named("HorizontalPodAutoscaler").values()
    return autoscaler


def dial_workload() -> dict[str, Any]:
    return named(hpa()["spec"]["scaleTargetRef"]["kind"])[hpa()["spec"]["scaleTargetRef"]["name"]]


def is_dial(workload: dict[str, Any]) -> bool:
    target = hpa()["spec"]["scaleTargetRef"]
    return (workload["kind"], workload["metadata"]["name"]) == (target["kind"], target["name"])


from .test_ops import parse_command  # noqa: E402 - one CLI parser for the deploy files

parse_reauto = parse_command  # (the command's path, its parameters)


def settings_of(workload: dict[str, Any], container: dict[str, Any], tmp_path: Path) -> Settings:
    """The settings reauto resolves in ``container``: the mounted reauto.toml, its variables and the
    Secret's keys (the template's values). An unknown key or variable raises ConfigError."""
    env = container_env(container, pod_name(workload))
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            example = template_example()
            assert source["secretRef"]["name"] == example["metadata"]["name"]
            env.update(example["stringData"])
    text = mounted_file(pod_template(workload)["spec"], container, env["REAUTO_CONFIG"])
    copy_at = tmp_path / "reauto.toml"
    copy_at.write_text(text, encoding="utf-8")
    return load_settings(copy_at, env={k: v for k, v in env.items() if k.startswith("REAUTO_")})


def mounted_file(pod_spec: dict[str, Any], container: dict[str, Any], path: str) -> str:
    """The text of the ConfigMap key mounted at ``path`` in ``container``."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        if path.startswith(mount["mountPath"].rstrip("/") + "/"):
            key = path[len(mount["mountPath"].rstrip("/")) + 1:]
            source = volumes[mount["name"]].get("configMap")
            assert source is not None, f"{path} is not on a ConfigMap volume"
            return named("ConfigMap")[source["name"]]["data"][key]
    raise AssertionError(f"nothing is mounted at {path} in container {container['name']}")


def app_routes() -> dict[str, set[str]]:
    """The HTTP routes of ``reauto serve`` (and of every dial worker's server), as its OpenAPI
    document lists them (its routers are included lazily): path -> methods."""
    from reauto.serve.app import create_app
    from reauto.serve.context import ServeContext
    from reauto.telephony.twilio import CallRegistry

    served = create_app(ServeContext(settings=TwilioSettings(), registry=CallRegistry()))
    return {path: {method.upper() for method in operations} for path, operations in served.openapi()["paths"].items()}


def ids(item: tuple[str, dict[str, Any]]) -> str:
    file, doc = item
    return f"{file}:{doc['kind']}/{doc['metadata']['name']}"


# --- the files and the schemas --------------------------------------------------------------------


def test_kustomization_lists_every_manifest_and_no_template() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(p.name for p in manifest_files() if p.name not in TEMPLATES)
    assert "namespace" not in kustomization()  # namespace-agnostic: `kubectl -n NAME apply -k`, or an overlay
    for doc in resources():
        assert "namespace" not in doc["metadata"], doc["metadata"]["name"]
    for name in TEMPLATES:
        assert (K8S / name).is_file() and name in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("item", every_document(), ids=ids)
def test_every_document_is_valid_for_kubernetes(item: tuple[str, dict[str, Any]]) -> None:
    file, doc = item
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        return
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path) or "(document)"
        problem = f"{where}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:  # a kind or apiVersion Kubernetes does not have
        problem = exc.message
    pytest.fail(f"{file}: {doc['kind']}/{doc['metadata']['name']}: {problem}")


def test_the_validator_rejects_unknown_fields_and_wrong_types() -> None:
    deployment = next(iter(named("Deployment").values()))
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["commands"] = ["reauto"]
    with pytest.raises(kubernetes_validate.ValidationError, match="commands"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "16m"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomize_builds_every_resource_with_the_image_it_names() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    built = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    objects = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in objects) == \
        sorted((d["kind"], d["metadata"]["name"]) for d in resources())
    [image] = kustomization()["images"]
    built_images = {c["image"] for d in objects if d["kind"] in WORKLOADS
                    for c in containers(d["spec"]["template"]["spec"])}
    assert built_images == {f"{image['newName']}:{image['newTag']}"}


# --- what refers to what --------------------------------------------------------------------------


def test_configmaps_secrets_and_volumes_that_pods_use_exist() -> None:
    for workload, container in all_containers():
        pod_spec = pod_template(workload)["spec"]
        where = f"{workload['metadata']['name']}/{container['name']}"
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                assert secret_keys(source["secretRef"]["name"]), where
            if "configMapRef" in source:
                assert configmap_keys(source["configMapRef"]["name"]), where
        for var in container.get("env", []):
            ref = var.get("valueFrom", {})
            if "secretKeyRef" in ref:
                assert ref["secretKeyRef"]["key"] in secret_keys(ref["secretKeyRef"]["name"]), where
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"]["key"] in configmap_keys(ref["configMapKeyRef"]["name"]), where
        volumes = {v["name"] for v in pod_spec.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes | claims, f"{where}: no volume {mount['name']}"
    for workload in workloads():
        for volume in pod_template(workload)["spec"].get("volumes", []):
            if "configMap" in volume:
                keys = configmap_keys(volume["configMap"]["name"])
                assert {item["key"] for item in volume["configMap"].get("items", [])} <= keys
            if "secret" in volume:
                assert secret_keys(volume["secret"]["secretName"])


def test_images_are_the_one_kustomize_rewrites() -> None:
    rewritten = {image["name"] for image in kustomization()["images"]}
    for workload, container in all_containers():
        assert container["image"].split(":", 1)[0] in rewritten, (workload["metadata"]["name"], container["image"])


def test_services_ingress_budgets_and_autoscaler_select_what_exists() -> None:
    services = named("Service")
    for name, service in services.items():
        chosen = selected_workloads(service["spec"]["selector"])
        assert chosen, f"Service {name} selects no pods"
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                assert all(target in port_names(w) for w in chosen), f"Service {name}: no port {target}"
    for ingress in named("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, f"Ingress: no Service {backend['name']}"
                ports = services[backend["name"]]["spec"]["ports"]
                assert backend["port"] in ({"name": p.get("name")} for p in ports) or \
                    backend["port"] in ({"number": p["port"]} for p in ports), backend
    for name, budget in named("PodDisruptionBudget").items():
        assert selected_workloads(budget["spec"]["selector"]["matchLabels"]), f"PodDisruptionBudget {name}"
    for workload in workloads():
        if workload["kind"] != "Job":
            labels = pod_template(workload)["metadata"]["labels"]
            assert selects(workload["spec"]["selector"]["matchLabels"], labels), workload["metadata"]["name"]
    target = hpa()["spec"]["scaleTargetRef"]
    assert target["apiVersion"] == dial_workload()["apiVersion"]
    assert "replicas" not in dial_workload()["spec"], "the autoscaler owns the number of dial workers"
    if dial_workload()["kind"] == "StatefulSet":
        assert dial_workload()["spec"]["serviceName"] in services
        assert services[dial_workload()["spec"]["serviceName"]]["spec"].get("clusterIP") == "None"


def test_every_dial_worker_has_its_own_public_route() -> None:
    # Twilio sends a call's webhooks and media stream to the worker that placed it
    dial = dial_workload()
    assert dial["kind"] == "StatefulSet", "stable pod names make a stable public URL per worker"
    services = named("Service")
    routes = {rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"]
              for ingress in named("Ingress").values() for rule in ingress["spec"]["rules"]}
    tls_hosts = {h for ingress in named("Ingress").values() for t in ingress["spec"].get("tls", []) for h in t["hosts"]}
    container = pod_template(dial)["spec"]["containers"][0]
    public_hosts = set()
    for ordinal in range(hpa()["spec"]["maxReplicas"]):
        pod = pod_name(dial, ordinal)
        host = urlsplit(container_env(container, pod)["REAUTO_TWILIO_PUBLIC_URL"]).hostname
        assert host in routes, f"no route for {pod} at {host}"
        service = services[routes[host]]["spec"]
        assert service["selector"] == {"statefulset.kubernetes.io/pod-name": pod}
        assert service.get("publishNotReadyAddresses") is True, "a draining worker stays reachable"
        assert host in tls_hosts or "*." + host.split(".", 1)[1] in tls_hosts
        public_hosts.add(host)
    # no route to a worker the autoscaler never starts, and the serve pods' own host
    dial_routes = {host for host, service in routes.items()
                   if "statefulset.kubernetes.io/pod-name" in services[service]["spec"]["selector"]}
    assert dial_routes == public_hosts
    for workload, container in all_containers():
        url = container_env(container, pod_name(workload)).get("REAUTO_TWILIO_PUBLIC_URL")
        if url and not is_dial(workload):
            host = urlsplit(url).hostname
            assert host in routes and workload in selected_workloads(services[routes[host]]["spec"]["selector"])


# --- reauto's side: commands, settings, routes, metrics, drain ------------------------------------


def test_containers_run_reauto_commands(tmp_path: Path) -> None:
    commands = set()
    for workload, container in all_containers():
        command = container["command"]
        assert command[0] == "reauto" and "args" not in container, container["name"]
        path, params = parse_reauto(command[1:])
        commands.add(path)
        if params.get("campaign_file") is not None:
            campaign_file = Path(params["campaign_file"])
            shipped = ROOT / campaign_file.relative_to(IMAGE_APP)  # the Dockerfile copies the repository's
            campaign = load_campaign(shipped)
            settings = settings_of(workload, container, tmp_path)
            if campaign.telephony == "twilio":
                assert settings.twilio.public_url.startswith("https://")
    assert {"reauto serve", "reauto db upgrade", "reauto db wait"} <= commands


def test_reauto_accepts_the_configmap_and_every_variable(tmp_path: Path) -> None:
    for workload, container in all_containers():
        settings = settings_of(workload, container, tmp_path)  # an unknown key or REAUTO_* name raises
        assert settings.database.url.startswith("postgresql+psycopg://"), container["name"]
        assert settings.redis.url, "several workers share budgets and concurrency through Redis"
        assert settings.twilio.listen_host == "0.0.0.0"
        for port in container.get("ports", []):
            assert port["containerPort"] == settings.twilio.listen_port
        assert str(settings.resilience.spool_dir).startswith("/var/lib/reauto/")


def test_probes_ask_for_routes_reauto_serve_has() -> None:
    routes = app_routes()
    probed = set()
    for workload, container in all_containers():
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(kind)
            if probe is None:
                continue
            get = probe["httpGet"]
            assert "GET" in routes.get(get["path"], set()), f"{container['name']} {kind}: no GET {get['path']}"
            assert get["port"] in port_names(workload)
            probed.add(get["path"])
        if container in pod_template(workload)["spec"]["containers"] and workload["kind"] != "Job":
            assert {"livenessProbe", "readinessProbe"} <= set(container), container["name"]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/healthz", "/readyz"} <= probed
    for workload in workloads():
        annotations = pod_template(workload)["metadata"].get("annotations", {})
        if "prometheus.io/path" in annotations:
            assert "GET" in routes[annotations["prometheus.io/path"]]


def test_pods_run_as_the_image_user_on_a_read_only_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    uid = int(re.findall(r"useradd .*--uid (\d+)", dockerfile)[-1])
    workdir = re.findall(r"^WORKDIR (\S+)", dockerfile, flags=re.MULTILINE)[-1]
    for workload in workloads():
        pod_spec = pod_template(workload)["spec"]
        context = pod_spec["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == uid, workload["metadata"]["name"]
        assert pod_spec.get("automountServiceAccountToken") is False
        for container in containers(pod_spec):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            writable = {m["mountPath"] for m in container.get("volumeMounts", []) if not m.get("readOnly")}
            assert {"/tmp", workdir} <= writable, f"{container['name']}: reauto writes to /tmp and {workdir}"
            assert "memory" in container["resources"]["limits"], container["name"]


def test_dial_workers_get_the_time_their_drain_takes(tmp_path: Path) -> None:
    dial = dial_workload()
    pod_spec = pod_template(dial)["spec"]
    settings = settings_of(dial, pod_spec["containers"][0], tmp_path)
    drain = settings.resilience.shutdown_grace_s + (DRAIN_S if settings.stt.second_listen else 0)
    assert pod_spec["terminationGracePeriodSeconds"] >= drain + 30
    for workload in workloads():
        if not is_dial(workload) and workload["kind"] != "Job":
            assert pod_template(workload)["spec"]["terminationGracePeriodSeconds"] <= 120


def test_the_autoscaler_scales_on_a_gauge_reauto_exports() -> None:
    gauges = {m._name for m in vars(reauto_metrics).values() if isinstance(m, Gauge)}  # noqa: SLF001
    spec = hpa()["spec"]
    assert spec["metrics"] and 1 <= spec["minReplicas"] <= spec["maxReplicas"]
    readme = README.read_text(encoding="utf-8")
    command = pod_template(dial_workload())["spec"]["containers"][0]["command"]
    _, params = parse_reauto(command[1:])
    campaign = load_campaign(ROOT / Path(params["campaign_file"]).relative_to(IMAGE_APP))
    concurrency = params.get("concurrency") or campaign.concurrency
    for metric in spec["metrics"]:
        assert metric["type"] in {"Pods", "External"}
        source = metric["pods"] if metric["type"] == "Pods" else metric["external"]
        name = source["metric"]["name"]
        assert name in gauges and name in reauto_metrics.metric_names(), f"reauto exports no gauge {name}"
        assert name in readme, "README.md gives the adapter rule of each metric"
        if name == "reauto_calls_active":  # per worker: below the calls one worker places at most
            assert 0 < float(source["target"]["averageValue"]) < concurrency


def test_the_secret_is_a_template_without_secrets() -> None:
    secret = template_example()
    assert "TEMPLATE" in (K8S / "secret.example.yaml").read_text(encoding="utf-8")
    for key, value in secret["stringData"].items():
        assert key.startswith("REAUTO_")
        assert "CHANGE-ME" in value or re.fullmatch(r"ACx+", value), f"{key} must hold a placeholder"
    assert "data" not in secret
