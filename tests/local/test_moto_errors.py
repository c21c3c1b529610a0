"""What `cogapi local` answers where moto would raise: bad Cognito bodies, missing parameters,
actions moto lacks and moto's own crashes, as JSON errors a client can read (never an HTML 500
that SDKs retry). That the traceback stays out of the terminal is pinned where there is one:
tests/e2e/test_local_cli.py runs the installed `cogapi local` (in-process, pytest captures the
log)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from local_stack import EMAIL, REGION, Stack

from cogapi.local.guard import USER_POOL_CALLS
from cogapi.local.moto_errors import Refused, cognito_body, contained

SIGNED = "AWS4-HMAC-SHA256 Credential=t/20260101/us-east-1/cognito-idp/aws4_request, " \
    "SignedHeaders=host, Signature=x"  # fmt: skip


def _post(stack: Stack, operation: str, body: str) -> requests.Response:
    return requests.post(
        stack.endpoint + "/",
        data=body,
        headers={
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": SIGNED,
        },
        timeout=10,
    )


@pytest.mark.parametrize("operation", ["DeleteUser", "InitiateAuth", "CreateUserPool"])
@pytest.mark.parametrize("body", ["null", "[]", '"text"', "not json", "{"])
def test_a_body_that_is_not_a_json_object_is_a_serialization_error(
    stack: Stack, operation: str, body: str
) -> None:
    # handled by the stand-in (DeleteUser, InitiateAuth) or passed to moto (CreateUserPool)
    answer = _post(stack, operation, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["__type"] == "SerializationException"


def test_missing_required_parameters_are_named_as_aws_names_them(stack: Stack) -> None:
    one = _post(stack, "CreateUserPool", "{}")  # moto raised KeyError('PoolName')
    assert one.status_code == 400
    assert one.json() == {
        "__type": "InvalidParameterException",
        "message": "1 validation error detected: Value null at 'poolName' failed to satisfy "
        "constraint: Member must not be null",
    }
    two = _post(stack, "AdminGetUser", "{}")
    assert two.json()["__type"] == "InvalidParameterException"
    assert two.json()["message"].startswith("2 validation errors detected: Value null at ")
    assert "'userPoolId'" in two.json()["message"] and "'username'" in two.json()["message"]


@pytest.mark.parametrize("password", [None, ""])
def test_sign_up_without_a_password_is_refused_where_passwordless_sign_in_is_off(
    stack: Stack, password: str | None
) -> None:
    # moto raised on the missing password (an HTML 500 that SDKs retried); AWS requires one
    # unless the pool has passwordless sign-in, which no local pool can have
    body = {"ClientId": stack.client_id, "Username": "no-password@example.com"}
    if password is not None:
        body["Password"] = password
    answer = _post(stack, "SignUp", json.dumps(body))
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "__type": "InvalidParameterException",
        "message": "1 validation error detected: Value null at 'password' failed to satisfy "
        "constraint: Member must not be null",
    }
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=stack.pool_id, Username="no-password@example.com")
    assert exc.value.response["Error"]["Code"] == "UserNotFoundException"  # nothing half-made


@pytest.mark.parametrize(
    "operation", ["UpdateUserAttributes", "AdminUpdateUserAttributes", "SignUp", "AdminCreateUser"]
)
def test_a_user_attribute_without_a_value_is_refused_as_aws_refuses_it(
    stack: Stack, operation: str
) -> None:
    """botocore lets `Value` be left out (Amplify leaves out an undefined one); moto raised
    KeyError. AWS: InvalidParameterException "Attribute value for picture must not be null"."""
    idp = stack.clients["cognito-idp"]
    who = {"UserPoolId": stack.pool_id, "Username": f"novalue{time.time_ns()}"}
    params: dict[str, Any] = {
        "UpdateUserAttributes": {"AccessToken": stack.tokens(ADMIN_SCOPES)["access_token"]},
        "AdminUpdateUserAttributes": {**who, "Username": EMAIL},
        "SignUp": {
            "ClientId": stack.client_id,
            "Username": who["Username"],
            "Password": "Pw-1aaaaaa",
        },
        "AdminCreateUser": who,
    }[operation]
    attributes = [{"Name": "name", "Value": "A"}, {"Name": "picture"}]
    with pytest.raises(ClientError) as refused:
        getattr(idp, _snake(operation))(**params, UserAttributes=attributes)
    assert refused.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "Attribute value for picture must not be null",
    }
    raw = _post(stack, operation, json.dumps({**params, "UserAttributes": [
        {"Name": "picture", "Value": None}]}))  # fmt: skip
    assert raw.status_code == 400  # JSON null is read as left out, as AWS reads it
    assert raw.json()["message"] == "Attribute value for picture must not be null"
    kept = idp.admin_get_user(UserPoolId=stack.pool_id, Username=EMAIL)["UserAttributes"]
    assert {"Name": "name", "Value": "A"} not in kept  # refused whole: nothing was applied
    if operation in ("SignUp", "AdminCreateUser"):
        with pytest.raises(ClientError, match="UserNotFoundException"):
            idp.admin_get_user(**who)


ADMIN_SCOPES = ("openid", "aws.cognito.signin.user.admin")  # what the user's own calls need


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def test_a_value_of_the_wrong_type_is_a_serialization_error(stack: Stack) -> None:
    answer = _post(stack, "CreateUserPool", '{"PoolName": 7}')
    assert answer.status_code == 400
    assert answer.json()["__type"] == "SerializationException"
    assert "PoolName" in answer.json()["message"]


def test_unknown_members_pass_as_on_aws(stack: Stack) -> None:
    answer = _post(stack, "ListUserPools", '{"MaxResults": 5, "SomethingNew": true}')
    assert answer.status_code == 200, answer.text
    assert "UserPools" in answer.json()


def test_an_action_moto_lacks_is_a_clear_501_without_retries(stack: Stack) -> None:
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 5}))  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ClientError) as exc:
        idp.get_device(DeviceKey="us-east-1_device", AccessToken="token")
    error = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Code"] == "NotImplemented"
    assert "GetDevice" in error["Message"]
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("service", ["cognito-idp", "lambda"])
def test_a_region_moto_does_not_know_is_a_400_naming_it_without_retries(
    stack: Stack, service: str
) -> None:
    """moto keys its backends by region: one it lacks was a KeyError, a 500 the SDKs retried,
    then "a required parameter may be missing"."""
    client = boto3.client(
        service, endpoint_url=stack.endpoint, region_name="us-east-9",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 5}))  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.list_user_pools(
            MaxResults=1
        ) if service == "cognito-idp" else client.list_functions()
    error = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "UnrecognizedRegion"
    assert error["Message"].startswith("cogapi local has no region 'us-east-9'")
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def _app(raising: BaseException | None, *, after_start: bool = False) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if after_start:
            start_response("200 OK", [])
        if raising is not None:
            raise raising
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    return app


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *rest: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(contained(app)(environ, start_response))
    return seen["status"], seen["headers"], body


def test_a_moto_crash_is_a_json_500_naming_the_action() -> None:
    environ = {"HTTP_X_AMZ_TARGET": "AWSCognitoIdentityProviderService.SignUp"}
    status, headers, body = _call(
        _app(TypeError("object of type 'NoneType' has no len()")), environ
    )
    assert status.startswith("500 ")
    assert headers["x-amzn-ErrorType"] == "InternalFailure:"
    assert b'"__type": "InternalFailure"' in body and b"SignUp" in body and b"TypeError" in body
    status, _, body = _call(_app(KeyError("name")), {"REQUEST_METHOD": "POST", "PATH_INFO": "/x"})
    assert status.startswith("500 ") and b"POST /x" in body
    status, _, body = _call(_app(NotImplementedError("no")), environ)
    assert status.startswith("501 ") and b"NotImplemented" in body
    assert _call(_app(None), environ) == (
        "200 OK", {"Content-Type": "application/json"}, b"{}")  # fmt: skip


def test_a_crash_after_moto_began_its_answer_is_not_papered_over() -> None:
    with pytest.raises(KeyError):
        _call(_app(KeyError("late"), after_start=True), {})


def test_operations_outside_the_model_are_left_to_moto() -> None:
    assert cognito_body("NoSuchOperation", b'{"Anything": 1}') == {"Anything": 1}
    assert cognito_body("ListUserPools", b'{"MaxResults": 5}') == {"MaxResults": 5}
    assert cognito_body("NoSuchOperation", b"[]") == Refused(
        "SerializationException", "the request body is not a JSON object"
    )


_SWEEP_OPERATIONS = sorted(
    USER_POOL_CALLS
    | {"AdminInitiateAuth", "AdminRespondToAuthChallenge", "AdminGetUser", "AdminCreateUser",
       "AdminSetUserPassword", "AdminDeleteUser", "AdminConfirmSignUp", "CreateUserPool",
       "CreateUserPoolClient", "DescribeUserPool", "DeleteUserPool"}
)  # fmt: skip


def test_no_cognito_action_crashes_on_a_malformed_or_partial_body(stack: Stack) -> None:
    """Every user-pool call a browser may make, and the admin calls cogapi makes, with bodies
    no SDK would send: each gets a 4xx, or 501 for an action moto lacks, never a 500."""
    # a pool of its own: DeleteUserPool with a stray member is a valid call, and other tests
    # share the stack's pool
    idp = boto3.client(
        "cognito-idp", endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    pool = idp.create_user_pool(PoolName="sweep")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="sweep")["UserPoolClient"][
        "ClientId"]  # fmt: skip
    bodies = [
        "null", "[]", "{}", f'{{"ClientId": "{client}"}}', '{"AccessToken": "x.y.z"}',
        f'{{"ClientId": "{client}", "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {{}}}}',
        f'{{"UserPoolId": "{pool}", "Username": 5}}',
        f'{{"ClientId": "{client}", "Username": "sweep@example.com"}}',
    ]  # fmt: skip
    failures = []
    for operation in _SWEEP_OPERATIONS:
        for body in bodies:
            answer = _post(stack, operation, body)
            if answer.status_code >= 500 and answer.status_code != 501:
                failures.append((operation, body, answer.status_code, answer.text[:120]))
    assert not failures, failures
