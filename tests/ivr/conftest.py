"""Fixtures for the IVR tests: key pairs as Connect would hold them, a handler on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.charge import Charger
from cardline.cde.paypal import PayPalClient, PayPalConfig
from cardline.ivr.connect import IvrHandler
from cardline.ivr.decrypt import ConnectDecryptor
from cardline.ivr.encrypt import encrypt_like_connect
from cardline.ivr.keys import KeyPair, generate_key_pair
from cardline.ivr.sessions import SessionStore, SqliteSessionStore
from cardline.sandbox import Emulator

INSTANCE = "c0ffee00-7e57-4a11-b0b0-ca11ce17e000"
# The session stores every behaviour of sessions is pinned against: SQLite (local) and
# DynamoDB (AWS, on moto's server).
SESSION_STORES = ["sqlite", "dynamodb"]
StoreFactory = Callable[[audit.AuditSink], SessionStore]


def store_factory(request: pytest.FixtureRequest, kind: str, directory: Path) -> StoreFactory:
    """How to make a session store of ``kind`` writing its audit events to a sink."""
    if kind == "sqlite":
        return lambda sink: SqliteSessionStore(directory / "sessions.sqlite3", sink)
    from cardline.ivr.session_table import DynamoDbSessionStore

    aws = request.getfixturevalue("aws")
    table = aws.sessions_table()
    return lambda sink: DynamoDbSessionStore(table, sink, aws.client("dynamodb"))


@pytest.fixture(scope="session")
def key_pair() -> KeyPair:
    return generate_key_pair()


@pytest.fixture(scope="session")
def other_key_pair() -> KeyPair:
    return generate_key_pair()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as paypal:
        yield paypal


class Rig:
    """An IvrHandler on the emulator, recording audit events to a file in the artifacts."""

    def __init__(
        self,
        emulator: Emulator,
        key_pair: KeyPair,
        directory: Path,
        sessions: StoreFactory | None = None,
    ) -> None:
        self.emulator = emulator
        self.key_pair = key_pair
        self.audit_path = directory / "audit.jsonl"
        self.sink = audit.FileSink(self.audit_path)
        config = PayPalConfig(
            base_url=emulator.base_url,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
        )
        charger = Charger(PayPalClient(config), self.sink, b"f" * 32)
        decryptor = ConnectDecryptor([key_pair.connect_key()])
        self.sessions = (
            sessions(self.sink)
            if sessions is not None
            else SqliteSessionStore(directory / "sessions.sqlite3", self.sink)
        )
        self.handler = IvrHandler(
            lambda: charger, lambda: decryptor, self.sink, lambda: self.sessions
        )

    def encrypt(self, digits: str) -> str:
        return encrypt_like_connect(
            digits, key_id=self.key_pair.key_id, certificate_pem=self.key_pair.certificate_pem
        )

    def events(self) -> list[audit.AuditEvent]:
        return list(audit.read_events(self.audit_path))


@pytest.fixture
def rig(emulator: Emulator, key_pair: KeyPair, data_dir: Path) -> Rig:
    return Rig(emulator, key_pair, data_dir)


@pytest.fixture(params=SESSION_STORES)
def session_rig(
    request: pytest.FixtureRequest, emulator: Emulator, key_pair: KeyPair, data_dir: Path
) -> Rig:
    """A :class:`Rig` keeping its agent-assisted sessions in each store in turn."""
    return Rig(emulator, key_pair, data_dir, store_factory(request, request.param, data_dir))


def connect_event(
    contact_id: str, parameters: dict[str, str], *, instance: str = INSTANCE
) -> dict[str, Any]:
    """An event shaped like the one Amazon Connect sends a Lambda from a contact flow."""
    return {
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "Attributes": {},
                "Channel": "VOICE",
                "ContactId": contact_id,
                "InitialContactId": contact_id,
                "PreviousContactId": contact_id,
                "InstanceARN": f"arn:aws:connect:us-east-1:123456789012:instance/{instance}",
                "InitiationMethod": "INBOUND",
            },
            "Parameters": parameters,
        },
    }


def as_sent(key_id: str) -> str:
    """A key id from a message as the IVR's messages show it: what the sender wrote, any
    card number in it masked even inside a UUID (a random UUID can hold a Luhn-valid run
    of 13 digits across its dashes)."""
    from cardline.cde.pan import mask_pans

    return mask_pans(key_id, inside_identifiers=True)
