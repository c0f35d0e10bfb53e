"""Facts about one architecture, read from its template and its derived scope.

The responsibility matrix (``requirements.yaml``) names these facts in its rules, so who
owns a requirement follows from what the template declares.
"""

from __future__ import annotations

from cardline.compliance.scope import CDE, Scope
from cardline.compliance.template import Template, names_in

INSTANCE_TYPES = {
    "AWS::EC2::Instance",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::EC2::LaunchTemplate",
    "AWS::AutoScaling::LaunchConfiguration",
}
NETWORK_TYPES = {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"}
FUNCTION_TYPES = {"AWS::Serverless::Function", "AWS::Lambda::Function"}


def _true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "enabled"})


def ssh_rules(template: Template) -> list[str]:
    """Security group rules (inline or separate) that open port 22."""
    found: list[str] = []
    for resource in template.resources.values():
        rules: list[object] = []
        if resource.type == "AWS::EC2::SecurityGroup":
            rules = list(resource.properties.get("SecurityGroupIngress") or [])
        elif resource.type == "AWS::EC2::SecurityGroupIngress":
            rules = [resource.properties]
        for rule in rules:
            if not isinstance(rule, dict):
                continue
            low, high = template.value(rule.get("FromPort")), template.value(rule.get("ToPort"))
            if isinstance(low, int) and isinstance(high, int) and low <= 22 <= high:
                found.append(resource.id)
    return sorted(set(found))


def _named(template: Template, value: object, kind: str) -> list[str]:
    return sorted(
        n for n in names_in(value) if n in template.resources and template.resources[n].type == kind
    )


def _allow_listing(template: Template, firewall: str) -> bool:
    """The firewall's policy references a stateful domain allow-list."""
    policy = template.resources[firewall].properties.get("FirewallPolicyArn")
    for group in (
        g
        for p in _named(template, policy, "AWS::NetworkFirewall::FirewallPolicy")
        for g in _named(
            template, template.resources[p].properties, "AWS::NetworkFirewall::RuleGroup"
        )
    ):
        source = (template.resources[group].properties.get("RuleGroup") or {}).get("RulesSource")
        if ((source or {}).get("RulesSourceList") or {}).get("GeneratedRulesType") == "ALLOWLIST":
            return True
    return False


def egress_through_firewall(template: Template, resource_id: str) -> bool:
    """``resource_id`` sits in subnets whose every default route (0.0.0.0/0) goes to a
    Network Firewall with a domain allow-list: its egress passes that allow-list."""
    subnets = template.placements[resource_id].subnets
    if not subnets:
        return False
    for subnet in subnets:
        tables = [
            t
            for a in template.of_type("AWS::EC2::SubnetRouteTableAssociation")
            if subnet in names_in(a.properties.get("SubnetId"))
            for t in _named(template, a.properties.get("RouteTableId"), "AWS::EC2::RouteTable")
        ]
        defaults = [
            r
            for r in template.of_type("AWS::EC2::Route")
            if r.properties.get("DestinationCidrBlock") == "0.0.0.0/0"
            and set(tables) & names_in(r.properties.get("RouteTableId"))
        ]
        firewalls = [
            f
            for r in defaults
            for f in _named(template, r.properties, "AWS::NetworkFirewall::Firewall")
        ]
        if not defaults or len(firewalls) != len(defaults):
            return False
        if not all(_allow_listing(template, f) for f in firewalls):
            return False
    return True


def derive_facts(template: Template, scope: Scope) -> dict[str, bool]:
    """Every fact the matrix rules may name, true or false for this architecture."""
    in_scope = {r: template.resources[r] for r in scope.in_scope()}
    cde = set(scope.of(CDE))
    keys = template.of_type("AWS::KMS::Key")
    retention = [
        template.value(g.properties.get("RetentionInDays"))
        for g in template.of_type("AWS::Logs::LogGroup")
    ]
    pools = template.of_type("AWS::Cognito::UserPool")
    cde_functions = sorted(r for r in cde if template.resources[r].type in FUNCTION_TYPES)
    return {
        "customer_os": any(r.type in INSTANCE_TYPES for r in in_scope.values()),
        "customer_network": any(r.type in NETWORK_TYPES for r in in_scope.values()),
        "managed_runtime": any(template.resources[r].type in FUNCTION_TYPES for r in cde),
        "waf": any(
            template.targets(a.id) & cde for a in template.of_type("AWS::WAFv2::WebACLAssociation")
        ),
        "mfa": any(
            str(template.value(p.properties.get("MfaConfiguration"))).upper() in {"ON", "OPTIONAL"}
            for p in pools
        ),
        "object_lock": any(
            _true(template.value(b.properties.get("ObjectLockEnabled")))
            for b in template.of_type("AWS::S3::Bucket")
        ),
        "key_rotation": bool(keys)
        and all(_true(template.value(k.properties.get("EnableKeyRotation"))) for k in keys),
        "log_retention": bool(retention)
        and all(isinstance(d, int) and d >= 365 for d in retention),
        "ssh": bool(ssh_rules(template)),
        # CDE functions in a VPC whose egress passes a firewall with a domain allow-list
        # (PCI DSS 1.3.2); otherwise their egress is unrestricted.
        "cde_egress_firewall": bool(cde_functions)
        and all(egress_through_firewall(template, f) for f in cde_functions),
    }
