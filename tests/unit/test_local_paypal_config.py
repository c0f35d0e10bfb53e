"""`cardline serve`'s PayPal config reads the same environment as the Lambda functions.

With PayPal credentials set, the local host reads PayPalConfig.from_env; with the embedded
emulator, it builds the config itself: its per-attempt timeout and whole-call deadline must
come from PAYPAL_TIMEOUT_SECONDS and PAYPAL_DEADLINE_SECONDS there too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cardline import local
from cardline.cde.paypal import PayPalConfig


def _config_built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> Any:
    """The PayPalConfig build_local hands its clients (the backoffice's, and the charge
    route's and the IVR's own, each counting its metrics), for the environment ``env``."""
    built: list[PayPalConfig] = []
    real = local.PayPalClient

    def recording(config: PayPalConfig, **options: Any) -> Any:
        built.append(config)
        return real(config, **options)

    monkeypatch.setattr(local, "PayPalClient", recording)
    stack = local.build_local(tmp_path / "data", env)
    try:
        assert stack.paypal_mode == "emulator"
    finally:
        stack.close()
    config = built[0]
    assert len(built) == 3
    assert all(other is config for other in built)
    return config


def test_the_emulators_config_takes_the_deadline_and_timeout_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"PAYPAL_TIMEOUT_SECONDS": "3.5", "PAYPAL_DEADLINE_SECONDS": "7"}
    config = _config_built(monkeypatch, tmp_path, env)
    assert (config.timeout, config.deadline) == (3.5, 7.0)


def test_the_emulators_config_has_the_lambda_defaults_without_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _config_built(monkeypatch, tmp_path, {})
    lambda_like = PayPalConfig.from_env({"PAYPAL_CLIENT_ID": "i", "PAYPAL_CLIENT_SECRET": "s"})
    assert lambda_like is not None
    assert (config.timeout, config.deadline) == (lambda_like.timeout, lambda_like.deadline)


def test_a_bad_deadline_stops_the_local_host_as_it_stops_a_lambda(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="PAYPAL_DEADLINE_SECONDS"):
        PayPalConfig.from_env(
            {"PAYPAL_CLIENT_ID": "i", "PAYPAL_CLIENT_SECRET": "s", "PAYPAL_DEADLINE_SECONDS": "0"}
        )
    with pytest.raises(ValueError, match="PAYPAL_DEADLINE_SECONDS"):
        _config_built(monkeypatch, tmp_path, {"PAYPAL_DEADLINE_SECONDS": "0"})
