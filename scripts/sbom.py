"""A CycloneDX 1.6 software bill of materials for the deployed app, from ``uv.lock``.

Usage::

    python scripts/sbom.py [--lock uv.lock] [--out sbom.cdx.json]

Why from the lock file: it pins every package the app is installed with (name,
version, where it came from, the sdist's SHA-256), so the SBOM says exactly what
a deployment runs, without installing anything or adding a dependency (Python's
own ``tomllib`` and ``json``). Every locked package is listed. Those the app
needs at run time (reachable from the project's own dependencies, with the
extras they ask for) have scope ``required``; those only the project's own
extras bring (``spark``) are ``optional``; those only the development groups
pull in (pytest, ruff, mypy, ...) are ``excluded``, since a deployment built
with ``uv sync --no-dev`` does not carry them. The dependency graph is written
too, so a scanner can say which direct dependency brought a vulnerable one in.

The output is deterministic for one lock file (the serial number is derived
from the lock's hash, and no time stamp is written), so it can be committed or
compared between releases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _purl(name: str, version: str) -> str:
    return f"pkg:pypi/{name.lower().replace('_', '-')}@{version}"


def _ref(package: dict[str, Any]) -> str:
    return _purl(package["name"], package.get("version", "0"))


def _deps(entries: Iterable[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    return [(entry["name"], tuple(entry.get("extra", []))) for entry in entries]


def _all_edges(package: dict[str, Any], *, with_dev: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """Every dependency the lock records for a package (its own, its extras', and asked for, its dev groups')."""
    groups: list[list[dict[str, Any]]] = [package.get("dependencies", [])]
    groups += list(package.get("optional-dependencies", {}).values())
    if with_dev:
        groups += list(package.get("dev-dependencies", {}).values())
    return [edge for group in groups for edge in _deps(group)]


def closure(packages: dict[str, dict[str, Any]], start: list[tuple[str, tuple[str, ...]]]) -> set[str]:
    """Names of every package reachable from ``start`` ((name, extras) pairs), following a
    package's optional dependencies only for the extras asked of it."""
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    todo = list(start)
    while todo:
        name, extras = todo.pop()
        package = packages.get(name)
        if package is None:
            continue
        names.add(name)
        for wanted in ("", *extras):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            entries = (
                package.get("optional-dependencies", {}).get(wanted, [])
                if wanted
                else package.get("dependencies", [])
            )
            todo += _deps(entries)
    return names


def scopes(packages: dict[str, dict[str, Any]], root: dict[str, Any]) -> dict[str, str]:
    """Each package's CycloneDX scope: ``required`` at run time, ``optional`` only through the
    project's own extras (e.g. ``spark``), ``excluded`` only through its development groups."""
    required = closure(packages, _deps(root.get("dependencies", [])))
    extras = [edge for group in root.get("optional-dependencies", {}).values() for edge in _deps(group)]
    optional = closure(packages, extras) - required
    return {
        name: "required" if name in required else "optional" if name in optional else "excluded"
        for name in packages
    }


def _component(package: dict[str, Any], scope: str) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": _ref(package),
        "name": package["name"],
        "version": package["version"],
        "purl": _ref(package),
        "scope": scope,
    }
    sdist_hash = package.get("sdist", {}).get("hash", "")
    if sdist_hash.startswith("sha256:"):
        component["hashes"] = [{"alg": "SHA-256", "content": sdist_hash.removeprefix("sha256:")}]
    registry = package.get("source", {}).get("registry")
    if registry:
        component["externalReferences"] = [{"type": "distribution", "url": registry}]
    return component


def build_sbom(lock_path: Path) -> dict[str, Any]:
    """The SBOM as a dict (CycloneDX 1.6 JSON)."""
    raw = lock_path.read_bytes()
    lock = tomllib.loads(raw.decode("utf-8"))
    packages = {package["name"]: package for package in lock["package"]}
    roots = [
        p for p in lock["package"] if "editable" in p.get("source", {}) or "virtual" in p.get("source", {})
    ]
    if len(roots) != 1:
        raise ValueError(
            f"{lock_path}: expected one project package (editable or virtual), found {len(roots)}"
        )
    root = roots[0]
    scope = scopes(packages, root)
    components = [
        _component(package, scope[name]) for name, package in sorted(packages.items()) if name != root["name"]
    ]
    dependencies = [
        {
            "ref": _ref(package),
            "dependsOn": sorted(
                {
                    _ref(packages[child])
                    for child, _ in _all_edges(package, with_dev=package is root)
                    if child in packages
                }
            ),
        }
        for _, package in sorted(packages.items())
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.UUID(hashlib.sha256(raw).hexdigest()[:32])}",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "bom-ref": _ref(root),
                "name": root["name"],
                "version": root["version"],
                "purl": _ref(root),
            },
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py"}]},
        },
        "components": components,
        "dependencies": dependencies,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lock", type=Path, default=ROOT / "uv.lock", help="the uv lock file (default: the repo's)"
    )
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: standard output)")
    args = parser.parse_args(argv)
    text = json.dumps(build_sbom(args.lock), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
