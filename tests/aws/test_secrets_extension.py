"""The charge path's Secrets Manager client against a fake of the extension's HTTP interface."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cardline.cde import secrets
from cardline.cde.secrets import SecretsExtension, SecretUnavailable
from tests.aws_support import FakeExtension

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cardline/paypal-AbC123"
VALUE = {"PAYPAL_CLIENT_ID": "client-1", "PAYPAL_CLIENT_SECRET": "very-secret-value-42"}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    secrets.forget_secrets()
    yield
    secrets.forget_secrets()


def _client(fake: FakeExtension, token: str | None = None) -> SecretsExtension:
    environ = {
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(fake.port),
        "AWS_SESSION_TOKEN": fake.token if token is None else token,
    }
    return SecretsExtension(environ, retry_delay=0.01)


def test_a_secret_is_read_with_the_session_token_and_its_id_quoted(
    extension: FakeExtension,
) -> None:
    extension.put(SECRET_ID, VALUE)
    assert _client(extension).secret_json(SECRET_ID) == VALUE
    assert extension.requests == [(SECRET_ID, extension.token)]


def test_a_starting_extension_is_retried(extension: FakeExtension) -> None:
    extension.put(SECRET_ID, VALUE)
    extension.not_ready = 2
    assert _client(extension).secret_json(SECRET_ID) == VALUE
    assert len(extension.requests) == 3


def test_a_refusal_names_the_status_never_the_value(extension: FakeExtension) -> None:
    extension.put(SECRET_ID, VALUE)
    with pytest.raises(SecretUnavailable) as raised:
        _client(extension, token="wrong").secret_json(SECRET_ID)
    assert "HTTP 401" in str(raised.value)
    assert "very-secret-value-42" not in str(raised.value)
    assert len(extension.requests) == 1  # 401 is not retried


def test_a_missing_secret_is_unavailable(extension: FakeExtension) -> None:
    with pytest.raises(SecretUnavailable, match="HTTP 404"):
        _client(extension).secret_json("cardline/absent")


def test_a_secret_that_is_not_a_json_object_is_refused(extension: FakeExtension) -> None:
    extension.secrets[SECRET_ID] = "just a string"
    with pytest.raises(SecretUnavailable, match="not a JSON object"):
        _client(extension).secret_json(SECRET_ID)


def test_an_unreachable_extension_is_unavailable() -> None:
    import socket

    # A port bound but not listening refuses connections, and stays ours (no other
    # process can start listening there) until the test is done.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        client = SecretsExtension(
            {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port)}, attempts=2, retry_delay=0.01
        )
        with pytest.raises(SecretUnavailable, match="unreachable"):
            client.secret_string(SECRET_ID)


def test_settings_are_read_once_per_instance_and_laid_over_the_environment(
    extension: FakeExtension,
) -> None:
    extension.put(SECRET_ID, VALUE)
    environ = {
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
        "AWS_SESSION_TOKEN": extension.token,
        "CARDLINE_PAYPAL_SECRET_ID": SECRET_ID,
        "PAYPAL_CLIENT_ID": "from-the-environment",
        "PAYPAL_ENV": "sandbox",
    }
    first = secrets.settings(environ)
    second = secrets.settings(environ)
    assert first == second
    assert first["PAYPAL_CLIENT_ID"] == "client-1"
    assert first["PAYPAL_ENV"] == "sandbox"
    assert len(extension.requests) == 1


def test_without_a_secret_id_the_environment_alone_is_used(extension: FakeExtension) -> None:
    assert secrets.settings({"PAYPAL_CLIENT_ID": "x"}) == {"PAYPAL_CLIENT_ID": "x"}
    assert extension.requests == []
