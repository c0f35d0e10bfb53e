"""Decrypting what Amazon Connect's "Store customer input" block encrypts, and failing precisely."""

from __future__ import annotations

import base64
import json

import aws_encryption_sdk
import pytest
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey
from botocore.stub import Stubber

from cardline.ivr.decrypt import PROVIDER_ID, ConnectDecryptor, DecryptionFailed
from cardline.ivr.encrypt import encrypt_like_connect, public_key_pem
from cardline.ivr.envelope import MalformedEnvelope, read_envelope
from cardline.ivr.keys import (
    KeyConfigError,
    KeyPair,
    generate_key_pair,
    key_document,
    keys_from_secrets_manager,
)
from tests.cards import CVV, VISA
from tests.ivr.conftest import as_sent

# Connect's messages: format 1, AES-256-GCM + HKDF-SHA384 + ECDSA-P384, no key commitment.
CONNECT_SUITE = 0x0378


def connect_sdk_ciphertext(plaintext: str, key_id: str, certificate_pem: bytes) -> str:
    """Encrypted by the AWS Encryption SDK set up here, independently, as Connect sets it up."""
    master_key = RawMasterKey(
        provider_id="AmazonConnect",
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
    ciphertext, _ = client.encrypt(
        source=plaintext.encode(),
        key_provider=master_key,
        algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    )
    return base64.b64encode(ciphertext).decode()


def failure(decryptor: ConnectDecryptor, value: str) -> DecryptionFailed:
    with pytest.raises(DecryptionFailed) as caught:
        decryptor.decrypt(value)
    assert VISA not in str(caught.value)
    return caught.value


def test_decrypts_what_the_sdk_configured_as_connect_produced(key_pair: KeyPair) -> None:
    ciphertext = connect_sdk_ciphertext(VISA, key_pair.key_id, key_pair.certificate_pem)
    assert ConnectDecryptor([key_pair.connect_key()]).decrypt(ciphertext) == VISA


def test_the_simulator_encrypts_with_connects_header(key_pair: KeyPair) -> None:
    ciphertext = encrypt_like_connect(
        CVV, key_id=key_pair.key_id, certificate_pem=key_pair.certificate_pem
    )
    envelope = read_envelope(base64.b64decode(ciphertext))
    assert (envelope.version, envelope.algorithm_id) == (1, CONNECT_SUITE)
    assert [(k.provider_id, k.key_id) for k in envelope.data_keys] == [
        (PROVIDER_ID, key_pair.key_id)
    ]
    assert ConnectDecryptor([key_pair.connect_key()]).decrypt(ciphertext) == CVV


def test_committing_messages_of_newer_sdks_are_accepted_too(key_pair: KeyPair) -> None:
    master_key = RawMasterKey(
        provider_id=PROVIDER_ID,
        key_id=key_pair.key_id.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
            wrapping_key=public_key_pem(key_pair.certificate_pem),
            wrapping_key_type=EncryptionKeyType.PUBLIC,
        ),
    )
    ciphertext, _ = aws_encryption_sdk.EncryptionSDKClient().encrypt(
        source=b"1230", key_provider=master_key
    )
    assert read_envelope(ciphertext).version == 2
    decryptor = ConnectDecryptor([key_pair.connect_key()])
    assert decryptor.decrypt(base64.b64encode(ciphertext).decode()) == "1230"


def test_two_keys_decrypt_during_a_rotation(key_pair: KeyPair, other_key_pair: KeyPair) -> None:
    decryptor = ConnectDecryptor([key_pair.connect_key(), other_key_pair.connect_key()])
    for pair in (key_pair, other_key_pair):
        ciphertext = encrypt_like_connect(
            "0130", key_id=pair.key_id, certificate_pem=pair.certificate_pem
        )
        assert decryptor.decrypt(ciphertext) == "0130"


def test_wrong_key_id_names_both_ids(key_pair: KeyPair, other_key_pair: KeyPair) -> None:
    ciphertext = encrypt_like_connect(
        VISA, key_id=other_key_pair.key_id, certificate_pem=other_key_pair.certificate_pem
    )
    error = failure(ConnectDecryptor([key_pair.connect_key()]), ciphertext)
    assert error.code == "unknown_key_id"
    assert as_sent(other_key_pair.key_id) in error.detail
    assert key_pair.key_id in error.detail


