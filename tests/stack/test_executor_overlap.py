"""The executor's schedule: what a fresh stack's Lambda side does not wait for.

A fake facade whose calls block until another call has been seen: a schedule that put them in
sequence would leave the first waiting for the second, which never comes (the wait times out and
the test fails), so each test proves two calls overlap, and that `apply` still returns only once
both are done.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from cogapi.config import load_config
from cogapi.errors import UsageError
from cogapi.stack.code import package
from cogapi.stack.discover import Observed
from cogapi.stack.executor import Executor
from cogapi.stack.models import DesiredStack, desired_stack
from cogapi.stack.planner import Change, Plan
from tests.helpers import write_config

ACCOUNT = "123456789012"
WAIT_S = 5.0


class OverlapAws:
    """Only the Lambda/IAM calls a fresh role, function and permission make."""

    def __init__(self) -> None:
        self.seen: dict[str, threading.Event] = {}
        self.finished: list[str] = []
        self._lock = threading.Lock()

    def _event(self, name: str) -> threading.Event:
        with self._lock:
            return self.seen.setdefault(name, threading.Event())

    def _call(self, name: str, waits_for: str | None = None) -> None:
        self._event(name).set()
        if waits_for is not None and not self._event(waits_for).wait(WAIT_S):
            raise AssertionError(f"{name} waited for {waits_for}, which never started")
        with self._lock:
            self.finished.append(name)

    def create_role(self, name: str, *args: Any) -> dict[str, Any]:
        self._call("create_role")
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}

    def attach_policy(self, name: str, arn: str) -> None:
        # The role's policies are not CreateFunction's business: it must not wait for them.
        self._call("attach_policy", waits_for="create_function")

    def put_inline_policy(self, *args: Any) -> None:
        self._call("put_inline_policy")

    def create_function(self, params: dict[str, Any]) -> dict[str, Any]:
        self._call("create_function")
        return {"FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:x"}

    def wait_function_ready(self, name: str) -> None:
        # Pending -> Active is waited for beside the permission, not before it.
        self._call("wait_function_ready", waits_for="add_permission")

    def add_permission(self, *args: Any, **kwargs: Any) -> None:
        self._call("add_permission")


@pytest.fixture
def desired(tmp_path: Path) -> DesiredStack:
    cfg = load_config(write_config(tmp_path / "cogapi.yaml"))
    return desired_stack(cfg, ACCOUNT, package(None, cfg.function.handler))


def test_function_and_permission_do_not_wait_for_role_policies_or_active(
    desired: DesiredStack,
) -> None:
    aws = OverlapAws()
    plan = Plan([
        Change("iam_role", desired.role.name, "create"),
        Change("lambda_function", desired.function.name, "create"),
        Change("lambda_permission", "REST API", "create"),
    ])  # fmt: skip
    observed = Observed(account_id=ACCOUNT, api={"id": "a1b2c3d4e5"})
    Executor(aws, desired, observed, workers=4).apply(plan)  # type: ignore[arg-type]
    # apply returned only after the calls that ran beside the others finished too
    assert {"attach_policy", "wait_function_ready", "add_permission"} <= set(aws.finished)
    assert aws.finished.index("create_role") < aws.finished.index("create_function")
    assert aws.finished.index("create_function") < aws.finished.index("add_permission")


class FailingAttachAws(OverlapAws):
    def attach_policy(self, name: str, arn: str) -> None:
        raise RuntimeError("AttachRolePolicy refused")

    def wait_function_ready(self, name: str) -> None:
        self._call("wait_function_ready")


def test_a_failed_follow_up_call_fails_the_apply(desired: DesiredStack) -> None:
    # The role's policies run beside the function: their failure must still reach the user.
    aws = FailingAttachAws()
    plan = Plan([
        Change("iam_role", desired.role.name, "create"),
        Change("lambda_function", desired.function.name, "create"),
    ])  # fmt: skip
    observed = Observed(account_id=ACCOUNT, api={"id": "a1b2c3d4e5"})
    with pytest.raises(RuntimeError, match="AttachRolePolicy refused"):
        Executor(aws, desired, observed, workers=4).apply(plan)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1e3", "1000"])
def test_a_bad_workers_setting_is_a_usage_error(
    desired: DesiredStack, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("COGAPI_WORKERS", value)
    with pytest.raises(UsageError, match="COGAPI_WORKERS"):
        Executor(OverlapAws(), desired, Observed(account_id=ACCOUNT))  # type: ignore[arg-type]
