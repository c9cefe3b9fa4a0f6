"""The key-encryption key (KEK) that wraps every personal-data key, held outside the database.

A personal-data key (domain/agents/personal.py) is stored only wrapped: AES-GCM under
the KEK, the tenant and subject bound as associated data (a wrapped key copied onto
another agent's row does not open). So a copy of the database — a dump, a replica, a
backup — holds ciphertext and wrapped keys, and reveals no one without the KEK.

The KEK is a file <keys>/personal-data-<id>.kek (mode 0600, 32 random bytes in base64,
created at the first start of a database that has none), or the setting WEILEDGER_KEK
for a secret manager. Its id (a hash of it, never the key) is recorded beside the
wrapped keys, so a database is never opened with the wrong KEK by mistake.
`keys rotate-kek` writes a new file, re-wraps every key under it in one transaction and
then deletes the old files; see eventstore/vault.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.settings import Settings

NONCE = 12
PREFIX, SUFFIX = "personal-data-", ".kek"


class KekError(Exception):
    """No KEK where one is needed, the wrong one, or a wrapped key that does not open."""


@dataclass(frozen=True, slots=True, repr=False)
class Kek:
    key: bytes

    @property
    def id(self) -> str:
        return hashlib.sha256(b"weiledger kek id\n" + self.key).hexdigest()[:16]

    @staticmethod
    def generate() -> Kek:
        return Kek(AESGCM.generate_key(bit_length=256))

    @staticmethod
    def from_text(text: str) -> Kek:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KekError("the KEK is not base64") from None
        if len(key) != 32:
            raise KekError(f"the KEK must be 32 bytes, not {len(key)}")
        return Kek(key)

    def text(self) -> str:
        return base64.b64encode(self.key).decode("ascii")

    @staticmethod
    def _aad(tenant: str, subject: str) -> bytes:
        return f"weiledger-kek:{tenant}:{subject}".encode()

    def wrap(self, tenant: str, subject: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, self._aad(tenant, subject))

    def unwrap(self, tenant: str, subject: str, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self.key).decrypt(wrapped[:NONCE], wrapped[NONCE:],
                                            self._aad(tenant, subject))
        except InvalidTag:
            raise KekError(f"{tenant} {subject}: the wrapped key does not open with KEK "
                           f"{self.id}") from None

    def __repr__(self) -> str:  # never the key itself, in a log or a traceback
        return f"Kek({self.id})"


@dataclass(frozen=True, slots=True)
class KekFiles:
    """Where KEKs come from: the files of the keys folder, or one given by a setting."""

    folder: Path
    given: str | None = None

    def load(self) -> dict[str, Kek]:
        if self.given is not None:
            kek = Kek.from_text(self.given)
            return {kek.id: kek}
        found: dict[str, Kek] = {}
        for path in sorted(self.folder.glob(f"{PREFIX}*{SUFFIX}")):
            kek = Kek.from_text(path.read_text(encoding="ascii"))
            if path.name != self.name(kek):
                raise KekError(f"{path} does not hold KEK {path.stem.removeprefix(PREFIX)}")
            found[kek.id] = kek
        return found

    @staticmethod
    def name_of(kek_id: str) -> str:
        return f"{PREFIX}{kek_id}{SUFFIX}"

    @classmethod
    def name(cls, kek: Kek) -> str:
        return cls.name_of(kek.id)

    def where(self) -> str:
        return "the setting WEILEDGER_KEK" if self.given is not None else str(self.folder)

    def create(self) -> Kek:
        """A new KEK file, 0600 from its first byte, on disk before anything uses it."""
        if self.given is not None:
            raise KekError("the KEK is given by WEILEDGER_KEK: change it there")
        kek = Kek.generate()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.folder / self.name(kek), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(kek.text() + "\n")
            out.flush()
            os.fsync(out.fileno())
        return kek

    def destroy_all_but(self, keep: Kek) -> list[str]:
        """Delete every other KEK file: what they wrapped (in any older copy of the
        database) can no longer be opened."""
        gone: list[str] = []
        for path in self.folder.glob(f"{PREFIX}*{SUFFIX}"):
            if path.name != self.name(keep):
                path.unlink()
                gone.append(path.stem.removeprefix(PREFIX))
        return gone


def kek_files(settings: Settings) -> KekFiles:
    given = None if settings.kek is None else settings.kek.get_secret_value()
    return KekFiles(settings.keys_folder(), given or None)  # empty: not given
