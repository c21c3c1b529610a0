"""IAM: the function's role (and the SMS role), its trust and policies."""

from __future__ import annotations

import json
from typing import Any

from cogapi.aws.core import AwsCore


class IamCalls(AwsCore):
    # ---- IAM ------------------------------------------------------------------------------

    def get_role(self, name: str, with_inline: bool = False) -> dict[str, Any] | None:
        """The role with `TagMap`, attached `ManagedPolicyArns` and (optionally) `InlinePolicies`."""
        r = self._read(self.iam, "get_role", f"IAM role {name}", RoleName=name)
        if r is None:
            return None
        role = dict(r["Role"])
        tags = role.get("Tags")
        if tags is None:  # GetRole includes tags; older endpoints may not
            tags = self._call(self.iam, "list_role_tags", f"IAM role {name}", RoleName=name).get(
                "Tags", []
            )
        role["TagMap"] = {t["Key"]: t["Value"] for t in tags}
        attached = self._call(
            self.iam, "list_attached_role_policies", f"IAM role {name}", RoleName=name
        )
        role["ManagedPolicyArns"] = sorted(
            p["PolicyArn"] for p in attached.get("AttachedPolicies", [])
        )
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

    def create_role(
        self, name: str, trust: dict[str, Any], tags: dict[str, str], description: str
    ) -> dict[str, Any]:
        r = self._call(
            self.iam, "create_role", f"IAM role {name}",
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=description,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )  # fmt: skip
        return dict(r["Role"])

    def update_trust(self, name: str, trust: dict[str, Any]) -> None:
        self._call(
            self.iam,
            "update_assume_role_policy",
            f"IAM role {name}",
            RoleName=name,
            PolicyDocument=json.dumps(trust),
        )

    def tag_role(self, name: str, tags: dict[str, str]) -> None:
        self._call(
            self.iam,
            "tag_role",
            f"IAM role {name}",
            RoleName=name,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )

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
        self._call(
            self.iam,
            "delete_role_policy",
            f"IAM role {name}",
            RoleName=name,
            PolicyName=policy_name,
        )

    def delete_role(self, name: str, managed_policy_arns: list[str] | None = None) -> None:
        """Detach and delete the role's policies, then the role (IAM refuses it otherwise).

        `managed_policy_arns` from a discovery just made saves reading them again.
        """
        if managed_policy_arns is None:
            attached = self._read(
                self.iam, "list_attached_role_policies", f"IAM role {name}", RoleName=name
            )
            if attached is None:
                return
            managed_policy_arns = [p["PolicyArn"] for p in attached.get("AttachedPolicies", [])]
        for arn in managed_policy_arns:
            self.detach_policy(name, arn)
        inline = self._read(self.iam, "list_role_policies", f"IAM role {name}", RoleName=name) or {}
        for pname in inline.get("PolicyNames", []):
            self.delete_inline_policy(name, pname)
        self._delete(self.iam, "delete_role", f"IAM role {name}", RoleName=name)
