"""Who may do what to which resource, derived from a template's permissions.

Read from identity policies (a role's inline ``Policies``, ``AWS::IAM::RolePolicy``,
``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy`` attached to it, a SAM function's
``Policies``), resource policies (Lambda permissions, bucket, key, queue and secret
policies) and the wiring that makes one resource call another (SAM event sources, log
subscriptions, EventBridge targets, API Gateway integrations, Firehose destinations, load
balancer listeners). Both branches of every ``Fn::If`` count, each under its condition:
what a template may grant is what an assessor must see.

An :class:`Access` names the resource that acts (the function or instance group that runs
with a role, not the role), so "the charge function can read the PayPal secret" is one
access, and a secret nobody's policy names is read by nobody.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cardline.compliance.template import Template, names_in

READ, WRITE, INVOKE, DECRYPT, ENCRYPT, CHANGE = (
    "read",
    "write",
    "invoke",
    "decrypt",
    "encrypt",
    "change",
)
VERBS = (READ, WRITE, INVOKE, DECRYPT, ENCRYPT, CHANGE)

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_POLICY_TYPES = ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")

# The resource types each IAM service prefix acts on, for "*" and unresolved ARNs.
_SERVICE_TYPES: dict[str, tuple[str, ...]] = {
    "secretsmanager": ("AWS::SecretsManager::Secret",),
    "kms": ("AWS::KMS::Key",),
    "logs": ("AWS::Logs::LogGroup",),
    "lambda": FUNCTION_TYPES,
    "dynamodb": ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"),
    "s3": ("AWS::S3::Bucket",),
    "sqs": ("AWS::SQS::Queue",),
    "sns": ("AWS::SNS::Topic",),
    "firehose": ("AWS::KinesisFirehose::DeliveryStream",),
    "iam": ("AWS::IAM::Role",),
}
# action pattern (lower case, fnmatch) -> verb; the first match wins.
_VERB_OF: tuple[tuple[str, str], ...] = (
    ("secretsmanager:getsecretvalue", READ),
    ("secretsmanager:putsecretvalue", CHANGE),
    ("secretsmanager:updatesecret", CHANGE),
    ("kms:decrypt", DECRYPT),
    ("kms:encrypt", ENCRYPT),
    ("kms:generatedatakey*", ENCRYPT),
    ("kms:reencrypt*", ENCRYPT),
    ("logs:putlogevents", WRITE),
    ("logs:createlogstream", WRITE),
    ("lambda:invokefunction", INVOKE),
    ("lambda:invoke*", INVOKE),
    ("lambda:update*", CHANGE),
    ("lambda:create*", CHANGE),
    ("lambda:put*", CHANGE),
    ("lambda:addpermission", CHANGE),
    ("iam:passrole", CHANGE),
    ("iam:put*", CHANGE),
    ("iam:attach*", CHANGE),
    ("iam:update*", CHANGE),
    ("dynamodb:get*", READ),
    ("dynamodb:query", READ),
    ("dynamodb:scan", READ),
    ("dynamodb:batchget*", READ),
    ("dynamodb:conditioncheckitem", READ),
    ("dynamodb:put*", WRITE),
    ("dynamodb:update*", WRITE),
    ("dynamodb:delete*", WRITE),
    ("dynamodb:batchwrite*", WRITE),
    ("s3:get*", READ),
    ("s3:list*", READ),
    ("s3:put*", WRITE),
    ("s3:abortmultipartupload", WRITE),
    ("s3:delete*", WRITE),
    ("sqs:sendmessage*", WRITE),
    ("sqs:receivemessage", READ),
    ("sns:publish", WRITE),
    ("firehose:putrecord*", WRITE),
)
# SAM policy templates: name -> (verbs, parameter naming the resource).
_SAM_TEMPLATES: dict[str, tuple[tuple[str, ...], str]] = {
    "DynamoDBCrudPolicy": ((READ, WRITE), "TableName"),
    "DynamoDBReadPolicy": ((READ,), "TableName"),
    "DynamoDBWritePolicy": ((WRITE,), "TableName"),
    "SQSSendMessagePolicy": ((WRITE,), "QueueName"),
    "SQSPollerPolicy": ((READ,), "QueueName"),
    "S3ReadPolicy": ((READ,), "BucketName"),
    "S3WritePolicy": ((WRITE,), "BucketName"),
    "S3CrudPolicy": ((READ, WRITE), "BucketName"),
    "AWSSecretsManagerGetSecretValuePolicy": ((READ,), "SecretArn"),
    "KMSDecryptPolicy": ((DECRYPT,), "KeyId"),
    "LambdaInvokePolicy": ((INVOKE,), "FunctionName"),
    "SNSPublishMessagePolicy": ((WRITE,), "TopicName"),
}
_LAUNCH_TYPES = ("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")
# What SAM attaches to a function role it creates (AWSLambdaBasicExecutionRole).
_BASIC_EXECUTION = "AWSLambdaBasicExecutionRole (SAM's default role)"


@dataclass(frozen=True)
class Access:
    """``principal`` may ``verb`` ``target``, granted by ``via``.

    ``principal`` is a resource id, or a service name (``connect.amazonaws.com``) when no
    template resource stands for the caller; ``role`` is the IAM role the principal runs
    with, when the access comes from an identity policy; ``conditions`` are the template
    conditions (``Cond`` or ``!Cond``) it exists under.
    """

    principal: str
    verb: str
    target: str
    actions: tuple[str, ...]
    via: str
    role: str | None = None
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """An identity policy statement's grant to a role, before it is given to runners."""

    role: str
    verb: str
    target: str
    actions: tuple[str, ...]
    via: str
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class Permissions:
    """Every access a template grants, and the roles each resource runs with."""

    accesses: tuple[Access, ...]
    runs_as: dict[str, tuple[str, ...]]  # resource id -> roles it runs with
    policies: dict[str, tuple[str, ...]]  # role -> policy resources attached to it
    unresolved: tuple[tuple[str, str], ...]  # (role, AWS managed policy) not read here

    def of(self, principal: str, verb: str | None = None) -> list[Access]:
        return [a for a in self.accesses if a.principal == principal and verb in (None, a.verb)]

    def to(self, target: str, verb: str | None = None) -> list[Access]:
        return [a for a in self.accesses if a.target == target and verb in (None, a.verb)]

    def can(self, principal: str, verb: str, target: str) -> bool:
        return any(
            a.principal == principal and a.verb == verb and a.target == target
            for a in self.accesses
        )

    def runners(self, role: str) -> list[str]:
        """The resources that run with ``role``."""
        return sorted(r for r, roles in self.runs_as.items() if role in roles)


