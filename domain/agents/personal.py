"""Personal data (name, 身份证 number, phone) sealed with the agent's own key.

Events hold only the AES-GCM ciphertext (nonce || ciphertext, base64); the key lives in
the KeyVault under the subject "agent:<id>". The associated data binds a ciphertext to
its tenant and agent, so it cannot be pasted onto another agent. Destroying the key
(forget) leaves the ciphertext in the chain — hashes intact — and unreadable forever.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.agents.identity import mask_id_number, mask_name, mask_phone

NONCE_BYTES = 12
ERASED = "[erased]"


@dataclass(frozen=True, slots=True)
class PersonalData:
    name: str
    id_number: str
    phone: str

    def masked(self) -> PersonalData:
        return PersonalData(
            mask_name(self.name), mask_id_number(self.id_number), mask_phone(self.phone)
        )


class Unreadable(Exception):
    """The key is gone (the agent was forgotten) or the ciphertext is not this agent's."""


def subject(agent: str) -> str:
    return f"agent:{agent}"


def _aad(tenant: str, agent: str) -> bytes:
    return f"weiledger:{tenant}:{subject(agent)}".encode()


def seal(key: bytes, tenant: str, agent: str, data: PersonalData) -> str:
    plain = json.dumps(
        {"name": data.name, "id_number": data.id_number, "phone": data.phone},
        ensure_ascii=False,
    ).encode()
    nonce = os.urandom(NONCE_BYTES)  # random per message; never reused under one key
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, _aad(tenant, agent))
    return base64.b64encode(sealed).decode("ascii")


def unseal(key: bytes | None, tenant: str, agent: str, sealed: str) -> PersonalData:
    if key is None:
        raise Unreadable(f"agent {agent}: personal data key destroyed or missing")
    raw = base64.b64decode(sealed)
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(tenant, agent))
    except InvalidTag:
        raise Unreadable(f"agent {agent}: personal data does not open with this key") from None
    fields = json.loads(plain)
    return PersonalData(fields["name"], fields["id_number"], fields["phone"])


ERASED_DATA = PersonalData(ERASED, ERASED, ERASED)
