"""Lambda: the function, its code and configuration, and its resource policy."""

from __future__ import annotations

import json
from typing import Any

from cogapi.aws.core import IAM_PROPAGATION_HINTS, AwsCore
from cogapi.errors import AwsError


class LambdaCalls(AwsCore):
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
                conf = self._call(
                    self.lambda_,
                    "create_function",
                    f"Lambda function {params['FunctionName']}",
                    **params,
                )
                break
            except AwsError as exc:
                if not any(h in exc.message for h in IAM_PROPAGATION_HINTS) or waited >= deadline_s:
                    raise
                self.on_wait(
                    f"waiting for the new IAM role to reach Lambda ({int(waited)} s so far)"
                )
                self.sleep(delay)
                waited += delay
                delay = min(delay * 1.5, 10.0)
        # Not waited for here: the executor waits (`wait_function_ready`) off the API's path.
        return dict(conf)

    def wait_function_ready(self, name: str, deadline_s: float = 300.0) -> None:
        """Poll until State is Active and no update is in progress (Pending -> Active)."""
        waited, delay = 0.0, 1.0
        while True:
            r = self._call(
                self.lambda_,
                "get_function_configuration",
                f"Lambda function {name}",
                FunctionName=name,
            )
            state, update = r.get("State", "Active"), r.get("LastUpdateStatus", "Successful")
            if state == "Failed" or update == "Failed":
                reason = (
                    r.get("StateReason") or r.get("LastUpdateStatusReason") or "no reason given"
                )
                raise AwsError(f"Lambda function {name} failed: {reason}")
            if state == "Active" and update != "InProgress":
                return
            if waited >= deadline_s:
                raise AwsError(
                    f"Lambda function {name} still {state}/{update} after {int(waited)} s"
                )
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
                self.sleep(min(2.0**attempt, 10.0))

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
        r = self._read(
            self.lambda_, "get_policy", f"policy of Lambda function {name}", FunctionName=name
        )
        if not r:
            return []
        return list(json.loads(r["Policy"]).get("Statement", []))

    def add_permission(self, name: str, sid: str, source_arn: str, check: bool = True) -> None:
        """Grant API Gateway the invoke permission `sid`, replacing a statement of that id.

        Called right after CreateFunction, without waiting for Pending -> Active first. Should
        Lambda refuse it while the function is busy (ResourceConflictException that is not a
        duplicate statement), it waits for the function and tries again.
        """
        # Check-before-add: AWS answers a duplicate StatementId with ResourceConflictException.
        if check and any(s.get("Sid") == sid for s in self.get_policy_statements(name)):
            self.remove_permission(name, sid)
        for attempt in range(4):
            try:
                self._call(
                    self.lambda_, "add_permission", f"Lambda function {name}",
                    FunctionName=name, StatementId=sid, Action="lambda:InvokeFunction",
                    Principal="apigateway.amazonaws.com", SourceArn=source_arn,
                )  # fmt: skip
                return
            except AwsError as exc:
                busy = "ResourceConflictException" in exc.message and (
                    "already exists" not in exc.message
                )
                if not busy or attempt == 3:
                    raise
                self.on_wait(f"Lambda function {name} is busy; retrying its permission")
                self.wait_function_ready(name)

    def remove_permission(self, name: str, sid: str) -> None:
        self._delete(
            self.lambda_,
            "remove_permission",
            f"Lambda function {name}",
            FunctionName=name,
            StatementId=sid,
        )
