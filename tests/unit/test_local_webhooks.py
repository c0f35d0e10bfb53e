"""`cardline serve` subscribes its webhook route to its embedded emulator at start and
keeps one webhook id (one subscription) across restarts, on whatever port it gets."""

from __future__ import annotations

from pathlib import Path

from cardline import local
from cardline.http.webhook_route import PATH


def test_a_restart_on_another_port_keeps_the_webhook_id(tmp_path: Path) -> None:
    ids = []
    urls = []
    for _restart in range(3):
        stack = local.build_local(tmp_path, {})
        server = local.serve_in_background(stack.app)  # a new free port each time
        try:
            assert stack.emulator is not None
            ids.append(stack.subscribe_webhooks(server.url))
            urls.append(server.url + PATH)
            assert [h.url for h in stack.emulator.webhooks.all()] == [urls[-1]]
        finally:
            server.stop()
            stack.close()
    assert ids[0] is not None
    assert ids == [ids[0]] * 3
    assert len(set(urls)) == 3


def test_a_configured_webhook_id_is_kept_and_nothing_is_subscribed(tmp_path: Path) -> None:
    stack = local.build_local(tmp_path, {"PAYPAL_WEBHOOK_ID": "CONFIGURED1"})
    try:
        assert stack.emulator is not None
        assert stack.subscribe_webhooks("http://127.0.0.1:8080") == "CONFIGURED1"
        assert stack.emulator.webhooks.all() == []
    finally:
        stack.close()
