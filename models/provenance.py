"""What made a model: the data's fingerprint, the code's version, the settings' fingerprint.

Any score the night gives can be traced to the training run that made the
model, and that run to exactly which extracts, which code and which
settings it read. Fingerprints are SHA-256 digests: they identify data
without holding any of it (no file content, name of a person or value is
logged, only the digest and the files' relative paths).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def extracts_fingerprint(extracts_dir: str | Path) -> str:
    """SHA-256 over every extract file's relative path and bytes, in path order.

    The same folder gives the same digest on any machine; one changed byte
    anywhere gives another.
    """
    root = Path(extracts_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def settings_fingerprint(*parts: Any) -> str:
    """SHA-256 of settings as canonical JSON (sorted keys), the first 16 hex digits."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def package_version() -> str:
    try:
        return version("early-warning")
    except PackageNotFoundError:
        return "unknown"


def git_commit(start: str | Path | None = None) -> str | None:
    """The commit the code was run from, or None outside a git checkout (e.g. an installed wheel)."""
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def code_fingerprint(start: str | Path | None = None) -> str:
    """The code that trained: the git commit, plus a digest of uncommitted changes to tracked
    files when there are any (so an edited checkout is not mistaken for its commit); the
    package version outside a git checkout."""
    commit = git_commit(start)
    if commit is None:
        return f"package {package_version()}"
    where = Path(start) if start is not None else Path(__file__).resolve().parent
    try:
        diff = subprocess.run(
            ["git", "diff", "HEAD"], cwd=where, capture_output=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        diff = b"unknown"
    return commit if not diff else f"{commit}+{hashlib.sha256(diff).hexdigest()[:16]}"


def frame_fingerprint(frame: Any) -> str:
    """SHA-256 of a small polars frame written as CSV with its rows sorted (e.g. review outcomes)."""
    if frame is None or frame.height == 0:
        return "none"
    text = frame.sort(frame.columns).write_csv()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
