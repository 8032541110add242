"""The Kubernetes manifests in deploy/: valid against Kubernetes' own schemas, offline, and saying what we mean.

Schemas come from kubernetes-validate, which ships them (no network, no cluster).
Beyond the schemas, the properties the topology depends on: probes, resources,
least privilege, only the web server public, Rasa reachable only from the web
pods and the action server only from Rasa, secrets only as placeholders, and
every variable and file a container refers to actually there.
"""
from __future__ import annotations

import copy
import functools
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The newest Kubernetes whose schemas the pinned kubernetes-validate ships (1.28.3: newer releases
# need jsonschema>=4.18, and Rasa 3.6 pins jsonschema<4.18).
KUBERNETES_VERSION = "1.28"
IMAGE = "ghcr.io/medius/medius:1.0.0"
SECRET = "medius-secrets"
CONFIG = "medius-config"
PLACEHOLDER = "change-me"
# Not applied with `kubectl apply -k`: see the comments in deploy/kustomization.yaml.
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "migrate-job.yaml"}
# No probes, on purpose: the notifier has no port and an exec probe would prove nothing about its
# loop (deploy/notifier.yaml); the migration Job runs to completion and is judged by its exit code.
WITHOUT_PROBES = {"notifier", "migrate"}
# Variables the containers may be given that Medius itself does not read.
FOREIGN_VARIABLES = {"RASA_TELEMETRY_ENABLED", "HOME"}

Document = Dict[str, Any]


def manifest_files() -> List[Path]:
    return sorted(path for path in DEPLOY.glob("*.yaml") if path.name != "kustomization.yaml")


def documents(path: Path) -> List[Document]:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if doc is not None]


@functools.lru_cache(maxsize=1)
def _parsed() -> Tuple[Tuple[Path, Document], ...]:
    return tuple((path, doc) for path in manifest_files() for doc in documents(path))


def all_documents() -> List[Tuple[Path, Document]]:
    """Every document of deploy/, parsed once: tests that change one work on a deep copy."""
    return list(_parsed())


def of_kind(kind: str) -> List[Document]:
    return [doc for _, doc in all_documents() if doc["kind"] == kind]


def component(doc: Document) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/component"]


def workloads() -> List[Document]:
    return of_kind("Deployment") + of_kind("Job")


def deployment(name: str) -> Document:
    [found] = [doc for doc in of_kind("Deployment") if component(doc) == name]
    return found


def containers() -> Iterator[Tuple[Document, Document]]:
    for workload in workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            yield workload, container


def secret_template() -> Document:
    [secret] = [doc for doc in of_kind("Secret") if doc["metadata"]["name"] == SECRET]
    return secret


def config_map() -> Document:
    [config] = [doc for doc in of_kind("ConfigMap") if doc["metadata"]["name"] == CONFIG]
    return config


def secret_keys_of(container: Document) -> Set[str]:
    return {entry["valueFrom"]["secretKeyRef"]["key"] for entry in container.get("env", [])
            if "secretKeyRef" in entry.get("valueFrom", {})}


def environment_names(container: Document) -> Set[str]:
    """Every variable the container gets: its own env entries and the keys of what it takes whole."""
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(config_map()["data"])
        if "secretRef" in source:
            names |= set(secret_template()["stringData"])
    return names


