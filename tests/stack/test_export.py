"""`cogapi export`: the CloudFormation template of the desired stack, and the adoption files.

cfn-lint (its own resource schemas, offline) must find no error in the template of the example
config and of a config that uses every key; a golden file pins the template's shape
(`COGAPI_UPDATE_GOLDEN=1` rewrites it); the REST API's body is the document `up` sends; one route
changed moves the deployment to a new logical id and changes nothing else of the API; the import
list names every discovered resource of an importable type with the right identifier.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from cogapi.config import Config, parse_config
from cogapi.local import iam_policies
from cogapi.local.apigw_import import install
from cogapi.stack.code import package
from cogapi.stack.export import (
    IMPORTABLE,
    cloudformation_template,
    deployment_logical_id,
    desired_for_export,
    import_template,
)
from cogapi.stack.models import desired_stack
from cogapi.stack.openapi import api_document, document_json
from tests.helpers import EXAMPLE, merge, run_cli, write_config

GOLDEN = Path(__file__).parent / "golden" / "cloudformation-example.yaml"
ACCOUNT = "123456789012"

GOOGLE = {"type": "Google", "client_id": "123.apps.googleusercontent.com",
          "client_secret_env": "GOOGLE_SECRET"}  # fmt: skip
# Every key of the config at least once (prefix and custom domains exclude each other: the
# example has the prefix; secrets and implicit exclude each other: the example has implicit).
EVERY_KEY: dict[str, Any] = {
    "name": "full",
    "region": "eu-west-1",
    "tags": {"team": "web", "cost-centre": "42"},
    "user_pool": {
        "name": "full-pool",
        "sign_in": ["username", "email"],
        "self_sign_up": False,
        "password_policy": {"min_length": 12, "require_lowercase": True, "require_uppercase": False,
                            "require_numbers": True, "require_symbols": False,
                            "temporary_password_validity_days": 3},
        "mfa": "optional",
        "mfa_methods": ["totp", "sms"],
        "account_recovery": ["verified_email", "verified_phone_number"],
        "auto_verify": ["email", "phone_number"],
        "required_attributes": ["email", "name"],
        "custom_attributes": [
            {"name": "tenant", "type": "String", "mutable": True, "min_length": 1, "max_length": 64},
            {"name": "level", "type": "Number", "mutable": False, "min_value": 0, "max_value": 9},
        ],
        "email": {"sender": "ses", "source_arn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
                  "from_address": "no-reply@example.com", "reply_to": "help@example.com"},
        "deletion_protection": True,
        "identity_providers": [
            GOOGLE,
            {"type": "OIDC", "name": "Corp", "client_id": "corp-id", "client_secret_env": "CORP_SECRET",
             "issuer": "https://login.example.com", "scopes": ["openid", "email", "profile"],
             "attribute_mapping": {"email": "email", "name": "name"}},
            {"type": "SignInWithApple", "client_id": "com.example.app", "team_id": "TEAM123456",
             "key_id": "KEY1234567", "private_key_env": "APPLE_KEY"},
        ],
    },
    "domain": {"prefix": None, "custom": "auth.example.com",
               "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
    "app_client": {
        "name": "full-client", "generate_secret": True,
        "callback_urls": ["https://app.example.com/callback"],
        "logout_urls": ["https://app.example.com/bye"],
        "oauth_flows": ["code"], "oauth_scopes": ["openid", "email", "profile", "orders/read"],
        "identity_providers": ["COGNITO", "Google", "Corp", "SignInWithApple"],
        "auth_flows": ["refresh_token", "user_srp", "user_password", "admin_user_password", "custom"],
        "token_validity": {"access": "30m", "id": "2h", "refresh": "7d"},
        "read_attributes": ["email", "name"], "write_attributes": ["name"],
    },
    "resource_servers": [
        {"identifier": "orders", "name": "Orders API",
         "scopes": [{"name": "read", "description": "Read orders"},
                    {"name": "write", "description": "Change orders"}]},
    ],
    "machine_clients": [
        {"name": "reporting", "scopes": ["orders/read"], "token_validity": {"access": "30m"}},
        {"name": "fulfilment", "scopes": ["orders/read", "orders/write"]},
    ],
    "function": {"name": "full-fn", "runtime": "python3.12", "handler": "main.entry", "source": "src",
                 "memory_mb": 256, "timeout_s": 20, "environment": {"LOG_LEVEL": "debug"},
                 "role_name": "full-fn-role"},
    "api": {
        "name": "full-api", "endpoint_type": "EDGE", "stage": "prod",
        "authorizer": {"name": "full-authz", "token_source": "X-Token", "result_ttl_s": 60},
        "cors": {"allow_origins": ["https://app.example.com", "https://admin.example.com"],
                 "allow_headers": ["Authorization", "Content-Type", "X-Token"],
                 "allow_methods": ["GET", "POST"], "max_age_s": 300, "allow_credentials": True},
        "routes": [
            {"path": "/orders", "method": "GET", "scopes": ["orders/read"]},
            {"path": "/orders/{id}", "method": "POST", "scopes": ["orders/read"], "integration": "lambda"},
            {"path": "/me", "method": "GET"},
            {"path": "/public/{proxy+}", "method": "ANY", "authorizer": False},
        ],
    },
}  # fmt: skip


def config(tmp_path: Path, doc: dict[str, Any]) -> Config:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "main.py").write_text("def entry(event, context):\n    return {'statusCode': 200}\n")
    return parse_config(yaml.safe_dump(doc), str(tmp_path / "cogapi.yaml"), tmp_path)


def template_of(cfg: Config) -> dict[str, Any]:
    code = package(Path(cfg.function.source) if cfg.function.source else None, cfg.function.handler)
    return cloudformation_template(desired_for_export(cfg, code))


def to_yaml(template: dict[str, Any]) -> str:
    from cogapi.stack.commands import _yaml

    return _yaml(template)


def lint_errors(text: str) -> list[str]:
    from cfnlint.api import lint

    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in lint(text)
            if m.rule.id.startswith("E")]  # fmt: skip


@pytest.fixture(scope="module")
def example_template() -> dict[str, Any]:
    return template_of(parse_config(yaml.safe_dump(EXAMPLE), "cogapi.yaml", Path("/")))


@pytest.fixture(scope="module")
def full_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return template_of(config(tmp_path_factory.mktemp("full"), merge(EXAMPLE, EVERY_KEY)))


def test_cfn_lint_finds_no_error_in_the_example_template(example_template: dict[str, Any]) -> None:
    assert lint_errors(to_yaml(example_template)) == []


def test_cfn_lint_finds_no_error_when_every_key_is_used(full_template: dict[str, Any]) -> None:
    assert lint_errors(to_yaml(full_template)) == []
    types = sorted({r["Type"] for r in full_template["Resources"].values()})
    assert types == [
        "AWS::ApiGateway::Deployment", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage",
        "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolDomain",
        "AWS::Cognito::UserPoolIdentityProvider", "AWS::Cognito::UserPoolResourceServer",
        "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Lambda::Permission",
    ]  # fmt: skip


def test_cfn_lint_would_report_a_broken_template(example_template: dict[str, Any]) -> None:
    broken = copy.deepcopy(example_template)
    broken["Resources"]["UserPoolDomain"]["Properties"]["Domainn"] = "x"
    broken["Resources"]["Stage"]["Properties"]["DeploymentId"] = {"Ref": "NoSuchDeployment"}
    assert len(lint_errors(to_yaml(broken))) >= 2


def _normalised(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the built-in handler's source (owned by its own tests) elided."""
    out = copy.deepcopy(template)
    code = out["Resources"]["Function"]["Properties"]["Code"]
    if "ZipFile" in code:
        code["ZipFile"] = "<the built-in handler, cogapi/stack/builtin_handler/app.py>"
    return out


