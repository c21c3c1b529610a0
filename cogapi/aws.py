"""The one place that talks to AWS.

Only this module talks to AWS. It builds clients with botocore, the core boto3 wraps: importing
boto3 itself also loads s3transfer, about 60 ms of start-up for nothing cogapi uses. `Aws` takes a
botocore (or boto3) session and an injectable `sleep`, returns
plain dicts and lists, and turns every "does not exist" answer, whatever each service calls it,
into `NotFound` (reads return `None` instead). Any other failure becomes an `AwsError` naming the
operation and the resource, so the CLI can print it without a traceback.

It owns the AWS quirks, each marked with a comment (see shared/aws-notes.md):
- botocore `standard` retries with a high attempt count absorb API Gateway's control-plane
  throttling (CreateDeployment 1/5 s, DeleteRestApi 1/30 s, ...).
- `create_function` right after `create_role` fails until IAM propagates; retried with backoff
  for up to ~2 minutes, reporting each wait through `on_wait`.
- Lambda updates conflict while another one runs: wait for `LastUpdateStatus` and retry
  `ResourceConflictException`.
- `add_permission` is check-before-add (AWS rejects a duplicate StatementId, moto does not).
- Stages are never made with `create_deployment(stageName=...)`: on an existing stage that
  replaces the stage object in moto (tags lost); we create the deployment, then point the stage.

It also counts calls (`calls`, `mutating_calls`) for tests and benchmarks, and honours the test
hook `COGAPI_TEST_KILL_AFTER=N`: SIGKILL this process right after the Nth mutating call returns,
which is how the crash-safety tests stop `up` at every possible point.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.session

from cogapi.errors import AwsError, NotFound, UsageError

READ_PREFIXES = ("Get", "List", "Describe")
NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "NotFoundException",
    "NoSuchEntity",
    "NoSuchEntityException",
    "UserPoolNotFoundException",
}
IAM_PROPAGATION_HINTS = ("cannot be assumed by Lambda", "role defined for the function")
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def make_session(profile: str | None, region: str) -> botocore.session.Session:
    try:
        session = botocore.session.Session(profile=profile)
        session.get_scoped_config()  # an unknown profile fails here, before any call
        session.set_config_variable("region", region)
        return session
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(
            f"AWS profile {profile!r} not found", hint="check ~/.aws/config or drop --profile"
        ) from None


class Aws:
    """Facade over the five AWS services cogapi uses, bound to one region."""

    def __init__(
        self,
        session: Any,
        region: str,
        endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str], None] | None = None,
        max_attempts: int = 10,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.sleep = sleep
        self.on_wait = on_wait or (lambda message: None)
        self.calls = 0
        self.mutating_calls = 0
        self.call_log: list[str] = []
        self._lock = threading.Lock()
        self._kill_after = int(os.environ.get("COGAPI_TEST_KILL_AFTER", "0") or 0)
        self._session = session
        self._max_attempts = max_attempts
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        self._account: str | None = None

    # ---- plumbing -------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The client for `service`, made on first use.

        Made lazily, one at a time (a session is not thread-safe), so discovery's first
        requests go out while the other clients are still being built: building all five up
        front costs over 0.1 s of model loading before any request.
        """
        with self._client_lock:
            client = self._clients.get(service)
            if client is None:
                # Throttling (429) and transient errors: botocore's standard mode retries with
                # backoff. API Gateway gets more attempts (DeleteRestApi is limited to 1 per 30 s
                # per account); the others fewer, so an unreachable endpoint fails in seconds.
                attempts = self._max_attempts if service == "apigateway" else 4
                cfg = botocore.config.Config(
                    region_name=self.region, connect_timeout=10, read_timeout=60,
                    retries={"mode": "standard", "max_attempts": attempts},
                )  # fmt: skip
                make = getattr(self._session, "create_client", None) or self._session.client
                client = make(service, config=cfg, endpoint_url=self.endpoint_url)
                client.meta.events.register("before-call", self._count)
                client.meta.events.register("after-call", self._after)
                self._clients[service] = client
            return client

    @property
    def cognito(self) -> Any:
        return self.client("cognito-idp")

    @property
    def apigw(self) -> Any:
        return self.client("apigateway")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls += 1
            self.call_log.append(model.name)
            if not model.name.startswith(READ_PREFIXES):
                self.mutating_calls += 1

    def _after(self, model: Any, http_response: Any = None, **_: Any) -> None:
        if self._kill_after and not model.name.startswith(READ_PREFIXES):
            status = getattr(http_response, "status_code", 200)
            with self._lock:
                if status < 300:
                    self._kill_after -= 1
                    if self._kill_after == 0:
                        os.kill(os.getpid(), signal.SIGKILL)

    def _call(self, client: Any, op: str, where: str, **params: Any) -> Any:
        try:
            return getattr(client, op)(**params)
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "")
            message = err.get("Message", "") or str(exc)
            if code in NOT_FOUND_CODES or (code == "InvalidParameterException" and "does not exist" in message):
                raise NotFound(f"{where} not found") from None
            raise AwsError(f"{op} failed for {where}: {code}: {message}", hint=_hint(code)) from exc
        except botocore.exceptions.NoCredentialsError:
            raise AwsError(
                "no AWS credentials found",
                hint="set AWS_PROFILE or pass --profile, or run `aws configure`; "
                "for the local stand-in any non-empty AWS_ACCESS_KEY_ID works",
            ) from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise AwsError(
                f"cannot reach AWS at {exc.kwargs.get('endpoint_url', '?')} ({op})",
                hint="check --endpoint-url / AWS_ENDPOINT_URL, or start `cogapi local`",
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise AwsError(f"{op} failed for {where}: {exc}") from None

    def _delete(self, client: Any, op: str, where: str, **params: Any) -> None:
        """A delete that is done when the thing is already gone (teardown re-runs are no-ops)."""
        with contextlib.suppress(NotFound):
            self._call(client, op, where, **params)

    def _read(self, client: Any, op: str, where: str, **params: Any) -> Any:
        try:
            return self._call(client, op, where, **params)
        except NotFound:
            return None

    def account_id(self) -> str:
        if self._account is None:
            ident = self._call(self.client("sts"), "get_caller_identity", "caller identity")
            self._account = str(ident["Account"])
        return self._account

    # ---- Cognito user pools ---------------------------------------------------------------

    def find_user_pools(self, name: str) -> list[dict[str, Any]]:
        """Full descriptions of every pool named `name` (names are not unique)."""
        found, token = [], None
        while True:
            params: dict[str, Any] = {"MaxResults": 60}
            if token:
                params["NextToken"] = token
            page = self._call(self.cognito, "list_user_pools", "user pools", **params)
            for pool in page.get("UserPools", []):
                if pool.get("Name") == name:
                    desc = self.describe_user_pool(pool["Id"])
                    if desc is not None:
                        found.append(desc)
            token = page.get("NextToken")
            if not token:
                return found

    def describe_user_pool(self, pool_id: str) -> dict[str, Any] | None:
        r = self._read(self.cognito, "describe_user_pool", f"user pool {pool_id}", UserPoolId=pool_id)
        return None if r is None else r["UserPool"]

    def get_mfa_config(self, pool_id: str) -> dict[str, Any]:
        # moto's describe_user_pool keeps the creation-time MfaConfiguration; this one is right.
        r = self._call(self.cognito, "get_user_pool_mfa_config", f"user pool {pool_id}", UserPoolId=pool_id)
        return {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def create_user_pool(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._call(self.cognito, "create_user_pool", f"user pool {params['PoolName']}", **params)
        return dict(r["UserPool"])

    def update_user_pool(self, params: dict[str, Any]) -> None:
        # UpdateUserPool resets every omitted setting: `params` must be the full desired settings.
        self._call(self.cognito, "update_user_pool", f"user pool {params['UserPoolId']}", **params)

    def set_mfa_config(self, pool_id: str, params: dict[str, Any]) -> None:
        self._call(self.cognito, "set_user_pool_mfa_config", f"user pool {pool_id}", UserPoolId=pool_id, **params)

    def add_custom_attributes(self, pool_id: str, attributes: list[dict[str, Any]]) -> None:
        self._call(
            self.cognito, "add_custom_attributes", f"user pool {pool_id}",
            UserPoolId=pool_id, CustomAttributes=attributes,
        )  # fmt: skip

    def delete_user_pool(self, pool_id: str) -> None:
        self._call(self.cognito, "delete_user_pool", f"user pool {pool_id}", UserPoolId=pool_id)

    def domain_owner(self, domain: str) -> dict[str, Any] | None:
        """The description of `domain` (prefix or custom), or None when no pool holds it."""
        r = self._read(self.cognito, "describe_user_pool_domain", f"domain {domain}", Domain=domain)
        desc = (r or {}).get("DomainDescription") or {}
        # moto answers an unknown prefix with an empty DomainDescription rather than an error.
        return desc if desc.get("UserPoolId") else None

    def create_domain(self, pool_id: str, domain: str, certificate_arn: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"Domain": domain, "UserPoolId": pool_id}
        if certificate_arn:
            params["CustomDomainConfig"] = {"CertificateArn": certificate_arn}
        else:
            # Classic hosted UI: managed login v2 shows "Login pages unavailable" until a
            # branding style exists.
            params["ManagedLoginVersion"] = 1
        r = self._call(self.cognito, "create_user_pool_domain", f"domain {domain}", **params)
        return {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def delete_domain(self, pool_id: str, domain: str) -> None:
        self._delete(
            self.cognito, "delete_user_pool_domain", f"domain {domain}",
            Domain=domain, UserPoolId=pool_id,
        )  # fmt: skip

    def list_clients(self, pool_id: str) -> list[dict[str, Any]]:
        out, token = [], None
        while True:
            params: dict[str, Any] = {"UserPoolId": pool_id, "MaxResults": 60}
            if token:
                params["NextToken"] = token
            page = self._call(self.cognito, "list_user_pool_clients", f"clients of {pool_id}", **params)
            out.extend(page.get("UserPoolClients", []))
            token = page.get("NextToken")
            if not token:
                return out

    def describe_client(self, pool_id: str, client_id: str) -> dict[str, Any] | None:
        r = self._read(
            self.cognito, "describe_user_pool_client", f"app client {client_id}",
            UserPoolId=pool_id, ClientId=client_id,
        )  # fmt: skip
        return None if r is None else r["UserPoolClient"]

    def create_client(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._call(self.cognito, "create_user_pool_client", f"app client {params['ClientName']}", **params)
        return dict(r["UserPoolClient"])

    def update_client(self, params: dict[str, Any]) -> None:
        # Like UpdateUserPool, omitted settings reset to defaults: send the full desired client.
        self._call(self.cognito, "update_user_pool_client", f"app client {params['ClientId']}", **params)

    def delete_client(self, pool_id: str, client_id: str) -> None:
        self._call(
            self.cognito, "delete_user_pool_client", f"app client {client_id}",
            UserPoolId=pool_id, ClientId=client_id,
        )  # fmt: skip

    def list_identity_providers(self, pool_id: str) -> list[dict[str, Any]]:
        r = self._call(
            self.cognito, "list_identity_providers", f"identity providers of {pool_id}",
            UserPoolId=pool_id, MaxResults=60,
        )  # fmt: skip
        out = []
        for p in r.get("Providers", []):
            d = self._read(
                self.cognito, "describe_identity_provider", f"identity provider {p['ProviderName']}",
                UserPoolId=pool_id, ProviderName=p["ProviderName"],
            )  # fmt: skip
            if d:
                out.append(d["IdentityProvider"])
        return out

    def put_identity_provider(self, pool_id: str, params: dict[str, Any], exists: bool) -> None:
        if exists:
            update = {k: v for k, v in params.items() if k != "ProviderType"}
            self._call(
                self.cognito, "update_identity_provider", f"identity provider {params['ProviderName']}",
                UserPoolId=pool_id, **update,
            )  # fmt: skip
        else:
            self._call(
                self.cognito, "create_identity_provider", f"identity provider {params['ProviderName']}",
                UserPoolId=pool_id, **params,
            )  # fmt: skip

    def delete_identity_provider(self, pool_id: str, name: str) -> None:
        self._call(
            self.cognito, "delete_identity_provider", f"identity provider {name}",
            UserPoolId=pool_id, ProviderName=name,
        )  # fmt: skip

    # ---- users (test-user management) ----------------------------------------------------

    def list_users(self, pool_id: str) -> list[dict[str, Any]]:
        out, token = [], None
        while True:
            params: dict[str, Any] = {"UserPoolId": pool_id, "Limit": 60}
            if token:
                params["PaginationToken"] = token
            page = self._call(self.cognito, "list_users", f"users of {pool_id}", **params)
            out.extend(page.get("Users", []))
            token = page.get("PaginationToken")
            if not token:
                return out

    def create_confirmed_user(self, pool_id: str, username: str, password: str, attributes: dict[str, str]) -> None:
        self._call(
            self.cognito, "admin_create_user", f"user {username}",
            UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )  # fmt: skip
        self._call(
            self.cognito, "admin_set_user_password", f"user {username}",
            UserPoolId=pool_id, Username=username, Password=password, Permanent=True,
        )  # fmt: skip

    def delete_user(self, pool_id: str, username: str) -> None:
        self._call(self.cognito, "admin_delete_user", f"user {username}", UserPoolId=pool_id, Username=username)

    # ---- IAM ------------------------------------------------------------------------------

    def get_role(self, name: str, with_inline: bool = False) -> dict[str, Any] | None:
        """The role with `TagMap`, attached `ManagedPolicyArns` and (optionally) `InlinePolicies`."""
        r = self._read(self.iam, "get_role", f"IAM role {name}", RoleName=name)
        if r is None:
            return None
        role = dict(r["Role"])
        tags = role.get("Tags")
        if tags is None:  # GetRole includes tags; older endpoints may not
            tags = self._call(self.iam, "list_role_tags", f"IAM role {name}", RoleName=name).get("Tags", [])
        role["TagMap"] = {t["Key"]: t["Value"] for t in tags}
        attached = self._call(self.iam, "list_attached_role_policies", f"IAM role {name}", RoleName=name)
        role["ManagedPolicyArns"] = sorted(p["PolicyArn"] for p in attached.get("AttachedPolicies", []))
        inline = {}
        if with_inline:
            names = self._call(self.iam, "list_role_policies", f"IAM role {name}", RoleName=name)
            for pname in names.get("PolicyNames", []):
                doc = self._call(
                    self.iam, "get_role_policy", f"IAM role {name}", RoleName=name, PolicyName=pname
                )["PolicyDocument"]
                inline[pname] = json.loads(doc) if isinstance(doc, str) else doc
        role["InlinePolicies"] = inline
        doc = role.get("AssumeRolePolicyDocument")
        role["AssumeRolePolicyDocument"] = json.loads(doc) if isinstance(doc, str) else doc
        return role

    def create_role(self, name: str, trust: dict[str, Any], tags: dict[str, str], description: str) -> dict[str, Any]:
        r = self._call(
            self.iam, "create_role", f"IAM role {name}",
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=description,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )  # fmt: skip
        return dict(r["Role"])

    def update_trust(self, name: str, trust: dict[str, Any]) -> None:
        self._call(self.iam, "update_assume_role_policy", f"IAM role {name}", RoleName=name, PolicyDocument=json.dumps(trust))

    def tag_role(self, name: str, tags: dict[str, str]) -> None:
        self._call(self.iam, "tag_role", f"IAM role {name}", RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def attach_policy(self, name: str, arn: str) -> None:
        self._call(self.iam, "attach_role_policy", f"IAM role {name}", RoleName=name, PolicyArn=arn)

    def detach_policy(self, name: str, arn: str) -> None:
        self._call(self.iam, "detach_role_policy", f"IAM role {name}", RoleName=name, PolicyArn=arn)

    def put_inline_policy(self, name: str, policy_name: str, doc: dict[str, Any]) -> None:
        self._call(
            self.iam, "put_role_policy", f"IAM role {name}",
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(doc),
        )  # fmt: skip

    def delete_inline_policy(self, name: str, policy_name: str) -> None:
        self._call(self.iam, "delete_role_policy", f"IAM role {name}", RoleName=name, PolicyName=policy_name)

    def delete_role(self, name: str, managed_policy_arns: list[str] | None = None) -> None:
        """Detach and delete the role's policies, then the role (IAM refuses it otherwise).

        `managed_policy_arns` from a discovery just made saves reading them again.
        """
        if managed_policy_arns is None:
            attached = self._read(self.iam, "list_attached_role_policies", f"IAM role {name}", RoleName=name)
            if attached is None:
                return
            managed_policy_arns = [p["PolicyArn"] for p in attached.get("AttachedPolicies", [])]
        for arn in managed_policy_arns:
            self.detach_policy(name, arn)
        inline = self._read(self.iam, "list_role_policies", f"IAM role {name}", RoleName=name) or {}
        for pname in inline.get("PolicyNames", []):
            self.delete_inline_policy(name, pname)
        self._delete(self.iam, "delete_role", f"IAM role {name}", RoleName=name)

    # ---- Lambda ---------------------------------------------------------------------------

    def get_function(self, name: str) -> dict[str, Any] | None:
        """`Configuration` plus `Tags` of the function, or None."""
        r = self._read(self.lambda_, "get_function", f"Lambda function {name}", FunctionName=name)
        if r is None:
            return None
        conf = dict(r["Configuration"])
        conf["Tags"] = r.get("Tags", {}) or {}
        return conf

    def create_function(self, params: dict[str, Any], deadline_s: float = 120.0) -> dict[str, Any]:
        # Right after CreateRole, CreateFunction fails with "The role defined for the function
        # cannot be assumed by Lambda" for 5-20 s or more; botocore does not retry it.
        waited, delay = 0.0, 2.0
        while True:
            try:
                conf = self._call(self.lambda_, "create_function", f"Lambda function {params['FunctionName']}", **params)
                break
            except AwsError as exc:
                if not any(h in exc.message for h in IAM_PROPAGATION_HINTS) or waited >= deadline_s:
                    raise
                self.on_wait(f"waiting for the new IAM role to reach Lambda ({int(waited)} s so far)")
                self.sleep(delay)
                waited += delay
                delay = min(delay * 1.5, 10.0)
        # Not waited for here: the executor waits (`wait_function_ready`) off the API's path.
        return dict(conf)

    def wait_function_ready(self, name: str, deadline_s: float = 300.0) -> None:
        """Poll until State is Active and no update is in progress (Pending -> Active)."""
        waited, delay = 0.0, 1.0
        while True:
            r = self._call(self.lambda_, "get_function_configuration", f"Lambda function {name}", FunctionName=name)
            state, update = r.get("State", "Active"), r.get("LastUpdateStatus", "Successful")
            if state == "Failed" or update == "Failed":
                reason = r.get("StateReason") or r.get("LastUpdateStatusReason") or "no reason given"
                raise AwsError(f"Lambda function {name} failed: {reason}")
            if state == "Active" and update != "InProgress":
                return
            if waited >= deadline_s:
                raise AwsError(f"Lambda function {name} still {state}/{update} after {int(waited)} s")
            self.on_wait(f"waiting for Lambda function {name} ({state}, update {update})")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)

    def _lambda_update(self, op: str, name: str, **params: Any) -> None:
        # An update while another runs answers ResourceConflictException: wait and retry.
        for attempt in range(8):
            self.wait_function_ready(name)
            try:
                self._call(self.lambda_, op, f"Lambda function {name}", FunctionName=name, **params)
                return
            except AwsError as exc:
                if "ResourceConflictException" not in exc.message or attempt == 7:
                    raise
                self.on_wait(f"Lambda function {name} is busy; retrying")
                self.sleep(min(2.0 ** attempt, 10.0))

    def update_function_code(self, name: str, zip_bytes: bytes) -> None:
        self._lambda_update("update_function_code", name, ZipFile=zip_bytes)
        self.wait_function_ready(name)

    def update_function_configuration(self, name: str, params: dict[str, Any]) -> None:
        self._lambda_update("update_function_configuration", name, **params)
        self.wait_function_ready(name)

    def tag_function(self, arn: str, tags: dict[str, str]) -> None:
        self._call(self.lambda_, "tag_resource", f"Lambda function {arn}", Resource=arn, Tags=tags)

    def delete_function(self, name: str) -> None:
        self._delete(self.lambda_, "delete_function", f"Lambda function {name}", FunctionName=name)

    def get_policy_statements(self, name: str) -> list[dict[str, Any]]:
        r = self._read(self.lambda_, "get_policy", f"policy of Lambda function {name}", FunctionName=name)
        if not r:
            return []
        return list(json.loads(r["Policy"]).get("Statement", []))

    def add_permission(self, name: str, sid: str, source_arn: str) -> None:
        # Check-before-add: AWS answers a duplicate StatementId with ResourceConflictException.
        if any(s.get("Sid") == sid for s in self.get_policy_statements(name)):
            self.remove_permission(name, sid)
        self._call(
            self.lambda_, "add_permission", f"Lambda function {name}",
            FunctionName=name, StatementId=sid, Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com", SourceArn=source_arn,
        )  # fmt: skip

    def remove_permission(self, name: str, sid: str) -> None:
        self._delete(self.lambda_, "remove_permission", f"Lambda function {name}", FunctionName=name, StatementId=sid)

    # ---- API Gateway (REST) ----------------------------------------------------------------

    def find_rest_apis(self, name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        position = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if position:
                params["position"] = position
            page = self._call(self.apigw, "get_rest_apis", "REST APIs", **params)
            out.extend(a for a in page.get("items", []) if a.get("name") == name)
            position = page.get("position")
            if not position:
                return out

    def create_rest_api(self, name: str, endpoint_type: str, tags: dict[str, str], description: str) -> dict[str, Any]:
        r = self._call(
            self.apigw, "create_rest_api", f"REST API {name}",
            name=name, description=description, tags=tags,
            endpointConfiguration={"types": [endpoint_type]},
        )  # fmt: skip
        return dict(r)

    def update_endpoint_type(self, api_id: str, old: str, new: str) -> None:
        self._call(
            self.apigw, "update_rest_api", f"REST API {api_id}", restApiId=api_id,
            patchOperations=[{"op": "replace", "path": f"/endpointConfiguration/types/{old}", "value": new}],
        )  # fmt: skip

    def delete_rest_api(self, api_id: str) -> None:
        self._delete(self.apigw, "delete_rest_api", f"REST API {api_id}", restApiId=api_id)

    def get_resources(self, api_id: str) -> list[dict[str, Any]]:
        out, position = [], None
        while True:
            params: dict[str, Any] = {"restApiId": api_id, "limit": 500, "embed": ["methods"]}
            if position:
                params["position"] = position
            page = self._call(self.apigw, "get_resources", f"resources of REST API {api_id}", **params)
            out.extend(page.get("items", []))
            position = page.get("position")
            if not position:
                return out

    def get_method(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any] | None:
        r = self._read(
            self.apigw, "get_method", f"method {http_method} of resource {resource_id}",
            restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
        )  # fmt: skip
        return None if r is None else {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def create_resource(self, api_id: str, parent_id: str, part: str) -> str:
        r = self._call(
            self.apigw, "create_resource", f"resource {part} of REST API {api_id}",
            restApiId=api_id, parentId=parent_id, pathPart=part,
        )  # fmt: skip
        return str(r["id"])

    def delete_resource(self, api_id: str, resource_id: str) -> None:
        self._delete(self.apigw, "delete_resource", f"resource {resource_id}", restApiId=api_id, resourceId=resource_id)

    def delete_method(self, api_id: str, resource_id: str, http_method: str) -> None:
        self._delete(
            self.apigw, "delete_method", f"method {http_method} of resource {resource_id}",
            restApiId=api_id, resourceId=resource_id, httpMethod=http_method,
        )  # fmt: skip

    def put_method(self, api_id: str, resource_id: str, spec: dict[str, Any], replace: bool = False) -> None:
        """Create a method with its integration (and responses for the non-proxy one).

        A changed method is replaced (delete + put, `replace=True`): moto does not implement
        update_method, its put_method on an existing method silently drops the integration, and
        AWS answers ConflictException.
        """
        http_method = spec["httpMethod"]
        where = f"method {http_method} of resource {resource_id}"
        if replace:
            self.delete_method(api_id, resource_id, http_method)
        method: dict[str, Any] = {
            "restApiId": api_id, "resourceId": resource_id, "httpMethod": http_method,
            "authorizationType": spec["authorizationType"],
        }  # fmt: skip
        if spec.get("authorizerId"):
            method["authorizerId"] = spec["authorizerId"]
        if spec.get("authorizationScopes"):
            method["authorizationScopes"] = spec["authorizationScopes"]
        self._call(self.apigw, "put_method", where, **method)
        integration: dict[str, Any] = {
            "restApiId": api_id, "resourceId": resource_id, "httpMethod": http_method,
            "type": spec["integrationType"], "integrationHttpMethod": "POST", "uri": spec["uri"],
        }  # fmt: skip
        if spec.get("requestTemplates"):
            integration["requestTemplates"] = spec["requestTemplates"]
            integration["passthroughBehavior"] = "WHEN_NO_TEMPLATES"
        self._call(self.apigw, "put_integration", where, **integration)
        if spec["integrationType"] == "AWS":
            # Non-proxy: without a method response and an integration response API Gateway has
            # nothing to send back.
            self._call(
                self.apigw, "put_method_response", where, restApiId=api_id, resourceId=resource_id,
                httpMethod=http_method, statusCode="200", responseModels={"application/json": "Empty"},
            )  # fmt: skip
            self._call(
                self.apigw, "put_integration_response", where, restApiId=api_id,
                resourceId=resource_id, httpMethod=http_method, statusCode="200", selectionPattern="",
            )  # fmt: skip

    def get_authorizers(self, api_id: str) -> list[dict[str, Any]]:
        r = self._call(self.apigw, "get_authorizers", f"authorizers of REST API {api_id}", restApiId=api_id, limit=500)
        return list(r.get("items", []))

    def create_authorizer(self, api_id: str, spec: dict[str, Any]) -> str:
        r = self._call(
            self.apigw, "create_authorizer", f"authorizer {spec['name']}", restApiId=api_id,
            name=spec["name"], type="COGNITO_USER_POOLS", providerARNs=spec["providerARNs"],
            identitySource=spec["identitySource"],
            authorizerResultTtlInSeconds=spec["authorizerResultTtlInSeconds"],
        )  # fmt: skip
        return str(r["id"])

    def delete_authorizer(self, api_id: str, authorizer_id: str) -> None:
        self._delete(self.apigw, "delete_authorizer", f"authorizer {authorizer_id}", restApiId=api_id, authorizerId=authorizer_id)

    def get_stage(self, api_id: str, stage: str) -> dict[str, Any] | None:
        r = self._read(self.apigw, "get_stage", f"stage {stage}", restApiId=api_id, stageName=stage)
        return None if r is None else {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def get_deployment(self, api_id: str, deployment_id: str) -> dict[str, Any] | None:
        r = self._read(self.apigw, "get_deployment", f"deployment {deployment_id}", restApiId=api_id, deploymentId=deployment_id)
        return None if r is None else dict(r)

    def create_deployment(self, api_id: str, description: str) -> str:
        r = self._call(self.apigw, "create_deployment", f"deployment of REST API {api_id}", restApiId=api_id, description=description)
        return str(r["id"])

    def create_stage(self, api_id: str, stage: str, deployment_id: str, description: str, tags: dict[str, str]) -> None:
        self._call(
            self.apigw, "create_stage", f"stage {stage}", restApiId=api_id, stageName=stage,
            deploymentId=deployment_id, description=description, tags=tags,
        )  # fmt: skip

    def point_stage(self, api_id: str, stage: str, deployment_id: str, description: str) -> None:
        # One call moves the deployment and its fingerprint together, so they never disagree.
        self._call(
            self.apigw, "update_stage", f"stage {stage}", restApiId=api_id, stageName=stage,
            patchOperations=[
                {"op": "replace", "path": "/deploymentId", "value": deployment_id},
                {"op": "replace", "path": "/description", "value": description},
            ],
        )  # fmt: skip

    def tag_stage(self, api_id: str, stage: str, tags: dict[str, str]) -> None:
        arn = f"arn:aws:apigateway:{self.region}::/restapis/{api_id}/stages/{stage}"
        self._call(self.apigw, "tag_resource", f"stage {stage}", resourceArn=arn, tags=tags)

    # ---- sign-in for `cogapi token --flow password` (issue 4; owned by cogapi/sign_in.py) ------
    # InitiateAuth is unsigned: it needs no AWS credentials, only the app client's id (and a
    # SECRET_HASH when the client has a secret). Its tokens carry no OAuth scopes (aws-notes).

    def initiate_password_auth(
        self, client_id: str, username: str, password: str, secret_hash: str | None = None
    ) -> dict[str, Any]:
        """InitiateAuth USER_PASSWORD_AUTH: the whole answer (`AuthenticationResult` or a challenge)."""
        params = {"USERNAME": username, "PASSWORD": password}
        if secret_hash:
            params["SECRET_HASH"] = secret_hash
        return dict(self._call(
            self.cognito, "initiate_auth", f"user {username}",
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params,
        ))  # fmt: skip

    def refresh_password_auth(
        self, client_id: str, refresh_token: str, secret_hash: str | None = None
    ) -> dict[str, Any]:
        """InitiateAuth REFRESH_TOKEN_AUTH (no new refresh token comes back)."""
        params = {"REFRESH_TOKEN": refresh_token}
        if secret_hash:
            params["SECRET_HASH"] = secret_hash
        return dict(self._call(
            self.cognito, "initiate_auth", "refresh token",
            ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params,
        ))  # fmt: skip


def _hint(code: str) -> str | None:
    return {
        "AccessDeniedException": "the AWS identity lacks a permission; README lists the IAM policy cogapi needs",
        "AccessDenied": "the AWS identity lacks a permission; README lists the IAM policy cogapi needs",
        "UnrecognizedClientException": "the credentials are not valid for this endpoint",
        "InvalidClientTokenId": "the credentials are not valid for this endpoint",
        "ExpiredToken": "refresh your AWS session (aws sso login)",
        "ExpiredTokenException": "refresh your AWS session (aws sso login)",
        "TooManyRequestsException": "API Gateway throttled us even after retries; wait a minute and re-run",
        "LimitExceededException": "an AWS quota was reached; see the Service Quotas console",
    }.get(code)
