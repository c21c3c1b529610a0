"""Everything that can be checked is checked before cogapi asks for a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli, write_config


def _config(tmp_path: Path, **overrides: object) -> str:
    # Nothing listens on this endpoint: a check that needed AWS would fail with "cannot reach".
    return str(
        write_config(tmp_path / "cogapi.yaml", endpoint_url="http://127.0.0.1:9", **overrides)
    )


def test_user_add_rejects_an_address_before_asking_for_the_password(tmp_path: Path) -> None:
    result = run_cli("user", "add", "not-an-email", "-c", _config(tmp_path), input="")
    assert result.exit_code == 2, result.stderr
    assert result.stderr == "error: 'not-an-email' is not an email address\n"
    assert result.calls == []


@pytest.mark.parametrize(
    ("command", "name", "message"),
    [
        ("add", " me@example.com ", "' me@example.com ' holds a space or a control character"),
        ("add", "a\nb@example.com", "'a\\nb@example.com' holds a space or a control character"),
        ("add", "a" * 120 + "@example.com", "'" + "a" * 40 + "'... is 132 characters long"),
        ("rm", "", "the user name is empty"),
        ("rm", "me@example.com\t", "'me@example.com\\t' holds a space or a control character"),
    ],
    ids=["spaces", "newline", "too-long", "rm-empty", "rm-tab"],
)
def test_user_names_cognito_refuses_are_refused_before_any_call(
    tmp_path: Path, command: str, name: str, message: str
) -> None:
    result = run_cli("user", command, name, "-c", _config(tmp_path), input="")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {message}")
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert result.calls == []


def test_password_flow_is_refused_before_asking_when_the_client_does_not_allow_it(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)  # the example's auth_flows: refresh_token, user_srp
    result = run_cli(
        "token", "--flow", "password", "--username", "a@example.com", "-c", cfg, input=""
    )
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(
        "error: the app client does not allow the password flow (USER_PASSWORD_AUTH"
    )
    assert "Password" not in result.stderr and result.calls == []


@pytest.mark.parametrize("value", ["nan", "NaN", "0", "-inf"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_a_usage_error(
    tmp_path: Path, value: str
) -> None:
    """click's FloatRange(min=1) let nan through, which then failed inside the callback
    server's wait as 'unexpected ValueError: cannot convert float NaN to integer'."""
    result = run_cli("token", "--timeout", value, "-c", _config(tmp_path), input="")
    assert result.exit_code == 2, result.stderr
    assert "Invalid value for '--timeout'" in result.stderr
    assert result.calls == []


def test_call_data_at_sign_without_a_file_name(tmp_path: Path) -> None:
    result = run_cli("call", "-d", "@", "-c", _config(tmp_path), input="")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[0] == "error: -d @: no file name after the @"
    assert result.calls == []
