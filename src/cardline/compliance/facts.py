"""Facts about one architecture, read from its template, its derived scope, its bound data
flows, the inventory of what the template does not hold, and the repository's files.

The responsibility matrix (``requirements.yaml``) names these facts in its rules, so who
owns a requirement, and whether a row is a finding, follows from what the template
declares: a feature added to the template flips its row without a change here.

A fact is true when it holds for the deployment the template is read as (the parameter
values of its variant, the rest at their defaults); one that holds only when a template
condition holds that those values leave false or undecided is false, with that condition
recorded (:attr:`Fact.conditions`) so the matrix can say what turns it on. What is
missing when a fact does not hold is recorded too (:attr:`Fact.missing`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardline.compliance.flows import Binding, Declaration
from cardline.compliance.inventory import Item
from cardline.compliance.routes import default_routes, firewall_allow_list, route_table_of
from cardline.compliance.scope import CDE, Scope
from cardline.compliance.template import Resource, Template

INSTANCE_TYPES = {
    "AWS::EC2::Instance",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::EC2::LaunchTemplate",
    "AWS::AutoScaling::LaunchConfiguration",
}
NETWORK_TYPES = {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"}
FUNCTION_TYPES = {"AWS::Serverless::Function", "AWS::Lambda::Function"}
REST_API_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
# A TLS policy that refuses anything below TLS 1.2 (API Gateway's legacy TLS_1_2 and its
# enhanced SecurityPolicy_TLS*; the load balancer's TLS 1.2/1.3 policies).
_TLS12_POLICY = re.compile(
    r"^(TLS_1_2|SecurityPolicy_TLS1[23].*|ELBSecurityPolicy-TLS1?3?-1-2-.*)$"
)
_CLOUDTRAIL_EVENTS = "AWS API Call via CloudTrail"
_FIREWALL_TYPES = {"AWS::NetworkFirewall::Firewall", "AWS::NetworkFirewall::RuleGroup"}


@dataclass(frozen=True)
class Fact:
    """One fact: ``holds`` by default; else what is ``missing``, and the template
    ``conditions`` under which it would hold. ``evidence``: the logical ids (or files)
    that make it hold, or that it was judged on."""

    holds: bool
    missing: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


class Facts(dict[str, bool]):
    """Every fact, true or false (a plain mapping for the matrix's rules), with the
    :class:`Fact` behind each in :attr:`detail`."""

    def __init__(self, detail: dict[str, Fact]) -> None:
        super().__init__({name: fact.holds for name, fact in detail.items()})
        self.detail = detail


@dataclass(frozen=True)
class FileFact:
    """A fact read from the repository's files (``requirements.yaml``, ``file_facts``):
    some file under ``paths`` (globs from the repository root) exists and, if given,
    ``matches`` the pattern somewhere; and, if given, no such file matches ``nowhere``."""

    paths: tuple[str, ...]
    matches: str | None = None
    nowhere: str | None = None
    missing: str = ""


def _true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "enabled"})


def resolved(template: Template, value: Any) -> Any:
    """A property's value with parameters at their defaults and ``Fn::If`` decided (None
    when it cannot be told)."""
    value = template.value(value)
    branches = value.get("Fn::If") if isinstance(value, dict) else None
    if isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str):
        holds = template.condition(branches[0])
        if holds is None:
            return None
        return resolved(template, branches[1] if holds else branches[2])
    return value


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


def _of(
    template: Template, types: Iterable[str], test: Callable[[Resource], bool], missing: str
) -> Fact:
    """Holds when some resource of ``types`` passes ``test`` and is surely created; else
    the conditions under which one that passes would be."""
    passing = [r for r in template.of_type(*types) if test(r)]
    deployed = [r.id for r in passing if template.created(r.id)]
    if deployed:
        return Fact(True, evidence=tuple(sorted(deployed)))
    passing += [r for r in template.unmade.values() if r.type in types and test(r)]
    conditions = tuple(sorted({r.condition for r in passing if r.condition}))
    return Fact(False, (missing,), conditions, tuple(sorted(r.id for r in passing)))


def _every(template: Template, resources: list[Resource], test: Callable[[Resource], str]) -> Fact:
    """Holds when ``test`` finds nothing missing (it answers "" or what is missing) on
    every resource surely created."""
    judged = [r for r in resources if template.created(r.id)]
    missing = tuple(f"{r.id}: {why}" for r in judged if (why := test(r)))
    return Fact(not missing, missing, evidence=tuple(sorted(r.id for r in judged)))


EXECUTE_API_DISABLED = "disabled"


def execute_api_policy(template: Template, api: Resource) -> str | None:
    """The TLS policy of a REST API's own execute-api endpoint: ``EXECUTE_API_DISABLED``
    when the template switches it off, else the policy it states (the property, or the
    OpenAPI body's extension), else None (API Gateway then applies its legacy TLS 1.0
    default)."""
    props = api.properties
    if _true(resolved(template, props.get("DisableExecuteApiEndpoint"))):
        return EXECUTE_API_DISABLED
    body = props.get("DefinitionBody")
    policy = resolved(template, props.get("SecurityPolicy")) or (
        body.get("x-amazon-apigateway-security-policy") if isinstance(body, dict) else None
    )
    return None if policy is None else str(policy)


def _endpoint_tls(template: Template) -> Fact:
    """Every endpoint that takes the agents' TLS states a TLS 1.2+ policy: each REST API's
    own execute-api endpoint (or it is disabled), each custom domain, each HTTPS listener."""

    def check(resource: Resource) -> str:
        props = resource.properties
        if resource.type in REST_API_TYPES:
            policy = execute_api_policy(template, resource)
            if policy == EXECUTE_API_DISABLED:
                return ""
            if policy is None:
                return "its execute-api endpoint states no TLS policy and is not disabled"
        elif resource.type == "AWS::ApiGateway::DomainName":
            policy = resolved(template, props.get("SecurityPolicy"))
        elif str(resolved(template, props.get("Protocol"))).upper() == "HTTPS":
            policy = resolved(template, props.get("SslPolicy"))
        else:
            return ""
        return "" if _TLS12_POLICY.match(str(policy)) else f"TLS policy {policy} admits below 1.2"

    endpoints = template.of_type(
        *REST_API_TYPES, "AWS::ApiGateway::DomainName", "AWS::ElasticLoadBalancingV2::Listener"
    )
    return _every(template, endpoints, check)


def _default_endpoint_off(template: Template) -> Fact:
    """With a custom domain, the REST API's default execute-api endpoint is disabled (under
    the domain's own condition at least), so agents reach it only through the domain."""
    domains = template.of_type("AWS::ApiGateway::DomainName")
    conditions = tuple(sorted({d.condition for d in domains if d.condition}))

    def check(api: Resource) -> str:
        value = api.properties.get("DisableExecuteApiEndpoint")
        if value is None:
            return "the default execute-api endpoint stays open beside the custom domain"
        branches = value.get("Fn::If") if isinstance(value, dict) else None
        if isinstance(branches, list) and branches and branches[0] in conditions:
            return "" if _true(branches[1]) else "not disabled under the domain's condition"
        return "" if _true(resolved(template, value)) else "not disabled"

    if not domains:
        return Fact(True, evidence=())
    apis = template.of_type(*REST_API_TYPES)
    missing = tuple(f"{a.id}: {why}" for a in apis if (why := check(a)))
    return Fact(not missing, missing, (), tuple(sorted(a.id for a in apis)))


