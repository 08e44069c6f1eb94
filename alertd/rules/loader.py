"""Load rule files and directories into a RuleSet, collecting every error with its place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from alertd.errors import Location, RuleError
from alertd.rules import yaml_source
from alertd.rules.build import build_group
from alertd.rules.files import DatasetsFile, GroupFile
from alertd.rules.ruleset import Group, RuleSet
from alertd.rules.schema import Dataset, build_dataset
from alertd.rules.source_specs import SOURCE_NAME, SOURCE_TYPES, SourceSpec, source_dataset
from alertd.rules.yaml_source import Document, pydantic_errors

M = TypeVar("M", bound=BaseModel)

# Files with these top-level keys belong to other parts of alertd (notification routing).
FOREIGN_KEYS = frozenset({"route", "receivers", "inhibit_rules", "time_intervals"})
# A rule test file (`alertd test`) may live among the rules; loading rules passes it by.
RULE_TEST_KEY = "rule_files"
DATASETS_FILE = "datasets.yaml"
SOURCES_FILE = "sources.yaml"


@dataclass
class LoadResult:
    """The rules that loaded, and every error found; good rules load despite bad ones."""

    ruleset: RuleSet
    errors: list[RuleError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Files among the paths that belong to other parts of alertd (the notification file),
    # as parsed here: read once, handed on rather than read again.
    foreign: list[Document] = field(default_factory=list)


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, and those inside the directories named, in a stable order.

    Hidden entries inside a directory are left out: a Kubernetes ConfigMap volume keeps
    each file twice, as `name.yaml` and in the timestamped `..2026_...` folder it links to.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in (".yaml", ".yml") and not _hidden(p.relative_to(path))
                )
            )
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def load(paths: Sequence[Path]) -> LoadResult:
    """Load datasets and rule groups from files and directories.

    A rule file named on its own is checked with the `datasets.yaml` (and `sources.yaml`)
    beside it, unless the paths already declare datasets (sources): one file of a valid
    directory is then valid too.
    """
    errors: list[RuleError] = []
    files = rule_files(paths)
    documents = _read(files, errors)
    for key, name in (("datasets", DATASETS_FILE), ("sources", SOURCES_FILE)):
        if not any(key in _keys(d) for d in documents):
            named = {f.resolve() for f in files}
            beside = [p for p in _beside(paths, name) if p.resolve() not in named]
            files += beside
            documents += _read(beside, errors)

    datasets: dict[str, Dataset] = {}
    sources: dict[str, SourceSpec] = {}
    group_documents: list[Document] = []
    foreign: list[Document] = []
    for document in documents:
        keys = _keys(document)
        if "datasets" in keys:
            _load_datasets(document, datasets, errors)
        elif "sources" in keys:
            _load_sources(document, datasets, sources, errors)
        elif "group" in keys:
            group_documents.append(document)
        elif keys & FOREIGN_KEYS:
            foreign.append(document)
        elif RULE_TEST_KEY not in keys:
            errors.append(
                RuleError(
                    document.location(()),
                    "not a rule file: expected a top-level `group:`, `datasets:` or `sources:` key",
                )
            )
    if documents and not datasets and group_documents:
        errors.append(
            RuleError(group_documents[0].location(()), "no dataset schemas found (datasets.yaml)")
        )

    groups = _load_groups(group_documents, datasets, errors)
    return LoadResult(RuleSet(datasets, tuple(groups), sources), errors, files, foreign)


def _read(files: Iterable[Path], errors: list[RuleError]) -> list[Document]:
    """Parse each file; one that cannot be read or parsed is an error, not the end."""
    documents: list[Document] = []
    for path in files:
        try:
            documents.append(yaml_source.read(path))
        except RuleError as exc:
            errors.append(exc)
    return documents


def _keys(document: Document) -> set[str]:
    return set(document.data) if isinstance(document.data, dict) else set()


def _beside(paths: Iterable[Path], name: str) -> list[Path]:
    """The file `name` next to each file named; directories bring their own."""
    beside = (p.parent / name for p in paths if not p.is_dir())
    return [p for p in dict.fromkeys(beside) if p.is_file()]


def _load_groups(
    documents: list[Document], datasets: Mapping[str, Dataset], errors: list[RuleError]
) -> list[Group]:
    """Build every group; a group named like an earlier one is reported and left out."""
    groups: list[Group] = []
    group_names: dict[str, Location] = {}
    alert_names: dict[str, Location] = {}
    for document in documents:
        spec = _validate(GroupFile, document, errors)
        if spec is None:
            # The group cannot load, but its rules can still tell what else is wrong.
            raw_rules = document.data.get("rules")
            if isinstance(raw_rules, list) and all(isinstance(r, dict) for r in raw_rules):
                header = GroupFile.model_construct(group="", labels={}, rules=raw_rules)
                errors.extend(build_group(header, document, datasets)[1])
            continue
        group, group_errors = build_group(spec, document, datasets)
        errors.extend(group_errors)
        _check_alert_names(group, document, len(spec.rules), alert_names, errors)
        # The scheduler, its last-evaluated times and the store all key groups by name.
        where = document.location(("group",), key=True)
        if group.name in group_names:
            message = f"group {group.name!r} is already defined at {group_names[group.name]}"
            errors.append(RuleError(where, message))
            continue
        group_names[group.name] = where
        groups.append(group)
    return groups


def _check_alert_names(
    group: Group,
    document: Document,
    raw_count: int,
    seen: dict[str, Location],
    errors: list[RuleError],
) -> None:
    """Report each alert named like an earlier one, at the name written in its `alert` key."""
    # Rules that failed to build are missing from `group.rules`: find each rule's place
    # in the raw `rules:` list by where it was written.
    raw_index = {document.location(("rules", i)): i for i in range(raw_count)}
    for rule in group.rules:
        if rule.name in seen:
            index = raw_index.get(rule.location)
            where = rule.location
            if index is not None:
                where = document.location(("rules", index, "alert"))
            message = f"alert {rule.name!r} is already defined at {seen[rule.name]}"
            errors.append(RuleError(where, message))
        else:
            seen[rule.name] = rule.location


def _load_datasets(
    document: Document, datasets: dict[str, Dataset], errors: list[RuleError]
) -> None:
    spec = _validate(DatasetsFile, document, errors)
    if spec is None:
        return
    for name, dataset in spec.datasets.items():
        path: tuple[str | int, ...] = ("datasets", name)
        before = len(errors)
        if name in datasets:
            errors.append(
                RuleError(document.location(path, key=True), f"dataset {name!r} is declared twice")
            )
        names = dataset.blobs + dataset.doubles
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            errors.append(
                RuleError(
                    document.location(path), f"field {duplicate!r} is declared twice in {name}"
                )
            )
        for index, blob in enumerate(dataset.numeric_blobs):
            if blob not in dataset.blobs:
                errors.append(
                    RuleError(
                        document.location((*path, "numeric_blobs", index)),
                        f"numeric_blobs: {blob!r} is not one of the blobs of {name}",
                    )
                )
        if len(errors) == before:
            datasets[name] = build_dataset(
                name,
                index=dataset.index,
                blobs=dataset.blobs,
                doubles=dataset.doubles,
                numeric_blobs=dataset.numeric_blobs,
            )


def _load_sources(
    document: Document,
    datasets: dict[str, Dataset],
    sources: dict[str, SourceSpec],
    errors: list[RuleError],
) -> None:
    """Each source validated on its own by its `type`, so errors name its own fields."""
    raw = document.data.get("sources") if isinstance(document.data, dict) else None
    extra = sorted(set(_keys(document)) - {"sources"})
    for key in extra:
        errors.append(RuleError(document.location((key,), key=True), f"unknown key {key!r}"))
    if not isinstance(raw, dict):
        errors.append(RuleError(document.location(("sources",)), "sources: expected a mapping"))
        return
    for name, body in raw.items():
        path: tuple[str | int, ...] = ("sources", str(name))
        kind = body.get("type") if isinstance(body, dict) else None
        model = SOURCE_TYPES.get(kind) if isinstance(kind, str) else None
        if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
            errors.append(RuleError(document.location(path, key=True), f"bad source name {name!r}"))
            continue
        if model is None:
            known = " or ".join(SOURCE_TYPES)
            errors.append(RuleError(document.location(path), f"{name}: `type` must be {known}"))
            continue
        try:
            spec = model.model_validate(body)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, document, path))
            continue
        if name in datasets:
            where = document.location(path, key=True)
            errors.append(RuleError(where, f"source {name!r} is already declared as a dataset"))
            continue
        sources[name] = spec
        datasets[name] = source_dataset(name, spec)


def _validate(model: type[M], document: Document, errors: list[RuleError]) -> M | None:
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc, document))
        return None
