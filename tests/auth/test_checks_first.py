"""Everything that can be checked is checked before cogapi asks for a password."""

from __future__ import annotations

from pathlib import Path

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
