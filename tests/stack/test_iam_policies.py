"""AWS managed policies built once per process (`cogapi.local.iam_policies`), still one set per
account: what moto itself gives, minus the rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.iam.models import iam_backends

from cogapi.local import iam_policies

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})  # fmt: skip


@pytest.fixture
def iam() -> Iterator[Any]:
    iam_policies.install()
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield boto3.client("iam", region_name="us-east-1")


def _attachments(account: str) -> int:
    return int(iam_backends[account]["global"].managed_policies[BASIC].attachment_count)


def test_each_account_and_each_reset_gets_its_own_policies(iam: Any) -> None:
    iam.create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="fn", PolicyArn=BASIC)
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 1
    # Another account's copy of the same policy is untouched by this one's attachment.
    assert _attachments("123456789012") == 1
    assert _attachments("210987654321") == 0
    ours = iam_backends["123456789012"]["global"].managed_policies[BASIC]
    theirs = iam_backends["210987654321"]["global"].managed_policies[BASIC]
    assert ours is not theirs and ours.versions[0] is not theirs.versions[0]
    assert (ours.account_id, theirs.account_id) == ("123456789012", "210987654321")
    # Built once and copied, not built per account (moto alone gives each a random id): one id
    # in every account, as AWS gives a managed policy.
    assert ours.id == theirs.id
    # A reset (what /moto-api/reset and each new mock do) starts from clean copies.
    iam_backends.reset()
    assert _attachments("123456789012") == 0


def test_the_policy_set_and_documents_are_moto_s(iam: Any) -> None:
    listed = iam.get_paginator("list_policies").paginate(Scope="AWS").build_full_result()
    assert len(listed["Policies"]) == len(json.loads(_data()))
    version = iam.get_policy_version(PolicyArn=BASIC, VersionId="v1")["PolicyVersion"]
    assert "logs:CreateLogGroup" in json.dumps(version["Document"])


def test_without_managed_policies_nothing_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)  # set by `load_moto`
    iam_policies.install()
    with mock_aws(config={"iam": {"load_aws_managed_policies": False}}):
        assert iam_backends["123456789012"]["global"].managed_policies == {}


def _data() -> str:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return str(aws_managed_policies_data)