def _object_lock_mode(template: Template, bucket: Resource) -> str | None:
    config = bucket.properties.get("ObjectLockConfiguration") or {}
    rule = config.get("Rule") if isinstance(config, dict) else None
    retention = rule.get("DefaultRetention") if isinstance(rule, dict) else None
    mode = resolved(template, retention.get("Mode")) if isinstance(retention, dict) else None
    return str(mode) if mode is not None else None


def _locked(template: Template) -> Fact:
    """Every Object Lock bucket's default retention is COMPLIANCE: nobody, root included,
    can shorten it or delete a locked version (GOVERNANCE lets a permission bypass it)."""
    buckets = [
        b
        for b in template.of_type("AWS::S3::Bucket")
        if _true(resolved(template, b.properties.get("ObjectLockEnabled")))
    ]
    if not buckets:
        return Fact(False, ("no bucket under Object Lock",))

    def check(bucket: Resource) -> str:
        mode = _object_lock_mode(template, bucket)
        return "" if mode == "COMPLIANCE" else f"Object Lock mode {mode} by default"

    return _every(template, buckets, check)


def _trail(template: Template, *, locked: bool) -> Fact:
    """A CloudTrail trail that logs, validates its log files and (``locked``) writes into a
    bucket under Object Lock in COMPLIANCE mode."""

    def ok(trail: Resource) -> bool:
        props = trail.properties
        if not (
            _true(resolved(template, props.get("IsLogging")))
            and _true(resolved(template, props.get("EnableLogFileValidation")))
        ):
            return False
        if not locked:
            return True
        targets = {
            r.target for r in template.references if r.source == trail.id and "S3Bucket" in r.path
        }
        return any(
            template.resources[t].type == "AWS::S3::Bucket"
            and _object_lock_mode(template, template.resources[t]) == "COMPLIANCE"
            for t in targets
        )

    what = (
        "a CloudTrail trail with log file validation into an Object Lock (COMPLIANCE) bucket"
        if locked
        else "a CloudTrail trail that is logging, with log file validation"
    )
    return _of(template, ["AWS::CloudTrail::Trail"], ok, what)