def alternatives(
    value: Any, conditions: tuple[str, ...] = ()
) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """Each item ``value`` may stand for, with the conditions it needs: an ``Fn::If`` gives
    both branches, a list gives its items, ``AWS::NoValue`` gives nothing."""
    if (
        isinstance(value, dict)
        and isinstance(value.get("Fn::If"), list)
        and len(value["Fn::If"]) == 3
    ):
        name, yes, no = value["Fn::If"]
        yield from alternatives(yes, (*conditions, str(name)))
        yield from alternatives(no, (*conditions, f"!{name}"))
    elif isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
        return
    elif isinstance(value, list):
        for item in value:
            yield from alternatives(item, conditions)
    elif value is not None:
        yield value, conditions


def verb_of(action: str) -> str | None:
    """The verb an IAM action amounts to (None when it grants nothing modelled here)."""
    low = action.lower()
    if low == "*" or low.endswith(":*"):
        return CHANGE
    return next((verb for pattern, verb in _VERB_OF if fnmatch.fnmatch(low, pattern)), None)


def _services(actions: list[str]) -> set[str]:
    return {a.split(":", 1)[0].lower() for a in actions if ":" in a} | (
        set(_SERVICE_TYPES) if "*" in actions else set()
    )


def _targets(template: Template, resource: Any, actions: list[str]) -> set[str]:
    """The template resources a statement's ``Resource`` item names."""
    named = {n for n in names_in(resource) if n in template.resources}
    if named:
        return named
    text = resource if isinstance(resource, str) else str(resource.get("Fn::Sub", ""))
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), list):
        text = str(resource["Fn::Sub"][0])
    if "*" not in str(text):
        return set()  # a literal ARN of something outside the template
    types = {t for s in _services(actions) for t in _SERVICE_TYPES.get(s, ())}
    if text.strip() != "*":
        # An ARN pattern: keep only types whose service appears in it.
        types = {t for t in types if any(f":{s}:" in text for s in _services(actions))}
    return {r.id for r in template.resources.values() if r.type in types}


