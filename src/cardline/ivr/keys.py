"""The IVR's key pairs: the secret's format, loading it, and making test pairs.

The secret (AWS Secrets Manager, or ``ivr-keys.json`` in a local data directory) is JSON:
``{"keys": [{"key_id": "<Connect key id>", "private_key": "<PEM>", "certificate": "<PEM>"}]}``
with one entry per key active in Connect (two during a rotation), each key id once.
``certificate`` is the public half: optional in AWS (without it `cardline ivr keys check`
and the scheduled check cannot tell when the key expires), always present locally, where
the simulator encrypts to the first entry's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cardline.files import read_or_create_private, replace_private
from cardline.ivr.decrypt import ConnectKey

KEY_FILE = "ivr-keys.json"
LOCAL_KEY_BITS = 2048  # Connect takes 2048+; make production keys 4096 (docs/ivr.md)


KEYS_SECRET_UNNAMED = "CARDLINE_IVR_KEYS_SECRET_ID must name the secret with the IVR keys"  # noqa: S105 - a message


class KeyConfigError(ValueError):
    """The key document is not in the expected shape (the message holds no key material)."""


@dataclass(frozen=True)
class KeyPair:
    """A Connect encryption key pair: the id Connect gave it, the private key, the certificate."""

    key_id: str
    private_key_pem: bytes = field(repr=False)
    certificate_pem: bytes

    def connect_key(self) -> ConnectKey:
        return ConnectKey(self.key_id, self.private_key_pem)

    def public_entry(self) -> dict[str, str]:
        return {"key_id": self.key_id, "certificate": self.certificate_pem.decode()}


def parse_key_document(text: str) -> list[ConnectKey]:
    """The private keys of a key document (the secret's SecretString)."""
    return [pair.connect_key() for pair in parse_key_pairs(text)]


def parse_key_pairs(text: str) -> list[KeyPair]:
    """The entries of a key document; ``certificate_pem`` is empty where it has none."""
    return _pairs(text, certificate_required=False)


def _pairs(text: str, *, certificate_required: bool) -> list[KeyPair]:
    try:
        document: Any = json.loads(text)
    except ValueError:
        raise KeyConfigError("The IVR key document is not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= 2:
        raise KeyConfigError('The IVR key document needs "keys": a list of one or two keys')
    pairs: list[KeyPair] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise KeyConfigError(f"keys[{index}] is not an object")
        key_id, private, certificate = (
            entry.get("key_id"),
            entry.get("private_key"),
            entry.get("certificate", ""),
        )
        if not isinstance(key_id, str) or not key_id:
            raise KeyConfigError(f"keys[{index}].key_id must be the Connect key id")
        if not isinstance(private, str) or "PRIVATE KEY-----" not in private:
            raise KeyConfigError(f"keys[{index}].private_key must be a PEM private key")
        if not isinstance(certificate, str) or (certificate_required and not certificate):
            raise KeyConfigError(f"keys[{index}].certificate must be a PEM certificate")
        if any(pair.key_id == key_id for pair in pairs):
            raise KeyConfigError(f"keys[{index}].key_id repeats another entry's key id")
        pairs.append(KeyPair(key_id, private.encode(), certificate.encode()))
    return pairs


def keys_from_secrets_manager(secret_id: str, client: Any = None) -> list[ConnectKey]:
    """The private keys stored in a Secrets Manager secret (boto3, imported here only)."""
    return [pair.connect_key() for pair in key_pairs_from_secrets_manager(secret_id, client)]


def key_pairs_from_secrets_manager(secret_id: str, client: Any = None) -> list[KeyPair]:
    """The entries of a Secrets Manager secret, certificates included where it has them."""
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    answer = client.get_secret_value(SecretId=secret_id)
    return parse_key_pairs(str(answer["SecretString"]))


def generate_key_pair(
    key_id: str | None = None, bits: int = LOCAL_KEY_BITS, *, days: int = 365
) -> KeyPair:
    """A new RSA key pair with a self-signed certificate valid ``days`` from now, as one
    would upload to Connect."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cardline IVR input encryption")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .sign(private, hashes.SHA256())
    )
    return KeyPair(
        key_id or str(uuid.uuid4()),
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate.public_bytes(serialization.Encoding.PEM),
    )


def key_document(pairs: list[KeyPair]) -> str:
    """The JSON secret holding ``pairs``."""
    return json.dumps(
        {
            "keys": [
                {**pair.public_entry(), "private_key": pair.private_key_pem.decode()}
                for pair in pairs
            ]
        },
        indent=2,
    )


def local_key_pairs(data_dir: Path) -> list[KeyPair]:
    """The data directory's IVR key pairs, one made on first use (``ivr-keys.json``, 0600)."""
    document = read_or_create_private(
        data_dir / KEY_FILE, lambda: key_document([generate_key_pair()])
    )
    return _pairs(document, certificate_required=True)


def read_local_key_pairs(data_dir: Path) -> list[KeyPair]:
    """The data directory's IVR key pairs, never making one (for checks and changes)."""
    path = data_dir / KEY_FILE
    if not path.is_file():
        raise KeyConfigError(
            f"no {KEY_FILE} in {data_dir}: `cardline serve` makes one on the first IVR call "
            "(or `cardline ivr keys add`)"
        )
    return _pairs(path.read_text(encoding="utf-8"), certificate_required=True)


def add_local_key_pair(data_dir: Path) -> KeyPair:
    """A new pair put first in the data directory's key file, the current one kept second.

    The first entry is the one the simulator's flow encrypts to (the "published flow");
    the second still decrypts, as Connect keeps two keys active during a rotation.
    """
    path = data_dir / KEY_FILE
    current = read_local_key_pairs(data_dir) if path.exists() else []
    if len(current) >= 2:
        raise KeyConfigError(
            f"{KEY_FILE} holds two keys already: remove the old one first "
            f"(`cardline ivr keys remove {current[-1].key_id}`)"
        )
    pair = generate_key_pair()
    replace_private(path, key_document([pair, *current]))
    return pair


def remove_local_key_pair(data_dir: Path, key_id: str) -> list[KeyPair]:
    """The pairs left once ``key_id`` is removed from the data directory's key file."""
    current = read_local_key_pairs(data_dir)
    left = [pair for pair in current if pair.key_id != key_id]
    if len(left) == len(current):
        held = ", ".join(pair.key_id for pair in current)
        raise KeyConfigError(f"no key {key_id!r} in {KEY_FILE} (it holds {held})")
    if not left:
        raise KeyConfigError(f"{key_id} is the only key: add its successor first")
    replace_private(data_dir / KEY_FILE, key_document(left))
    return left