def selects(selector: Document, labels: Dict[str, str]) -> bool:
    """Kubernetes' label-selector rules (matchLabels and the In / NotIn / Exists operators)."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(workload: Document) -> Dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test: the schemas must come from the package."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --- The schemas ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,doc", all_documents(),
                         ids=[f"{path.name}:{doc['kind']}/"
                              f"{doc['metadata'].get('name') or doc['metadata'].get('generateName')}"
                              for path, doc in all_documents()])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(path, doc, no_network):
    assert kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_the_validator_rejects_broken_manifests_offline(no_network):
    web = deployment("web")
    kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)  # as written: accepted

    wrong_type = copy.deepcopy(web)
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)
    assert list(caught.value.path) == ["spec", "replicas"]

    misspelt = copy.deepcopy(web)  # strict: an unknown field (a typo) is an error, not silently dropped
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"tcpSocket": {"port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)

    no_containers = copy.deepcopy(web)
    del no_containers["spec"]["template"]["spec"]["containers"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(no_containers, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_long_lived_manifest():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert set(listed) == {path.name for path in manifest_files()} - NOT_IN_KUSTOMIZATION
    assert kustomization["namespace"] == "medius"
    assert (DEPLOY / "secret.example.yaml").exists() and (DEPLOY / "migrate-job.yaml").exists()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
def test_kustomize_builds_valid_manifests_in_one_namespace():
    built = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    docs = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    assert {doc["kind"] for doc in docs} == {"Namespace", "ConfigMap", "Deployment", "Service", "Ingress",
                                            "PodDisruptionBudget", "NetworkPolicy"}
    assert not [doc for doc in docs if doc["kind"] == "Secret"]  # never overwritten by `apply -k`
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "medius", doc["metadata"]["name"]


# --- Workloads -----------------------------------------------------------------------------------------

def test_the_components_their_replicas_and_one_image():
    replicas = {component(doc): doc["spec"]["replicas"] for doc in of_kind("Deployment")}
    assert replicas == {"web": 2, "rasa": 2, "actions": 2, "notifier": 1}
    assert [component(job) for job in of_kind("Job")] == ["migrate"]
    assert {container["image"] for _, container in containers()} == {IMAGE}


def test_each_component_runs_its_command():
    commands = {component(workload): container["command"] + container.get("args", [])
                for workload, container in containers()}
    assert commands == {
        "web": ["python", "-m", "bot", "web", "--host", "0.0.0.0", "--port", "8000"],
        "rasa": ["rasa", "run", "--model", "models/medius.tar.gz", "--interface", "0.0.0.0", "--port", "5005",
                 "--endpoints", "endpoints-prod.yml", "--credentials", "credentials.yml"],
        "actions": ["python", "-m", "bot", "actions", "--host", "0.0.0.0", "--port", "5055", "--workers", "2"],
        "notifier": ["python", "-m", "bot", "notify", "--loop"],
        "migrate": ["python", "-m", "bot", "migrate"],
    }


def test_the_commands_are_ones_the_programs_accept():
    """Each command line parses with the program's own argument parser, so no flag is misspelt."""
    from bot.ops.cli import _parser

    for _workload, container in containers():
        command = container["command"] + container.get("args", [])
        if command[:3] == ["python", "-m", "bot"]:
            _parser().parse_args(command[3:])  # exits (SystemExit) on an unknown command or flag
        else:
            from rasa.__main__ import create_argument_parser

            assert command[0] == "rasa"
            arguments = create_argument_parser().parse_args(command[1:])
            assert (arguments.interface, arguments.port) == ("0.0.0.0", 5005)


def test_the_files_the_rasa_command_names_are_in_the_repository():
    [rasa] = [container for workload, container in containers() if component(workload) == "rasa"]
    command = rasa["command"]
    option = lambda name: command[command.index(name) + 1]  # noqa: E731 - a one-line lookup, named for the asserts
    assert option("--endpoints") == "endpoints-prod.yml"
    assert option("--model") == "models/medius.tar.gz"  # trained into the image, not in git (docs/deploy.md)
    credentials = yaml.safe_load((ROOT / option("--credentials")).read_text())
    # The one channel Rasa opens; its name makes the readiness probe's path.
    assert list(credentials) == ["bot.rasa.channel.WidgetInput"]
    from bot.rasa.channel import WidgetInput

    assert rasa["readinessProbe"]["httpGet"]["path"] == f"/webhooks/{WidgetInput.name()}/"


