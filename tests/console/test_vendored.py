"""The vendored JavaScript and CSS are exactly what console/static/vendor/update.sh
brought from the npm registry: every file is in SHA256SUMS with its hash, every entry
is a file there, and each package carries its licence."""

from __future__ import annotations

import hashlib
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "console" / "static" / "vendor"
OWN = {"SHA256SUMS", "update.sh"}


def manifest() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def test_every_vendored_file_matches_its_checksum_and_nothing_is_unlisted() -> None:
    listed = manifest()
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*")
               if p.is_file() and p.name not in OWN}
    assert present == set(listed)
    changed = [path for path, digest in listed.items()
               if hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() != digest]
    assert changed == []


def test_each_vendored_package_has_its_licence_and_its_version_is_recorded() -> None:
    packages = sorted(p.name for p in VENDOR.iterdir() if p.is_dir())
    assert packages == ["echarts", "htmx", "redoc", "swagger-ui"]
    assert all((VENDOR / name / "LICENSE").is_file() for name in packages)
    versions = (VENDOR / "VERSIONS").read_text().split()
    assert [v.rsplit("@", 1)[0] for v in versions] == [
        "htmx.org", "echarts", "swagger-ui-dist", "redoc"]


def test_the_check_sees_a_changed_byte(tmp_path: Path) -> None:
    """The comparison itself: one altered byte gives another digest."""
    original = (VENDOR / "htmx" / "htmx.min.js").read_bytes()
    altered = bytes([original[0] ^ 1]) + original[1:]
    assert hashlib.sha256(altered).hexdigest() != manifest()["htmx/htmx.min.js"]
