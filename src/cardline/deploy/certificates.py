"""The inventory of certificates and keys that protect card data in transit (PCI DSS
4.2.1.1), read from the SAM template rather than written by hand.

Each entry is one TLS endpoint (or, for Amazon Connect, one encryption certificate) a card
number crosses, or that the agent's session crosses: who presents the certificate, who
issues and renews it, the security policy (lowest TLS version) it accepts, and the template
resource that says so. A template change that weakens a policy changes this inventory::

    python -m cardline.deploy.certificates                       # the serverless template
    python -m cardline.deploy.certificates --template PATH       # another one

prints the inventory as JSON; the compliance report can read the same list through
:func:`inventory`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cardline.cde.paypal.config import PayPalConfig
from cardline.compliance.cfn_yaml import load_template

TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "serverless" / "template.yaml"

# The lowest TLS version each API Gateway security policy accepts (API Gateway's table of
# supported security policies); a policy not named here is reported as unknown.
POLICY_MINIMUM_TLS = {
    "TLS_1_0": "1.0",
    "TLS_1_2": "1.2",
    "SecurityPolicy_TLS13_1_2_2021_06": "1.2",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09": "1.2",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09": "1.2",
    "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09": "1.2",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09": "1.2",
    "SecurityPolicy_TLS13_1_3_2025_09": "1.3",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09": "1.3",
}
INBOUND = "inbound: agents' browsers, Twilio, PayPal webhooks -> API Gateway"
# What a regional REST API's execute-api endpoint accepts without a SecurityPolicy.
DEFAULT_ENDPOINT_POLICY = "TLS_1_0"


@dataclass(frozen=True)
class Entry:
    """One certificate (or key) in the inventory."""

    endpoint: str
    host: str
    direction: str
    certificate: str
    issued_by: str
    renewed_by: str
    tls_policy: str
    minimum_tls: str
    enabled: str
    source: str


def _describe(value: Any) -> str:
    """A template value in words: a literal, a parameter, or a condition's two choices."""
    if isinstance(value, Mapping):
        if set(value) == {"Ref"}:
            return f"parameter {value['Ref']}"
        if set(value) == {"Fn::If"}:
            condition, yes, no = value["Fn::If"]
            return f"{_describe(yes)} if {condition}, else {_describe(no)}"
    return json.dumps(value) if not isinstance(value, str) else value


def _enabled(value: Any) -> str:
    """The words for a DisableExecuteApiEndpoint value."""
    if value is None or value is False:
        return "always"
    if value is True:
        return "never (disabled)"
    if isinstance(value, Mapping) and set(value) == {"Fn::If"}:
        condition, yes, no = value["Fn::If"]
        if yes is True and no is False:
            return f"unless {condition} (then disabled)"
    return f"disabled: {_describe(value)}"


def _minimum(policy: str) -> str:
    return POLICY_MINIMUM_TLS.get(policy, "unknown")


