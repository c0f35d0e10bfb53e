"""The template's Amazon Connect flows and quick connect: copies of infra/connect, wired up."""

from __future__ import annotations

import re

import pytest

from cardline.deploy.connect_flows import FILES, content, render
from tests.aws_support import TEMPLATE, load_template

RESOURCES = load_template()["Resources"]
FLOWS = {
    "payment-flow.json": ("PaymentContactFlow", "CONTACT_FLOW"),
    "agent-transfer-flow.json": ("AgentTransferContactFlow", "QUEUE_TRANSFER"),
}


def test_the_template_holds_the_committed_flows() -> None:
    text = TEMPLATE.read_text()
    assert render(text) == text  # else: python -m cardline.deploy.connect_flows TEMPLATE
    assert set(FLOWS) == set(FILES)


@pytest.mark.parametrize("file", sorted(FLOWS))
def test_each_flow_fills_exactly_its_placeholders(file: str) -> None:
    name, kind = FLOWS[file]
    resource = RESOURCES[name]
    assert resource["Condition"] == "HasConnectFlows"
    assert resource["Properties"]["Type"] == kind
    body, variables = resource["Properties"]["Content"]["Fn::Sub"]
    assert body == content(file)
    assert set(variables) == set(re.findall(r"\$\{([A-Z_]+)\}", body))


def test_the_quick_connect_runs_the_transfer_flow() -> None:
    quick = RESOURCES["PaymentQuickConnect"]
    assert quick["Condition"] == "HasConnectFlows"
    config = quick["Properties"]["QuickConnectConfig"]
    assert config["QuickConnectType"] == "QUEUE"
    assert config["QueueConfig"]["ContactFlowArn"] == {
        "Fn::GetAtt": ["AgentTransferContactFlow", "ContactFlowArn"]
    }
    transfer = RESOURCES["AgentTransferContactFlow"]["Properties"]["Content"]["Fn::Sub"][1]
    assert transfer["PAYMENT_FLOW_ARN"] == {"Fn::GetAtt": ["PaymentContactFlow", "ContactFlowArn"]}