def test_a_key_id_holding_a_luhn_run_is_shown_masked_never_whole(key_pair: KeyPair) -> None:
    # A random UUID can hold a Luhn-valid 13-digit run across its dashes (87349-7138-4132):
    # what the sender wrote is masked even there, so the message never quotes a card number.
    sent = generate_key_pair("2ed87349-7138-4132-86a2-9c03300ec2cb", bits=2048)
    ciphertext = encrypt_like_connect(
        VISA, key_id=sent.key_id, certificate_pem=sent.certificate_pem
    )
    error = failure(ConnectDecryptor([key_pair.connect_key()]), ciphertext)
    assert error.code == "unknown_key_id"
    assert "2ed[PAN ••••4132 masked]-86a2-9c03300ec2cb" in error.detail
    assert as_sent(sent.key_id) in error.detail


def test_wrong_provider_is_named(key_pair: KeyPair) -> None:
    ciphertext = encrypt_like_connect(
        VISA,
        key_id=key_pair.key_id,
        certificate_pem=key_pair.certificate_pem,
        provider_id="SomeoneElse",
    )
    error = failure(ConnectDecryptor([key_pair.connect_key()]), ciphertext)
    assert error.code == "wrong_provider"
    assert "'SomeoneElse'" in error.detail


def test_a_private_key_that_does_not_match_the_certificate(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    ciphertext = encrypt_like_connect(
        VISA, key_id=key_pair.key_id, certificate_pem=key_pair.certificate_pem
    )
    mismatched = KeyPair(key_pair.key_id, other_key_pair.private_key_pem, b"")
    error = failure(ConnectDecryptor([mismatched.connect_key()]), ciphertext)
    assert error.code == "key_mismatch"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "empty"),
        (VISA, "not_encrypted"),
        ("not base64 at all!", "not_base64"),
        (base64.b64encode(b"\x01\x80\x03\x78short").decode(), "malformed"),
        (base64.b64encode(b"\x07" * 40).decode(), "malformed"),
    ],
)
def test_malformed_input_has_a_precise_reason(key_pair: KeyPair, value: str, code: str) -> None:
    assert failure(ConnectDecryptor([key_pair.connect_key()]), value).code == code


def test_a_truncated_or_altered_message_is_damaged(key_pair: KeyPair) -> None:
    raw = base64.b64decode(
        encrypt_like_connect(VISA, key_id=key_pair.key_id, certificate_pem=key_pair.certificate_pem)
    )
    decryptor = ConnectDecryptor([key_pair.connect_key()])
    truncated = base64.b64encode(raw[:-30]).decode()
    altered = bytearray(raw)
    altered[-120] ^= 0x01
    assert failure(decryptor, truncated).code == "damaged"
    assert failure(decryptor, base64.b64encode(bytes(altered)).decode()).code == "damaged"


def test_envelope_reader_refuses_what_is_not_a_header() -> None:
    with pytest.raises(MalformedEnvelope, match="version"):
        read_envelope(b"\x09rest")
    with pytest.raises(MalformedEnvelope, match="ends inside"):
        read_envelope(b"\x01\x80\x03")


def test_keys_load_from_a_secrets_manager_secret(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    import boto3

    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    secret = key_document([key_pair, other_key_pair])
    with Stubber(client) as stub:
        stub.add_response(
            "get_secret_value",
            {"Name": "cardline/ivr-keys", "SecretString": secret},
            {"SecretId": "cardline/ivr-keys"},
        )
        keys = keys_from_secrets_manager("cardline/ivr-keys", client)
    assert [k.key_id for k in keys] == [key_pair.key_id, other_key_pair.key_id]
    assert key_pair.private_key_pem.decode() not in repr(keys)


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        json.dumps({"keys": []}),
        json.dumps({"keys": [{"key_id": "k"}]}),
        json.dumps({"keys": [{"key_id": "", "private_key": "-----BEGIN PRIVATE KEY-----"}]}),
        # One id twice: the decryptor would keep one of the two private keys, silently.
        json.dumps({"keys": [{"key_id": "k", "private_key": "-----BEGIN PRIVATE KEY-----"}] * 2}),
    ],
)
def test_a_bad_key_document_is_refused(document: str) -> None:
    from cardline.ivr.keys import parse_key_document

    with pytest.raises(KeyConfigError):
        parse_key_document(document)