def _statement_grants(
    template: Template, role: str, document: Any, via: str, conditions: tuple[str, ...]
) -> Iterator[Grant]:
    for doc, doc_conditions in alternatives(document, conditions):
        if not isinstance(doc, dict):
            continue
        for statement, cond in alternatives(doc.get("Statement"), doc_conditions):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a, _ in alternatives(statement.get("Action"))]
            for resource, rcond in alternatives(statement.get("Resource"), cond):
                for target in sorted(_targets(template, resource, actions)):
                    kind = template.resources[target].type
                    by_verb: dict[str, list[str]] = {}
                    for action in actions:
                        verb = verb_of(action)
                        service = action.split(":", 1)[0].lower()
                        if verb is None or (
                            action != "*" and kind not in _SERVICE_TYPES.get(service, (kind,))
                        ):
                            continue
                        by_verb.setdefault(verb, []).append(action)
                    for verb, acts in by_verb.items():
                        yield Grant(role, verb, target, tuple(acts), via, rcond)


def _refs(value: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (name, cond)
        for item, cond in alternatives(value)
        for name in sorted(names_in(item) if not isinstance(item, str) else {item})
    ]


def _role_grants(
    template: Template,
) -> tuple[list[Grant], dict[str, list[str]], list[tuple[str, str]]]:
    grants: list[Grant] = []
    attached: dict[str, list[str]] = {}
    unresolved: list[tuple[str, str]] = []
    resources = template.resources
    for role_resource in template.of_type("AWS::IAM::Role"):
        base = (role_resource.condition,) if role_resource.condition else ()
        for policy, cond in alternatives(role_resource.properties.get("Policies"), base):
            if isinstance(policy, dict):
                name = str(policy.get("PolicyName", "inline"))
                grants += _statement_grants(
                    template,
                    role_resource.id,
                    policy.get("PolicyDocument"),
                    f"{role_resource.id} ({name})",
                    cond,
                )
        for arn, cond in alternatives(role_resource.properties.get("ManagedPolicyArns"), base):
            named = [n for n in names_in(arn) if n in resources]
            if named:
                continue  # a ManagedPolicy of this template: read below, from its side
            text = arn if isinstance(arn, str) else str(arn.get("Fn::Sub", arn))
            unresolved.append(
                (
                    role_resource.id,
                    text.rsplit("/", 1)[-1] + (f" (if {', '.join(cond)})" if cond else ""),
                )
            )
    for policy in template.of_type(*_POLICY_TYPES):
        props = policy.properties
        roles = _refs(props.get("RoleName")) + _refs(props.get("Roles"))
        for role_ref in resources.values():
            if role_ref.type == "AWS::IAM::Role" and any(
                policy.id in names_in(a)
                for a, _ in alternatives(role_ref.properties.get("ManagedPolicyArns"))
            ):
                roles.append((role_ref.id, ()))
        base = (policy.condition,) if policy.condition else ()
        for role, cond in roles:
            if role not in resources:
                continue
            attached.setdefault(role, []).append(policy.id)
            grants += _statement_grants(
                template, role, props.get("PolicyDocument"), policy.id, (*base, *cond)
            )
    for function in template.of_type("AWS::Serverless::Function"):
        if "Role" in function.properties:
            continue
        role = f"{function.id}Role"
        base = (function.condition,) if function.condition else ()
        for group in template.of_type("AWS::Logs::LogGroup"):
            grants.append(
                Grant(role, WRITE, group.id, ("logs:PutLogEvents",), _BASIC_EXECUTION, base)
            )
        for policy, cond in alternatives(function.properties.get("Policies"), base):
            if isinstance(policy, str):
                unresolved.append((role, policy))
            elif isinstance(policy, dict) and "Statement" in policy:
                grants += _statement_grants(template, role, policy, f"{function.id} Policies", cond)
            elif isinstance(policy, dict):
                for name, params in policy.items():
                    verbs, key = _SAM_TEMPLATES.get(str(name), ((), ""))
                    target = params.get(key) if isinstance(params, dict) else None
                    for ref in names_in(target) & set(resources):
                        for verb in verbs:
                            grants.append(
                                Grant(
                                    role, verb, ref, (str(name),), f"{function.id} Policies", cond
                                )
                            )
    return grants, attached, unresolved