def test_golden_template_of_the_example_config(example_template: dict[str, Any]) -> None:
    text = to_yaml(_normalised(example_template))
    if os.environ.get("COGAPI_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), "run with COGAPI_UPDATE_GOLDEN=1 to write the golden file"
    assert yaml.safe_load(text) == yaml.safe_load(GOLDEN.read_text()), (
        "the template changed; if on purpose, rerun with COGAPI_UPDATE_GOLDEN=1 and review the diff"
    )


def test_pool_is_retained_and_secrets_are_no_echo_parameters(full_template: dict[str, Any]) -> None:
    pool = full_template["Resources"]["UserPool"]
    assert pool["DeletionPolicy"] == "Retain" and pool["UpdateReplacePolicy"] == "Retain"
    params = full_template["Parameters"]
    secrets = {k: v for k, v in params.items() if v.get("NoEcho")}
    assert sorted(secrets) == [
        "IdentityProviderCorpSecret", "IdentityProviderGoogleSecret",
        "IdentityProviderSignInWithAppleSecret",
    ]  # fmt: skip
    google = full_template["Resources"]["IdentityProviderGoogle"]["Properties"]["ProviderDetails"]
    assert google["client_secret"] == {"Ref": "IdentityProviderGoogleSecret"}
    apple = full_template["Resources"]["IdentityProviderSignInWithApple"]["Properties"]
    assert apple["ProviderDetails"]["private_key"] == {
        "Ref": "IdentityProviderSignInWithAppleSecret"
    }
    # The app client waits for every provider and resource server it names.
    assert full_template["Resources"]["AppClient"]["DependsOn"] == [
        "IdentityProviderCorp", "IdentityProviderGoogle", "IdentityProviderSignInWithApple",
        "ResourceServerOrders",
    ]  # fmt: skip


def test_pool_properties_are_the_create_user_pool_request(full_template: dict[str, Any]) -> None:
    p = full_template["Resources"]["UserPool"]["Properties"]
    assert p["UserPoolName"] == "full-pool"
    assert p["AliasAttributes"] == ["email"] and "UsernameAttributes" not in p
    assert p["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert p["MfaConfiguration"] == "OPTIONAL"
    assert p["EnabledMfas"] == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert p["SmsConfiguration"] == {"SnsCallerArn": {"Fn::GetAtt": ["SmsRole", "Arn"]},
                                     "ExternalId": "cogapi-full"}  # fmt: skip
    assert p["EmailConfiguration"]["EmailSendingAccount"] == "DEVELOPER"
    assert p["DeletionProtection"] == "ACTIVE"
    assert p["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert {"Name": "level", "AttributeDataType": "Number", "Mutable": False,
            "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "9"}} in p["Schema"]  # fmt: skip
    assert p["UserPoolTags"] == {"cogapi:stack": "full", "cogapi:sign-in": "email+username",
                                 "team": "web", "cost-centre": "42"}  # fmt: skip


def test_everything_taggable_carries_the_stack_tags(full_template: dict[str, Any]) -> None:
    want = [{"Key": "cogapi:stack", "Value": "full"}, {"Key": "cost-centre", "Value": "42"},
            {"Key": "team", "Value": "web"}]  # fmt: skip
    tagged = {lid: r["Properties"]["Tags"] for lid, r in full_template["Resources"].items()
              if "Tags" in r["Properties"]}  # fmt: skip
    assert sorted(tagged) == ["Function", "FunctionRole", "RestApi", "SmsRole", "Stage"]
    assert all(tags == want for tags in tagged.values())


def test_a_users_source_is_a_zip_with_bucket_and_key_parameters(
    full_template: dict[str, Any],
) -> None:
    fn = full_template["Resources"]["Function"]["Properties"]
    assert fn["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}
    assert fn["Handler"] == "main.entry"
    assert re.fullmatch(
        r"full-fn-[0-9a-f]{16}\.zip", full_template["Parameters"]["CodeS3Key"]["Default"]
    )


def test_the_built_in_handler_goes_inline(example_template: dict[str, Any]) -> None:
    fn = example_template["Resources"]["Function"]["Properties"]
    assert fn["Handler"] == "index.handler"  # CloudFormation writes inline code to index.py
    assert "def handler(event, context)" in fn["Code"]["ZipFile"]
    assert len(fn["Code"]["ZipFile"]) <= 4096  # the ZipFile limit


def _resolve(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}!]+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])
        if set(value) == {"Fn::GetAtt"}:
            return names[".".join(value["Fn::GetAtt"])]
        if set(value) == {"Ref"}:
            return names[value["Ref"]]
        return {k: _resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, names) for v in value]
    return value


