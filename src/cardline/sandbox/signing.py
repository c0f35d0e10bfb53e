"""How the emulator signs webhook deliveries, as PayPal does.

PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body,
in decimal>`` with SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), sends the signature in
base64 as ``PAYPAL-TRANSMISSION-SIG`` and names, in ``PAYPAL-CERT-URL``, the X.509
certificate whose public key checks it. The emulator makes its own RSA key and a
self-signed certificate once, keeps both in its state file (so a restarted emulator signs
with the same key and the certificate a receiver cached still checks), and serves the
certificate at its own URL.

``cryptography`` is imported here only, when the first signature or certificate is needed:
an emulator that never delivers a webhook never loads it.
"""

from __future__ import annotations

import base64
import binascii
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

AUTH_ALGO = "SHA256withRSA"
KEY_BITS = 2048
CERT_VALID_DAYS = 3650
CERT_NAME = "cardline PayPal emulator webhook signing"


def signed_string(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> str:
    """What PayPal signs for one delivery: the three header values, the webhook id and the
    raw body's CRC32 (unsigned, decimal), joined by ``|``."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}"


@dataclass(frozen=True)
class KeyPair:
    """A private key and its self-signed certificate, both PEM."""

    key_pem: bytes
    cert_pem: bytes


def make_key_pair(now: datetime | None = None) -> KeyPair:
    """A fresh RSA key and a self-signed certificate for it, valid ten years from ``now``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    start = (now or datetime.now(UTC)) - timedelta(days=1)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_NAME)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CERT_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def verify_signature(cert_pem: bytes, signature: str, message: str) -> bool:
    """True when ``signature`` (base64) is ``message`` signed SHA256withRSA by the key of
    the certificate ``cert_pem``."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class Signer:
    """The emulator's signing key, made (or loaded through ``load``/``save``) on first use.

    ``load`` returns the kept pair or None; ``save`` keeps a new one unless one is kept
    already. Without either, the pair lives as long as the signer.
    """

    def __init__(
        self,
        load: Callable[[], KeyPair | None] | None = None,
        save: Callable[[KeyPair], None] | None = None,
    ) -> None:
        kept: list[KeyPair] = []
        self._load = load or (lambda: kept[0] if kept else None)
        self._save = save or kept.append
        self._lock = threading.Lock()
        self._pair: KeyPair | None = None
        self._key: Any = None

    def pair(self) -> KeyPair:
        """The key pair, made and kept the first time it is asked for."""
        with self._lock:
            if self._pair is None:
                pair = self._load()
                if pair is None:
                    self._save(make_key_pair())
                    # Another emulator on the same state file may have kept its pair first.
                    pair = self._load()
                    assert pair is not None
                self._pair = pair
            return self._pair

    @property
    def cert_pem(self) -> bytes:
        """The certificate, PEM."""
        return self.pair().cert_pem

    def sign(self, message: str) -> str:
        """``message`` signed SHA256withRSA, base64."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        pair = self.pair()
        with self._lock:
            if self._key is None:
                self._key = serialization.load_pem_private_key(pair.key_pem, password=None)
            key = self._key
        assert isinstance(key, rsa.RSAPrivateKey)
        raw = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")
