"""scripts/sbom.py: a CycloneDX SBOM of the deployed app from uv.lock lists every locked package.

Run as a user would (a process, writing a file); then checked against the lock file
read independently here, and on a small made-up lock whose scopes are known.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sbom.py"


def _sbom(lock: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--lock", str(lock), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


def test_the_sbom_lists_every_locked_package_with_its_version_purl_and_hash(tmp_path: Path) -> None:
    sbom = _sbom(ROOT / "uv.lock", tmp_path / "sbom.cdx.json")
    assert (sbom["bomFormat"], sbom["specVersion"], sbom["version"]) == ("CycloneDX", "1.6", 1)
    assert sbom["serialNumber"].startswith("urn:uuid:")
    locked = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))["package"]
    project = next(p for p in locked if p.get("source", {}).get("editable") == ".")
    assert sbom["metadata"]["component"]["name"] == project["name"] == "early-warning"
    listed = {c["name"]: c for c in sbom["components"]}
    expected = {p["name"]: p for p in locked if p is not project}
    assert len(expected) > 100
    assert set(listed) == set(expected), sorted(set(listed) ^ set(expected))
    assert len(sbom["components"]) == len(expected)  # none twice
    for name, package in expected.items():
        component = listed[name]
        assert component["version"] == package["version"], name
        assert component["purl"] == f"pkg:pypi/{name}@{package['version']}", name
        if "sdist" in package:
            assert component["hashes"] == [
                {"alg": "SHA-256", "content": package["sdist"]["hash"].removeprefix("sha256:")}
            ], name
    refs = {c["bom-ref"] for c in sbom["components"]} | {sbom["metadata"]["component"]["bom-ref"]}
    for entry in sbom["dependencies"]:
        assert entry["ref"] in refs
        assert set(entry["dependsOn"]) <= refs, entry["ref"]


def test_scopes_say_what_a_deployment_carries(tmp_path: Path) -> None:
    sbom = _sbom(ROOT / "uv.lock", tmp_path / "sbom.cdx.json")
    scope = {c["name"]: c["scope"] for c in sbom["components"]}
    for runtime in ("fastapi", "sqlalchemy", "polars", "splink", "prefect", "argon2-cffi", "psycopg-binary"):
        assert scope[runtime] == "required", runtime
    for dev_only in ("pytest", "ruff", "mypy", "playwright", "schemathesis"):
        assert scope[dev_only] == "excluded", dev_only
    assert scope["pyspark"] == "optional"  # only through the project's own `spark` extra


MADE_UP_LOCK = """
version = 1
requires-python = "==3.11.*"

[[package]]
name = "app"
version = "1.0.0"
source = { editable = "." }
dependencies = [{ name = "alpha", extra = ["fast"] }]

[package.optional-dependencies]
big = [{ name = "bigdata" }]

[package.dev-dependencies]
dev = [{ name = "tester" }]

[[package]]
name = "alpha"
version = "2.0.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://example.invalid/alpha-2.0.0.tar.gz", hash = "sha256:aa", size = 1 }
dependencies = [{ name = "shared" }]

[package.optional-dependencies]
fast = [{ name = "speedup" }]
docs = [{ name = "docsonly" }]

[[package]]
name = "speedup"
version = "0.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "docsonly"
version = "0.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "shared"
version = "3.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "bigdata"
version = "4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "shared" }]

[[package]]
name = "tester"
version = "5.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "shared" }]
"""


def test_scopes_follow_only_the_extras_asked_for_and_the_graph_is_kept(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(MADE_UP_LOCK, encoding="utf-8")
    sbom = _sbom(lock, tmp_path / "out.json")
    assert {c["name"]: c["scope"] for c in sbom["components"]} == {
        "alpha": "required",
        "speedup": "required",  # alpha[fast] is asked for
        "shared": "required",  # also reached by bigdata and tester: required wins
        "docsonly": "excluded",  # alpha[docs] is asked for by nobody
        "bigdata": "optional",  # only the project's own extra
        "tester": "excluded",  # only the dev group
    }
    graph = {entry["ref"]: entry["dependsOn"] for entry in sbom["dependencies"]}
    assert graph["pkg:pypi/app@1.0.0"] == [
        "pkg:pypi/alpha@2.0.0",
        "pkg:pypi/bigdata@4.0",
        "pkg:pypi/tester@5.0",
    ]
    assert graph["pkg:pypi/alpha@2.0.0"] == [
        "pkg:pypi/docsonly@0.2",
        "pkg:pypi/shared@3.0",
        "pkg:pypi/speedup@0.1",
    ]
    again = _sbom(lock, tmp_path / "again.json")
    assert again == sbom  # deterministic: no time stamp, serial number from the lock's hash