def test_rest_api_body_is_the_document_up_sends(tmp_path: Path) -> None:
    cfg = config(tmp_path, merge(EXAMPLE, EVERY_KEY))
    template = template_of(cfg)
    pool_arn = f"arn:aws:cognito-idp:eu-west-1:{ACCOUNT}:userpool/eu-west-1_abc"
    body = _resolve(template["Resources"]["RestApi"]["Properties"]["Body"], {
        "AWS::Region": "eu-west-1", "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
        "UserPool.Arn": pool_arn,
    })  # fmt: skip
    code = package(Path(cfg.function.source or ""), cfg.function.handler)
    sent = api_document(desired_stack(cfg, ACCOUNT, code), pool_arn)
    assert document_json(body) == document_json(sent)


def _api_side(template: dict[str, Any]) -> dict[str, Any]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"].startswith(("AWS::ApiGateway", "AWS::Lambda::Permission"))}  # fmt: skip


def test_one_route_changed_moves_the_deployment_and_nothing_else(tmp_path: Path) -> None:
    base = merge(EXAMPLE, {})
    changed = merge(EXAMPLE, {})
    changed["api"]["routes"] = [{**base["api"]["routes"][0], "scopes": ["openid"]}]
    before = template_of(config(tmp_path, base))
    after = template_of(config(tmp_path, changed))
    old = [lid for lid in before["Resources"] if lid.startswith("Deployment")]
    new = [lid for lid in after["Resources"] if lid.startswith("Deployment")]
    assert len(old) == len(new) == 1 and old != new
    assert new[0] == deployment_logical_id(after["Resources"]["RestApi"]["Properties"]["Body"])
    # Everything outside the API is the same; inside, only the body and what names the new id.
    rest = {k for k in before["Resources"] if k not in _api_side(before)}
    assert {k: before["Resources"][k] for k in rest} == {k: after["Resources"][k] for k in rest}
    b, a = _api_side(before), _api_side(after)
    assert b["InvokePermission"] == a["InvokePermission"]
    assert b["Stage"]["Properties"]["DeploymentId"] == {"Ref": old[0]}
    assert a["Stage"]["Properties"]["DeploymentId"] == {"Ref": new[0]}
    assert {**b["Stage"]["Properties"], "DeploymentId": None} == {
        **a["Stage"]["Properties"],
        "DeploymentId": None,
    }
    body_b = b["RestApi"]["Properties"].pop("Body")
    body_a = a["RestApi"]["Properties"].pop("Body")
    assert body_b != body_a and b["RestApi"] == a["RestApi"]
    assert b[old[0]]["Properties"]["RestApiId"] == a[new[0]]["Properties"]["RestApiId"]
    # The same config twice gives the same id: redeploys only happen on a change.
    assert [
        k for k in template_of(config(tmp_path, base))["Resources"] if k.startswith("Deployment")
    ] == old