def test_every_variable_rasas_endpoints_use_is_given_to_the_rasa_container():
    endpoints = ROOT / "endpoints-prod.yml"
    if not endpoints.exists():
        pytest.skip("endpoints-prod.yml is not in the repository yet")
    [rasa] = [container for workload, container in containers() if component(workload) == "rasa"]
    wanted = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", endpoints.read_text()))
    assert wanted <= environment_names(rasa)
    document = yaml.safe_load(endpoints.read_text())
    # Several Rasa replicas need a shared lock store and tracker store, not the in-memory defaults.
    assert document.get("lock_store", {}).get("type") not in (None, "in_memory")
    assert document.get("tracker_store", {}).get("type") not in (None, "in_memory")


def test_every_long_running_container_has_probes_on_its_own_port():
    for workload, container in containers():
        name = component(workload)
        if name in WITHOUT_PROBES:
            assert "readinessProbe" not in container and "livenessProbe" not in container
            continue
        ports = {port["name"] for port in container["ports"]} | {port["containerPort"] for port in container["ports"]}
        for kind in ("readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            assert probe, f"{name} has no {kind}"
            action = probe.get("httpGet") or probe.get("tcpSocket")
            assert action and action["port"] in ports, f"{name}'s {kind} checks a port it does not open"


def test_probe_paths_and_timings_fit_what_each_process_does():
    probes = {component(workload): container for workload, container in containers()}
    web, rasa, actions = probes["web"], probes["rasa"], probes["actions"]
    assert web["readinessProbe"]["httpGet"]["path"] == web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["timeoutSeconds"] > 2  # /healthz waits up to 2 s for Rasa
    assert actions["readinessProbe"]["httpGet"]["path"] == actions["livenessProbe"]["httpGet"]["path"] == "/health"
    # Rasa loads its model for 40-60 s before it listens: not ready before then, never killed for it.
    assert rasa["readinessProbe"]["initialDelaySeconds"] >= 40
    live = rasa["livenessProbe"]
    assert "tcpSocket" in live
    assert live["initialDelaySeconds"] + live["periodSeconds"] * live["failureThreshold"] >= 120

    from bot.core.settings import settings_from
    from bot.web.app import create_app

    routes = {getattr(route, "path", None) for route in create_app(settings_from({})).routes}
    assert "/healthz" in routes


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[:-len(suffix)]) * factor
    return float(quantity) / 2 ** 20


