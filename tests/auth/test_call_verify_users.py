"""`cogapi call`, `cogapi verify` and `cogapi user` end to end against `cogapi local`."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.auth.conftest import EMAIL, PASSWORD, AuthStack
from tests.auth.flows import browser_code_login, password_token


def signed_in(stack: AuthStack, cache: Path, url_file: tuple[Path, str]) -> None:
    result = browser_code_login(stack, cache, url_file)
    assert result.returncode == 0, result.stderr


def test_call_sends_the_right_token_for_each_route(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    signed_in(auth_stack, cache, url_file)
    hello = auth_stack.run("call", cache=cache)  # default: the first route, scoped: access token
    assert hello.returncode == 0, hello.stderr
    assert "Hello" in hello.stdout
    me = auth_stack.run("call", "/me", "-i", cache=cache)  # no scopes: ID token
    assert me.returncode == 0, me.stderr
    assert me.stdout.startswith("HTTP 200") and "x-amzn-RequestId" in me.stdout
    doc = auth_stack.run("call", "/hello", "-o", "json", cache=cache).json()
    assert doc["status"] == 200 and doc["token_type"] == "access"


def test_call_explains_a_401(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    signed_in(auth_stack, cache, url_file)
    wrong = auth_stack.run("call", "/hello", "--token-type", "id", cache=cache)
    assert wrong.returncode == 1
    assert '"Unauthorized"' in wrong.stdout
    assert "ACCESS token" in wrong.stderr and "ID token was sent" in wrong.stderr
    none = auth_stack.run("call", "--no-token", cache=cache)
    assert none.returncode == 1 and "no token was sent" in none.stderr
    reverse = auth_stack.run("call", "/me", "--token-type", "access", cache=cache)
    assert reverse.returncode == 1 and "wants an ID token" in reverse.stderr
    missing = auth_stack.run("call", "/nope", cache=cache)
    assert missing.returncode == 1
    assert "Missing Authentication Token" in missing.stderr and "GET /hello" in missing.stderr


def test_call_encodes_what_a_url_cannot_carry_and_refuses_bad_flags(
    auth_stack: AuthStack, cache: Path
) -> None:
    spaced = auth_stack.run("call", "--no-token", "/no such", "-o", "json", cache=cache)
    assert spaced.returncode == 1 and "unexpected" not in spaced.stderr  # was InvalidURL
    assert spaced.json()["url"].endswith("/no%20such") and spaced.json()["status"] == 403
    for args, says in [
        (("-X", "GET /x"), "-X 'GET /x' is not an HTTP method"),
        (("-X", ""), "is not an HTTP method"),
        (("-H", "Bad Name: v"), "'Bad Name' is not a header name"),
        (("-H", "X-A: a\nb"), "a header value cannot hold a line break"),
    ]:
        refused = auth_stack.run("call", "--no-token", *args, cache=cache)
        assert refused.returncode == 2, (args, refused.stderr)
        assert says in refused.stderr and "Traceback" not in refused.stderr


def test_call_with_a_password_token_names_the_missing_scopes(
    auth_stack: AuthStack, cache: Path
) -> None:
    got = password_token(auth_stack, cache)
    assert got.returncode == 0, got.stderr
    result = auth_stack.run("call", "/hello", cache=cache)
    assert result.returncode == 1
    assert "password flow carry none" in result.stderr
    # On a route without scopes the password sign-in's ID token is let in, as on AWS.
    unscoped = auth_stack.run("call", "/me", cache=cache)
    assert unscoped.returncode == 0, unscoped.stderr
    assert "Hello World" in unscoped.stdout


def test_call_without_a_cached_token_says_what_to_do(auth_stack: AuthStack, cache: Path) -> None:
    result = auth_stack.run("call", cache=cache)
    assert result.returncode == 1
    assert "no valid token is cached" in result.stderr and "cogapi token" in result.stderr


def test_verify_passes_on_the_local_stack(
    auth_stack: AuthStack, cache: Path, url_file: tuple[Path, str]
) -> None:
    signed_in(auth_stack, cache, url_file)
    result = auth_stack.run("verify", "-o", "json", cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {(c["name"], c["target"]): c for c in result.json()["checks"]}
    for name in (
        "hosted UI answers",
        "JWKS answers",
        "malformed token -> 401",
        "forged signature -> 401",
        "ID token on a scoped route -> 401",
        "valid token -> 200",
    ):
        assert any(n == name and c["status"] == "pass" for (n, _), c in checks.items()), name
    assert checks[("no token -> 401", "GET /hello")]["status"] == "pass"
    assert checks[("no token -> 401", "GET /me")]["status"] == "pass"
    assert "Hello" in checks[("valid token -> 200", "GET /hello")]["detail"]
    # On `cogapi local`, the stand-in hands out an expired token: the check runs, never skips.
    expired = checks[("expired token -> 401", "GET /hello")]
    assert expired["status"] == "pass" and "expired" in expired["detail"], expired
    assert not [c for c in checks.values() if c["status"] == "skip"]
    text = auth_stack.run("verify", cache=cache)
    assert text.stderr.splitlines()[-1] == "All checks passed."

    # A skipped check is said in the summary: an open route is not checked.
    doc = yaml.safe_load(auth_stack.config.read_text())
    doc["api"]["routes"].append({"path": "/open", "method": "GET", "authorizer": False})
    with_open = auth_stack.config.with_name("with-open-route.yaml")
    with_open.write_text(yaml.safe_dump(doc))
    text = auth_stack.run("verify", "-c", str(with_open), cache=cache)
    assert text.returncode == 0, text.stdout + text.stderr
    assert any(line.startswith("SKIP") for line in text.stdout.splitlines())
    assert text.stderr.splitlines()[-1] == "All checks passed, 1 skipped."


def test_verify_without_a_token_fails_and_says_why(auth_stack: AuthStack, cache: Path) -> None:
    result = auth_stack.run("verify", cache=cache)
    assert result.returncode == 1
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("valid token -> 200" in line and "cogapi token" in line for line in fails)


def test_user_ls_add_rm(auth_stack: AuthStack, cache: Path) -> None:
    listed = auth_stack.run("user", "ls", "-o", "json", cache=cache).json()
    assert any(u["email"] == EMAIL and u["status"] == "CONFIRMED" for u in listed["users"])
    text = auth_stack.run("user", "ls", cache=cache)
    assert EMAIL in text.stdout and "CONFIRMED" in text.stdout
    assert text.stdout.splitlines()[0].split() == ["email", "status", "created"]

    dup = auth_stack.run(
        "user", "add", EMAIL, "--password-stdin", cache=cache, input=PASSWORD + "\n"
    )
    assert dup.returncode == 1 and "already exists" in dup.stderr

    weak = auth_stack.run(
        "user", "add", "bob@example.com", "--password-stdin", cache=cache, input="short\n"
    )
    assert weak.returncode == 2 and "policy" in weak.stderr
    long = auth_stack.run(  # Cognito's own limit, whatever the policy: moto said "confirm"
        "user", "add", "bob@example.com", "--password-stdin", cache=cache,
        input="Aa1!" + "a" * 253 + "\n")  # fmt: skip
    assert long.returncode == 2 and "at most 256 characters" in long.stderr, long.stderr
    assert "bob@example.com" not in auth_stack.run("user", "ls", cache=cache).stdout

    added = auth_stack.run(
        "user", "add", "bob@example.com", "--password-stdin", cache=cache, input="Another-Horse-7\n"
    )
    assert added.returncode == 0, added.stderr
    assert "bob@example.com" in auth_stack.run("user", "ls", cache=cache).stdout
    removed = auth_stack.run("user", "rm", "bob@example.com", cache=cache)
    assert removed.returncode == 0, removed.stderr
    assert "bob@example.com" not in auth_stack.run("user", "ls", cache=cache).stdout
    gone = auth_stack.run("user", "rm", "bob@example.com", cache=cache)
    assert gone.returncode == 1 and "no user bob@example.com" in gone.stderr


def test_user_refuses_a_pool_the_stack_does_not_own(
    auth_stack: AuthStack, cache: Path, tmp_path: Path
) -> None:
    import yaml

    doc = yaml.safe_load(auth_stack.config.read_text())
    doc["name"] = "someone-else"
    doc["user_pool"]["name"] = f"{auth_stack.outputs['domain'].split('-')[0]}-user-pool"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(doc))
    result = auth_stack.run("user", "ls", cache=cache, COGAPI_CONFIG=str(other))
    assert result.returncode == 1
    assert "is not owned by stack 'someone-else'" in result.stderr
    assert EMAIL not in result.stdout
