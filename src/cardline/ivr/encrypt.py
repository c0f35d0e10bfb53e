"""Encrypt a keyed input exactly as Amazon Connect's "Store customer input" block does.

This is Connect's half, for the simulator and the tests: the AWS Encryption SDK with a
raw RSA public key (RSA-OAEP-SHA512-MGF1) named by the Connect key id under the provider
``AmazonConnect``, the non-committing signed suite AES-256-GCM/HKDF-SHA384/ECDSA-P384
(message format 1) that Connect writes, base64 encoded.
"""

from __future__ import annotations

import base64

from cardline.ivr.decrypt import PROVIDER_ID

FRAME_LENGTH = 4096


def public_key_pem(certificate_or_key_pem: bytes) -> bytes:
    """The SubjectPublicKeyInfo PEM of a certificate (or of a public key, returned as is)."""
    if b"BEGIN CERTIFICATE" not in certificate_or_key_pem:
        return certificate_or_key_pem
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(certificate_or_key_pem)
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def encrypt_like_connect(
    plaintext: str,
    *,
    key_id: str,
    certificate_pem: bytes,
    provider_id: str = PROVIDER_ID,
) -> str:
    """The base64 ciphertext Connect would store for ``plaintext`` (``provider_id`` is for
    tests that need a message Connect would not have made)."""
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import (
        Algorithm,
        CommitmentPolicy,
        EncryptionKeyType,
        WrappingAlgorithm,
    )
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKey

    master_key = RawMasterKey(
        provider_id=provider_id,
        key_id=key_id.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
            wrapping_key=public_key_pem(certificate_pem),
            wrapping_key_type=EncryptionKeyType.PUBLIC,
        ),
    )
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    ciphertext, _header = client.encrypt(
        source=plaintext.encode("ascii"),
        key_provider=master_key,
        algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
        frame_length=FRAME_LENGTH,
    )
    return base64.b64encode(ciphertext).decode("ascii")