def _runs_as(template: Template) -> dict[str, tuple[str, ...]]:
    """Which roles each resource runs with: a function's ``Role``, an instance's profile
    (through launch templates to the groups that launch them), a service's role ARN."""
    roles = {r.id for r in template.of_type("AWS::IAM::Role")}
    profiles: dict[str, set[str]] = {
        p.id: names_in(p.properties.get("Roles")) & roles
        for p in template.of_type("AWS::IAM::InstanceProfile")
    }
    direct: dict[str, set[str]] = {}
    for reference in template.references:
        source = template.resources[reference.source]
        if source.type.startswith("AWS::IAM::"):
            continue
        if reference.target in roles:
            direct.setdefault(source.id, set()).add(reference.target)
        elif reference.target in profiles:
            direct.setdefault(source.id, set()).update(profiles[reference.target])
    for function in template.of_type("AWS::Serverless::Function"):
        if "Role" not in function.properties:
            direct.setdefault(function.id, set()).add(f"{function.id}Role")
    # Launch templates pass their roles to whatever launches from them.
    for launcher in template.resources.values():
        for target in template.targets(launcher.id):
            if template.resources[target].type in (
                "AWS::EC2::LaunchTemplate",
                "AWS::AutoScaling::LaunchConfiguration",
            ):
                direct.setdefault(launcher.id, set()).update(direct.get(target, set()))
    return {rid: tuple(sorted(r)) for rid, r in direct.items() if r}


def _principal(template: Template, statement: dict[str, Any], fallback: str) -> str | None:
    """The resource a resource-policy statement lets in: the one its source ARN names,
    else the service principal's name."""
    condition = statement.get("Condition") or {}
    for test in condition.values() if isinstance(condition, dict) else ():
        if isinstance(test, dict):
            for key in ("aws:SourceArn", "aws:sourceArn", "AWS:SourceArn"):
                named = names_in(test.get(key)) & set(template.resources)
                if named:
                    return sorted(named)[0]
    principal = statement.get("Principal")
    if isinstance(principal, dict) and "Service" in principal:
        service = principal["Service"]
        if isinstance(service, dict) and "Fn::Sub" in service:
            service = str(service["Fn::Sub"]).replace("${AWS::Region}.", "")
        return str(service if not isinstance(service, list) else service[0])
    return fallback if principal == "*" else None