def _change_alerts(template: Template) -> Fact:
    """An EventBridge rule on CloudTrail's API-call events that alerts someone."""

    def ok(rule: Resource) -> bool:
        pattern = rule.properties.get("EventPattern")
        kinds = pattern.get("detail-type") if isinstance(pattern, dict) else None
        return _CLOUDTRAIL_EVENTS in (kinds or []) and bool(rule.properties.get("Targets"))

    return _of(
        template,
        ["AWS::Events::Rule"],
        ok,
        "an alert on changes to the CDE's functions, roles, keys or trail "
        "(EventBridge on CloudTrail)",
    )


def _waf_automated(template: Template, cde: set[str]) -> Fact:
    """A web ACL on the CDE's edge with AWS managed rule groups (kept current by AWS) and
    its requests logged."""
    acls = {
        t
        for a in template.of_type("AWS::WAFv2::WebACLAssociation")
        if template.targets(a.id) & cde
        for t in template.targets(a.id)
        if template.resources[t].type == "AWS::WAFv2::WebACL"
    }
    if not acls:
        return Fact(False, ("no web ACL associated with the CDE's edge",))
    logged = {
        t
        for c in template.of_type("AWS::WAFv2::LoggingConfiguration")
        for t in template.targets(c.id)
    }

    def check(acl: Resource) -> str:
        rules = acl.properties.get("Rules") or []
        managed = any("ManagedRuleGroupStatement" in (r.get("Statement") or {}) for r in rules)
        gaps = [] if managed else ["no AWS managed rule group"]
        gaps += [] if acl.id in logged else ["no logging configuration"]
        return ", ".join(gaps)

    return _every(template, [template.resources[a] for a in sorted(acls)], check)


def _tamper_check(template: Template) -> Fact:
    """Something that fetches the served payment page and compares its scripts and security
    headers: a CloudWatch Synthetics canary, or a resource named for it."""
    return _of(
        template,
        sorted({r.type for r in template.resources.values()}),
        lambda r: r.type == "AWS::Synthetics::Canary"
        or any(word in r.id.lower() for word in ("tamper", "pageintegrity")),
        "a change- and tamper-detection check of the served console page (scripts and headers)",
    )


