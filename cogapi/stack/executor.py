"""Apply a plan: run each mutating change through the AWS facade, in dependency order.

Changes form a small graph (`dependencies`): the Cognito side (pool -> providers -> client,
domain), the IAM/Lambda side (role -> function) and the REST API (api -> document -> stage) have
few edges between them, so they run concurrently on a thread pool. The document waits for the
pool (its authorizer names the pool's ARN) and the API; nothing on the API's side waits for the
function: an integration only names its (predictable) ARN.

The REST API's per-route rows (authorizer, api_method, api_resource) are not applied one by one:
the `api_document` change puts the whole rendered document in one `PutRestApi(mode=overwrite)`,
whatever the number of routes, then reads the authorizer's id back (the document may have made
a new one); the stage change deploys it. A stale authorizer that the overwrite left is deleted
after the document.

Ids created along the way (pool id, API id, resource ids, ...) go into one `ids` dict seeded from
discovery. Nothing is recorded locally: every step leaves AWS in a state the next discovery
recognises (tags go on at creation; the stage's deployment carries the fingerprint of what it
serves; the pool's record of machine clients is written after the clients are made or deleted),
so a run killed at any point converges on the next `up`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from cogapi.aws import Aws
from cogapi.config import CLIENT_RECORD_TAG
from cogapi.errors import CogapiError, Interrupted, UsageError
from cogapi.stack.discover import Observed
from cogapi.stack.models import MACHINE_CLIENT_ID, DesiredStack, RoleSpec, encode_client_record
from cogapi.stack.openapi import api_document, document_json, fingerprint
from cogapi.stack.planner import FINGERPRINT_PREFIX, Change, Plan

Event = Callable[[Change, str, str], None]  # (change, "start" | "done" | "failed", detail)
Key = tuple[str, str]
# Rows the document applies: shown in the plan, never run on their own.
APPLIED_BY_DOCUMENT = ("api_method", "api_resource")


def initial_ids(o: Observed) -> dict[str, str]:
    ids: dict[str, str] = {}
    if o.pool:
        ids["pool_id"] = o.pool["Id"]
        ids["pool_arn"] = o.pool.get("Arn", "")
    if o.client:
        ids["client_id"] = o.client["ClientId"]
    for name, seen in o.machine_clients.items():
        ids[MACHINE_CLIENT_ID + name] = seen["ClientId"]
    if o.role and not o.role_foreign:
        ids["role_arn"] = o.role["Arn"]
    if o.function and not o.function_foreign:
        ids["function_arn"] = o.function["FunctionArn"]
    if o.api:
        ids["api_id"] = o.api["id"]
        for path, res in o.resources.items():
            ids[f"res:{path}"] = res["id"]
    if o.account_id:
        ids["account_id"] = o.account_id
    return ids


def runs_alone(change: Change) -> bool:
    """Whether a mutating change is a step of its own (route rows are applied by the document)."""
    if change.kind in APPLIED_BY_DOCUMENT:
        return False
    return not (change.kind == "authorizer" and change.action != "delete")


def dependencies(change: Change, plan: Plan, sms_role: str | None = None) -> set[Key]:
    """Keys of the plan's changes that must finish before `change` starts.

    `sms_role` names the role the pool's SMS configuration points at, when cogapi makes one.
    """
    others = [c for c in plan.changes if c.mutating and c.key != change.key]

    def of(*kinds: str, deletes: bool = True) -> set[Key]:
        return {c.key for c in others if c.kind in kinds and (deletes or c.action != "delete")}

    kind, action = change.kind, change.action
    if kind == "user_pool":  # the pool's SMS configuration names the SMS role
        return {("iam_role", sms_role)} & of("iam_role") if sms_role else set()
    if kind == "identity_provider" and action == "delete":
        return of("user_pool", "app_client")  # the client stops naming it first
    if kind in ("identity_provider", "user_pool_domain"):
        return of("user_pool")
    if kind == "resource_server":
        # A client names a server's scopes: servers come before clients, go after them.
        return of("user_pool") | (of("app_client") if action == "delete" else set())
    if kind == "app_client":
        return (
            of("user_pool")
            | of("identity_provider", deletes=False)
            | of("resource_server", deletes=False)
        )
    if kind == "user_pool_tag":
        # The pool's record of machine clients is written after every client is made or gone.
        return of("user_pool", "app_client")
    if kind == "lambda_function":
        return of("iam_role")
    if kind == "api_document":  # its authorizer names the pool's ARN
        return of("rest_api", "user_pool")
    if kind == "authorizer":  # only deletes run: once no method points at it any more
        return of("rest_api", "api_document")
    if kind == "lambda_permission":
        return of("rest_api", "lambda_function")
    if kind == "stage":
        # Not on the function or its permission: a deployment only snapshots the API.
        return of("rest_api", "api_document")
    return set()


def _workers_from_environment(environ: Mapping[str, str]) -> int:
    """How many changes run at once: COGAPI_WORKERS (tests set 1 for a fixed order), else 8."""
    raw = environ.get("COGAPI_WORKERS", "8").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise UsageError(
            f"COGAPI_WORKERS={raw!r} is not a whole number from 1 to 64; nothing was changed",
            hint="unset it to use the default (8)",
        )
    return int(raw)


class Executor:
    def __init__(
        self,
        aws: Aws,
        desired: DesiredStack,
        observed: Observed,
        on_event: Event | None = None,
        workers: int | None = None,
        environ: dict[str, str] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.notify = notify or (lambda message: None)
        self.aws = aws
        self.d = desired
        self.o = observed
        self.ids = initial_ids(observed)
        for a in observed.authorizers:
            if a.get("name") == desired.authorizer_settings["name"]:
                self.ids["authorizer_id"] = str(a["id"])
        self.on_event = on_event or (lambda c, s, m: None)
        self.environ = os.environ if environ is None else environ
        self.workers = workers or _workers_from_environment(self.environ)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._reads: list[Future[None]] = []

    # ---- scheduling -------------------------------------------------------------------------

    def apply(self, plan: Plan) -> dict[str, str]:
        if plan.blocked:
            raise CogapiError("the plan is blocked; nothing was changed")
        todo = {c.key: c for c in plan.mutating if runs_alone(c)}
        sms_role = self.d.sms_role.name if self.d.sms_role else None
        deps = {k: dependencies(c, plan, sms_role) & set(todo) for k, c in todo.items()}
        done: set[Key] = set()
        running: dict[Future[None], Key] = {}
        error: BaseException | None = None
        total = len(todo)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._pool = pool
            try:
                while (todo and error is None) or running:
                    if error is None:
                        for key in [k for k in todo if deps[k] <= done]:
                            running[pool.submit(self._run, todo.pop(key))] = key
                    if not running:
                        if todo:  # a cycle would be a bug in `dependencies`
                            raise CogapiError(f"internal error: cannot order {sorted(todo)}")
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        key = running.pop(fut)
                        exc = fut.exception()
                        if exc is not None:
                            error = error or exc
                        else:
                            done.add(key)
                for read in self._reads:  # the reads steps started (the pool is still open)
                    exc = read.exception()
                    error = error or exc
            except KeyboardInterrupt:
                # Ctrl-C: start nothing more, let the calls in flight finish (a half-made call
                # is worse than a finished one), then say what the stack is left as.
                queued = [fut for fut in running if fut.cancel()]
                for fut in queued:
                    running.pop(fut)
                self.notify(
                    f"Interrupted: starting no more changes; waiting for {len(running)} "
                    "running change(s) to finish..."
                )
                for fut in wait(running).done:
                    if fut.exception() is None:
                        done.add(running[fut])
                undone = total - len(done)
                raise Interrupted(
                    f"interrupted: the stack is partial ({len(done)} of {total} change(s) "
                    f"made, {undone} left undone)",
                    hint="`cogapi up` finishes it; `cogapi down` removes it",
                ) from None
        if error is not None:
            raise error
        return self.ids

    def _run(self, change: Change) -> None:
        self.on_event(change, "start", "")
        try:
            getattr(self, f"_{change.kind}")(change)
        except BaseException as exc:
            self.on_event(change, "failed", str(exc))
            raise
        self.on_event(change, "done", "")

    def _after(self, read: Callable[[], None]) -> None:
        """Run a follow-up call on the pool beside the remaining steps; `apply` waits for it.

        For what a step must do but no later step needs: reading an id back, finishing a role,
        waiting for a function to become Active. A run killed before it finishes leaves what
        the next discovery sees and plans (a missing policy, a Pending function)."""
        assert self._pool is not None
        with self._lock:
            self._reads.append(self._pool.submit(read))

    def _set(self, **values: str) -> None:
        with self._lock:
            self.ids.update(values)

    # ---- Cognito ----------------------------------------------------------------------------

    def _user_pool(self, c: Change) -> None:
        spec = self.d.pool
        if c.action == "create":
            params = dict(spec.create_params)
            # TOTP can only be switched on by SetUserPoolMfaConfig, after creation.
            params["MfaConfiguration"] = "OFF"
            pool = self.aws.create_user_pool(params)
            self._set(pool_id=pool["Id"], pool_arn=pool.get("Arn", self.d.pool_arn(pool["Id"])))
            if spec.mfa_params["MfaConfiguration"] != "OFF":
                self.aws.set_mfa_config(pool["Id"], spec.mfa_params)
            return
        pool_id = self.ids["pool_id"]
        names = {f.field for f in c.fields}
        if names & {"mfa", "mfa_methods"}:
            self.aws.set_mfa_config(pool_id, spec.mfa_params)
        if any(not n.startswith("custom_attributes.") for n in names):
            params = spec.update_params(pool_id)
            # UpdateUserPool replaces the tags: keep the record of machine clients as it is
            # (only the user_pool_tag change, after the clients, moves it).
            seen_tags = (self.o.pool or {}).get("UserPoolTags") or {}
            if CLIENT_RECORD_TAG in seen_tags:
                params["UserPoolTags"] = {
                    **params["UserPoolTags"],
                    CLIENT_RECORD_TAG: seen_tags[CLIENT_RECORD_TAG],
                }
            self.aws.update_user_pool(params)
        added = [
            spec.custom_attributes[n.split(".", 1)[1]]
            for n in sorted(names)
            if n.startswith("custom_attributes.")
        ]
        if added:
            self.aws.add_custom_attributes(pool_id, added)

    def _user_pool_tag(self, c: Change) -> None:
        # No TagResource for pools in moto: the record goes with the pool's full settings (the
        # user_pool change, if any, has already run, so they are the ones it sent).
        params = self.d.pool.update_params(self.ids["pool_id"])
        names = [m.name for m in self.d.machine_clients]
        params["UserPoolTags"] = {
            **params["UserPoolTags"],
            CLIENT_RECORD_TAG: encode_client_record(names),
        }
        self.aws.update_user_pool(params)

    def _identity_provider(self, c: Change) -> None:
        pool_id = self.ids["pool_id"]
        if c.action in ("delete", "replace"):
            self.aws.delete_identity_provider(pool_id, c.name)
            if c.action == "delete":
                return
        spec = next(i for i in self.d.idps if i.name == c.name)
        params = {**spec.params, "ProviderDetails": dict(spec.params["ProviderDetails"])}
        if spec.secret_env:
            key = "private_key" if params["ProviderType"] == "SignInWithApple" else "client_secret"
            params["ProviderDetails"][key] = self.environ[spec.secret_env]
        self.aws.put_identity_provider(pool_id, params, exists=c.action == "update")

    def _user_pool_domain(self, c: Change) -> None:
        pool_id = self.ids["pool_id"]
        if c.action == "replace" and c.id:
            self.aws.delete_domain(pool_id, c.id)
        self.aws.create_domain(pool_id, self.d.domain, self.d.certificate_arn)

    def _resource_server(self, c: Change) -> None:
        pool_id = self.ids["pool_id"]
        if c.action == "delete":
            self.aws.delete_resource_server(pool_id, c.name)
            return
        spec = next(rs for rs in self.d.resource_servers if rs.identifier == c.name)
        if c.action == "create":
            self.aws.create_resource_server(spec.params(pool_id))
        else:
            self.aws.update_resource_server(spec.params(pool_id))

    def _app_client(self, c: Change) -> None:
        pool_id = self.ids["pool_id"]
        machine = self.d.machine_client(c.name) if c.name != self.d.client.name else None
        if c.action == "delete":
            self.aws.delete_client(pool_id, str(c.id))
        elif machine is not None:
            # The answer holds the client secret: only the id is kept.
            if c.action == "create":
                client = self.aws.create_client(machine.create_params(pool_id))
                self._set(**{MACHINE_CLIENT_ID + c.name: client["ClientId"]})
            else:
                self.aws.update_client(machine.update_params(pool_id, str(c.id)))
        elif c.action == "create":
            client = self.aws.create_client(self.d.client.create_params(pool_id))
            self._set(client_id=client["ClientId"])
        else:
            self.aws.update_client(self.d.client.update_params(pool_id, str(c.id)))

    # ---- IAM / Lambda -----------------------------------------------------------------------

    def _iam_role(self, c: Change) -> None:
        spec = (
            self.d.sms_role if (self.d.sms_role and c.name == self.d.sms_role.name) else self.d.role
        )
        names = {f.field for f in c.fields}
        if c.action == "create":
            role = self.aws.create_role(spec.name, spec.trust, spec.tags, spec.description)

            def finish() -> None:
                self._role_policies(spec, [], attach=True, inline=True)

            if spec is self.d.role:
                self._set(role_arn=role["Arn"])
                # CreateFunction needs the role to exist, not its policies (those matter when
                # the function runs): they go on beside it. The SMS role is finished first,
                # since Cognito checks its permissions when the pool is configured.
                self._after(finish)
            else:
                finish()
            return
        seen = self.o.sms_role if spec is self.d.sms_role else self.o.role
        current = list((seen or {}).get("ManagedPolicyArns", []))
        if "trust" in names:
            self.aws.update_trust(spec.name, spec.trust)
        if "tags" in names:
            self.aws.tag_role(spec.name, spec.tags)
        self._role_policies(
            spec, current, attach="managed_policies" in names, inline="inline_policies" in names
        )

    def _role_policies(
        self, spec: RoleSpec, current: list[str], attach: bool, inline: bool
    ) -> None:
        if attach:
            for arn in spec.managed_policies:
                if arn not in current:
                    self.aws.attach_policy(spec.name, arn)
            for arn in current:
                if arn not in spec.managed_policies:
                    self.aws.detach_policy(spec.name, arn)
        if inline:
            for pname, doc in spec.inline_policies.items():
                self.aws.put_inline_policy(spec.name, pname, doc)

    def _lambda_function(self, c: Change) -> None:
        spec = self.d.function
        if c.action == "create":
            conf = self.aws.create_function(spec.create_params())
            self._set(function_arn=conf["FunctionArn"])
            # Pending -> Active, waited for beside the rest: the API only names the function's
            # ARN, and its permission goes on while it is Pending (retried should Lambda say
            # the function is busy).
            self._after(lambda: self.aws.wait_function_ready(spec.name))
            return
        names = {f.field for f in c.fields}
        if "code_sha256" in names:
            self.aws.update_function_code(spec.name, spec.code.zip_bytes)
        if names & {"runtime", "handler", "memory_mb", "timeout_s", "environment", "role_arn"}:
            self.aws.update_function_configuration(spec.name, spec.configuration_params())
        if "tags" in names:
            self.aws.tag_function(
                self.ids.get("function_arn") or self.d.function_arn, spec.settings["tags"]
            )

    def _lambda_permission(self, c: Change) -> None:
        if c.action == "delete":
            self.aws.remove_permission(self.d.function.name, str(c.id))
            return
        api_id = self.ids["api_id"]
        account = self.ids.get("account_id") or self.d.account_id
        self.aws.add_permission(
            self.d.function.name,
            self.d.permission_sid(api_id),
            self.d.permission_source_arn(account, api_id),
            # A function this run created has no policy yet: nothing to check first.
            check=self.o.function is not None,
        )

    # ---- API Gateway ------------------------------------------------------------------------

    def _rest_api(self, c: Change) -> None:
        if c.action == "create":
            api = self.aws.create_rest_api(
                self.d.api_name, self.d.api_settings["endpoint_type"], self.d.tags,
                f"Managed by cogapi (stack {self.d.cfg.name})",
            )  # fmt: skip
            root = api.get("rootResourceId")
            if not root:
                root = next(r["id"] for r in self.aws.get_resources(api["id"]) if r["path"] == "/")
            self._set(api_id=api["id"], **{"res:/": root})
            return
        old = ((self.o.api or {}).get("endpointConfiguration") or {}).get("types", ["EDGE"])[0]
        self.aws.update_endpoint_type(self.ids["api_id"], old, self.d.api_settings["endpoint_type"])

    def _pool_arn(self) -> str:
        return self.ids.get("pool_arn") or self.d.pool_arn(self.ids["pool_id"])

    def _api_document(self, c: Change) -> None:
        api_id = self.ids["api_id"]
        body = document_json(api_document(self.d, self._pool_arn()))
        self.aws.put_rest_api(api_id, body)
        # The document made or kept the authorizer: its id is read back, never assumed, beside
        # the deployment rather than before it (nothing but the outputs needs it).
        self._after(self._read_authorizer_id)

    def _read_authorizer_id(self) -> None:
        api_id, name = self.ids["api_id"], self.d.authorizer_settings["name"]
        for a in self.aws.get_authorizers(api_id):
            if a.get("name") == name:
                self._set(authorizer_id=str(a["id"]))
                return
        raise CogapiError(f"REST API {api_id} has no authorizer {name!r} after PutRestApi")

    def _authorizer(self, c: Change) -> None:  # a stale one: the others come with the document
        self.aws.delete_authorizer(self.ids["api_id"], str(c.id))

    def _stage(self, c: Change) -> None:
        api_id = self.ids["api_id"]
        fp = FINGERPRINT_PREFIX + fingerprint(self.d, self._pool_arn())
        if c.action == "create":
            dep = self.aws.create_deployment(api_id, fp)
            self.aws.create_stage(api_id, self.d.stage, dep, fp, self.d.stage_tags)
            return
        names = {f.field for f in c.fields}
        if "deployment" in names:
            dep = self.aws.create_deployment(api_id, fp)
            self.aws.point_stage(api_id, self.d.stage, dep, fp)
        if "tags" in names:
            self.aws.tag_stage(api_id, self.d.stage, self.d.stage_tags)


def check_environment(desired: DesiredStack, environ: dict[str, str] | os._Environ[str]) -> None:
    """What `up` reads from the environment (secrets, COGAPI_WORKERS): checked before the plan
    is shown, so a bad value stops the run before anyone is asked to confirm."""
    _workers_from_environment(environ)
    missing = [
        (i, spec.secret_env)
        for i, spec in enumerate(desired.idps)
        if spec.secret_env and not environ.get(spec.secret_env)
    ]
    if missing:
        i, var = missing[0]
        raise UsageError(
            f"environment variable {var} is not set (user_pool.identity_providers[{i}])",
            hint="export the provider's client secret in that variable; secrets never go in the YAML",
        )


def apply_down(
    aws: Aws,
    plan: Plan,
    o: Observed,
    on_event: Event | None = None,
    notify: Callable[[str], None] | None = None,
) -> None:
    """Delete in reverse dependency order: domain before pool, API, function before role.

    One deletion at a time, each on a worker thread so that Ctrl-C (which lands on the main
    thread) never cuts a call in half: the deletion in flight finishes, nothing more starts,
    and the error says how far the teardown got (a re-run of `down` finishes it).
    """
    emit = on_event or (lambda c, s, m: None)
    say = notify or (lambda message: None)
    order = (
        "user_pool_domain",
        "app_client",
        "resource_server",
        "user_pool",
        "rest_api",
        "lambda_function",
        "iam_role",
    )
    todo = [c for kind in order for c in plan.changes if c.kind == kind and c.action == "delete"]

    def delete(c: Change) -> None:
        kind = c.kind
        emit(c, "start", "")
        try:
            if kind == "user_pool_domain" and o.pool_id:
                aws.delete_domain(o.pool_id, c.name)
            elif kind in ("app_client", "resource_server"):
                pass  # deleted with its pool
            elif kind == "user_pool" and o.pool_id:
                aws.delete_user_pool(o.pool_id)
            elif kind == "rest_api":
                aws.delete_rest_api(str(c.id))
            elif kind == "lambda_function":
                aws.delete_function(c.name)
            elif kind == "iam_role":
                seen = o.sms_role if o.sms_role and o.sms_role.get("RoleName") == c.name else o.role
                aws.delete_role(c.name, (seen or {}).get("ManagedPolicyArns"))
        except BaseException as exc:
            emit(c, "failed", str(exc))
            raise
        emit(c, "done", "")

    done = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        for c in todo:
            running = pool.submit(delete, c)
            try:
                running.result()
            except KeyboardInterrupt:
                say(
                    "Interrupted: starting no more deletions; waiting for the one running to finish..."
                )
                finished = wait([running]).done
                if all(f.exception() is None for f in finished):
                    done += 1
                raise Interrupted(
                    f"interrupted: the teardown is partial ({done} of {len(todo)} deletion(s) "
                    f"made, {len(todo) - done} left undone)",
                    hint="`cogapi down` finishes it",
                ) from None
            done += 1
