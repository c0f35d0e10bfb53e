"""Our own template rules, for what cfn-lint and checkov do not check, on the template as
CloudFormation receives it after the SAM transform."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cardline.deploy.gateway import FUNCTIONS, STATIC, definition
from cardline.http.console_routes import CognitoSignIn, console_routes

MIN_RETENTION_DAYS = 365  # PCI DSS 10.5.1


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _lowest(template: dict[str, Any], value: Any) -> int:
    """The smallest number ``value`` can be: a literal, or a parameter's lowest choice."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = template["Parameters"][value["Ref"]]
        choices = [int(v) for v in parameter.get("AllowedValues", [])]
        if "MinValue" in parameter:
            choices.append(int(parameter["MinValue"]))
        assert choices, f"parameter {value['Ref']} has no lower bound"
        return min(choices)
    return int(value)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in _statements(policy["PolicyDocument"])
    ]


def test_every_log_group_is_kms_encrypted_and_kept_a_year(translated: dict[str, Any]) -> None:
    groups = _of_type(translated, "AWS::Logs::LogGroup")
    assert len(groups) >= 6
    for name, group in groups.items():
        properties = group["Properties"]
        assert "KmsKeyId" in properties, name
        assert _lowest(translated, properties["RetentionInDays"]) >= MIN_RETENTION_DAYS, name


def test_every_function_logs_to_a_log_group_of_this_template(translated: dict[str, Any]) -> None:
    groups = set(_of_type(translated, "AWS::Logs::LogGroup"))
    for name, function in _of_type(translated, "AWS::Lambda::Function").items():
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups, name


