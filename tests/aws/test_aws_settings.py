"""AWS settings that cannot be used (a config file that does not parse, half a key pair, a
profile loop, a credential_process that cannot run, an invalid AWS_* value) are one usage error
naming the profile, raised before any request is sent; never a botocore exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogapi.aws import Aws, make_session
from cogapi.errors import ExitStatus, UsageError


@pytest.fixture(autouse=True)
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULTS_MODE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> Path:
    """An AWS config file holding `text`, the one botocore reads."""
    config = tmp_path / "config"
    config.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def test_a_config_file_that_does_not_parse_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _aws_config(monkeypatch, tmp_path, "[default]\nregion = us-east-1\n[profile broken\n")
    with pytest.raises(UsageError) as info:
        make_session(None, "us-east-1")
    assert info.value.message == (
        f"cannot parse the AWS config file {config} (the default AWS profile and environment)"
    )
    assert info.value.exit_status == ExitStatus.USAGE


def _first_client_error(profile: str | None = None) -> UsageError:
    aws = Aws(make_session(profile, "us-east-1"), "us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(UsageError) as info:
        aws.client("sts")  # the credentials are resolved here, before any request
    return info.value


def test_half_a_key_pair_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    assert _first_client_error().message == (
        "the AWS settings cannot be used: Partial credentials found in env, missing: "
        "AWS_SECRET_ACCESS_KEY (the default AWS profile and environment)"
    )


def test_a_credential_process_that_cannot_run_names_the_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _aws_config(monkeypatch, tmp_path, "[profile cp]\ncredential_process = /nonexistent/bin --x\n")
    assert _first_client_error("cp").message == (
        "cannot run the AWS credential_process: No such file or directory: /nonexistent/bin "
        "(AWS profile 'cp')"
    )


def test_a_profile_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/r"
    _aws_config(monkeypatch, tmp_path, f"[profile a]\nsource_profile = b\nrole_arn = {role}\n"
                f"[profile b]\nsource_profile = a\nrole_arn = {role}\n")  # fmt: skip
    message = _first_client_error("a").message
    assert message.startswith("the AWS settings cannot be used: Infinite loop in credential")
    assert message.endswith("(AWS profile 'a')")


def test_an_invalid_aws_setting_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULTS_MODE", "bogus")
    message = _first_client_error().message
    assert message.startswith(
        "the AWS settings cannot be used: Client configured with invalid defaults mode: bogus."
    )


@pytest.mark.parametrize(
    "name", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
)
@pytest.mark.parametrize("value", ["key\n", "ke y", "key\x7f"], ids=["newline", "space", "del"])
def test_a_credential_variable_with_a_space_or_control_character(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Named, never quoted (a secret); before: ten retries of an 'Invalid header value'."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(name, "x" * 12 + value)
    error = _first_client_error()
    assert error.message == f"{name} holds a space or a control character (environment)"
    assert "x" * 12 not in str(error.hint)


@pytest.mark.parametrize("value", ["abc", "\u00b2", "-1"])
def test_a_test_hook_that_is_not_a_count_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from cogapi.aws.core import _count_hook

    monkeypatch.setenv("COGAPI_TEST_KILL_AFTER", value)
    with pytest.raises(UsageError, match="is not a whole number"):
        _count_hook("COGAPI_TEST_KILL_AFTER")