# ---- the command, and adopting a live stack (moto in-process) -------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("GOOGLE_SECRET", "s3cr3t-value")
    install()  # PutRestApi applied as AWS applies it (moto alone drops the authorizer)
    iam_policies.install()  # AWS managed policies built once per process, not per test
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        s = boto3.Session(region_name="us-east-1")
        yield {n: s.client(n) for n in ("cognito-idp", "apigateway", "lambda", "iam")}


def test_export_prints_yaml_and_makes_no_aws_call(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml")
    run = run_cli("export", "-c", str(cfg))
    assert run.exit_code == 0, run.stderr
    assert run.calls == []
    assert yaml.safe_load(run.stdout)["Resources"]["UserPool"]["Type"] == "AWS::Cognito::UserPool"
    doc = run_cli("export", "-c", str(cfg), "-o", "json").json()
    assert doc["template"]["Resources"].keys() == yaml.safe_load(run.stdout)["Resources"].keys()


def test_export_writes_the_users_code_beside_the_template(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {}\n")
    cfg = write_config(tmp_path / "cogapi.yaml", function={"source": "src"})
    out = tmp_path / "out" / "template.yaml"
    out.parent.mkdir()
    run = run_cli("export", "-c", str(cfg), "--output-file", str(out))
    assert run.exit_code == 0, run.stderr
    key = yaml.safe_load(out.read_text())["Parameters"]["CodeS3Key"]["Default"]
    assert (out.parent / key).read_bytes() == package(tmp_path / "src", "app.handler").zip_bytes


def test_import_file_lists_every_discovered_resource_with_its_identifier(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "cogapi.yaml", user_pool={"identity_providers": [GOOGLE]})
    up = run_cli("up", "-c", str(cfg), "-o", "json")
    assert up.exit_code == 0, up.stderr
    out = up.json()["outputs"]
    target = tmp_path / "import.json"
    run = run_cli("export", "-c", str(cfg), "--output-file", str(tmp_path / "t.yaml"),
                  "--import-file", str(target))  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.mutating == []  # discovery only
    assert "InvokePermission is not imported" in run.stderr
    listed = {r["LogicalResourceId"]: r for r in json.loads(target.read_text())}
    stage = aws["apigateway"].get_stage(restApiId=out["api_id"], stageName="test")
    template = yaml.safe_load((tmp_path / "t.yaml").read_text())
    dep = next(lid for lid in template["Resources"] if lid.startswith("Deployment"))
    pool, api = out["user_pool_id"], out["api_id"]
    assert {lid: r["ResourceIdentifier"] for lid, r in listed.items()} == {
        "UserPool": {"UserPoolId": pool},
        "UserPoolDomain": {"UserPoolId": pool, "Domain": "test-api-7f3k"},
        "AppClient": {"UserPoolId": pool, "ClientId": out["app_client_id"]},
        "IdentityProviderGoogle": {"UserPoolId": pool, "ProviderName": "Google"},
        "FunctionRole": {"RoleName": "test-API-function-role"},
        "Function": {"FunctionName": "test-API-function"},
        "RestApi": {"RestApiId": api},
        dep: {"DeploymentId": stage["deploymentId"], "RestApiId": api},
        "Stage": {"RestApiId": api, "StageName": "test"},
    }
    for lid, r in listed.items():
        assert r["ResourceType"] == template["Resources"][lid]["Type"]
        assert list(r["ResourceIdentifier"]) == list(IMPORTABLE[r["ResourceType"]])
    # Every template resource of an importable type is in the list.
    assert {lid for lid, r in template["Resources"].items() if r["Type"] in IMPORTABLE} == set(
        listed
    )
    # The IMPORT change set's template: those resources only, retained, no outputs.
    tpl = yaml.safe_load((tmp_path / "import.template.yaml").read_text())
    assert set(tpl["Resources"]) == set(listed) and "Outputs" not in tpl
    assert all(r["DeletionPolicy"] == "Retain" for r in tpl["Resources"].values())
    assert list(tpl["Parameters"]) == ["IdentityProviderGoogleSecret"]
    assert lint_errors((tmp_path / "import.template.yaml").read_text()) == []
    assert tpl == import_template(template, list(listed.values()))


def test_export_refuses_an_empty_path_or_two_flags_naming_one_file(tmp_path: Path) -> None:
    """Before: `--output-file ""` printed to stdout, and the template overwrote the import
    file of the same name (after both were announced as written)."""
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    same = str(tmp_path / "out.yaml")
    for args, message in (
        (["--output-file", ""], "error: --output-file: the path is empty"),
        (["--import-file", ""], "error: --import-file: the path is empty"),
        (
            ["--output-file", same, "--import-file", same],
            f"error: --output-file {same} and --import-file {same} would both write {same}",
        ),
    ):
        run = run_cli("export", "-c", cfg, *args)
        assert run.exit_code == 2, run.stderr
        assert run.stderr.splitlines()[0] == message
        assert run.calls == [] and run.stdout == ""
    assert not (tmp_path / "out.yaml").exists()