def test_every_bucket_refuses_plain_http_and_tls_below_1_2(translated: dict[str, Any]) -> None:
    buckets = _of_type(translated, "AWS::S3::Bucket")
    policies = {
        policy["Properties"]["Bucket"]["Ref"]: policy["Properties"]["PolicyDocument"]
        for policy in _of_type(translated, "AWS::S3::BucketPolicy").values()
    }
    assert set(buckets) == set(policies)
    for name, document in policies.items():
        denials = [s for s in _statements(document) if s["Effect"] == "Deny"]
        conditions = [s.get("Condition", {}) for s in denials if s["Principal"] == "*"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions, name
        assert {"NumericLessThan": {"s3:TlsVersion": "1.2"}} in conditions, name
        for statement in denials:
            resources = _as_list(statement["Resource"])
            assert {"Fn::GetAtt": [name, "Arn"]} in resources, name
            assert {"Fn::Sub": f"${{{name}.Arn}}/*"} in resources, name


def test_every_bucket_blocks_public_access_and_keeps_versions(translated: dict[str, Any]) -> None:
    for name, bucket in _of_type(translated, "AWS::S3::Bucket").items():
        properties = bucket["Properties"]
        assert all(properties["PublicAccessBlockConfiguration"].values()), name
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert bucket["DeletionPolicy"] == "Retain", name


def test_the_archive_is_locked_kms_encrypted_logged_and_kept_90_days_hot(
    translated: dict[str, Any],
) -> None:
    archive = translated["Resources"]["ArchiveBucket"]["Properties"]
    assert archive["ObjectLockEnabled"] is True
    retention = archive["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert _lowest(translated, retention["Days"]) >= MIN_RETENTION_DAYS
    encryption = archive["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert archive["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    (rule,) = archive["LifecycleConfiguration"]["Rules"]
    assert min(t["TransitionInDays"] for t in rule["Transitions"]) >= 90
    assert _lowest(translated, rule["ExpirationInDays"]) >= MIN_RETENTION_DAYS


# Actions AWS gives no resource-level permissions: a statement of these alone may (must)
# name the resource "*". X-Ray's two writes, for the traced functions' roles.
_NO_RESOURCE_LEVEL = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})


def test_no_role_allows_a_wildcard_action_or_resource(translated: dict[str, Any]) -> None:
    roles = _of_type(translated, "AWS::IAM::Role")
    assert len(roles) == 7  # + the CDE VPC flow logs role
    for name, role in roles.items():
        for statement in _role_statements(role):
            if statement["Effect"] != "Allow":
                continue
            actions = _as_list(statement["Action"])
            for action in actions:
                assert action != "*", name
                assert not action.endswith(":*"), (name, action)
            if _NO_RESOURCE_LEVEL.issuperset(actions):
                continue
            for resource in _as_list(statement["Resource"]):
                assert resource != "*", (name, statement.get("Sid"))


_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|CREDENTIAL|_KEY$", re.IGNORECASE)
# Literal values allowed: Powertools' settings, which name a function and a namespace.
_LITERAL_SETTINGS = {
    "POWERTOOLS_SERVICE_NAME": {"backoffice", "projector", "reconcile"},
    "POWERTOOLS_METRICS_NAMESPACE": {"cardline"},
}


def test_no_secret_travels_in_an_environment_variable(translated: dict[str, Any]) -> None:
    secrets = set(_of_type(translated, "AWS::SecretsManager::Secret"))
    for name, function in _of_type(translated, "AWS::Lambda::Function").items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            if variable.endswith("_SECRET_ID"):
                # The name of a secret, never its value: a Ref to a secret of this template.
                assert set(value) == {"Ref"}, (name, variable)
                assert value["Ref"] in secrets, (name, variable)
                continue
            assert not _SECRET_NAME.search(variable), (name, variable)
            if variable in _LITERAL_SETTINGS:
                assert value in _LITERAL_SETTINGS[variable], (name, variable, value)
                continue
            assert isinstance(value, dict), (name, variable, "literal values only by reference")


def _grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource) pairs a role's inline policies allow, resources as text."""
    return {
        (action, str(resource))
        for statement in _role_statements(role)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


def test_the_charge_role_grants_its_logs_its_secret_and_its_key_only(
    translated: dict[str, Any],
) -> None:
    role = translated["Resources"]["ChargeRole"]
    assert _grants(role) == {
        ("logs:CreateLogStream", str({"Fn::GetAtt": ["ChargeLogGroup", "Arn"]})),
        ("logs:PutLogEvents", str({"Fn::GetAtt": ["ChargeLogGroup", "Arn"]})),
        ("secretsmanager:GetSecretValue", str({"Ref": "PayPalSecret"})),
        ("kms:Decrypt", str({"Fn::GetAtt": ["SecretsKey", "Arn"]})),
    }
    # The managed policy Lambda needs for network interfaces comes only with a VPC (the
    # stack's CDE VPC or the SubnetIds given).
    managed = role["Properties"]["ManagedPolicyArns"]
    assert managed["Fn::If"][0] == "CdeInVpc"
    assert managed["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    charge = translated["Resources"]["ChargeFunction"]["Properties"]
    assert charge["Role"] == {"Fn::GetAtt": ["ChargeRole", "Arn"]}
    assert "DeadLetterConfig" not in charge  # a queue would hold card data (PCI DSS 3.3.2)
    assert "CARDLINE_LEDGER_TABLE" not in charge["Environment"]["Variables"]


def test_each_function_has_its_own_role_reserved_concurrency_arm64(
    translated: dict[str, Any],
) -> None:
    functions = _of_type(translated, "AWS::Lambda::Function")
    roles = {name: f["Properties"]["Role"]["Fn::GetAtt"][0] for name, f in functions.items()}
    # The scheduled reconcile runs in the backoffice role (PayPal's secret, the ledger, no
    # card data); every other function has its own.
    assert roles.pop("ReconcileFunction") == "BackofficeRole"
    assert len(set(roles.values())) == len(roles) == 4
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Runtime"] == "python3.13", name
        assert "ReservedConcurrentExecutions" in properties, name
        # charge and ivr: the CDE VPC first (CdeEgress=firewall), else SubnetIds like the rest.
        vpc = properties["VpcConfig"]["Fn::If"]
        if name in {"ChargeFunction", "IvrFunction"}:
            assert vpc[0] == "CdeBehindFirewall", name
            vpc = vpc[2]["Fn::If"]
        assert vpc[0] == "InVpc", name


def test_the_stage_logs_access_never_bodies_and_is_behind_waf(translated: dict[str, Any]) -> None:
    (stage,) = _of_type(translated, "AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]
    }
    for setting in properties["MethodSettings"]:
        assert setting["DataTraceEnabled"] is False
        assert "ThrottlingRateLimit" in setting
        assert "ThrottlingBurstLimit" in setting
    (association,) = _of_type(translated, "AWS::WAFv2::WebACLAssociation").values()
    assert "/stages/" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    (acl,) = _of_type(translated, "AWS::WAFv2::WebACL").values()
    rules = acl["Properties"]["Rules"]
    assert any("RateBasedStatement" in rule["Statement"] for rule in rules)
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in rules[1:]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= managed


def test_the_custom_domain_takes_tls_1_2_or_better(translated: dict[str, Any]) -> None:
    (domain,) = _of_type(translated, "AWS::ApiGateway::DomainName").values()
    # An enhanced policy: TLS 1.3 and 1.2 only (tests/infra/test_certificates.py).
    assert domain["Properties"]["SecurityPolicy"] == "SecurityPolicy_TLS13_1_2_2021_06"


@pytest.mark.parametrize("path", ["/v1/payments", "/v1/payments/{id}", "/v1/payments/{id}/refunds"])
def test_every_payment_route_needs_the_cognito_authorizer(path: str) -> None:
    api = definition()
    scheme = api["components"]["securitySchemes"]["operators"]
    assert scheme["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    for operation in api["paths"][path].values():
        assert operation["security"] == [{"operators": []}]


# The routes whose body holds a card: the charge function's, and no other.
CARD_ROUTES = {("post", "/v1/payments"), ("post", "/v1/twilio/pay")}


@pytest.mark.parametrize(("method", "path"), sorted(CARD_ROUTES))
def test_the_charge_route_reaches_the_charge_function_without_a_body_model(
    method: str, path: str
) -> None:
    charge = definition()["paths"][path][method]
    assert "requestBody" not in charge  # validation messages would quote card data
    assert charge["x-amazon-apigateway-request-validator"] == "parameters"
    assert "${ChargeFunction.Arn}" in charge["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    other = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path, item in definition()["paths"].items()
        for method, operation in item.items()
        if (method, path) not in CARD_ROUTES
    ]
    assert other
    assert all("${BackofficeFunction.Arn}" in uri for uri in other)


def _gateway_pattern(path: str) -> re.Pattern[str]:
    """What an API Gateway resource path matches: a {name} is one whole path segment."""
    parts = re.split(r"\{\w+\}", path)
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")


def test_the_console_files_reach_the_backoffice_without_the_authorizer() -> None:
    api = definition()
    for path in STATIC:
        assert set(api["paths"][path]) == {"get"}
        operation = api["paths"][path]["get"]
        assert operation["security"] == []
        uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert "${BackofficeFunction.Arn}" in uri
    # Every console file, the sign-in config included, has its gateway path, and every
    # gateway path of the console serves at least one of them.
    served = [route.template for route in console_routes(CognitoSignIn("us-east-1", "client"))]
    patterns = {path: _gateway_pattern(path) for path in STATIC}
    for template in served:
        assert any(pattern.match(template) for pattern in patterns.values()), template
    for path, pattern in patterns.items():
        assert any(pattern.match(template) for template in served), path
    # The only public operations are the console's, the two service ones and the webhook.
    public = {
        (path, method)
        for path, item in api["paths"].items()
        for method, operation in item.items()
        if operation["security"] == []
    }
    expected = {"/", "/console/{file}", "/health", "/openapi.json"}
    # PayPal's webhook: no authorizer (PayPal has no operator key), behind the WAF, and
    # believed only once PayPal verifies the delivery (tests/webhooks). Twilio's Generic Pay
    # Connector: no authorizer, the charge function checks Twilio's basic credentials
    # (tests/security/test_twilio_pay.py).
    callers = {("/v1/webhooks/paypal", "post"), ("/v1/twilio/pay", "post")}
    assert public == {(path, "get") for path in expected} | callers
    assert not set(FUNCTIONS) & {operation_id for operation_id, _ in STATIC.values()}


def test_the_console_signs_in_with_the_pools_app_client(translated: dict[str, Any]) -> None:
    backoffice = translated["Resources"]["BackofficeFunction"]["Properties"]
    variables = backoffice["Environment"]["Variables"]
    assert variables["CARDLINE_COGNITO_CLIENT_ID"] == {"Ref": "OperatorPoolClient"}
    (client,) = _of_type(translated, "AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["GenerateSecret"] is False  # a browser cannot keep one
    assert "ALLOW_USER_PASSWORD_AUTH" in client["Properties"]["ExplicitAuthFlows"]
    (pool,) = _of_type(translated, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_the_cognito_pool_requires_mfa(translated: dict[str, Any]) -> None:
    (pool,) = _of_type(translated, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_the_ledger_is_cmk_encrypted_with_point_in_time_recovery(
    translated: dict[str, Any],
) -> None:
    table = translated["Resources"]["LedgerTable"]["Properties"]
    assert table["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "DataKey"}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_every_key_rotates(translated: dict[str, Any]) -> None:
    keys = _of_type(translated, "AWS::KMS::Key")
    assert len(keys) == 4  # secrets, data, alarm notifications, the CloudTrail trail
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in keys.values())


def test_reconcile_runs_on_a_schedule_in_the_backoffice_role(translated: dict[str, Any]) -> None:
    (rule,) = [
        rule
        for rule in _of_type(translated, "AWS::Events::Rule").values()
        if rule["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt", [""])[0] == "ReconcileFunction"
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}
    function = translated["Resources"]["ReconcileFunction"]["Properties"]
    assert function["Handler"] == "cardline.lambda_reconcile.handler"
    assert function["Role"] == {"Fn::GetAtt": ["BackofficeRole", "Arn"]}
    # Its repairs are audit events on stdout: the projector's subscription must see them.
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "BackofficeLogGroup"}


def test_the_ivr_sessions_table_exists_with_the_ivr_and_is_reached_least_privilege(
    translated: dict[str, Any],
) -> None:
    resources = translated["Resources"]
    table = resources["IvrSessionsTable"]
    assert table["Condition"] == resources["IvrFunction"]["Condition"] == "HasConnect"
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "DataKey"}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    arn = str({"Fn::GetAtt": ["IvrSessionsTable", "Arn"]})
    policies = {
        resource["Properties"]["RoleName"]["Ref"]: resource
        for resource in _of_type(translated, "AWS::IAM::RolePolicy").values()
        if arn in str(resource["Properties"]["PolicyDocument"])
    }
    assert set(policies) == {"BackofficeRole", "IvrRole"}
    grants = {
        role: {
            (action, str(resource))
            for statement in _statements(policy["Properties"]["PolicyDocument"])
            for action in _as_list(statement["Action"])
            for resource in _as_list(statement["Resource"])
        }
        for role, policy in policies.items()
    }
    data_key = str({"Fn::GetAtt": ["DataKey", "Arn"]})
    assert grants["BackofficeRole"] == {("dynamodb:PutItem", arn), ("dynamodb:GetItem", arn)}
    assert grants["IvrRole"] == {
        ("dynamodb:GetItem", arn),
        ("dynamodb:UpdateItem", arn),
        ("kms:Decrypt", data_key),
    }
    assert all(policy["Condition"] == "HasConnect" for policy in policies.values())
    # Nothing else reaches the table: not the charge, the projector or the reconciler.
    for name, resource in resources.items():
        if arn in str(resource) and name not in (
            "IvrSessionsPolicy",
            "BackofficeIvrSessionsPolicy",
        ):
            assert resource["Type"] != "AWS::IAM::Role", name
    ivr = resources["IvrFunction"]["Properties"]["Environment"]["Variables"]
    assert ivr["CARDLINE_IVR_SESSIONS_TABLE"] == {"Ref": "IvrSessionsTable"}
    backoffice = resources["BackofficeFunction"]["Properties"]["Environment"]["Variables"]
    assert backoffice["CARDLINE_IVR_SESSIONS_TABLE"] == {
        "Fn::If": ["HasConnect", {"Ref": "IvrSessionsTable"}, {"Ref": "AWS::NoValue"}]
    }
    charge = resources["ChargeFunction"]["Properties"]["Environment"]["Variables"]
    assert "CARDLINE_IVR_SESSIONS_TABLE" not in charge


@pytest.mark.parametrize("path", ["/v1/ivr/sessions", "/v1/ivr/sessions/{id}"])
def test_the_ivr_session_routes_reach_the_backoffice_behind_the_authorizer(path: str) -> None:
    for operation in definition()["paths"][path].values():
        assert operation["security"] == [{"operators": []}]
        uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert "${BackofficeFunction.Arn}" in uri
    assert "/v1/ivr/connect" not in definition()["paths"]
