"""Render a kustomization: with `kubectl kustomize` or `kustomize build` where installed,
else with a small merge that covers what deploy/kubernetes uses (resources, labels with
selectors, configMapGenerator from files, strategic-merge patches by name)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml


def render(folder: Path) -> tuple[list[dict[str, Any]], str]:
    """The resources `folder`'s kustomization makes, and what rendered them."""
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kubectl or kustomize:
        command = [kubectl, "kustomize"] if kubectl else [kustomize, "build"]
        done = subprocess.run(
            [*command, str(folder)], capture_output=True, text=True, timeout=120, check=True
        )
        return [d for d in yaml.safe_load_all(done.stdout) if d], Path(command[0]).name
    return merge(folder), "python merge"


def merge(folder: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    resources: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources.extend(merge(path))
        else:
            resources.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for generator in spec.get("configMapGenerator", []):
        data = {Path(f).name: (folder / f).read_text() for f in generator["files"]}
        resources.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]},
             "data": data}
        )  # fmt: skip
    for label in spec.get("labels", []):
        for resource in resources:
            _label(resource, label["pairs"], label.get("includeSelectors", False))
    for patch in spec.get("patches", []):
        change = yaml.safe_load((folder / patch["path"]).read_text())
        for resource in resources:
            if (resource["kind"], resource["metadata"]["name"]) == (
                change["kind"],
                change["metadata"]["name"],
            ):
                resource.update(_strategic(resource, change))
    return resources


def _label(resource: dict[str, Any], pairs: dict[str, str], selectors: bool) -> None:
    resource["metadata"].setdefault("labels", {}).update(pairs)
    if not selectors:
        return
    spec = resource.get("spec", {})
    if resource["kind"] == "Service":
        spec.setdefault("selector", {}).update(pairs)
    elif "selector" in spec:
        spec["selector"].setdefault("matchLabels", {}).update(pairs)
    if "template" in spec:
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    for claim in spec.get("volumeClaimTemplates", []):
        claim["metadata"].setdefault("labels", {}).update(pairs)


def _strategic(base: Any, change: Any) -> Any:
    """Maps merge key by key (None deletes); lists of named maps merge by name."""
    if isinstance(base, dict) and isinstance(change, dict):
        out = copy.deepcopy(base)
        for key, value in change.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _strategic(out[key], value) if key in out else value
        return out
    if (
        isinstance(base, list)
        and isinstance(change, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *change])
    ):
        # As kustomize does: items the patch adds come first, then the merged ones.
        merged = {item["name"]: item for item in base}
        added = [item for item in change if item["name"] not in merged]
        for item in change:
            if item["name"] in merged:
                merged[item["name"]] = _strategic(merged[item["name"]], item)
        return [*added, *merged.values()]
    return change
