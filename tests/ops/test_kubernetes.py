"""deploy/kubernetes: the base and the overlay render, and every resource is valid
against Kubernetes' schemas (kubernetes-validate, strict)."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.ops.kustomize import merge, render

ROOT = Path(__file__).parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
VERSION = "1.30.0"


def by_kind(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["kind"]: r for r in resources}


@pytest.mark.parametrize("folder", ["base", "overlays/ha-postgres"])
def test_every_rendered_resource_is_valid(folder: str) -> None:
    resources, renderer = render(KUBE / folder)
    print(f"rendered with {renderer}")
    assert {r["kind"] for r in resources} >= {
        "StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceAccount"
    }  # fmt: skip
    for resource in resources:
        kubernetes_validate.validate(resource, VERSION, strict=True)


def test_the_base_runs_one_locked_down_replica_with_probes_and_mounted_secrets() -> None:
    kinds = by_kind(render(KUBE / "base")[0])
    workload = kinds["StatefulSet"]
    assert workload["spec"]["replicas"] == 1
    pod = workload["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    assert env["CLOUDFLARE_API_TOKEN_FILE"]["value"].startswith("/run/secrets/alertd/")
    assert "CLOUDFLARE_API_TOKEN" not in env  # the token is a file, never a variable
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["state"] == env["ALERTD_STATE_DIR"]["value"]
    assert mounts["rules"] == env["ALERTD_RULES_DIR"]["value"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["rules"]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
    assert volumes["secrets"]["secret"]["secretName"] == "alertd-secrets"
    claim = workload["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "state"
    selector = workload["spec"]["selector"]["matchLabels"]
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector


def test_the_overlay_runs_two_replicas_on_postgresql() -> None:
    kinds = by_kind(render(KUBE / "overlays" / "ha-postgres")[0])
    workload = kinds["StatefulSet"]
    assert workload["spec"]["replicas"] == 2
    [container] = workload["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ALERTD_STATE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "alertd-postgres"
    assert "CLOUDFLARE_API_TOKEN_FILE" in env  # the base's variables are kept
    assert kinds["PodDisruptionBudget"]["spec"] == {
        "minAvailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "alertd"}},
    }


@pytest.mark.parametrize("folder", ["base", "overlays/ha-postgres"])
def test_the_python_merge_renders_what_kustomize_does(folder: str) -> None:
    """Where kustomize is missing the tests render with the merge; it must agree."""
    resources, renderer = render(KUBE / folder)
    if renderer == "python merge":
        pytest.skip("no kubectl or kustomize to compare with")
    # kustomize names the ConfigMap by a hash of its contents; the merge does not.
    hashed = str(by_kind(resources)["ConfigMap"]["metadata"]["name"])
    rendered = {
        kind: json.loads(json.dumps(r, sort_keys=True).replace(hashed, "alertd-rules"))
        for kind, r in by_kind(resources).items()
    }
    assert by_kind(merge(KUBE / folder)) == rendered


def test_the_configmap_holds_the_shipped_rules() -> None:
    copies = KUBE / "base" / "rules"
    names = sorted(p.name for p in copies.iterdir())
    assert names == sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    _, mismatch, errors = filecmp.cmpfiles(ROOT / "rules", copies, names, shallow=False)
    assert not mismatch, f"update deploy/kubernetes/base/rules: {mismatch}"
    assert not errors