def test_every_container_asks_for_resources_and_bounds_its_memory():
    for workload, container in containers():
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        assert requests.get("cpu") and requests.get("memory"), component(workload)
        assert limits.get("memory"), component(workload)
        assert mebibytes(limits["memory"]) >= mebibytes(requests["memory"]), component(workload)
    rasa = deployment("rasa")["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert mebibytes(rasa["requests"]["memory"]) >= measured_peaks()["rasa"]  # a Rasa pod is scheduled where it fits


def test_every_pod_runs_locked_down():
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        name = component(workload)
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"], name
            # With a read-only root, the only writable places are these scratch volumes.
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            for path in ("/app/var", "/tmp"):
                assert path in mounts and "emptyDir" in volumes[mounts[path]], f"{name}: {path}"
    namespace = of_kind("Namespace")[0]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_disruption_budgets_leave_room_to_drain_a_node():
    budgets = of_kind("PodDisruptionBudget")
    assert {component(budget) for budget in budgets} == {"web", "rasa", "actions"}
    for budget in budgets:
        [target] = [doc for doc in of_kind("Deployment") if selects(budget["spec"]["selector"], pod_labels(doc))]
        assert budget["spec"]["minAvailable"] < target["spec"]["replicas"], component(budget)


# --- Who can reach whom --------------------------------------------------------------------------------

def test_services_are_internal_and_each_selects_one_component():
    services = of_kind("Service")
    assert {service["metadata"]["name"] for service in services} == {"medius-web", "medius-rasa", "medius-actions"}
    for service in services:
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]
        targets = [doc for doc in of_kind("Deployment") if selects({"matchLabels": service["spec"]["selector"]},
                                                                      pod_labels(doc))]
        assert [component(doc) for doc in targets] == [component(service)]
        container = targets[0]["spec"]["template"]["spec"]["containers"][0]
        names = {port["name"]: port["containerPort"] for port in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names or port["targetPort"] in names.values()


def test_only_the_web_service_is_exposed_by_the_ingress():
    ingresses = of_kind("Ingress")
    assert len(ingresses) == 1
    spec = ingresses[0]["spec"]
    assert "defaultBackend" not in spec
    backends = [path["backend"] for rule in spec["rules"] for path in rule["http"]["paths"]]
    assert backends and all(backend["service"]["name"] == "medius-web" for backend in backends)
    [web] = [service for service in of_kind("Service") if service["metadata"]["name"] == "medius-web"]
    service_ports = {port["name"] for port in web["spec"]["ports"]} | {port["port"] for port in web["spec"]["ports"]}
    for backend in backends:
        port = backend["service"]["port"]
        assert port.get("name", port.get("number")) in service_ports
    assert {tls_host for tls in spec["tls"] for tls_host in tls["hosts"]} == {rule["host"] for rule in spec["rules"]}


def allowed_sources(target: str) -> Optional[Set[str]]:
    """Components whose pods may connect to the target's pods; None when anyone may."""
    labels = pod_labels(deployment(target)) if target != "migrate" else pod_labels(of_kind("Job")[0])
    policies = [policy for policy in of_kind("NetworkPolicy")
                if selects(policy["spec"]["podSelector"], labels) and "Ingress" in policy["spec"]["policyTypes"]]
    if not policies:
        return None  # no policy selects the pod: Kubernetes lets everything in
    sources: Set[str] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if "from" not in rule:
                return None
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, "only pod selectors in this namespace"
                sources |= {component(doc) for doc in workloads() if selects(peer["podSelector"], pod_labels(doc))}
    return sources


def test_rasa_takes_connections_only_from_web_and_the_action_server_only_from_rasa():
    assert allowed_sources("rasa") == {"web"}
    assert allowed_sources("actions") == {"rasa"}
    assert allowed_sources("notifier") == set()
    assert allowed_sources("migrate") == set()
    assert allowed_sources("web") is None  # public, through the ingress controller
    ports = {component(policy): {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}
             for policy in of_kind("NetworkPolicy") if policy["spec"].get("ingress")}
    assert ports == {"rasa": {5005}, "actions": {5055}, "web": {8000}}


def test_the_internal_urls_name_the_services():
    services = {service["metadata"]["name"]: {port["port"] for port in service["spec"]["ports"]}
                for service in of_kind("Service")}
    data = config_map()["data"]
    for variable, service in (("MEDIUS_RASA_URL", "medius-rasa"), ("ACTION_SERVER_URL", "medius-actions")):
        for url in data[variable].split(","):
            parts = urlsplit(url.strip())
            assert (parts.scheme, parts.hostname) == ("http", service), variable
            assert parts.port in services[service], variable
    assert urlsplit(data["ACTION_SERVER_URL"]).path == "/webhook"


# --- Settings and secrets ------------------------------------------------------------------------------

def known_variables() -> Set[str]:
    """What Medius reads: the names in bot/core/settings.py and those .env.example documents."""
    source = (ROOT / "bot" / "core" / "settings.py").read_text()
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', source))
    names |= set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    return names | FOREIGN_VARIABLES


def test_the_secret_is_a_template_of_placeholders():
    secret = secret_template()
    assert "data" not in secret  # base64 values could hide a real one
    assert secret["stringData"] and all(value == PLACEHOLDER for value in secret["stringData"].values())
    assert re.search(r"kubectl (-n \S+ )?create secret", (DEPLOY / "secret.example.yaml").read_text())
    assert set(secret["stringData"]) == {"DATABASE_URL", "CONVERSATIONS_DATABASE_URL", "REDIS_URL",
                                         "MEDIUS_INTERNAL_TOKEN", "MEDIUS_API_TOKEN", "SMTP_PASSWORD"}
    assert set(secret["stringData"]) <= known_variables()


def test_no_secret_is_kept_outside_the_secret():
    data = config_map()["data"]
    assert set(data) <= known_variables(), "a ConfigMap key Medius does not read (a typo?)"
    assert not [key for key in data if re.search(r"TOKEN|PASSWORD|SECRET", key)]
    assert not [key for key, value in data.items() if re.search(r"://[^/@\s]*:[^/@\s]*@", value)]
    assert not set(data) & set(secret_template()["stringData"])
    for workload, container in containers():
        for entry in container.get("env", []):
            if "value" in entry:  # a literal: never a secret's
                assert entry["name"] not in secret_template()["stringData"], component(workload)


def test_every_variable_a_container_refers_to_exists():
    secret_keys, config_keys = set(secret_template()["stringData"]), set(config_map()["data"])
    for workload, container in containers():
        name = component(workload)
        for source in container.get("envFrom", []):
            assert set(source) == {"configMapRef"}, f"{name}: take secrets key by key, not whole"
            assert source["configMapRef"]["name"] == CONFIG
        for entry in container.get("env", []):
            reference = entry.get("valueFrom", {})
            if "secretKeyRef" in reference:
                assert reference["secretKeyRef"]["name"] == SECRET, name
                assert reference["secretKeyRef"]["key"] in secret_keys, f"{name}: {entry['name']}"
            elif "configMapKeyRef" in reference:
                assert reference["configMapKeyRef"]["name"] == CONFIG, name
                assert reference["configMapKeyRef"]["key"] in config_keys, f"{name}: {entry['name']}"
            else:
                assert "value" in entry, f"{name}: {entry['name']}"
            assert entry["name"] in known_variables(), f"{name}: {entry['name']}"


def test_each_component_gets_only_the_secrets_it_uses():
    given = {component(workload): secret_keys_of(container) for workload, container in containers()}
    assert given == {
        "web": {"MEDIUS_INTERNAL_TOKEN", "MEDIUS_API_TOKEN", "DATABASE_URL"},
        "rasa": {"MEDIUS_INTERNAL_TOKEN", "CONVERSATIONS_DATABASE_URL", "REDIS_URL"},
        "actions": {"MEDIUS_INTERNAL_TOKEN", "DATABASE_URL"},
        "notifier": {"DATABASE_URL", "CONVERSATIONS_DATABASE_URL", "SMTP_PASSWORD"},
        "migrate": {"DATABASE_URL"},
    }
    # Optional keys are exactly those whose absence Medius handles (no API token; no SMTP login).
    optional = {entry["valueFrom"]["secretKeyRef"]["key"] for _, container in containers()
                for entry in container.get("env", [])
                if entry.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")}
    assert optional == {"MEDIUS_API_TOKEN", "SMTP_PASSWORD"}


def measured_peaks():
    """Peak resident memory (MiB) of each program, from the sizing table of docs/deploy.md."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    sizing = guide.split("\n## Sizing\n", 1)[1].split("\n## ", 1)[0]
    measured = {}
    for row in re.findall(r"^\| (\w+)[^|]*\| (\d+) MiB \|", sizing, re.M):
        measured[{"Rasa": "rasa", "action": "actions", "web": "web", "notifier": "notifier"}.get(row[0], row[0])] = \
            int(row[1])
    assert {"rasa", "actions", "web", "notifier"} <= set(measured), measured
    return measured


def test_no_memory_limit_is_below_the_peak_measured_in_the_sizing_table():
    """A limit under what the process was measured to use would have Kubernetes kill it under load."""
    measured = measured_peaks()
    for name in ("rasa", "actions", "web", "notifier"):
        limits = deployment(name)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert mebibytes(limits["memory"]) >= measured[name], name
