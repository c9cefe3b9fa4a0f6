"""The brand's Ed25519 key: where it lives, and what it signs.

The private key is a PKCS#8 PEM file outside the database (default
<data_dir>/keys/<tenant>.ed25519, mode 0600), so a database dump, a replica or a
superuser cannot forge a checkpoint or an export. The public key travels in every
export; its fingerprint (SHA-256 of the 32 raw public key bytes, hex) is what a
regulator pins out of band (`verify-export --expect-key`).

Two kinds of message are signed, each with its own prefix so that a signature of one
can never pass for the other: a checkpoint (`checkpoint_message`) and an export's
manifest.json (prefix-free: its bytes are JSON, which cannot start with the prefix).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

CHECKPOINT_PREFIX = b"weiledger checkpoint v1\n"
_SAFE_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SigningKeyError(Exception):
    """No key, a key in the way, or a file that is not an Ed25519 key."""


def key_path(keys_dir: Path, tenant: str) -> Path:
    if not _SAFE_TENANT.match(tenant):  # the tenant names a file: no "/" or ".." in it
        raise SigningKeyError(f"tenant {tenant!r} cannot name a key file")
    return keys_dir / f"{tenant}.ed25519"


def init_key(keys_dir: Path, tenant: str) -> Path:
    """Create the tenant's key (refusing to replace one: old checkpoints name it)."""
    path = key_path(keys_dir, tenant)
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:  # O_EXCL: two concurrent inits cannot both win; 0600 from the first byte
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} exists already; a key is never replaced") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    path.with_suffix(".pub.pem").write_bytes(public_pem(key.public_key()))
    return path


def load_private_key(keys_dir: Path, tenant: str) -> Ed25519PrivateKey:
    path = key_path(keys_dir, tenant)
    if not path.exists():
        raise SigningKeyError(f"no signing key at {path}: run `weiledger keys init` first")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_pem(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def checkpoint_message(tenant: str, first: int, last: int, root: bytes) -> bytes:
    body = {"tenant": tenant, "from_position": first, "to_position": last, "root": root.hex()}
    return CHECKPOINT_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