def _resource_policies(template: Template) -> Iterator[Access]:
    policy_keys = {
        "AWS::S3::BucketPolicy": ("Bucket", "PolicyDocument"),
        "AWS::SQS::QueuePolicy": ("Queues", "PolicyDocument"),
        "AWS::SecretsManager::ResourcePolicy": ("SecretId", "ResourcePolicy"),
        "AWS::KMS::Key": (None, "KeyPolicy"),
    }
    for policy in template.resources.values():
        if policy.type not in policy_keys:
            continue
        owner_key, doc_key = policy_keys[policy.type]
        owners = (
            [policy.id]
            if owner_key is None
            else sorted(names_in(policy.properties.get(owner_key)) & set(template.resources))
        )
        base = (policy.condition,) if policy.condition else ()
        for statement, cond in alternatives(
            (policy.properties.get(doc_key) or {}).get("Statement"), base
        ):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            principal = _principal(template, statement, "*")
            if principal is None or (
                isinstance(statement.get("Principal"), dict) and "AWS" in statement["Principal"]
            ):
                continue  # the account's own principals: their identity policies decide
            actions = [str(a) for a, _ in alternatives(statement.get("Action"))]
            for owner in owners:
                verbs = {v for a in actions if (v := verb_of(a))}
                for verb in sorted(verbs):
                    acts = tuple(a for a in actions if verb_of(a) == verb)
                    yield Access(principal, verb, owner, acts, policy.id, None, cond)


def _first(template: Template, value: Any) -> str | None:
    named = sorted(names_in(value) & set(template.resources))
    return named[0] if named else None


