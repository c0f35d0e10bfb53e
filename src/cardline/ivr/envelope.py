"""Read the header of an AWS Encryption SDK message: which keys its data key was wrapped for.

Only for diagnosis, before the SDK decrypts: it lets a failure say "encrypted for key id X,
this function holds Y" instead of the SDK's "Unable to decrypt any data key". Standard
library only; message format v1 (what Amazon Connect writes) and v2.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class MalformedEnvelope(ValueError):
    """The bytes are not an AWS Encryption SDK message header."""


@dataclass(frozen=True)
class WrappedKey:
    """One encrypted data key: the key provider and the key it was wrapped for."""

    provider_id: str
    key_id: str


@dataclass(frozen=True)
class Envelope:
    version: int
    algorithm_id: int
    data_keys: tuple[WrappedKey, ...]


# Message format version -> length of the message id that follows the algorithm id.
_MESSAGE_ID_LENGTH = {1: 16, 2: 32}
_V1_TYPE_CUSTOMER_AUTHENTICATED = 0x80


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, count: int, what: str) -> bytes:
        end = self._at + count
        if end > len(self._data):
            raise MalformedEnvelope(f"the message ends inside its {what}")
        chunk = self._data[self._at : end]
        self._at = end
        return chunk

    def uint8(self, what: str) -> int:
        return self.take(1, what)[0]

    def uint16(self, what: str) -> int:
        value: int = struct.unpack(">H", self.take(2, what))[0]
        return value

    def field(self, what: str) -> bytes:
        return self.take(self.uint16(what), what)


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEnvelope(f"the {what} is not UTF-8") from None


def read_envelope(message: bytes) -> Envelope:
    """Parse the header up to the encrypted data keys; raises MalformedEnvelope."""
    reader = _Reader(message)
    version = reader.uint8("version")
    if version not in _MESSAGE_ID_LENGTH:
        raise MalformedEnvelope(f"unknown message format version {version}")
    if version == 1 and reader.uint8("type") != _V1_TYPE_CUSTOMER_AUTHENTICATED:
        raise MalformedEnvelope("unknown message type")
    algorithm_id = reader.uint16("algorithm id")
    reader.take(_MESSAGE_ID_LENGTH[version], "message id")
    reader.take(reader.uint16("encryption context length"), "encryption context")
    count = reader.uint16("encrypted data key count")
    if count == 0:
        raise MalformedEnvelope("the message holds no encrypted data key")
    keys = []
    for _ in range(count):
        provider = _text(reader.field("key provider id"), "key provider id")
        key_info = reader.field("key provider info")
        reader.field("encrypted data key")
        # Raw RSA keys put the key name alone in the provider info.
        keys.append(WrappedKey(provider, key_info.decode("utf-8", errors="replace")))
    return Envelope(version, algorithm_id, tuple(keys))
