"""AWS stand-ins on 127.0.0.1 for the tests: moto's server, the ledger and IVR sessions
tables as the SAM template defines them, and a fake of the Parameters and Secrets Lambda
Extension."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cardline.compliance import cfn_yaml
from tests.artifacts import dump_moto
from tests.seeded import unique

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "serverless" / "template.yaml"
REGION = "us-east-1"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as a plain dict, intrinsic functions in their long form."""
    return cfn_yaml.load_template(path)


def create_ledger_table(client: Any, name: str) -> None:
    """The ledger table exactly as the template declares it (keys and indexes)."""
    properties = load_template()["Resources"]["LedgerTable"]["Properties"]
    client.create_table(
        TableName=name,
        BillingMode=properties["BillingMode"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
    )


def create_sessions_table(client: Any, name: str) -> None:
    """The IVR sessions table exactly as the template declares it (key and TTL)."""
    properties = load_template()["Resources"]["IvrSessionsTable"]["Properties"]
    client.create_table(
        TableName=name,
        BillingMode=properties["BillingMode"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"]
    )


@dataclass
class Aws:
    """moto's server on loopback, with what boto3 needs to reach it."""

    endpoint: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def environment(self) -> dict[str, str]:
        """Variables that point a boto3 client made with no arguments at moto."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def ledger_table(self) -> str:
        """A fresh, empty ledger table."""
        name = unique("ledger-")
        create_ledger_table(self.client("dynamodb"), name)
        return name

    def sessions_table(self) -> str:
        """A fresh, empty IVR sessions table."""
        name = unique("ivr-sessions-")
        create_sessions_table(self.client("dynamodb"), name)
        return name


@contextmanager
def running_moto() -> Iterator[Aws]:
    """moto's server on 127.0.0.1 until the block ends."""
    from moto.server import ThreadedMotoServer

    # Their DEBUG lines (every request and answer) would swamp the suite's log.
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Aws(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def aws(artifacts: Path) -> Iterator[Aws]:
    """moto's server; what it holds at the end is dumped for the leak scan."""
    with running_moto() as stand_in:
        yield stand_in
        dump_moto(stand_in.client, artifacts)


@dataclass
class FakeExtension:
    """The extension's documented interface: GET /secretsmanager/get?secretId=ID with the
    session token in X-Aws-Parameters-Secrets-Token; answers GetSecretValue's JSON."""

    token: str
    secrets: dict[str, str] = field(default_factory=dict)
    not_ready: int = 0  # answer 400 this many times first, as a starting extension does
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def put(self, secret_id: str, value: Mapping[str, str]) -> None:
        self.secrets[secret_id] = json.dumps(dict(value))


@contextmanager
def running_extension() -> Iterator[FakeExtension]:
    """A :class:`FakeExtension` serving on 127.0.0.1 (``port``) until the block ends."""
    fake = FakeExtension(token=unique("session-"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            secret_id = (parse_qs(url.query).get("secretId") or [""])[0]
            fake.requests.append((secret_id, self.headers.get("X-Aws-Parameters-Secrets-Token")))
            if fake.not_ready > 0:
                fake.not_ready -= 1
                self._answer(400, {"message": "not ready to serve traffic, please wait"})
            elif self.headers.get("X-Aws-Parameters-Secrets-Token") != fake.token:
                self._answer(401, {"message": "invalid token"})
            elif url.path != "/secretsmanager/get" or secret_id not in fake.secrets:
                self._answer(404, {"message": "secret not found"})
            else:
                arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{secret_id}"
                self._answer(
                    200,
                    {
                        "ARN": arn,
                        "Name": secret_id,
                        "VersionId": "v1",
                        "SecretString": fake.secrets[secret_id],
                        "VersionStages": ["AWSCURRENT"],
                        "CreatedDate": "2026-01-01T00:00:00Z",
                    },
                )

        def _answer(self, status: int, body: Mapping[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def extension() -> Iterator[FakeExtension]:
    with running_extension() as fake:
        yield fake


def subscription_event(
    messages: list[str], log_group: str = "/cardline/cardline/charge"
) -> dict[str, Any]:
    """What CloudWatch Logs hands a subscribed Lambda: base64 of gzip of the JSON batch."""
    import base64
    import gzip

    batch = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "2026/11/28/[$LATEST]0123456789abcdef",
        "subscriptionFilters": ["cardline-ProjectorFunctionChargeAudit"],
        "logEvents": [
            {
                "id": str(36000000000000000000000000000000000 + n),
                "timestamp": 1795000000000 + n,
                "message": message,
            }
            for n, message in enumerate(messages)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(batch).encode())).decode()
    return {"awslogs": {"data": data}}
