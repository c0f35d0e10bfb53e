"""Decrypt what Amazon Connect's "Store customer input" block encrypted.

Connect encrypts with the AWS Encryption SDK: a raw RSA key (RSA-OAEP with SHA-512 and
MGF1-SHA-512) named by the Connect key id under the key provider ``AmazonConnect``, the
SDK's non-committing signed algorithm suite of its day (message format 1, suite 0x0378).
We decrypt with ``REQUIRE_ENCRYPT_ALLOW_DECRYPT`` so those messages are accepted, and with
at most one encrypted data key, as Connect writes.

Every failure is a :class:`DecryptionFailed` whose ``code`` and ``detail`` say what is
wrong (not base64, not an SDK message, wrong provider, unknown key id, the key pair does
not match, damaged) and never contain the plaintext.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cardline.cde import pan
from cardline.ivr.envelope import MalformedEnvelope, read_envelope

if TYPE_CHECKING:
    from aws_encryption_sdk import EncryptionSDKClient
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

PROVIDER_ID = "AmazonConnect"
MAX_DATA_KEYS = 1
_MAX_CIPHERTEXT_CHARS = 16 * 1024

# The SDK logs a traceback for every message it fails to decrypt ("Error on closing"); the
# failure is reported here, precisely, instead.
logging.getLogger("aws_encryption_sdk").setLevel(logging.CRITICAL)


class DecryptionFailed(Exception):
    """A field could not be decrypted. ``code`` is stable; ``detail`` holds no card data."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ConnectKey:
    """A private key matching a public key uploaded to Connect under ``key_id``."""

    key_id: str
    private_key_pem: bytes = field(repr=False)


class ConnectDecryptor:
    """Decrypts Connect's base64 ciphertexts with whichever held key they were made for.

    Holding two keys covers a rotation: Connect keeps two keys active at once.
    """

    def __init__(self, keys: Iterable[ConnectKey]) -> None:
        self._keys = {key.key_id: key for key in keys}
        if not self._keys:
            raise ValueError("ConnectDecryptor needs at least one key")
        self._master_keys: dict[str, RawMasterKey] = {}
        self._client: EncryptionSDKClient | None = None
        self._lock = threading.Lock()

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def decrypt(self, value: str) -> str:
        """The plaintext of one stored customer input, as text."""
        message = _decode(value)
        key_id = self._key_id_for(message)
        from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError, DecryptKeyError
        from cryptography.exceptions import InvalidSignature, InvalidTag

        client, master_key = self._materials(key_id)
        try:
            plaintext, _header = client.decrypt(source=message, key_provider=master_key)
        except DecryptKeyError:
            raise DecryptionFailed(
                "key_mismatch",
                f"The private key held for Connect key id {key_id!r} does not decrypt this "
                "message: the key pair in the secret does not match the certificate uploaded "
                "to Connect under that id",
            ) from None
        except (AWSEncryptionSDKClientError, InvalidTag, InvalidSignature) as error:
            raise DecryptionFailed(
                "damaged",
                f"The message is damaged or incomplete ({type(error).__name__})",
            ) from None
        try:
            return bytes(plaintext).decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionFailed("not_text", "The decrypted input is not ASCII text") from None

    def _key_id_for(self, message: bytes) -> str:
        try:
            envelope = read_envelope(message)
        except MalformedEnvelope as error:
            raise DecryptionFailed(
                "malformed", f"Not an AWS Encryption SDK message: {error}"
            ) from None
        if len(envelope.data_keys) > MAX_DATA_KEYS:
            raise DecryptionFailed(
                "malformed",
                f"The message holds {len(envelope.data_keys)} encrypted data keys; Connect "
                f"writes {MAX_DATA_KEYS}",
            )
        wrapped = envelope.data_keys[0]
        if wrapped.provider_id != PROVIDER_ID:
            raise DecryptionFailed(
                "wrong_provider",
                f"The data key was wrapped by key provider {_shown(wrapped.provider_id)}, "
                f"not {PROVIDER_ID!r}: this was not encrypted by Connect's Store customer input",
            )
        if wrapped.key_id not in self._keys:
            raise DecryptionFailed(
                "unknown_key_id",
                f"The input was encrypted for Connect key id {_shown(wrapped.key_id)}, but this "
                f"function holds key ids {self.key_ids}: check the EncryptionKeyId in the "
                "contact flow and the keys in the secret",
            )
        return wrapped.key_id

    def _materials(self, key_id: str) -> tuple[EncryptionSDKClient, RawMasterKey]:
        with self._lock:
            if self._client is None:
                import aws_encryption_sdk
                from aws_encryption_sdk.identifiers import CommitmentPolicy

                self._client = aws_encryption_sdk.EncryptionSDKClient(
                    commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
                    max_encrypted_data_keys=MAX_DATA_KEYS,
                )
            if key_id not in self._master_keys:
                self._master_keys[key_id] = _master_key(self._keys[key_id])
            return self._client, self._master_keys[key_id]


def _master_key(key: ConnectKey) -> RawMasterKey:
    from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    try:
        wrapping_key = WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
            wrapping_key=key.private_key_pem,
            wrapping_key_type=EncryptionKeyType.PRIVATE,
        )
    except (ValueError, TypeError):
        raise DecryptionFailed(
            "bad_private_key",
            f"The private key held for Connect key id {key.key_id!r} is not a PEM RSA key",
        ) from None
    return RawMasterKey(
        provider_id=PROVIDER_ID, key_id=key.key_id.encode(), wrapping_key=wrapping_key
    )


def _decode(value: str) -> bytes:
    if not value:
        raise DecryptionFailed("empty", "The stored customer input is empty")
    if value.isdigit():
        raise DecryptionFailed(
            "not_encrypted",
            "The stored customer input is plain digits: switch on encryption in the Store "
            "customer input block",
        )
    if len(value) > _MAX_CIPHERTEXT_CHARS:
        raise DecryptionFailed("malformed", "The stored customer input is too long to be Connect's")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("not_base64", "The stored customer input is not base64") from None


def _shown(text: str) -> str:
    """A key id or provider id from the message, cut short and printable for a message, any
    card number in it masked (it is what the sender wrote, and the message is audited)."""
    printable = "".join(c if c.isprintable() else "?" for c in text[:80])
    return repr(pan.mask_pans(printable, inside_identifiers=True))