def _of_type(resources: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


def _apis(resources: Mapping[str, Any]) -> list[Entry]:
    entries = []
    kinds = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
    for kind in kinds:
        for name, api in _of_type(resources, kind).items():
            properties = api.get("Properties", {})
            policy = properties.get("SecurityPolicy", DEFAULT_ENDPOINT_POLICY)
            entries.append(
                Entry(
                    endpoint=f"{name} (execute-api default endpoint)",
                    host=f"{{{name}}}.execute-api.{{region}}.amazonaws.com",
                    direction=INBOUND,
                    certificate="Amazon's *.execute-api certificate",
                    issued_by="Amazon (AWS-managed)",
                    renewed_by="AWS",
                    tls_policy=_describe(policy),
                    minimum_tls=_minimum(policy) if isinstance(policy, str) else "unknown",
                    enabled=_enabled(properties.get("DisableExecuteApiEndpoint")),
                    source=f"{name}.Properties.SecurityPolicy",
                )
            )
    for name, domain in _of_type(resources, "AWS::ApiGateway::DomainName").items():
        properties = domain.get("Properties", {})
        policy = properties.get("SecurityPolicy", DEFAULT_ENDPOINT_POLICY)
        certificate = properties.get("RegionalCertificateArn", properties.get("CertificateArn"))
        entries.append(
            Entry(
                endpoint=f"{name} (custom domain)",
                host=_describe(properties.get("DomainName")),
                direction=INBOUND,
                certificate=f"ACM certificate: {_describe(certificate)}",
                issued_by="the merchant's ACM certificate (Amazon-issued or imported)",
                renewed_by="ACM (Amazon-issued, DNS-validated) or the merchant (imported)",
                tls_policy=_describe(policy),
                minimum_tls=_minimum(policy) if isinstance(policy, str) else "unknown",
                enabled=f"if {domain['Condition']}" if "Condition" in domain else "always",
                source=f"{name}.Properties.SecurityPolicy",
            )
        )
    return entries


def _paypal() -> list[Entry]:
    return [
        Entry(
            endpoint=f"PayPal REST API ({environment})",
            host=urlsplit(url).hostname or url,
            direction="outbound: charge and ivr -> PayPal (the card number)",
            certificate="PayPal's server certificate, verified against the system CAs",
            issued_by="a public CA chosen by PayPal",
            renewed_by="PayPal",
            tls_policy="cardline.cde.paypal.config._tls_context: CERT_REQUIRED, hostname checked",
            minimum_tls="1.2",
            enabled=f"PayPalEnvironment={environment}",
            source="src/cardline/cde/paypal/config.py",
        )
        for environment, url in (
            ("sandbox", PayPalConfig.SANDBOX_URL),
            ("live", PayPalConfig.LIVE_URL),
        )
    ]


def _cognito(resources: Mapping[str, Any]) -> list[Entry]:
    return [
        Entry(
            endpoint=f"{name} (Cognito user pool API)",
            host="cognito-idp.{region}.amazonaws.com",
            direction="outbound: the agent's browser -> Cognito (password, TOTP code)",
            certificate="Amazon's cognito-idp certificate",
            issued_by="Amazon (AWS-managed)",
            renewed_by="AWS",
            tls_policy="AWS-managed",
            minimum_tls="1.2",
            enabled="always",
            source=f"{name}",
        )
        for name in _of_type(resources, "AWS::Cognito::UserPool")
    ]


def _connect(template: Mapping[str, Any]) -> list[Entry]:
    parameters = template.get("Parameters", {})
    if "ConnectEncryptionCertificate" not in parameters:
        return []
    return [
        Entry(
            endpoint="Amazon Connect encrypted customer input",
            host="(not a TLS endpoint: Connect encrypts the keyed digits to this certificate)",
            direction="Connect -> ivr: the card number, encrypted (RSA-OAEP-SHA512)",
            certificate="parameter ConnectEncryptionCertificate (its key in IvrKeysSecret)",
            issued_by="the merchant (self-signed, docs/ivr.md)",
            renewed_by="the merchant; IvrKeyExpiryAlarm warns 30 days ahead",
            tls_policy="AWS Encryption SDK, provider AmazonConnect",
            minimum_tls="n/a",
            enabled="if HasConnectFlows",
            source="Parameters.ConnectEncryptionCertificate",
        )
    ]


def inventory(template_path: Path = TEMPLATE) -> list[Entry]:
    """Every certificate or key protecting card data (or the agent's session) in transit."""
    template = load_template(template_path)
    resources = template["Resources"]
    return [*_apis(resources), *_cognito(resources), *_paypal(), *_connect(template)]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the inventory of a template as JSON."""
    parser = argparse.ArgumentParser(prog="python -m cardline.deploy.certificates")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    arguments = parser.parse_args(argv)
    entries = [asdict(entry) for entry in inventory(arguments.template)]
    json.dump(entries, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
