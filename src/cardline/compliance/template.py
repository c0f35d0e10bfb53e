"""One CloudFormation/SAM template as resources, the references between them, and where
each sits in the network (VPC, subnet, availability zone).

Everything here is read from the template: adding a resource to a template adds it to the
model, with its references and its placement, without any change to the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardline.compliance.cfn_yaml import load_template
from cardline.compliance.conditions import Evaluation, evaluate

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")
# References that place a resource in a subnet, rather than connect it to one.
_SUBNET_KEYS = {"SubnetId", "SubnetIds", "Subnets", "VPCZoneIdentifier", "SubnetMappings"}
# Types that group subnets for the resources that use them (an RDS instance names a group).
_SUBNET_GROUPS = {"AWS::RDS::DBSubnetGroup", "AWS::ElastiCache::SubnetGroup"}
# Network plumbing that belongs to the VPC of whatever it references.
_INHERITS_VPC = ("AWS::EC2::", "AWS::ElasticLoadBalancingV2::", "AWS::AutoScaling::")


@dataclass(frozen=True)
class Reference:
    """``source`` names ``target`` (by Ref, GetAtt or Sub) at property ``path``."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Resource:
    """One resource of a template. ``implicit`` ones are those SAM creates on its own."""

    id: str
    type: str
    properties: dict[str, Any]
    implicit: bool = False
    # the template condition it is created under, when the parameter values leave it
    # undecided (a resource whose condition is decided false is not in the model at all)
    condition: str | None = None

    @property
    def service(self) -> str:
        """``AWS::EC2::Subnet`` -> ``EC2``; ``AWS::Serverless::Function`` -> ``Serverless``."""
        parts = self.type.split("::")
        return parts[1] if len(parts) > 2 else self.type


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc: str | None
    zone: str
    public: bool


@dataclass(frozen=True)
class Placement:
    """Where a resource lives in the network: outside any VPC when ``vpc`` is None."""

    vpc: str | None = None
    subnets: tuple[str, ...] = ()


@dataclass
class Template:
    """A parsed template: its resources, their references and their network placement."""

    path: Path
    description: str
    resources: dict[str, Resource]
    references: list[Reference]
    parameters: dict[str, Any] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    placements: dict[str, Placement] = field(default_factory=dict)
    evaluation: Evaluation = field(default_factory=Evaluation)
    # the resources whose condition is false, as they would be with it true
    unmade: dict[str, Resource] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type in types]

    def targets(self, source: str) -> set[str]:
        return {r.target for r in self.references if r.source == source}

    def sources(self, target: str) -> set[str]:
        return {r.source for r in self.references if r.target == target}

    def zones(self) -> list[str]:
        return sorted({s.zone for s in self.subnets.values()})

    def value(self, value: Any) -> Any:
        """A property's value, with ``Ref`` to a parameter replaced by the value the
        template is read with (given, else its default)."""
        if (
            isinstance(value, dict)
            and isinstance(value.get("Ref"), str)
            and value["Ref"] in self.parameters
        ):
            return self.evaluation.values.get(value["Ref"])
        return value

    @property
    def dropped(self) -> dict[str, str]:
        """Each resource not created, with its false condition."""
        return {rid: str(r.condition) for rid, r in self.unmade.items()}

    def condition(self, name: str) -> bool | None:
        """Whether template condition ``name`` holds for the values the template is read
        with (None when they do not decide it)."""
        return self.evaluation.holds(name)

    def created(self, resource_id: str) -> bool:
        """True when the deployment this template is read as surely creates the resource
        (it has no condition, or its condition is decided true)."""
        resource = self.resources.get(resource_id)
        return resource is not None and resource.condition is None


def names_in(value: Any) -> set[str]:
    """Every logical id or parameter that ``value`` names through Ref, GetAtt or Sub."""
    return {name for _, name in _walk(value, "")}


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, target name) for every Ref, GetAtt and Sub variable below ``value``."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield path, value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            yield path, attribute[0]
        elif isinstance(attribute, str):
            yield path, attribute.split(".")[0]
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            yield from ((path, name) for name in _SUB_NAME.findall(sub))
        elif isinstance(sub, list) and sub and isinstance(sub[0], str):
            yield from ((path, name) for name in _SUB_NAME.findall(sub[0]))
        for key, item in value.items():
            if key not in {"Ref", "Fn::GetAtt"}:
                yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, path)


def _sam_implicit(resources: dict[str, Resource]) -> list[tuple[Resource, str]]:
    """What SAM adds when it transforms the template: a role per function that names none,
    and the implicit REST API behind ``Api`` events without a ``RestApiId``."""
    added: list[tuple[Resource, str]] = []
    for resource in list(resources.values()):
        if resource.type != "AWS::Serverless::Function":
            continue
        if "Role" not in resource.properties:
            role = Resource(
                f"{resource.id}Role",
                "AWS::IAM::Role",
                {},
                implicit=True,
                condition=resource.condition,
            )
            added.append((role, resource.id))
        events = resource.properties.get("Events") or {}
        for event in events.values() if isinstance(events, dict) else []:
            props = event.get("Properties") or {} if isinstance(event, dict) else {}
            if event.get("Type") == "Api" and "RestApiId" not in props:
                api = Resource("ServerlessRestApi", "AWS::Serverless::Api", {}, implicit=True)
                added.append((api, resource.id))
    return added