def _agent_workstations(
    binding: Binding | None, declaration: Declaration | None, inventory: tuple[Item, ...]
) -> Fact:
    """The business's own people key or hear card data (an actor of ours at an end of an
    account-data flow), or the inventory puts a workstation in the CDE."""
    ends: list[str] = []
    if binding is not None and declaration is not None:
        for flow in binding.flows:
            if not declaration.carries_account_data(flow):
                continue
            for key in (flow.source, flow.sink):
                component = declaration.components[key]
                if component.kind == "actor" and component.party == "us":
                    ends.append(component.name)
    items = [i.id for i in inventory if i.kind == "workstation" and i.scope == CDE]
    found = tuple(sorted(set(ends))) + tuple(items)
    return Fact(bool(found), () if found else ("no workstation of ours in the CDE",), (), found)


def pan_endpoints(binding: Binding, declaration: Declaration) -> tuple[str, ...]:
    """Our hosted components at which account data crosses to or from a party outside the
    template (the agent's browser, the telephony provider, PayPal): each holds a key or
    certificate that protects PAN in transit (PCI DSS 4.2.1.1)."""
    found: set[str] = set()
    for flow in binding.flows:
        if not declaration.carries_account_data(flow):
            continue
        source, sink = declaration.components[flow.source], declaration.components[flow.sink]
        if source.hosted and not sink.hosted:
            found.add(source.key)
        if sink.hosted and not source.hosted:
            found.add(sink.key)
    return tuple(sorted(found))


def _certificate_inventory(
    binding: Binding | None, declaration: Declaration | None, inventory: tuple[Item, ...]
) -> Fact:
    """The inventory (``infra/inventory.yaml``) holds a ``certificate`` item connecting to
    every component where PAN crosses TLS or encryption to an outside party."""
    if binding is None or declaration is None:
        return Fact(False, ("no data flows to judge it by",))
    needed = pan_endpoints(binding, declaration)
    covered = {c for i in inventory if i.kind == "certificate" for c in i.connects_to}
    missing = tuple(
        f"the trusted keys and certificates of {declaration.components[k].name}"
        for k in needed
        if k not in covered
    )
    items = tuple(i.id for i in inventory if i.kind == "certificate")
    return Fact(not missing, missing, (), items)


def repository_root(start: Path) -> Path | None:
    """The repository holding ``start``: the nearest folder above it with a pyproject.toml."""
    for directory in (start.resolve(), *start.resolve().parents):
        if (directory / "pyproject.toml").is_file():
            return directory
    return None


def file_fact(spec: FileFact, root: Path | None) -> Fact:
    """Evaluate one :class:`FileFact` in the repository at ``root``."""
    if root is None:
        return Fact(False, (spec.missing or "no repository to read",))
    files: list[Path] = []
    for pattern in spec.paths:
        for path in sorted(root.glob(pattern)):
            files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    texts = {p: p.read_text("utf-8", errors="replace") for p in files if p.is_file()}
    names = tuple(str(p.relative_to(root)) for p in texts)
    if spec.matches is not None:
        hit = tuple(
            str(p.relative_to(root)) for p, t in texts.items() if re.search(spec.matches, t)
        )
    else:
        hit = names
    broken: tuple[str, ...] = ()
    if spec.nowhere is not None:
        broken = tuple(
            str(p.relative_to(root)) for p, t in texts.items() if re.search(spec.nowhere, t)
        )
    if hit and not broken:
        return Fact(True, evidence=hit)
    what = spec.missing or "no matching file"
    if broken:
        what += f" (not yet in {', '.join(broken)})"
    return Fact(False, (what,), (), hit)


def _cde_egress_firewall(template: Template, cde: set[str]) -> Fact:
    """Every CDE function's egress passes a Network Firewall domain allow-list."""
    functions = sorted(r for r in cde if template.resources[r].type in FUNCTION_TYPES)
    missing = tuple(
        f"{f}: egress not through a firewall's domain allow-list"
        for f in functions
        if not egress_through_firewall(template, f)
    )
    if not functions:
        missing = ("no CDE function",)
    options = tuple(
        sorted({str(r.condition) for r in template.unmade.values() if r.type in _FIREWALL_TYPES})
    )
    return Fact(not missing, missing, options if missing else (), tuple(functions))