def _wiring(template: Template) -> Iterator[Access]:
    """Calls that the template wires up, whether or not a policy statement spells them."""
    for permission in template.of_type("AWS::Lambda::Permission"):
        props = permission.properties
        target = _first(template, props.get("FunctionName"))
        if target is None:
            continue
        source = _first(template, props.get("SourceArn"))
        principal = source or str(props.get("Principal", "?"))
        if source is None and props.get("SourceArn") is not None:
            parameter = sorted(names_in(props["SourceArn"]) & set(template.parameters))
            principal += f" ({parameter[0]})" if parameter else ""
        cond: tuple[str, ...] = (permission.condition,) if permission.condition else ()
        yield Access(
            principal, INVOKE, target, (str(props.get("Action")),), permission.id, None, cond
        )
    for function in template.of_type(*FUNCTION_TYPES):
        cond = (function.condition,) if function.condition else ()
        events = function.properties.get("Events") or {}
        for name, event in events.items() if isinstance(events, dict) else ():
            if not isinstance(event, dict):
                continue
            props = event.get("Properties") or {}
            kind = event.get("Type")
            via = f"{function.id} event {name}"
            if kind == "Api":
                api = _first(template, props.get("RestApiId")) or "ServerlessRestApi"
                yield Access(api, INVOKE, function.id, ("lambda:InvokeFunction",), via, None, cond)
            elif kind == "CloudWatchLogs":
                group = _first(template, props.get("LogGroupName"))
                if group:
                    yield Access(
                        group, INVOKE, function.id, ("lambda:InvokeFunction",), via, None, cond
                    )
            elif kind in ("SQS", "Kinesis", "DynamoDB"):
                source = _first(template, props.get("Queue") or props.get("Stream"))
                if source:
                    yield Access(function.id, READ, source, (f"{kind} poller",), via, None, cond)
            elif kind in ("Schedule", "ScheduleV2", "EventBridgeRule"):
                yield Access(
                    "events.amazonaws.com",
                    INVOKE,
                    function.id,
                    ("lambda:InvokeFunction",),
                    via,
                    None,
                    cond,
                )
        logging = function.properties.get("LoggingConfig") or {}
        group = _first(template, logging.get("LogGroup")) if isinstance(logging, dict) else None
        dead = (function.properties.get("DeadLetterQueue") or {}).get("TargetArn")
        for target, what in ((group, "LoggingConfig"), (_first(template, dead), "DeadLetterQueue")):
            if target:
                yield Access(
                    function.id, WRITE, target, (what,), f"{function.id} {what}", None, cond
                )
    for subscription in template.of_type("AWS::Logs::SubscriptionFilter"):
        props = subscription.properties
        group, target = (
            _first(template, props.get("LogGroupName")),
            _first(template, props.get("DestinationArn")),
        )
        if group and target:
            verb = INVOKE if template.resources[target].type in FUNCTION_TYPES else WRITE
            only = (subscription.condition,) if subscription.condition else ()
            yield Access(group, verb, target, ("subscription filter",), subscription.id, None, only)
    for rule in template.of_type("AWS::Events::Rule"):
        for target_spec, cond in alternatives(rule.properties.get("Targets")):
            target = (
                _first(template, target_spec.get("Arn")) if isinstance(target_spec, dict) else None
            )
            if target:
                yield Access(rule.id, INVOKE, target, ("events target",), rule.id, None, cond)
    for stream in template.of_type("AWS::KinesisFirehose::DeliveryStream"):
        destination = (
            stream.properties.get("ExtendedS3DestinationConfiguration")
            or stream.properties.get("S3DestinationConfiguration")
            or {}
        )
        bucket = _first(template, destination.get("BucketARN"))
        if bucket:
            yield Access(stream.id, WRITE, bucket, ("s3 delivery",), stream.id)
        logs = destination.get("CloudWatchLoggingOptions") or {}
        group = _first(template, logs.get("LogGroupName"))
        if group:
            yield Access(stream.id, WRITE, group, ("error logging",), stream.id)
    for rest_api in template.of_type(
        "AWS::Serverless::Api", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage"
    ):
        access_log = (rest_api.properties.get("AccessLogSetting") or {}).get("DestinationArn")
        group = _first(template, access_log)
        if group:
            yield Access(rest_api.id, WRITE, group, ("access logging",), rest_api.id)
        body = rest_api.properties.get("DefinitionBody") or rest_api.properties.get("Body")
        for path in (body or {}).get("paths", {}).values() if isinstance(body, dict) else ():
            for operation in path.values() if isinstance(path, dict) else ():
                integration = (
                    operation.get("x-amazon-apigateway-integration")
                    if isinstance(operation, dict)
                    else None
                )
                target = _first(template, (integration or {}).get("uri"))
                if target:
                    yield Access(
                        rest_api.id, INVOKE, target, ("aws_proxy integration",), rest_api.id
                    )
    for waf_logging in template.of_type("AWS::WAFv2::LoggingConfiguration"):
        acl = _first(template, waf_logging.properties.get("ResourceArn"))
        for destination_id, _ in _refs(waf_logging.properties.get("LogDestinationConfigs")):
            if acl and destination_id in template.resources:
                yield Access(acl, WRITE, destination_id, ("WAF logging",), waf_logging.id)
    for listener in template.of_type("AWS::ElasticLoadBalancingV2::Listener"):
        balancer = _first(template, listener.properties.get("LoadBalancerArn"))
        for action, _ in alternatives(listener.properties.get("DefaultActions")):
            group = (
                _first(template, action.get("TargetGroupArn")) if isinstance(action, dict) else None
            )
            if group is None or balancer is None:
                continue
            for member in sorted(template.sources(group)):
                if member != listener.id and template.resources[member].type in (
                    "AWS::AutoScaling::AutoScalingGroup",
                    "AWS::EC2::Instance",
                ):
                    yield Access(balancer, INVOKE, member, (f"forward to {group}",), listener.id)


def derive_permissions(template: Template) -> Permissions:
    """Every access ``template`` grants or wires, with the roles behind each."""
    grants, attached, unresolved = _role_grants(template)
    runs_as = _runs_as(template)
    accesses: list[Access] = []
    launched = {
        target
        for launcher in runs_as
        for target in template.targets(launcher)
        if target in runs_as and template.resources[target].type in _LAUNCH_TYPES
    }
    runs_as = {r: roles for r, roles in runs_as.items() if r not in launched}
    for grant in grants:
        runners = sorted(r for r, roles in runs_as.items() if grant.role in roles)
        for runner in runners or [grant.role]:
            accesses.append(
                Access(
                    runner,
                    grant.verb,
                    grant.target,
                    grant.actions,
                    grant.via,
                    grant.role,
                    grant.conditions,
                )
            )
    accesses += _resource_policies(template)
    accesses += _wiring(template)
    unique = sorted(set(accesses), key=lambda a: (a.principal, a.verb, a.target, a.via))
    return Permissions(
        tuple(unique),
        runs_as,
        {role: tuple(sorted(set(p))) for role, p in attached.items()},
        tuple(sorted(set(unresolved))),
    )
