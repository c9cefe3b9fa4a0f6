"""Every serving process signs CSRF cookies with one secret: the setting, else the file
the first process made under the keys folder (readable by its owner alone)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from config.settings import Settings
from console.app import csrf_secret


def test_processes_share_the_secret_of_the_keys_folder(tmp_path: Path) -> None:
    first = csrf_secret(Settings(keys_dir=tmp_path))
    assert len(first) >= 48
    assert csrf_secret(Settings(keys_dir=tmp_path)) == first
    assert (tmp_path / "console-secret").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["console-secret"]
    assert csrf_secret(Settings(keys_dir=tmp_path / "other")) != first


def test_the_setting_wins(tmp_path: Path) -> None:
    chosen = Settings(keys_dir=tmp_path, console_secret=SecretStr("from a secret manager"))
    assert csrf_secret(chosen) == "from a secret manager"
    assert not (tmp_path / "console-secret").exists()