def egress_through_firewall(template: Template, resource_id: str) -> bool:
    """``resource_id`` sits in subnets whose every default route (0.0.0.0/0 and ::/0) goes
    to a Network Firewall with a domain allow-list: its egress passes that allow-list."""
    subnets = template.placements[resource_id].subnets
    if not subnets:
        return False
    for subnet in subnets:
        routes = default_routes(template, route_table_of(template, subnet))
        if not routes:
            return False
        for route in routes:
            gateway = template.resources.get(route.gateway or "")
            if gateway is None or gateway.type != "AWS::NetworkFirewall::Firewall":
                return False
            _policy, allow_lists, _domains = firewall_allow_list(template, gateway.id)
            if not allow_lists:
                return False
    return True


def derive_facts(
    template: Template,
    scope: Scope,
    *,
    binding: Binding | None = None,
    declaration: Declaration | None = None,
    inventory: tuple[Item, ...] = (),
    file_facts: dict[str, FileFact] | None = None,
) -> Facts:
    """Every fact the matrix rules may name, for this architecture."""
    in_scope = {r: template.resources[r] for r in scope.in_scope()}
    cde = set(scope.of(CDE))
    keys = template.of_type("AWS::KMS::Key")
    retention = [
        template.value(g.properties.get("RetentionInDays"))
        for g in template.of_type("AWS::Logs::LogGroup")
    ]
    pools = template.of_type("AWS::Cognito::UserPool")

    def plain(holds: bool) -> Fact:
        return Fact(holds)

    detail: dict[str, Fact] = {
        "customer_os": plain(any(r.type in INSTANCE_TYPES for r in in_scope.values())),
        "customer_network": plain(any(r.type in NETWORK_TYPES for r in in_scope.values())),
        "managed_runtime": plain(any(template.resources[r].type in FUNCTION_TYPES for r in cde)),
        "waf": plain(
            any(
                template.targets(a.id) & cde
                for a in template.of_type("AWS::WAFv2::WebACLAssociation")
            )
        ),
        "mfa": plain(
            any(
                str(template.value(p.properties.get("MfaConfiguration"))).upper() == "ON"
                for p in pools
            )
        ),
        "object_lock": plain(
            any(
                _true(template.value(b.properties.get("ObjectLockEnabled")))
                for b in template.of_type("AWS::S3::Bucket")
            )
        ),
        "key_rotation": plain(
            bool(keys)
            and all(_true(template.value(k.properties.get("EnableKeyRotation"))) for k in keys)
        ),
        "log_retention": plain(
            bool(retention) and all(isinstance(d, int) and d >= 365 for d in retention)
        ),
        "ssh": plain(bool(ssh_rules(template))),
        "agent_workstations": _agent_workstations(binding, declaration, inventory),
        "cde_egress_firewall": _cde_egress_firewall(template, cde),
        "endpoint_tls": _endpoint_tls(template),
        "default_endpoint_off": _default_endpoint_off(template),
        "certificate_inventory": _certificate_inventory(binding, declaration, inventory),
        "waf_automated": _waf_automated(template, cde),
        "object_lock_compliance": _locked(template),
        "cloudtrail": _trail(template, locked=False),
        "cloudtrail_locked": _trail(template, locked=True),
        "change_alerts": _change_alerts(template),
        "page_tamper_check": _tamper_check(template),
        "recording_suspended": _of(
            template,
            ["AWS::Connect::ContactFlow"],
            lambda r: "UpdateContactRecordingBehavior" in str(r.properties.get("Content")),
            "a contact flow of ours that suspends recording while the card is keyed",
        ),
        "ivr_key_alarm": _of(
            template,
            ["AWS::CloudWatch::Alarm"],
            lambda r: r.properties.get("MetricName") == "IvrKeyDaysToExpiry",
            "an alarm on the IVR key's days to expiry",
        ),
    }
    root = repository_root(template.path.parent)
    for name, spec in (file_facts or {}).items():
        detail[name] = file_fact(spec, root)
    return Facts(detail)
