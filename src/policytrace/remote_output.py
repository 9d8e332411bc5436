"""Publishing to an fsspec URL (s3://, gs://, file://...): build in a local mirror, then upload.

Object stores have no symlinks and no atomic folder rename, so a remote output holds
`releases/<version>/` (uploaded whole before anything points to it), a one-line `LATEST` file
naming the newest release (written last: a single object write is atomic), and a `latest/` copy
for people who browse the bucket.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import fsspec

from policytrace.publish import LATEST, RELEASES, latest_release, point_latest

POINTER = "LATEST"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*(::[a-zA-Z][a-zA-Z0-9+.-]*)*://")


def is_remote(output: str | Path) -> bool:
    """True for an fsspec URL, False for a local path."""
    return bool(_SCHEME.match(str(output)))


def mirror_path(url: str) -> Path:
    """Local folder that mirrors a remote output (its cache and the latest release live here)."""
    base = Path(os.environ.get("POLICYTRACE_MIRROR_DIR", Path.home() / ".cache" / "policytrace"))
    return base / "mirrors" / hashlib.sha256(url.encode()).hexdigest()[:16]


def pull_latest(url: str, local: Path) -> str | None:
    """Copy the remote's latest release into the local mirror and point local `latest` at it."""
    fs, root = fsspec.core.url_to_fs(url)
    pointer = f"{root}/{POINTER}"
    if not fs.exists(pointer):
        return None
    version = fs.cat_file(pointer).decode("utf-8").strip()
    target = local / RELEASES / version
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get(f"{root}/{RELEASES}/{version}/", str(target), recursive=True)
    point_latest(local, target)
    return version


def _upload(fs: fsspec.AbstractFileSystem, path: Path, target: str) -> None:
    fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)  # a no-op on object stores
    fs.put_file(str(path), target)


def push_latest(local: Path, url: str) -> str | None:
    """Upload the local latest release (if the remote lacks it), then move the remote pointer."""
    release = latest_release(local)
    if release is None:
        return None
    fs, root = fsspec.core.url_to_fs(url)
    version = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))["version"]
    remote_release = f"{root}/{RELEASES}/{version}"
    if not fs.exists(f"{remote_release}/SHA256SUMS"):
        # SHA256SUMS goes last: a release folder without it was interrupted and is overwritten.
        for path in sorted(p for p in release.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
            _upload(fs, path, f"{remote_release}/{path.relative_to(release).as_posix()}")
        _upload(fs, release / "SHA256SUMS", f"{remote_release}/SHA256SUMS")
    fs.pipe_file(f"{root}/{POINTER}", (version + "\n").encode("utf-8"))
    if fs.exists(f"{root}/{LATEST}"):
        fs.rm(f"{root}/{LATEST}", recursive=True)
    fs.put(str(release) + "/", f"{root}/{LATEST}", recursive=True)
    return version