def parse(path: Path, parameters: dict[str, Any] | None = None) -> Template:
    """Read ``path`` into a :class:`Template`, as deployed with ``parameters`` (the rest
    at their defaults): resources whose condition is false left out, every ``Fn::If``
    decided (see :mod:`cardline.compliance.conditions`)."""
    document = load_template(path)
    try:
        evaluation = evaluate(document, parameters)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    resources: dict[str, Resource] = {}
    unmade: dict[str, Resource] = {}
    for logical_id, body in document["Resources"].items():
        if not isinstance(body, dict) or "Type" not in body:
            raise ValueError(f"{path}: resource {logical_id} has no Type")
        condition = body.get("Condition")
        condition = condition if isinstance(condition, str) else None
        properties = evaluation.resolve(dict(body.get("Properties") or {}))
        if condition is not None and evaluation.holds(condition) is False:
            unmade[str(logical_id)] = Resource(
                str(logical_id),
                str(body["Type"]),
                properties if isinstance(properties, dict) else {},
                condition=condition,
            )
            continue
        resources[logical_id] = Resource(
            str(logical_id),
            str(body["Type"]),
            properties if isinstance(properties, dict) else {},
            condition=condition if condition and evaluation.holds(condition) is None else None,
        )
    references: list[Reference] = []
    for resource in resources.values():
        seen: set[tuple[str, str]] = set()
        for where, target in _walk(resource.properties, ""):
            if target in resources and target != resource.id and (where, target) not in seen:
                seen.add((where, target))
                references.append(Reference(resource.id, target, where))
    for implicit, user in _sam_implicit(resources):
        resources.setdefault(implicit.id, implicit)
        references.append(Reference(user, implicit.id, "(SAM)"))
    description = document.get("Description")
    declared = document.get("Parameters")
    template = Template(
        path,
        description if isinstance(description, str) else "",
        resources,
        references,
        parameters=declared if isinstance(declared, dict) else {},
        evaluation=evaluation,
        unmade=unmade,
    )
    template.subnets = _subnets(template)
    template.placements = {rid: _placement(template, rid) for rid in resources}
    return template


def _direct_vpc(template: Template, resource_id: str) -> str | None:
    for reference in template.references:
        if (
            reference.source == resource_id
            and reference.path.split(".")[-1] == "VpcId"
            and template.resources[reference.target].type == "AWS::EC2::VPC"
        ):
            return reference.target
    return None


def _zone(subnet: Resource) -> str:
    zone = subnet.properties.get("AvailabilityZone")
    if isinstance(zone, str):
        return zone
    if isinstance(zone, dict) and isinstance(zone.get("Fn::Select"), list):
        index = zone["Fn::Select"][0]
        if isinstance(index, int | str) and str(index).isdigit():
            return f"AZ {int(index) + 1}"
    return "AZ (unspecified)"


def _routes_to_internet(template: Template, route_table: str) -> bool:
    gateways = {r.id for r in template.of_type("AWS::EC2::InternetGateway")}
    for route in template.of_type("AWS::EC2::Route"):
        targets = template.targets(route.id)
        if route_table in targets and targets & gateways:
            return True
    return False


def _subnets(template: Template) -> dict[str, Subnet]:
    subnets: dict[str, Subnet] = {}
    for subnet in template.of_type("AWS::EC2::Subnet"):
        tables = {
            t
            for a in template.of_type("AWS::EC2::SubnetRouteTableAssociation")
            if subnet.id in template.targets(a.id)
            for t in template.targets(a.id)
            if template.resources[t].type == "AWS::EC2::RouteTable"
        }
        public = bool(subnet.properties.get("MapPublicIpOnLaunch") is True) or any(
            _routes_to_internet(template, t) for t in tables
        )
        subnets[subnet.id] = Subnet(
            subnet.id, _direct_vpc(template, subnet.id), _zone(subnet), public
        )
    return subnets


def _subnets_of(template: Template, resource_id: str) -> tuple[str, ...]:
    found: list[str] = []
    for reference in template.references:
        if reference.source != resource_id:
            continue
        target = template.resources[reference.target]
        keys = set(reference.path.split("."))
        if target.type == "AWS::EC2::Subnet" and keys & _SUBNET_KEYS:
            found.append(target.id)
        elif target.type in _SUBNET_GROUPS:
            found.extend(_subnets_of(template, target.id))
    return tuple(sorted(set(found)))


def _placement(template: Template, resource_id: str) -> Placement:
    resource = template.resources[resource_id]
    if resource.type == "AWS::EC2::Subnet":
        return Placement(template.subnets[resource_id].vpc, (resource_id,))
    if resource.type == "AWS::EC2::VPC":
        return Placement(resource_id)
    subnets = _subnets_of(template, resource_id)
    vpc = _direct_vpc(template, resource_id)
    if vpc is None and subnets:
        vpc = template.subnets[subnets[0]].vpc
    if vpc is None and resource.type.startswith(_INHERITS_VPC):
        vpc = _inherited_vpc(template, resource_id, set())
    if vpc is None and resource.type == "AWS::EC2::EIP":
        users = sorted(template.sources(resource_id))
        if users:
            return _placement(template, users[0])
    if vpc is None and resource.type == "AWS::EC2::InternetGateway":
        attachments = template.sources(resource_id)
        vpc = next((v for a in sorted(attachments) if (v := _direct_vpc(template, a))), None)
    return Placement(vpc, subnets)


def _inherited_vpc(template: Template, resource_id: str, seen: set[str]) -> str | None:
    seen.add(resource_id)
    for target in sorted(template.targets(resource_id)):
        if target in seen or template.resources[target].type == "AWS::EC2::InternetGateway":
            continue
        vpc = _direct_vpc(template, target)
        if vpc is None and template.resources[target].type == "AWS::EC2::VPC":
            vpc = target
        if vpc is None and template.resources[target].type.startswith(_INHERITS_VPC):
            vpc = _inherited_vpc(template, target, seen)
        if vpc is not None:
            return vpc
    return None
